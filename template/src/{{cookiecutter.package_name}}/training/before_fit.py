"""What runs between building the task and ``trainer.fit``, each switched by configuration:

* ``shape_check`` (default on): one batch through the model, a readable message on a mismatch;
* ``show_batch``: ``plots/augmented_batch.png``, a training batch as the model sees it;
* ``lr_find``: the LR range test (``configs/lr_find/``), optionally applying its suggestion.

Returns the sections they add to summary.json.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .lr_finder import find_lr, launched_rank
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
    elif cfg.get("show_batch") and launched_rank() == 0:
        from ..analysis.plots import show_batch

        sections["plots"] = {
            "augmented_batch": str(
                show_batch(
                    datamodule,
                    output_dir / "plots" / "augmented_batch.png",
                    module.report().describe_item,
                )
            )
        }
    options = OmegaConf.to_container(cfg.get("lr_find") or {}, resolve=True)
    if options.pop("enabled", False) and not cfg.get("ckpt_path"):  # not when resuming
        trainer = cfg.trainer
        # callbacks that shape the model (a fine-tune schedule) shape it during the test too
        keep = [
            c.for_lr_find() if hasattr(c, "for_lr_find") else c
            for c in callbacks
            if getattr(c, "use_in_lr_find", False)
        ]
        sections["lr_find"] = find_lr(
            module,
            datamodule,
            output_dir,
            callbacks=keep,
            trainer_options={
                "accelerator": trainer.get("accelerator", "auto"),
                "precision": trainer.get("precision", "32-true"),
            },
            **options,
        )
        result = sections["lr_find"]
        result["message"] = (
            f"lr_find: suggestion ({result['rule']}) {result['suggestion']:.2e}; "
            + (
                f"training with lr {result['lr_after']:.2e}"
                if result["applied"]
                else f"kept lr {result['lr_before']:.2e} (lr_find=apply to use it)"
            )
            + f"; plot: {result['plot']}"
        )
        print(result["message"])
    return sections
