"""Image classification: cross-entropy, accuracy, the optimizer built from the model's groups."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from ..models import create_model
from ..training.optim import (
    build_optimizer,
    build_scheduler,
    group_learning_rates,
    parameter_groups,
)

EVAL_SPLITS = ("train", "val", "test")


class ClassificationTask(L.LightningModule):
    """All constructor arguments are plain values (saved in checkpoints, loadable with
    ``weights_only=True``); the network is rebuilt from ``model`` by the zoo's factory."""

    def __init__(self, model: dict, num_classes: int, input_shape: list[int], optimizer: dict,
                 scheduler: dict, label_smoothing: float = 0.0,
                 class_names: list[str] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = create_model(num_classes=num_classes, input_shape=input_shape, **model)
        self.lr = optimizer["lr"]  # a plain attribute, so an LR finder can set it
        # set by the fine-tune schedule (training/finetune.py) at each stage: one LR multiplier per
        # layer group and the number of optimizer steps the stage's schedule spans
        self.lr_ratios: list[float] | None = None
        self.schedule_steps: int | None = None
        self.criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.example_input_array = torch.zeros(2, *input_shape)  # per-layer shapes in the summary
        self.train_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        # accuracy of each split measured in eval mode after training (see ``eval_splits``)
        self.eval_acc = nn.ModuleDict(
            {f"split_{s}": MulticlassAccuracy(num_classes, average="micro") for s in EVAL_SPLITS})
        self.eval_splits: tuple[str, ...] = ("test",)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.criterion(logits, y)
        self.train_acc(logits, y)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(y))
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.val_acc(logits, y)
        self.log("val/loss", self.criterion(logits, y), prog_bar=True, batch_size=len(y),
                 sync_dist=True)  # averaged over DDP ranks (no-op on one device)
        self.log("val/acc", self.val_acc, prog_bar=True, batch_size=len(y))

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        """One dataloader per name in ``self.eval_splits``; logs ``<split>/final_acc|loss``."""
        split = self.eval_splits[dataloader_idx]
        x, y = batch
        logits = self(x)
        metric = self.eval_acc[f"split_{split}"]
        metric(logits, y)
        # plain cross-entropy, without label smoothing, so numbers compare across configs
        loss = nn.functional.cross_entropy(logits, y)
        self.log(f"{split}/final_loss", loss, batch_size=len(y), add_dataloader_idx=False,
                 sync_dist=True)
        self.log(f"{split}/final_acc", metric, batch_size=len(y), add_dataloader_idx=False)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # the data split travels with the weights, so eval.py measures on the very same split
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "config"):
            checkpoint["datamodule"] = datamodule.config()
        # the checkpoint holds every weight: rebuilding it must need neither the start-from file
        # nor a download of pretrained weights
        model = checkpoint.get("hyper_parameters", {}).get("model")
        if isinstance(model, dict) and (model.get("weights") or model.get("pretrained")):
            start = {k: v for k, v in (("weights", None), ("pretrained", False)) if k in model}
            checkpoint["hyper_parameters"] = {**checkpoint["hyper_parameters"],
                                              "model": {**model, **start}}

    def configure_optimizers(self):
        """Runs again at each fine-tune stage: fresh groups (frozen ones left out), fresh cycle."""
        groups = self.model.layer_groups()
        lrs = group_learning_rates(self.lr, self.lr_ratios, len(groups))
        optimizer = build_optimizer(self.hparams.optimizer, parameter_groups(
            groups, lrs, self.hparams.optimizer.get("weight_decay", 0.0)))
        steps = self.schedule_steps or int(self.trainer.estimated_stepping_batches)
        scheduler = build_scheduler(self.hparams.scheduler, optimizer, steps)
        return optimizer if scheduler is None else {"optimizer": optimizer,
                                                    "lr_scheduler": scheduler}
