"""Predict new files with a trained model: `python predict.py ckpt_path=<run dir> inputs=<folder>`.

See configs/predict.yaml; writes predictions.csv (and unreadable.txt) into the run folder.
"""

import sys

import hydra
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)


@hydra.main(version_base="1.3", config_path="configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    from {{ cookiecutter.package_name }}.analysis.predict_files import run

    try:
        run(cfg)
    except (FileNotFoundError, ValueError) as error:  # bad path or list: one line, exit 2
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
