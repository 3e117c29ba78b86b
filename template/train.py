"""Train: `python train.py [mode=overfit|fraction|full|smoke] [model=...] [key=value ...]`.

See configs/train.yaml for every option and README.md for the workflow.
"""

import sys

import hydra
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    # heavy imports only now, after Hydra has parsed the command line
    from {{ cookiecutter.package_name }}.training.run import train
    from {{ cookiecutter.package_name }}.training.shape_check import ShapeError
    from {{ cookiecutter.package_name }}.training.sweep import run_job

    try:
        # single run: exit 1 on a failed check or an error; multirun: recorded, the sweep goes on
        return run_job(train, cfg)  # the value of `optimized_metric`, for the sweeper
    except ShapeError as error:  # one readable message instead of a stack trace
        print(f"shape check failed: {error}", file=sys.stderr)
        sys.exit(2)
    except FileNotFoundError as error:  # a data root, checkpoint or run that is not there
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
