"""How a run ends, from the command line: exit code, summary.json status and message agree."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import PROJECT

pytestmark = pytest.mark.slow
QUIET = ["print_config=false", "logger=csv", "+trainer.enable_progress_bar=false",
         "trainer.enable_model_summary=false"]


def train(*overrides: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(PROJECT / "train.py"), *QUIET, *overrides],
                            cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def test_a_diverging_run_stops_at_once_exits_3_and_keeps_no_nan_model(tmp_path):
    process = train("optimizer.lr=1e6", "trainer.max_epochs=3", f"hydra.run.dir={tmp_path}")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 3, err[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())  # strict JSON
    assert summary["status"] == "diverged" and summary["exit_code"] == 3
    assert "learning rate is probably too high" in summary["message"]
    assert summary["trainer"]["epochs"] == 0  # stopped in the first epoch, not after three
    assert not (tmp_path / "checkpoints" / "best.ckpt").exists()
    assert "diverged at epoch 0" in out


def test_sigterm_ends_as_interrupted_with_143_and_a_resumable_checkpoint(tmp_path):
    process = train("trainer.max_epochs=200", f"hydra.run.dir={tmp_path}")
    last = tmp_path / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while not last.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert last.exists(), "no epoch finished in time"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["exit_code"] == 143
    assert "resume with ckpt_path=last" in summary["message"] and last.exists()


def test_a_model_added_as_the_readme_says_runs_in_every_mode(tmp_path):
    """README, "Add a model": a new module in models/ + a yaml, nothing else. The model has no
    `dropout` option: modes switch regularization off through `regularize` all the same."""
    package = next((PROJECT / "src").glob("*/models"))
    module, config = package / "recipe_tiny.py", PROJECT / "configs" / "model" / "recipe_tiny.yaml"
    module.write_text(
        "import math\n\nfrom torch import nn\n\nfrom .base import Network\n"
        "from .registry import register_model\n\n\n@register_model('recipe_tiny')\n"
        "def recipe_tiny(num_outputs, input_shape, width: int = 16):\n"
        "    body = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), width),\n"
        "                         nn.ReLU(), nn.Dropout(0.5))\n"
        "    return Network(body, nn.Linear(width, num_outputs), [body])\n")
    config.write_text("name: recipe_tiny\nwidth: 32\n")
    try:
        for mode in ("overfit", "fraction", "full", "smoke"):
            run_dir = tmp_path / mode
            short = [] if mode == "overfit" else ["trainer.max_epochs=2"]
            process = train("model=recipe_tiny", f"mode={mode}", *short,
                            f"hydra.run.dir={run_dir}")
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, (mode, err[-2000:])
            summary = json.loads((run_dir / "summary.json").read_text())
            assert summary["model"]["name"] == "recipe_tiny" and summary["status"] == "completed"
    finally:
        module.unlink(missing_ok=True)
        config.unlink(missing_ok=True)
