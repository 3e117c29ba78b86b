"""How a run ends, from the command line: exit code, summary.json status and message agree."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import PROJECT

pytestmark = pytest.mark.slow
QUIET = [
    "print_config=false",
    "logger=csv",
    "+trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def train(*overrides: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PROJECT / "train.py"), *QUIET, *overrides],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


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


@pytest.mark.task("classification")  # the recipe's data set gives classes of images
def test_a_model_and_a_data_set_added_as_the_readme_says_run_in_every_mode(tmp_path):
    """docs/layout.md, "Add a model" and "Add your own data set": a new module + a yaml each,
    nothing else. The model has no `dropout` option: modes switch regularization off through
    `regularize` all the same. (In a copy of the project: the new files must not show up in
    tests running alongside.)"""
    copy = tmp_path / "project"
    shutil.copytree(
        PROJECT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    shutil.copytree(PROJECT / "configs", copy / "configs")
    shutil.copy(PROJECT / "train.py", copy)
    package = next((copy / "src").glob("*/models"))
    (package / "recipe_tiny.py").write_text(
        "import math\n\nfrom torch import nn\n\nfrom ..inputs.base import InputFacts\n"
        "from .base import Network\n"
        "from .registry import register_model\n\n\n@register_model('recipe_tiny')\n"
        "def recipe_tiny(num_outputs: int, facts: InputFacts, width: int = 16):\n"
        "    body = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(facts.shape), width),\n"
        "                         nn.ReLU(), nn.Dropout(0.5))\n"
        "    return Network(body, nn.Linear(width, num_outputs), [body])\n"
    )
    (copy / "configs" / "model" / "recipe_tiny.yaml").write_text(
        f"_target_: {package.parent.name}.models.recipe_tiny.recipe_tiny\n"
        "_partial_: true\nname: recipe_tiny\nwidth: 32\n"
    )
    (package.parent / "data" / "recipe_blobs.py").write_text(
        "import torch\n\nfrom .base import DataModule, LoadedData\n\n\n"
        "class BlobsDataModule(DataModule):\n"
        "    target_kind = 'class'\n\n"
        "    def load(self):\n"
        "        labels = torch.arange(600) % 3\n"
        "        noise = torch.randn(600, 1, 4, 4, generator=torch.Generator().manual_seed(0))\n"
        "        images = labels[:, None, None, None].float() + 0.3 * noise\n"
        "        return LoadedData(images, labels, ['low', 'middle', 'high'])\n"
    )
    (copy / "configs" / "data" / "recipe_blobs.yaml").write_text(
        f"_target_: {package.parent.name}.data.recipe_blobs.BlobsDataModule\n"
    )
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}  # the copy, not the installed package
    # overfit (bounded by steps), then the other modes as one multirun: two Python starts
    runs = [
        (["mode=overfit", f"hydra.run.dir={tmp_path / 'overfit'}"], [tmp_path / "overfit"]),
        (
            [
                "-m",
                "mode=fraction,full,smoke",
                "trainer.max_epochs=2",
                f"hydra.sweep.dir={tmp_path / 'modes'}",
            ],
            [tmp_path / "modes" / str(i) for i in range(3)],
        ),
    ]
    for overrides, run_dirs in runs:
        process = subprocess.run(
            [
                sys.executable,
                str(copy / "train.py"),
                *overrides,
                *QUIET,
                "task=classification",
                "model=recipe_tiny",
                "data=recipe_blobs",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert process.returncode == 0, (overrides, process.stderr[-2000:])
        for run_dir in run_dirs:
            summary = json.loads((run_dir / "summary.json").read_text())
            assert summary["model"]["name"] == "recipe_tiny" and summary["status"] == "completed"
            assert summary["data"]["targets"] == 3
    modes = [
        json.loads((tmp_path / "modes" / str(i) / "summary.json").read_text())["mode"]
        for i in range(3)
    ]
    assert [m["name"] if isinstance(m, dict) else m for m in modes] == ["fraction", "full", "smoke"]
