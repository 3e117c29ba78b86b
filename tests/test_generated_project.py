"""The generated project installs, passes its own tests, and every mode works from its CLI.

These are the slow end-to-end tests (marked ``slow``; CI runs them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import DEFAULT_PACKAGE, generate, imports_then_pytest

pytestmark = pytest.mark.slow


def layered_venv(path: Path) -> Path:
    """A fresh virtual environment that also sees this environment's packages (torch and friends
    are gigabytes: installing them again per test would take minutes)."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = subprocess.run([str(python), "-c", where], capture_output=True, text=True,
                          check=True).stdout.strip()
    Path(site, "_parent_env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(project, python): the default project with every task (tasks=all), pip-installed
    (editable) into its own venv."""
    project = generate(tmp_path_factory.mktemp("installed"), tasks="all", features="all",
                       project_name="My Vision Project")
    python = layered_venv(tmp_path_factory.mktemp("venv") / "venv")
    result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                             "--no-build-isolation", "-e", str(project)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return project, python


def run(python: Path, project: Path, *args: str, env: dict | None = None,
        timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], cwd=project, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_the_package_is_installed_not_just_on_the_path(installed, tmp_path):
    project, python = installed
    result = run(python, tmp_path, "-c", f"import {DEFAULT_PACKAGE} as p; print(p.__file__)")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(project / "src")


def test_the_generated_test_suite_passes(installed):
    """Every module imports, and both tiers pass: the fast one (`pytest`) and the end-to-end
    one (`pytest -m slow`)."""
    project, python = installed
    result = imports_then_pytest(project, "-q", "-m", "slow or not slow", python=python,
                                 env=dict(os.environ), timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
    # every optional package its tests need is in this environment: nothing may be skipped
    assert " skipped" not in result.stdout, result.stdout[-3000:]


def test_overfit_mode_prints_and_records_its_verdict(installed, tmp_path):
    project, python = installed
    result = run(python, project, "train.py", "mode=overfit", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    verdict = summary(tmp_path)["verdicts"]["overfit"]
    assert verdict["reached"] and verdict["target"] == 1.0
    assert f"reached 100% train acc on 1 batch of 64 in {verdict['steps']} steps" \
        in result.stdout


def test_overfit_mode_fails_loudly_with_lr_zero(installed, tmp_path):
    project, python = installed
    result = run(python, project, "train.py", "mode=overfit", "optimizer.lr=0",
                 f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert "did NOT reach 100% train acc" in result.stdout
    assert "not decreasing" in result.stdout
    assert summary(tmp_path)["status"] == "failed"


def test_fraction_mode_uses_a_tenth_of_the_training_split(installed, tmp_path):
    project, python = installed
    result = run(python, project, "train.py", "mode=fraction", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    data = summary(tmp_path)["data"]
    assert data["fraction"] == 0.1
    assert data["sizes"]["train"] == round(0.1 * data["full_train_size"] + 0.5)
    assert data["sizes"]["val"] == data["sizes"]["test"] == 270


def test_default_training_reaches_95_percent_and_eval_agrees(installed, tmp_path):
    project, python = installed
    result = run(python, project, "train.py", f"hydra.run.dir={tmp_path / 'train'}")
    assert result.returncode == 0, result.stderr[-3000:]
    trained = summary(tmp_path / "train")
    assert trained["mode"] == "full" and trained["status"] == "completed"
    assert trained["metrics"]["test"]["acc"] >= 0.95
    assert trained["verdicts"]["fit"]["diagnosis"]
    result = run(python, project, "eval.py", f"ckpt_path={trained['best_checkpoint']}",
                 f"hydra.run.dir={tmp_path / 'eval'}")
    assert result.returncode == 0, result.stderr[-3000:]
    evaluated = summary(tmp_path / "eval")
    assert evaluated["metrics"]["test"]["acc"] == pytest.approx(trained["metrics"]["test"]["acc"])


@pytest.mark.parametrize("logger", ["tensorboard", "wandb"])
def test_default_logger_choice_runs(tmp_path, logger):
    """A project whose default logger is not CSV trains and logs with it (offline)."""
    project = generate(tmp_path, default_logger=logger)
    run_dir = tmp_path / "run"
    result = run(Path(sys.executable), project, "train.py", "mode=smoke",
                 f"hydra.run.dir={run_dir}",
                 env={"PYTHONPATH": str(project / "src"), "WANDB_MODE": "offline",
                      "WANDB_SILENT": "true"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary(run_dir)["status"] == "completed"
    if logger == "tensorboard":
        assert list(run_dir.rglob("events.out.tfevents.*"))
    else:
        assert list(run_dir.rglob("*.wandb"))
