"""Serve a trained model over HTTP: `python serve.py ckpt_path=<run dir>` (the [serve] extra),
then `curl --data-binary @image.png http://127.0.0.1:8000/predict` (see configs/serve.yaml)."""

import sys

import hydra
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)


@hydra.main(version_base="1.3", config_path="configs", config_name="serve")
def main(cfg: DictConfig) -> None:
    from {{ cookiecutter.package_name }}.analysis.serve import run

    try:
        run(cfg)
    except ModuleNotFoundError as error:
        print(
            f"error: {error}: install the serve extra, pip install -e '.[serve]'", file=sys.stderr
        )
        sys.exit(2)
    except (FileNotFoundError, ValueError) as error:  # one line, exit 2
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
