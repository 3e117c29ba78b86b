"""Evaluate a checkpoint on the split it was trained with: `python eval.py ckpt_path=...`."""

import sys

import hydra
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)


@hydra.main(version_base="1.3", config_path="configs", config_name="eval")
def main(cfg: DictConfig) -> None:
    from {{ cookiecutter.package_name }}.training.run import evaluate

    try:
        evaluate(cfg)
    except FileNotFoundError as error:  # no such checkpoint: one line, not a stack trace
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
