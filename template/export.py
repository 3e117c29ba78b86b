"""Export a trained model: `python export.py ckpt_path=<run dir>` -> model.onnx, model.pt2 and
preprocessing.json, each model checked against PyTorch first (see configs/export.yaml)."""

import sys

import hydra
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)


@hydra.main(version_base="1.3", config_path="configs", config_name="export")
def main(cfg: DictConfig) -> None:
    from {{ cookiecutter.package_name }}.analysis.export import run

    try:
        run(cfg)
    except ModuleNotFoundError as error:
        print(
            f"error: {error}: install the export extra, pip install -e '.[export]'", file=sys.stderr
        )
        sys.exit(2)
    except (FileNotFoundError, ValueError, RuntimeError) as error:  # one line, exit 2
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
