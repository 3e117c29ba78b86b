"""Checkpoints: one clear error for every unusable file, atomic writes, a last.ckpt of the last
epoch (resuming from them: test_resume.py)."""

import errno
import threading
from pathlib import Path

import pytest
import torch
from default_task import QUICK_MODEL

from {{ cookiecutter.package_name }}.analysis.predict import load_trained
from {{ cookiecutter.package_name }}.training.checkpoints import (
    CheckpointError,
    atomic_save,
    read_checkpoint,
)
from {{ cookiecutter.package_name }}.training.errors import generated

from conftest import QUICK, compose_config

STEPS = 3  # training batches per epoch below
SHORT = [
    "mode=full",
    *QUICK_MODEL,
    f"+trainer.limit_train_batches={STEPS}",
    "+trainer.limit_val_batches=1",
    "evaluate.splits=[]",
    "evaluate.fit_verdict=false",
]
EVERY_EPOCH = ["callbacks.model_checkpoint.last_min_interval_s=0"]  # last.ckpt at each epoch
# image classification on the ladder's models, whichever task is the project's default
LADDER = [*SHORT, "task=classification", "model=linear"]


def checkpoints(summary: dict) -> Path:
    return Path(summary["output_dir"]) / "checkpoints"


def save_config(summary: dict, *overrides: str) -> None:
    """What Hydra writes for a command-line run (``ckpt_path=last`` compares it)."""
    from omegaconf import OmegaConf

    folder = Path(summary["output_dir"])
    cfg = compose_config("train", [*QUICK, *overrides], folder)
    (folder / ".hydra").mkdir(exist_ok=True)
    OmegaConf.save(cfg, folder / ".hydra" / "config.yaml")


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One short run (its folder), shared by the tests that only read its checkpoints."""
    from {{ cookiecutter.package_name }}.training.run import train

    output_dir = tmp_path_factory.mktemp("trained") / "run"
    train(compose_config("train", [*QUICK, *SHORT, "trainer.max_epochs=2"], output_dir))
    return output_dir


def test_a_run_folder_or_a_file(trained):
    by_folder = read_checkpoint(trained)
    assert by_folder["epoch"] == load(trained / "checkpoints" / "best.ckpt")["epoch"]
    assert {"hyper_parameters", "state_dict", "datamodule"} <= by_folder.keys()
    assert read_checkpoint(trained / "checkpoints" / "last.ckpt")["epoch"] == 1


def test_data_settings_of_a_task_or_feature_left_out_are_set_aside_with_a_warning(
    trained, tmp_path, caplog
):
    """A checkpoint written before the project was updated to leave a task or feature out keeps
    settings its data class no longer takes: loaded all the same, and said (not a TypeError)."""
    checkpoint = load(trained / "checkpoints" / "best.ckpt")
    checkpoint["datamodule"]["setting_of_a_removed_feature"] = 3
    torch.save(checkpoint, tmp_path / "older.ckpt")
    module, datamodule = load_trained(tmp_path / "older.ckpt")
    assert "setting_of_a_removed_feature are of a task or feature" in caplog.text
    reference, same_data = load_trained(trained / "checkpoints" / "best.ckpt")
    assert datamodule.sizes() == same_data.sizes()
    for key, value in reference.state_dict().items():
        assert torch.equal(value, module.state_dict()[key])


def unusable(kind: str, folder: Path, real: Path) -> Path:
    """A checkpoint path that cannot be used, of the given kind."""
    path = folder / f"{kind.replace(' ', '_')}.ckpt"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":  # a write cut short (a full disk, a killed process)
        data = real.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind == "random bytes":
        path.write_bytes(bytes(range(256)) * 8)
    elif kind == "another program's":
        torch.save({"weights": torch.ones(2)}, path)
    elif kind == "crafted to run code":
        crafted(real, path, folder / "code_ran")
    elif kind == "folder without checkpoints":
        return folder
    return path


class RunsCode:
    """Unpickling this calls ``open(marker, "w")``: what a checkpoint crafted to run code does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def crafted(real: Path, path: Path, marker: Path) -> Path:
    """A whole, valid checkpoint of ``real`` with an object that runs code when unpickled."""
    checkpoint = load(real)
    checkpoint["hyper_parameters"]["payload"] = RunsCode(marker)
    torch.save(checkpoint, path)
    return path


UNUSABLE = {
    "missing": "does not exist",
    "empty": "is empty",
    "truncated": "is truncated or corrupt",
    "text": "is not a PyTorch checkpoint",
    "random bytes": "is not a PyTorch checkpoint",
    "another program's": "not a checkpoint written by train.py",
    "crafted to run code": "holds Python objects .* not loaded, for safety",
    "folder without checkpoints": "is a folder without checkpoints/best.ckpt",
}


@pytest.mark.parametrize("kind", list(UNUSABLE))
def test_an_unusable_checkpoint_is_one_clear_error(tmp_path, trained, kind):
    path = unusable(kind, tmp_path, trained / "checkpoints" / "last.ckpt")
    with pytest.raises(CheckpointError, match=UNUSABLE[kind]) as error:
        read_checkpoint(path)
    assert str(path) in str(error.value)  # names the file
    assert "\n" not in str(error.value)  # one line
    assert "weights_only=False" not in str(error.value)  # never the unsafe retry
    assert not (tmp_path / "code_ran").exists()


def test_atomic_writes_keep_the_old_file_when_a_write_fails(tmp_path):
    target = tmp_path / "state.pt"
    atomic_save({"step": torch.tensor(1)}, target)

    class Unpicklable:
        def __reduce__(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        atomic_save({"step": torch.tensor(2), "bad": Unpicklable()}, target)
    assert load(target)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]  # no partial file left behind


def test_checkpoints_are_synced_and_renamed_off_the_training_thread(run_train, monkeypatch):
    """The flush to disk (0.1-0.3 s for 134 MB) overlaps training; every file is complete, in
    place and loadable when fit returns."""
    from {{ cookiecutter.package_name }}.training import checkpoint_writer

    committed, real = [], checkpoint_writer.commit

    def recording(partial, path):
        committed.append((threading.current_thread().name, Path(path).name))
        return real(partial, path)

    monkeypatch.setattr(checkpoint_writer, "commit", recording)
    folder = checkpoints(run_train(*SHORT, "trainer.max_epochs=2", *EVERY_EPOCH))
    assert committed and all(name.startswith("checkpoint-writer") for name, _ in committed)
    assert torch.load(folder / "last.ckpt", weights_only=True)["epoch"] == 1
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "last.ckpt"]


@pytest.mark.parametrize("epochs", [2, 4])  # the failed write is the run's last one, or not
def test_a_failed_sync_leaves_the_previous_checkpoint_and_fails_the_run(
    run_train, monkeypatch, tmp_path, epochs
):
    """A full disk can also show at the flush, on the writer thread: the run still fails with
    it, and the previous file stays in place."""
    from {{ cookiecutter.package_name }}.training import checkpoints as module

    real, calls = module.os.fsync, []

    def full_disk_at_the_second_sync(fd):
        calls.append(fd)
        if len(calls) < 2:
            return real(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module.os, "fsync", full_disk_at_the_second_sync)
    with pytest.raises(OSError, match="No space left"):
        run_train(*SHORT, f"trainer.max_epochs={epochs}", *EVERY_EPOCH)
    monkeypatch.undo()
    folder = tmp_path / "run0" / "checkpoints"
    assert torch.load(folder / "last.ckpt", weights_only=True)["epoch"] == 0
    assert not list(folder.glob("*.partial"))


def test_a_failed_background_write_stops_the_run_at_its_next_save():
    """Not at its end: the writer's error is raised by the next operation asked of it."""
    from {{ cookiecutter.package_name }}.training.checkpoint_writer import _BackgroundWrites

    def full_disk():
        raise OSError(errno.ENOSPC, "No space left on device")

    writes, done = _BackgroundWrites(), []
    writes.submit(full_disk)
    writes._pending[0].exception(timeout=10)  # (until the writer has run it)
    with pytest.raises(OSError, match="No space left"):
        writes.submit(done.append, 1)
    assert done == []


def test_a_checkpoint_write_cut_short_by_a_full_disk_leaves_the_previous_one(
    run_train, monkeypatch
):
    """Lightning writes through the system temp folder and copies: a full disk used to leave a
    truncated last.ckpt, and resuming then failed with a raw traceback. The checkpoint streams
    into a partial file next to the target: the disk fills up while that file is written."""
    real, calls = torch.save, []

    # the second checkpoint written (best.ckpt or last.ckpt: a last.ckpt of the same step as a
    # new best.ckpt is a link to it, and last.ckpt is not rewritten every short epoch)
    def full_disk_at_the_second_write(checkpoint, handle, *args, **kwargs):
        calls.append(handle.name)
        if len(calls) < 2:
            return real(checkpoint, handle, *args, **kwargs)
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk_at_the_second_write)
    with pytest.raises(OSError, match="No space left"):
        run_train(*SHORT, "trainer.max_epochs=3")
    monkeypatch.undo()
    folder = Path(calls[0]).parent
    assert load(folder / "last.ckpt")["epoch"] == 0  # the epoch before the failed write
    assert not list(folder.glob("*.partial"))  # nor a half-written file beside it
    if generated("training.resume"):  # (the resume feature) the run continues from it
        resumed = run_train(*SHORT, "trainer.max_epochs=3", f"ckpt_path={folder.parent}")
        assert resumed["status"] == "completed"
        assert resumed["trainer"]["global_step"] == 3 * STEPS


def test_last_is_the_last_epoch_even_when_the_metric_stopped_improving(run_train):
    """lr=0: val/acc never improves after the first epoch. Lightning 2.6 then kept last.ckpt at
    epoch 0, so a crash lost every later epoch and `ckpt_path=last` trained them again."""
    first = run_train(*SHORT, "optimizer.lr=0", "trainer.max_epochs=3")
    save_config(first, *SHORT, "optimizer.lr=0", "trainer.max_epochs=3")
    assert load(checkpoints(first) / "best.ckpt")["epoch"] == 0
    last = load(checkpoints(first) / "last.ckpt")
    assert last["epoch"] == 2 and last["global_step"] == 3 * STEPS
    if generated("training.resume"):  # (the resume feature)
        again = run_train(*SHORT, "optimizer.lr=0", "trainer.max_epochs=3", "ckpt_path=last")
        assert again["status"] == "completed"
        assert again["trainer"]["global_step"] == 3 * STEPS  # a finished run: nothing trained


@pytest.mark.parametrize(
    ("interval", "length", "written"),
    [
        (0, ["trainer.max_epochs=3"], [0, 1, 2]),
        (1e9, ["trainer.max_epochs=3"], [0, 2]),  # the first and the final epoch only
        (1e9, ["trainer.max_epochs=10", "+trainer.max_steps=7"], [0, 2]),  # ends in epoch 2
    ],
)
def test_last_is_rewritten_at_most_every_interval_but_first_and_final_always(
    run_train, monkeypatch, interval, length, written
):
    """Short epochs: rewriting last.ckpt at each one cost more than the training."""
    from {{ cookiecutter.package_name }}.training import checkpoint_writer

    epochs, real = [], checkpoint_writer.ResumableCheckpoint._save_checkpoint

    def recorded(self, trainer, filepath):
        if Path(filepath).name == "last.ckpt":
            epochs.append(trainer.current_epoch)
        real(self, trainer, filepath)

    monkeypatch.setattr(checkpoint_writer.ResumableCheckpoint, "_save_checkpoint", recorded)
    summary = run_train(
        *SHORT, *length, f"callbacks.model_checkpoint.last_min_interval_s={interval}"
    )
    assert epochs == written
    assert (
        load(checkpoints(summary) / "last.ckpt")["global_step"] == summary["trainer"]["global_step"]
    )


def test_a_last_ckpt_of_the_same_step_as_a_new_best_is_the_same_file(run_train):
    """Not a second write of the same weights and optimizer state: a hard link."""
    summary = run_train(*SHORT, "trainer.max_epochs=1")
    last, best = checkpoints(summary) / "last.ckpt", checkpoints(summary) / "best.ckpt"
    assert last.samefile(best) and load(last)["epoch"] == 0


@pytest.mark.task("classification", "multilabel", "regression", "segmentation")
def test_a_compiled_run_writes_plain_checkpoints_that_eval_loads(run_train, tmp_path):
    """compile=...: torch.compile in place (here its tracing without code generation, quick);
    the checkpoint's keys stay plain, so eval/predict load it like any other."""
    summary = run_train("mode=smoke", "compile={backend:eager}", "channels_last=true")
    assert summary["status"] == "completed" and summary["model"]["compiled"] == {"backend": "eager"}
    checkpoint = torch.load(summary["best_checkpoint"], map_location="cpu", weights_only=True)
    assert not [key for key in checkpoint["state_dict"] if "_orig_mod" in key]
    task, _ = load_trained(summary["best_checkpoint"])
    assert task.model.parameter_counts()["total"] == summary["model"]["params_total"]

    # a checkpoint of a model compiled by wrapping it (keys "_orig_mod.") is read all the same
    checkpoint["state_dict"] = {
        k.replace("model.", "model._orig_mod.", 1): v for k, v in checkpoint["state_dict"].items()
    }
    wrapped = tmp_path / "wrapped.ckpt"
    torch.save(checkpoint, wrapped)
    again, _ = load_trained(wrapped)
    for key, value in task.state_dict().items():
        assert torch.equal(value, again.state_dict()[key])


# ---- the checkpoint format ---------------------------------------------------------------------
def as_format_1(checkpoint: dict, old_targets: dict | None = None) -> dict:
    """``checkpoint`` laid out as train.py wrote it before the training module held the task
    (no ``format_version``; the task's class in ``task``, its options among the module's
    hyper-parameters; ``old_targets``: what the task then kept of its targets)."""
    hparams = checkpoint["hyper_parameters"]
    task = dict(hparams["task"])
    old = {key: value for key, value in checkpoint.items() if key != "format_version"}
    old["task"] = {"_target_": task.pop("_target_")}
    old["hyper_parameters"] = {
        **{key: value for key, value in hparams.items() if key != "task"},
        **_format_1_configs(hparams),
        **task,
        **({"targets": old_targets} if old_targets else {}),
    }
    return old


def _format_1_configs(hparams: dict) -> dict:
    """The model, optimizer, scheduler and facts as format 1 held them: a model and a schedule by
    name, an optimizer without ``_partial_``, the facts as a dict read by parameter name."""

    def without(node: dict, *keys: str) -> dict:
        return {k: v for k, v in node.items() if k not in keys}

    scheduler = hparams["scheduler"]
    return {
        "model": without(hparams["model"], "_target_", "_partial_"),
        "optimizer": without(hparams["optimizer"], "_partial_"),
        "scheduler": {
            "name": scheduler["_target_"].rsplit(".", 1)[-1],
            **without(scheduler, "_target_", "_partial_"),
        },
        "inputs": {
            k: v for k, v in without(hparams["inputs"], "_target_", "kind").items() if v is not None
        },
    }


@pytest.mark.parametrize(
    ("task", "model"),
    [
        pytest.param("classification", "linear", marks=pytest.mark.task("classification")),
        pytest.param("collab", "dot_bias", marks=pytest.mark.task("collab")),
    ],
)
def test_a_checkpoint_of_format_1_loads_and_predicts_as_the_same_run_in_format_2(
    task, model, run_train, tmp_path
):
    from {{ cookiecutter.package_name }}.analysis.predict import load_trained, predict

    trained = run_train(*SHORT, "trainer.max_epochs=1", f"task={task}", f"model={model}")
    best = Path(trained["best_checkpoint"])
    checkpoint = load(best)
    assert checkpoint["format_version"] == 2
    assert checkpoint["state_dict"] and all(
        k.startswith("model.") for k in checkpoint["state_dict"]
    )
    # (collab kept only regression's statistics then: its rating range and count are new)
    targets = checkpoint["hyper_parameters"]["task"]["targets"]
    kept = {k: targets[k] for k in ("names", "mean", "std", "chance_loss") if k in targets}
    torch.save(as_format_1(checkpoint, kept), tmp_path / "format1.ckpt")
    old, datamodule = load_trained(tmp_path / "format1.ckpt")
    new, _ = load_trained(best)
    assert old.task.target_info == new.task.target_info and old.hparams == new.hparams
    assert torch.equal(
        predict(old, datamodule, "val").outputs, predict(new, datamodule, "val").outputs
    )


def test_a_checkpoint_of_a_later_format_is_refused_in_one_line_naming_it(run_train, tmp_path):
    from {{ cookiecutter.package_name }}.analysis.predict import load_trained

    trained = run_train(*SHORT, "trainer.max_epochs=1")
    checkpoint = load(Path(trained["best_checkpoint"]))
    torch.save({**checkpoint, "format_version": 7}, tmp_path / "later.ckpt")
    with pytest.raises(CheckpointError) as error:
        load_trained(tmp_path / "later.ckpt")
    message = str(error.value)
    assert "later.ckpt was written in checkpoint format 7" in message
    assert "reads formats 1 to 2" in message and "\n" not in message
