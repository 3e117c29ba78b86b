"""DDP on two CPU processes (gloo): one run folder, each rank trains on its own shard, rank 0
alone writes, the final metrics count every test sample exactly once."""

import json
import os
import subprocess
import sys

import pytest

from conftest import PROJECT

pytestmark = pytest.mark.slow
# the run starts in a fresh folder (to count run folders): find the package from there too
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        [str(PROJECT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    ),
}


@pytest.mark.task("classification")  # the digits' batches and accuracy (items counted once)
def test_ddp_cpu_trains_with_two_processes_into_one_run_folder(tmp_path):
    # fraction 0.1 of digits: 126 training images = 8 batches of 16 -> 4 steps per rank and epoch
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "train.py"),
            # every default callback, the progress bar included (rank 1 runs it disabled)
            "logger=csv",
            "task=classification",
            "trainer=ddp_cpu",
            "mode=fraction",
            "data.batch_size=16",
            "trainer.max_epochs=2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "outputs" / "fraction").iterdir())
    assert len(runs) == 1, runs  # rank 1 joined rank 0's folder
    run = runs[0]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["trainer"]["world_size"] == 2
    assert summary["trainer"]["global_step"] == 8  # 2 epochs x half of the 8 batches
    assert (run / "train_ddp_process_1.log").exists()  # rank 1 ran, logging into the same folder
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert len(list(run.rglob("metrics.csv"))) == 1  # rank 0 alone logs
    test_size = summary["data"]["sizes"]["test"]
    correct = summary["metrics"]["test"]["acc"] * test_size
    assert correct == pytest.approx(round(correct), abs=1e-3)  # no sample counted twice
