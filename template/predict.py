"""Predict new files with a trained model: `python predict.py ckpt_path=<run dir> inputs=<folder>`.

See configs/predict.yaml; writes predictions.csv (and unreadable.txt) into the run folder.
"""

import hydra
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)
from {{ cookiecutter.package_name }}.training.errors import cli, run_command


@hydra.main(version_base="1.3", config_path="configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    def job() -> None:
        from {{ cookiecutter.package_name }}.analysis.predict_files import run

        run(cfg)

    run_command(job, cfg)


if __name__ == "__main__":
    cli(main)
