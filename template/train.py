"""Train: `python train.py [mode=overfit|fraction|full|smoke] [model=...] [key=value ...]`.

See configs/train.yaml for every option and README.md for the workflow.
"""

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    # heavy imports only now, after Hydra has parsed the command line
    from {{ cookiecutter.package_name }}.training.run import train
    from {{ cookiecutter.package_name }}.training.shape_check import ShapeError

    try:
        summary = train(cfg)
    except ShapeError as error:  # one readable message instead of a stack trace
        print(f"shape check failed: {error}", file=sys.stderr)
        sys.exit(2)
    # A failed check (e.g. the overfit target not reached) fails the command, but not a sweep:
    # in multirun the other runs go on and the summary records the failure.
    if summary["status"] != "completed" and HydraConfig.get().mode == RunMode.RUN:
        sys.exit(1)
    return summary.get("metrics", {}).get("val", {}).get("acc")


if __name__ == "__main__":
    main()
