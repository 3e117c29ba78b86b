"""Export a trained model: `python export.py ckpt_path=<run dir>` -> model.onnx, model.pt2 and
preprocessing.json, each model checked against PyTorch first (see configs/export.yaml)."""

import hydra
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)
from {{ cookiecutter.package_name }}.training.errors import cli, run_command


@hydra.main(version_base="1.3", config_path="configs", config_name="export")
def main(cfg: DictConfig) -> None:
    def job() -> None:
        from {{ cookiecutter.package_name }}.analysis.export import run

        run(cfg)

    run_command(job, cfg)


if __name__ == "__main__":
    cli(main)
