"""Resume after a crash: a run killed with SIGKILL mid-epoch and resumed with ``ckpt_path=last``
ends exactly like a run that was never interrupted (same seed, CPU)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import PROJECT, QUICK

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
