"""What runs between building the task and ``trainer.fit``, each switched by configuration:
``shape_check``, ``show_batch`` (``plots/augmented_batch.png``) and ``lr_find``; returns their
summary.json sections."""

from pathlib import Path

from omegaconf import DictConfig

{% if "ddp" in cookiecutter.__features.split(",") -%}
from .distributed import launched_rank
{% endif -%}
from .shape_check import check_shapes


def before_fit(cfg: DictConfig, module, datamodule, callbacks: list, output_dir: Path) -> dict:
    sections: dict = {}
    if cfg.get("shape_check", True):
        batch = next(iter(datamodule.eval_dataloaders(["train"])[0]))
        sections["shape_check"] = check_shapes(module, batch, datamodule.input.size_settings)
    if cfg.get("show_batch") and not datamodule.input.can_show():
        sections["plots"] = {
            "message": f"show_batch: the {datamodule.input.item_name} inputs of "
            f"data={datamodule.name} are not drawn as pictures, nothing to show"
        }
    elif cfg.get("show_batch"){{ " and launched_rank() == 0" if "ddp" in cookiecutter.__features.split(",") }}:
        from ..analysis.plots import show_batch

        path = output_dir / "plots" / "augmented_batch.png"
        sections["plots"] = {
            "augmented_batch": str(show_batch(datamodule, path, module.report().describe_item))
        }
    lr_find = cfg.get("lr_find") or {}
    if lr_find.get("enabled", False) and not cfg.get("ckpt_path"):  # not when resuming
        from .lr_finder import lr_find_section  # (the lr_find feature's; validate_config checks)

        sections["lr_find"] = lr_find_section(cfg, module, datamodule, callbacks, output_dir)
    return sections
