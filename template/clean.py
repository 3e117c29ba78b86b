"""Clean the data with the model: `python clean.py ckpt_path=...`, then `step=apply csv=...`.

See configs/clean.yaml for the steps, and analysis/clean_data.py in the package for the details.
"""

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)
from {{ cookiecutter.package_name }}.training.errors import (
    cli,
    drop_unset,
    reject_unknown_keys,
    run_command,
)
from {{ cookiecutter.package_name }}.training.validate import ConfigError

CONFIGS = Path(__file__).parent / "configs"


@hydra.main(version_base="1.3", config_path="configs", config_name="clean")
def main(cfg: DictConfig) -> None:
    # only step=find writes into its run folder: apply and undo leave none behind
    run_command(lambda: clean(cfg), cfg, keep_empty_run_dir=False)


def clean(cfg: DictConfig) -> None:
    reject_unknown_keys(cfg, CONFIGS / "clean.yaml")
    drop_unset(cfg, "data")  # only the data settings given on the command line
    from {{ cookiecutter.package_name }}.analysis import clean_data

    if cfg.step == "find":
        if not cfg.ckpt_path:
            raise ConfigError(
                "step=find needs ckpt_path=<run folder or .ckpt file>, e.g. "
                "ckpt_path=outputs/full/<date>_<time>"
            )
        from {{ cookiecutter.package_name }}.analysis.predict import load_trained
        from {{ cookiecutter.package_name }}.training.checkpoints import trained_checkpoint

        ckpt_path = str(trained_checkpoint(cfg.ckpt_path))  # a run folder: its best checkpoint
        task, datamodule = load_trained(ckpt_path, OmegaConf.to_container(cfg.data))
        rows = clean_data.find_suspicious(
            task,
            datamodule,
            list(cfg.splits),
            cfg.top_k,
            confident=cfg.confident,
            unsure=cfg.unsure,
        )
        path = clean_data.write_review(rows, cfg.paths.output_dir, datamodule, ckpt_path)
        print(
            f"{len(rows)} suspicious items -> {path}\nedit the action column (keep | delete | "
            f"relabel + new_label), then: python clean.py step=apply csv={path}"
        )
    elif cfg.step == "apply":
        if not cfg.csv:
            raise ConfigError("step=apply needs csv=<the edited suspicious.csv>")
        print(_lines(clean_data.apply_decisions(cfg.csv, cfg.quarantine)))
    elif cfg.step == "undo":
        if cfg.log:
            print(_lines(clean_data.undo(cfg.log)))
        elif cfg.csv:
            print(_lines(clean_data.undo_applied(cfg.csv)))
        else:
            raise ConfigError("step=undo needs csv=<the applied csv> or log=<moves log>")
    else:
        raise ConfigError(f"step={cfg.step} is not a step: use step=find, apply or undo")


def _lines(result: dict) -> str:
    """What a step did, one ``name: value`` line each, then its note (what to do next)."""
    note = result.pop("note", None)
    lines = [f"{key}: {value}" for key, value in result.items()]
    return "\n".join([*lines, note] if note else lines)


if __name__ == "__main__":
    cli(main)
