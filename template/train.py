"""Train: `python train.py [mode=overfit|fraction|full|smoke] [model=...] [key=value ...]`.

See configs/train.yaml and docs/configuration.md for every option, README.md for the workflow.
"""

from types import ModuleType

import hydra
from omegaconf import DictConfig, OmegaConf

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)
from {{ cookiecutter.package_name }}.training.errors import cli, run_command


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from {{ cookiecutter.package_name }}.console import print_start
    from {{ cookiecutter.package_name }}.training.sweep import in_multirun
{%- if "ddp" in cookiecutter.__features.split(",") or "sweeps" in cookiecutter.__features.split(",") %}
    from {{ cookiecutter.package_name }}.training.threads import configure_threads
{%- endif %}
    from {{ cookiecutter.package_name }}.training.validate import validate_config

    def job() -> float | None:
        cross_validation = cross_validation_of(cfg)  # cv=kfold: k runs and their spread
        if not in_multirun():  # a bad value stops a single run before anything is built
            validate_config(cfg)
            if cross_validation:
                cross_validation.check_cv(cfg)
{%- if "ddp" in cookiecutter.__features.split(",") or "sweeps" in cookiecutter.__features.split(",") %}
        configure_threads(cfg)  # several runs on one machine: each its share of the cores
{%- endif %}
        # heavy imports only now, after Hydra has parsed the command line
        from {{ cookiecutter.package_name }}.training.run import train
        from {{ cookiecutter.package_name }}.training.sweep import run_job

        if cross_validation:
            return run_job(cross_validation.cross_validate, cfg)  # the folds' mean, for sweeps
        return run_job(train, cfg)  # `optimized_metric`, for the sweeper

    print_start(cfg)  # what runs, where its folder is: a few lines, the verdict stays on screen
    # single run: exit 1 on a failed check, 2 on a user error (one line), a traceback on a bug;
    # multirun: each job's outcome is recorded and the sweep goes on
    return run_command(job, cfg)


def cross_validation_of(cfg: DictConfig) -> ModuleType | None:
{%- if "cv" in cookiecutter.__features.split(",") %}
    """training/cv.py when the config asks for folds (cv=kfold, docs/cv.md), else None."""
{%- else %}
    """training/cv.py when the config asks for folds (cv=kfold), else None. The `cv` feature
    brings it (docs/maintenance.md)."""
{%- endif %}
    if not OmegaConf.select(cfg, "cv.folds", default=0):
        return None
    from {{ cookiecutter.package_name }}.training.errors import feature_missing

    if missing := feature_missing("training.cv", f"cv.folds={cfg.cv.folds}", "cv"):
        from {{ cookiecutter.package_name }}.training.validate import ConfigError

        raise ConfigError(missing)
    from {{ cookiecutter.package_name }}.training import cv

    return cv


if __name__ == "__main__":
    cli(main)
