"""Resume after a crash (the resume feature): a run killed with SIGKILL mid-epoch and resumed with
``ckpt_path=last`` ends exactly like a run that was never interrupted (same seed, CPU); resuming
from best.ckpt when last.ckpt is broken, extending a finished run, a clear refusal to resume into
another model, task, data or optimizer."""

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from default_task import QUICK_MODEL
from test_checkpoints import LADDER, SHORT, STEPS, checkpoints, crafted, load

from {{ cookiecutter.package_name }}.training.checkpoints import CheckpointError
from {{ cookiecutter.package_name }}.training.errors import generated

from conftest import PROJECT, QUICK, compose_config

# mlp: dropout and augmentation draw random numbers every step (the generators must resume too);
# batches of 6 make an epoch long enough (210 steps) to be killed in the middle of one.
RUN = ["task=classification", "mode=full", "model=mlp", "data.batch_size=6", "trainer.max_epochs=3"]
# Same machine, same threads, same seed: the resumed run repeats the arithmetic exactly, so the
# tolerance is tight (float32 round-off only).
TOLERANCE = 1e-6


def train_cli(*overrides: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PROJECT / "train.py"), *QUICK, *overrides],
        cwd=PROJECT,
        text=True,
        **kwargs,
    )


@pytest.mark.slow
@pytest.mark.task("classification")
def test_killed_mid_epoch_then_resumed_ends_like_an_uninterrupted_run(
    tmp_path, run_train, capsys, recwarn
):
    runs = tmp_path  # run_train's folders are tmp_path/run<i>: siblings of the killed run
    log = (tmp_path / "killed.log").open("w")  # a file: a full pipe would block the run
    killed = train_cli(*RUN, f"hydra.run.dir={runs / 'killed'}", stdout=log, stderr=log)
    last = runs / "killed" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # into the next epoch
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    log.close()
    assert killed.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()
    assert not (runs / "killed" / "summary.json").exists()  # it really died mid-training
    checkpoint = torch.load(last, map_location="cpu", weights_only=True)  # plain values only
    assert checkpoint["epoch"] < 2 and checkpoint["global_step"] % 210 == 0

    # resume in this process (saves a Python start): its run folder is a sibling of the killed one
    resumed = run_train(*RUN, "ckpt_path=last")
    assert f"resuming {runs / 'killed'}" in capsys.readouterr().out
    assert not [w for w in recwarn if "dirpath has changed" in str(w.message)]  # best kept

    reference = run_train(*RUN)  # the same config, never interrupted
    summary = json.loads((Path(resumed["output_dir"]) / "summary.json").read_text())
    assert summary["trainer"]["global_step"] == reference["trainer"]["global_step"] == 630
    for split, values in reference["metrics"].items():
        for name, value in values.items():
            assert summary["metrics"][split][name] == pytest.approx(value, abs=TOLERANCE)


def test_resume_without_an_earlier_run_says_what_to_do(run_train):
    with pytest.raises(FileNotFoundError, match="no earlier run of this config"):
        run_train("mode=smoke", "ckpt_path=last")


def test_ckpt_path_last_finds_a_run_whose_config_used_an_old_setting_name(tmp_path):
    """A run from before data.bad_rows became data.on_bad is the same config as today's."""
    from omegaconf import OmegaConf

    from {{ cookiecutter.package_name }}.training.resume import LAST, find_last_run

    today = OmegaConf.create({"data": {"root": "images", "on_bad": "skip"}, "seed": 1})
    before = OmegaConf.create({"data": {"root": "images", "bad_rows": "skip"}, "seed": 1})
    other = OmegaConf.create({"data": {"root": "images", "bad_rows": "fail"}, "seed": 1})
    for name, config in (("before", before), ("other", other)):
        run = tmp_path / name
        (run / "checkpoints").mkdir(parents=True)
        (run / "checkpoints" / LAST).write_bytes(b"")
        (run / ".hydra").mkdir()
        OmegaConf.save(config, run / ".hydra" / "config.yaml")
    assert find_last_run(tmp_path, today) == tmp_path / "before"


# ---- resuming from a run's checkpoints (test_checkpoints.py: how they are written) ----------
def test_resuming_from_a_checkpoint_crafted_to_run_code_is_refused(run_train, tmp_path):
    first = run_train(*SHORT, "trainer.max_epochs=1")
    marker = tmp_path / "code_ran"
    path = crafted(checkpoints(first) / "last.ckpt", tmp_path / "crafted.ckpt", marker)
    with pytest.raises(CheckpointError, match="not loaded, for safety") as error:
        run_train(*SHORT, "trainer.max_epochs=2", f"ckpt_path={path}")
    assert "\n" not in str(error.value) and "weights_only=False" not in str(error.value)
    assert not marker.exists()


def test_the_resumed_checkpoint_itself_is_loaded_weights_only(run_train, tmp_path, monkeypatch):
    """Not only the check before it: Lightning's own load of the checkpoint refuses objects too,
    even where torch's default has been turned unsafe."""
    from {{ cookiecutter.package_name }}.training import resume

    first = run_train(*SHORT, "trainer.max_epochs=1")
    marker = tmp_path / "code_ran"
    path = crafted(checkpoints(first) / "last.ckpt", tmp_path / "crafted.ckpt", marker)
    monkeypatch.setattr(resume, "check_resumable", lambda *args, **kwargs: {})
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(Exception, match="Weights only load failed"):
        run_train(*SHORT, "trainer.max_epochs=2", f"ckpt_path={path}")
    assert not marker.exists()


def test_an_unreadable_last_checkpoint_falls_back_to_best(run_train, capsys):
    first = run_train(*SHORT, "optimizer.lr=0", "trainer.max_epochs=2")
    last, best = checkpoints(first) / "last.ckpt", checkpoints(first) / "best.ckpt"
    last.write_bytes(last.read_bytes()[:1000])  # a write cut short
    resumed = run_train(
        *SHORT, "optimizer.lr=0", "trainer.max_epochs=2", f"ckpt_path={first['output_dir']}"
    )
    assert f"{last} cannot be read (truncated or corrupt); resuming from {best}" in (
        capsys.readouterr().out
    )
    assert resumed["status"] == "completed" and resumed["trainer"]["global_step"] == 2 * STEPS
    best.write_bytes(b"")
    with pytest.raises(CheckpointError, match="no other readable checkpoint"):
        run_train(
            *SHORT, "optimizer.lr=0", "trainer.max_epochs=2", f"ckpt_path={first['output_dir']}"
        )
    with pytest.raises(CheckpointError, match="is truncated or corrupt"):  # a file: no fallback
        run_train(*SHORT, "trainer.max_epochs=2", f"ckpt_path={last}")


@pytest.mark.parametrize("given", ["run folder", "checkpoint file"])
def test_extending_a_finished_run_starts_a_new_cycle(run_train, given):
    """docs/scale-out.md's `ckpt_path=<run> trainer.max_epochs=<more>` failed with OneCycleLR's
    "Tried to step 7 times": the saved schedule had run its course."""
    first = run_train(*SHORT, "trainer.max_epochs=2")
    source = first["output_dir"] if given == "run folder" else checkpoints(first) / "last.ckpt"
    extended = run_train(*SHORT, "trainer.max_epochs=4", f"ckpt_path={source}")
    assert extended["status"] == "completed"
    assert extended["trainer"]["global_step"] == 4 * STEPS
    saved = load(checkpoints(extended) / "last.ckpt")
    schedule = saved["lr_schedulers"][0]
    assert schedule["total_steps"] == 2 * STEPS  # the new cycle spans the added epochs
    assert schedule["last_epoch"] == 2 * STEPS
    # a cycle as long as the first one, with the same peak: it ends at the same rate
    before = load(checkpoints(first) / "last.ckpt")["optimizer_states"][0]["param_groups"]
    after = saved["optimizer_states"][0]["param_groups"]
    assert [g["lr"] for g in after] == pytest.approx([g["lr"] for g in before])
    assert [g["max_lr"] for g in after] == pytest.approx([g["max_lr"] for g in before])


@pytest.mark.task("classification")
@pytest.mark.task("regression")
def test_resuming_with_another_task_or_data_says_what_differs(run_train):
    first = run_train(*LADDER, "trainer.max_epochs=1")  # digits: 10 classes
    with pytest.raises(CheckpointError, match=r"10 targets .* has 1 \(angle\)") as error:
        run_train(
            *SHORT, "task=regression", "trainer.max_epochs=2", f"ckpt_path={first['output_dir']}"
        )
    assert "\n" not in str(error.value)


def test_resuming_into_weights_of_another_shape_names_them(run_train, tmp_path):
    """Same model, same target names, but weights that do not fit (another input size)."""
    from {{ cookiecutter.package_name }}.training.resume import check_resumable

    first = run_train(*SHORT, "trainer.max_epochs=1")
    path = checkpoints(first) / "last.ckpt"
    checkpoint = load(path)
    key = next(k for k in checkpoint["state_dict"] if k.endswith("weight"))
    wrong = tuple(n + 1 for n in checkpoint["state_dict"][key].shape)  # never the run's own
    checkpoint["state_dict"][key] = torch.zeros(wrong)
    torch.save(checkpoint, tmp_path / "other.ckpt")

    from hydra.utils import get_class

    from {{ cookiecutter.package_name }}.training.run import build_datamodule, build_module

    cfg = compose_config("train", [*QUICK, *SHORT], tmp_path / "out")
    task_cls = get_class(cfg.task._target_)
    task = build_module(cfg, task_cls, build_datamodule(cfg, task_cls))
    message = re.escape(f"does not fit this run (weights {key} {wrong}")
    with pytest.raises(CheckpointError, match=message):
        check_resumable(tmp_path / "other.ckpt", cfg, task)


def test_resuming_with_another_optimizer_says_which(run_train):
    first = run_train(*SHORT, "trainer.max_epochs=1")
    with pytest.raises(
        CheckpointError,
        match=r"optimizer torch\.optim\.AdamW, this run asks "
        r"for torch\.optim\.SGD",
    ):
        run_train(
            *SHORT, "optimizer=sgd", "trainer.max_epochs=2", f"ckpt_path={first['output_dir']}"
        )


@pytest.mark.task("classification")
def test_resuming_with_another_model_says_which(run_train):
    first = run_train(*LADDER, "trainer.max_epochs=1")
    # the other way out, model.weights=<file>, is named where the project has it (transfer)
    weights = r", or start a new run from its weights with model\.weights="
    weights = weights if generated("models.weights") else "$"
    with pytest.raises(
        CheckpointError,
        match=r"was trained with model=linear, this run asks for model=mlp: resume with the same "
        r"model settings" + weights,
    ):
        run_train(*LADDER, "model=mlp", "trainer.max_epochs=2", f"ckpt_path={first['output_dir']}")
    wide = run_train(*LADDER, "model=mlp", "model.width=32", "trainer.max_epochs=1")
    with pytest.raises(CheckpointError, match=r"model\.width=32.*model\.width=64"):
        run_train(
            *LADDER,
            "model=mlp",
            "model.width=64",
            "trainer.max_epochs=2",
            f"ckpt_path={wide['output_dir']}",
        )


def test_a_checkpoint_without_the_resume_callbacks_state_resumes(run_train, tmp_path):
    """A checkpoint written before the resume feature was added (no random generators in it, no
    state of its callbacks) resumes: the generators start from the seed instead."""
    first = run_train(*SHORT, "trainer.max_epochs=1")
    checkpoint = load(checkpoints(first) / "last.ckpt")
    assert [key for key in checkpoint["callbacks"] if key.startswith("RngState")]
    checkpoint["callbacks"] = {
        key: value
        for key, value in checkpoint["callbacks"].items()
        if not key.startswith(("RngState", "Resume"))
    }
    torch.save(checkpoint, tmp_path / "before.ckpt")
    resumed = run_train(*SHORT, "trainer.max_epochs=2", f"ckpt_path={tmp_path / 'before.ckpt'}")
    assert resumed["status"] == "completed"
    assert resumed["trainer"]["global_step"] == 2 * STEPS


def test_a_run_continues_in_its_own_folder(tmp_path):
    """A used run folder is refused (test_cli.py), except to continue the run in it."""
    folder = tmp_path / "run"
    first = train_cli("mode=smoke", f"hydra.run.dir={folder}", stdout=subprocess.PIPE)
    first.communicate(timeout=300)
    assert first.returncode == 0
    resumed = train_cli(
        "mode=smoke",
        "trainer.max_epochs=2",
        f"ckpt_path={folder}",
        f"hydra.run.dir={folder}",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err


def test_a_resumed_run_continues_its_wandb_run(run_train, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    summary = run_train("logger=wandb", "mode=smoke", *QUICK_MODEL)
    [first] = (Path(summary["output_dir"]) / "wandb").glob("offline-run-*")
    resumed = run_train(
        "logger=wandb", "mode=smoke", *QUICK_MODEL, f"ckpt_path={summary['output_dir']}"
    )
    [again] = (Path(resumed["output_dir"]) / "wandb").glob("offline-run-*")
    assert again.name.split("-")[-1] == first.name.split("-")[-1]  # the same wandb run id
