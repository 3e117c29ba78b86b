"""Shared fixtures: compose the real configs with Hydra and run the jobs in-process (fast)."""

from __future__ import annotations

import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one thread per test process (pytest -n: one process per core), set before torch starts;
    # the runs the tests start inherit it. N processes x N threads would fight over the cores.
    os.environ["OMP_NUM_THREADS"] = "1"

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from {{ cookiecutter.package_name }} import noise
from {{ cookiecutter.package_name }}.training.threads import available_cores

PROJECT = Path(__file__).resolve().parents[1]
CONFIGS = PROJECT / "configs"

os.environ.setdefault("WANDB_MODE", "offline")

# Small and quick, but still a real run of the real configs.
QUICK = ["print_config=false", "logger=csv", "+trainer.enable_progress_bar=false",
         "trainer.enable_model_summary=false"]


def compose_config(name: str, overrides: list[str], output_dir: Path) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(name, overrides=[f"paths.output_dir={output_dir}", *overrides])


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: the cores this process may use (xdist would count physical cores, which is 1
    on many 2-vCPU machines)."""
    return available_cores()


@pytest.fixture(autouse=True)
def _quiet():
    """pytest resets warning filters for every test: apply the project's filters inside it."""
    noise.silence()


@pytest.fixture
def run_train(tmp_path):
    """run_train("mode=overfit", ...) -> summary in a fresh output folder each call."""
    from {{ cookiecutter.package_name }}.training.run import train

    counter = iter(range(1000))

    def run(*overrides: str, quick: bool = True) -> dict:
        output_dir = tmp_path / f"run{next(counter)}"
        summary = train(compose_config("train", [*(QUICK if quick else []), *overrides],
                                       output_dir))
        return summary.to_dict()

    return run
