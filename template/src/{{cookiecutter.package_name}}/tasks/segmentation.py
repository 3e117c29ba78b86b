"""Semantic segmentation: one class per pixel. Cross-entropy + Dice; mean IoU as the score.

Targets are ``(N, H, W)`` class indices; pixels equal to ``ignore_index`` (CamVid's "Void",
pixels moved in from outside the image by augmentation) count in no loss and no metric.
Its report (``reports/segmentation.py``): per-class IoU, the pixel confusion matrix, the worst
images beside their masks; suspicious items for clean-data.
"""

import math

import torch
from torch.nn import functional as F
from torchmetrics import Metric
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MulticlassJaccardIndex,
)

from .base import Task, TaskError, majority_per_group
from .reports.segmentation import SegmentationReport


class SegmentationTask(Task):
    target_kind = "mask"
    head = "dense"
    default_score = "miou"
    default_overfit_metric = "pixel_acc"
    default_overfit_target = 0.99
    default_stratify = "none"
    report_class = SegmentationReport

    def __init__(
        self,
        *args,
        ce_weight: float = 1.0,
        dice_weight: float = 1.0,
        ignore_index: int = 255,
        **kwargs,
    ) -> None:
        if ce_weight < 0 or dice_weight < 0 or ce_weight + dice_weight == 0:
            raise TaskError("task.ce_weight and task.dice_weight must be >= 0, not both 0")
        # (set first: the base's constructor already builds the metrics, which need them)
        self.ce_weight, self.dice_weight = ce_weight, dice_weight
        self.ignore_index = ignore_index
        super().__init__(*args, **kwargs)

    @property
    def class_names(self) -> list[str]:
        return self.target_info["names"]

    # ---- loss and decoding ---------------------------------------------------------------------
    def loss(self, outputs, targets):
        loss = outputs.new_zeros(())
        if self.ce_weight:
            loss = loss + self.ce_weight * F.cross_entropy(
                outputs.float(), targets, ignore_index=self.ignore_index
            )
        if self.dice_weight:
            loss = loss + self.dice_weight * self.dice_loss(outputs, targets)
        return loss

    def dice_loss(self, outputs, targets, eps: float = 1.0) -> torch.Tensor:
        """1 - soft Dice, averaged over the classes present in the batch (prediction or mask);
        void pixels are left out. Dice weighs small classes as much as the background, which
        cross-entropy alone does not."""
        valid = targets != self.ignore_index
        probs = outputs.float().softmax(dim=1) * valid[:, None]
        onehot = F.one_hot(torch.where(valid, targets, 0), self.num_outputs())
        onehot = onehot.permute(0, 3, 1, 2).float() * valid[:, None]
        dims = (0, 2, 3)
        overlap, sizes = (probs * onehot).sum(dims), probs.sum(dims) + onehot.sum(dims)
        present = onehot.sum(dims) > 0
        dice = (2 * overlap + eps) / (sizes + eps)
        return 1 - dice[present].mean() if present.any() else outputs.sum() * 0

    def item_losses(self, outputs, targets):
        """Cross-entropy per image: the mean over its non-void pixels."""
        pixels = F.cross_entropy(
            outputs.float(), targets, ignore_index=self.ignore_index, reduction="none"
        )
        valid = (targets != self.ignore_index).flatten(1).sum(dim=1).clamp_min(1)
        return pixels.flatten(1).sum(dim=1) / valid

    def decode(self, outputs):
        """Outputs are one logit per class for each pixel, ``(N, classes, H, W)``: each pixel's
        class is the argmax over axis 1 (classes in target_names order); softmax over that axis
        gives each class's probability."""
        return outputs.argmax(dim=1)

    def metrics(self) -> dict[str, Metric]:
        n, void = self.num_outputs(), self.ignore_index
        return {
            "pixel_acc": MulticlassAccuracy(n, average="micro", ignore_index=void),
            # macro mean IoU over the classes present (absent classes are left out)
            "miou": MulticlassJaccardIndex(n, average="macro", ignore_index=void),
            "dice": MulticlassF1Score(n, average="macro", ignore_index=void),
        }

    def metric_inputs(self, outputs, targets):
        return self.decode(outputs), targets  # class maps: far less memory than logits

    def baseline(self, train_targets, val_targets) -> float:
        """Mean IoU of predicting the most frequent training pixel class everywhere."""
        valid = train_targets[train_targets != self.ignore_index]
        majority = torch.bincount(valid.flatten(), minlength=self.num_outputs()).argmax()
        metric = self.metrics()["miou"]
        return float(metric(torch.full_like(val_targets, int(majority)), val_targets))

    def chance_loss(self) -> float:
        # cross-entropy of uniform outputs; the Dice part adds about 1 - 1/C on top
        return self.ce_weight * math.log(self.num_outputs()) + self.dice_weight * (
            1 - 1 / self.num_outputs()
        )

    def oracle_outputs(self, groups, targets, name):
        """Each pixel of a group of identical images answered with its most frequent class."""
        return majority_per_group(groups, targets, self.num_outputs(), self.ignore_index)

    def check_output(self, inputs, targets, output) -> None:
        from ..training.shape_check import ShapeError, describe_shapes

        n = self.num_outputs()
        if targets.dim() != 3 or targets.is_floating_point():
            raise ShapeError(
                f"targets have shape {describe_shapes(targets)}, expected "
                f"({len(targets)}, H, W): one integer class per pixel (a mask)"
            )
        expected = (len(targets), n, *targets.shape[-2:])
        if tuple(output.shape) != expected:
            raise ShapeError(
                f"the model's output has shape {describe_shapes(output)}, expected "
                f"{expected} (batch, classes, height, width): one logit per class "
                f"per mask pixel (the data has {n} classes); is the model a "
                "dense one (a U-Net)?"
            )
        real = targets[targets != self.ignore_index]
        if len(real) and (int(real.min()) < 0 or int(real.max()) >= n):
            raise ShapeError(
                f"mask values range {int(real.min())}..{int(real.max())}, but the "
                f"model has {n} outputs (0..{n - 1}; {self.ignore_index} = void)"
            )
