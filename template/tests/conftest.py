"""Shared fixtures: compose the real configs with Hydra and run the jobs in-process (fast)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from {{ cookiecutter.package_name }} import noise

PROJECT = Path(__file__).resolve().parents[1]
CONFIGS = PROJECT / "configs"

os.environ.setdefault("WANDB_MODE", "offline")

# Small and quick, but still a real run of the real configs.
QUICK = ["print_config=false", "logger=csv", "+trainer.enable_progress_bar=false",
         "trainer.enable_model_summary=false"]


def compose_config(name: str, overrides: list[str], output_dir: Path) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(name, overrides=[f"paths.output_dir={output_dir}", *overrides])


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
