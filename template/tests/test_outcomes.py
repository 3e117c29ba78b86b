"""How a run ends, from the command line: exit code, summary.json status and message agree."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch

from {{ cookiecutter.package_name }}.training.errors import generated
from {{ cookiecutter.package_name }}.training.guards import (
    READ_EVERY,
    WINDOW,
    Diverged,
    StopOnDivergence,
)

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


@pytest.mark.task("classification")  # the digits' CNN: its loss explodes, finite, at this lr
def test_a_run_whose_loss_explodes_but_stays_finite_ends_as_diverged(tmp_path):
    process = train(
        "mode=smoke", "task=classification", "optimizer.lr=1000", f"hydra.run.dir={tmp_path}"
    )
    out, err = process.communicate(timeout=300)
    assert process.returncode == 3, err[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["exit_code"] == 3
    message = summary["message"]
    assert "the training loss exploded to" in message and "optimizer.lr=1000" in message
    assert "learning rate is probably too high" in message and "NaN" not in message
    assert message.startswith("diverged at epoch 0") and message in out
    assert not list((tmp_path / "checkpoints").glob("*.ckpt"))  # none of the exploded model


def _fake_fit(device: str = "cpu", chance: float | None = 2.3):
    """The trainer and module that StopOnDivergence reads, without a fit."""
    trainer = SimpleNamespace(
        current_epoch=0,
        global_step=0,
        world_size=1,
        accumulate_grad_batches=1,
        sanity_checking=False,
        checkpoint_callbacks=[],
        strategy=SimpleNamespace(root_device=torch.device(device)),
    )
    task = SimpleNamespace(chance_loss=lambda: chance)
    module = SimpleNamespace(task=task, lr=0.5, automatic_optimization=True)
    guard = StopOnDivergence()
    guard.on_fit_start(trainer, module)
    return guard, trainer, module


def _steps(guard, trainer, module, losses) -> None:
    for loss in losses:
        trainer.global_step += 1
        guard.on_train_batch_end(trainer, module, {"loss": loss}, None, 0)


def test_on_a_gpu_the_losses_are_read_together_and_a_nan_is_caught_before_validation():
    guard, trainer, module = _fake_fit("cuda")
    # a loss that cannot be read (meta tensor): no step before READ_EVERY reads one
    _steps(guard, trainer, module, [torch.ones((), device="meta")] * (READ_EVERY - 1))
    guard, trainer, module = _fake_fit("cuda")
    _steps(guard, trainer, module, [torch.tensor(2.0), torch.tensor(float("nan"))])
    _steps(guard, trainer, module, [torch.tensor(2.0)] * 3)  # (not read yet: goes on)
    with pytest.raises(Diverged, match="at epoch 0 step 2: the training loss became nan"):
        guard.on_validation_start(trainer, module)  # (before validation's checkpoint)


def test_one_outlier_batch_does_not_stop_a_run_a_sustained_explosion_does():
    guard, trainer, module = _fake_fit()
    losses = [2.3] * (WINDOW - 1) + [2.3 * 50 * WINDOW / 2]  # one batch: 1250x the reference
    _steps(guard, trainer, module, map(torch.tensor, losses))
    guard.on_validation_start(trainer, module)
    guard.on_train_epoch_end(trainer, module)
    with pytest.raises(Diverged, match=r"exploded to 1e\+04 .* over 100x .*\(2\.3\)"):
        _steps(guard, trainer, module, [torch.tensor(1e4)] * WINDOW)  # judged every READ_EVERY


def test_the_reference_is_the_larger_of_the_chance_loss_and_the_first_loss():
    # a run that starts far above chance (or a task without one) is judged by its own start
    for chance in (2.3, None):
        guard, trainer, module = _fake_fit(chance=chance)
        _steps(guard, trainer, module, [torch.tensor(50.0)] + [torch.tensor(2000.0)] * WINDOW)
        guard.on_train_epoch_end(trainer, module)  # 40x the start: goes on


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
    assert last.exists()
    if generated("training.resume"):
        assert summary["message"].endswith("; resume with ckpt_path=last (same overrides)")
    else:  # one line: run it again, resuming comes with the resume feature
        assert summary["message"].endswith(
            "; run it again (same overrides); resuming (ckpt_path=last) comes with the resume "
            "feature"
        )


def test_sigterm_before_fit_ends_as_interrupted_with_143_too(tmp_path):
    """SIGTERM while the run still builds (its data, its model, the LR finder): Lightning handles
    it only inside fit, and Python's default would end the run at once without summary.json. The
    signal goes out as soon as train() prints the config, its first step; should the run reach
    fit first, the outcome is the same."""
    quiet = [option for option in QUIET if not option.startswith("print_config")]
    overrides = [*quiet, "print_config=true", "trainer.max_epochs=200", f"hydra.run.dir={tmp_path}"]
    process = subprocess.Popen(
        [sys.executable, str(PROJECT / "train.py"), *overrides],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # (a suite started with SIGTERM ignored would pass that on, and the run keeps it so)
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    )
    for line in process.stdout:  # (the config tree's first line)
        if line.strip() == "config":
            break
    process.send_signal(signal.SIGTERM)
    output = process.stdout.read()
    assert process.wait(timeout=120) == 143, output[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["exit_code"] == 143
    assert summary["message"].startswith("interrupted"), summary["message"]


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
