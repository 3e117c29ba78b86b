"""Evaluate a checkpoint on the split it was trained with: `python eval.py ckpt_path=...`."""

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)
from {{ cookiecutter.package_name }}.training.errors import (
    cli,
    drop_unset,
    reject_unknown_keys,
    run_command,
)
from {{ cookiecutter.package_name }}.training.validate import ConfigError

CONFIGS = Path(__file__).parent / "configs"


@hydra.main(version_base="1.3", config_path="configs", config_name="eval")
def main(cfg: DictConfig) -> None:
    def job() -> None:
        reject_unknown_keys(cfg, CONFIGS / "eval.yaml")
        drop_unset(cfg, "data")  # only the data settings given on the command line
        if OmegaConf.is_missing(cfg, "ckpt_path") or not cfg.ckpt_path:
            raise ConfigError(
                "eval.py needs ckpt_path=<run folder or .ckpt file>, e.g. "
                "ckpt_path=outputs/full/<date>_<time>"
            )
        from {{ cookiecutter.package_name }}.training.checkpoints import trained_checkpoint
        from {{ cookiecutter.package_name }}.training.run import evaluate

        # a run folder: its best checkpoint; unreadable or not from train.py: one clear message
        cfg.ckpt_path = str(trained_checkpoint(cfg.ckpt_path))
        evaluate(cfg)

    run_command(job, cfg)


if __name__ == "__main__":
    cli(main)
