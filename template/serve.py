"""Serve a trained model over HTTP: `python serve.py ckpt_path=<run dir>` (the [serve] extra),
then `curl --data-binary @image.png http://127.0.0.1:8000/predict` (see configs/serve.yaml)."""

import hydra
from omegaconf import DictConfig

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)
from {{ cookiecutter.package_name }}.training.errors import cli, run_command


@hydra.main(version_base="1.3", config_path="configs", config_name="serve")
def main(cfg: DictConfig) -> None:
    def job() -> None:
        # inside the job: a missing [serve] extra is told in one line, like any other mistake
        from {{ cookiecutter.package_name }}.analysis.serve import run

        run(cfg)

    # serving writes nothing into its run folder: none is left behind
    run_command(job, cfg, keep_empty_run_dir=False)


if __name__ == "__main__":
    cli(main)
