"""Clean the data with the model: `python clean.py ckpt_path=...`, then `step=apply csv=...`.

See configs/clean.yaml for the steps, and analysis/clean_data.py in the package for the details.
"""

import json
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

import {{ cookiecutter.package_name }}.noise  # noqa: F401  (before Lightning: silences known third-party noise)


@hydra.main(version_base="1.3", config_path="configs", config_name="clean")
def main(cfg: DictConfig) -> None:
    from {{ cookiecutter.package_name }}.analysis import clean_data

    if cfg.step == "find":
        if not cfg.ckpt_path:
            raise SystemExit("step=find needs ckpt_path=<run dir>/checkpoints/best.ckpt")
        from {{ cookiecutter.package_name }}.analysis.predict import load_trained

        task, datamodule = load_trained(cfg.ckpt_path, OmegaConf.to_container(cfg.data))
        rows = clean_data.find_suspicious(task, datamodule, list(cfg.splits), cfg.top_k,
                                          confident=cfg.confident, unsure=cfg.unsure)
        path = clean_data.write_review(rows, cfg.paths.output_dir, datamodule, cfg.ckpt_path)
        print(f"{len(rows)} suspicious items -> {path}\nedit the action column (keep | delete | "
              f"relabel + new_label), then: python clean.py step=apply csv={path}")
    elif cfg.step == "apply":
        if not cfg.csv:
            raise SystemExit("step=apply needs csv=<the edited suspicious.csv>")
        print(json.dumps(clean_data.apply_decisions(cfg.csv, cfg.quarantine), indent=2))
    elif cfg.step == "undo":
        log = cfg.log
        if not log and cfg.csv:
            pointer = Path(cfg.csv).parent / clean_data.LOG_POINTER
            log = json.loads(pointer.read_text())["log"] if pointer.is_file() else None
        if not log:
            raise SystemExit("step=undo needs log=<moves log> or csv=<the applied csv>")
        print(json.dumps(clean_data.undo(log), indent=2))
    else:
        raise SystemExit(f"unknown step '{cfg.step}': use find, apply or undo")


if __name__ == "__main__":
    main()
