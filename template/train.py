"""Train: `python train.py [mode=overfit|fraction|full|smoke] [model=...] [key=value ...]`.

See configs/train.yaml for every option and README.md for the workflow.
"""

import hydra
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)
from {{ cookiecutter.package_name }}.training.errors import cli, run_command


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from {{ cookiecutter.package_name }}.console import print_start
    from {{ cookiecutter.package_name }}.training.sweep import in_multirun
    from {{ cookiecutter.package_name }}.training.threads import configure_threads
    from {{ cookiecutter.package_name }}.training.validate import validate_config

    def job() -> float | None:
        from {{ cookiecutter.package_name }}.training.cv import check_cv, cv_enabled

        cross_validation = cv_enabled(cfg)  # cv=kfold: k runs and their spread (docs/cv.md)
        if not in_multirun():  # a bad value stops a single run before anything is built
            validate_config(cfg)
            if cross_validation:
                check_cv(cfg)
        configure_threads(cfg)  # several runs on one machine: each its share of the cores
        # heavy imports only now, after Hydra has parsed the command line
        from {{ cookiecutter.package_name }}.training.run import train
        from {{ cookiecutter.package_name }}.training.sweep import run_job

        if cross_validation:
            from {{ cookiecutter.package_name }}.training.cv import cross_validate

            return run_job(cross_validate, cfg)  # the mean over the folds, for the sweeper
        return run_job(train, cfg)  # `optimized_metric`, for the sweeper

    print_start(cfg)  # what runs, where its folder is: a few lines, the verdict stays on screen
    # single run: exit 1 on a failed check, 2 on a user error (one line), a traceback on a bug;
    # multirun: each job's outcome is recorded and the sweep goes on
    return run_command(job, cfg)


if __name__ == "__main__":
    cli(main)
