"""Single-label classification: one class per item. Cross-entropy, accuracy as the score."""

import math

import torch
from torch import nn
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from .base import Task, check_output_width, majority_per_group
from .reports.classification import ClassificationReport


class ClassificationTask(Task):
    target_kind = "class"
    default_score = "acc"
    default_overfit_metric = "acc"
    default_stratify = "labels"
    report_class = ClassificationReport

    def __init__(self, *args, label_smoothing: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # label smoothing is regularization: off when the mode switches regularization off
        smoothing = label_smoothing if self.regularize else 0.0
        self.criterion = nn.CrossEntropyLoss(label_smoothing=smoothing)

    @classmethod
    def validate_options(cls, options: dict) -> list[str]:
        smoothing = options.get("label_smoothing")
        if smoothing is None:
            return []
        if not isinstance(smoothing, int | float) or isinstance(smoothing, bool):
            return [f"task.label_smoothing must be a number, got {smoothing!r}"]
        if not 0.0 <= smoothing <= 1.0:
            return [f"task.label_smoothing must be a number >= 0 and <= 1, got {smoothing!r}"]
        return []

    @property
    def class_names(self) -> list[str]:
        return self.target_info["names"]

    def loss(self, outputs, targets):
        return self.criterion(outputs, targets)

    def item_losses(self, outputs, targets):
        return nn.functional.cross_entropy(outputs.float(), targets, reduction="none")

    def decode(self, outputs):
        """Outputs are one logit per class: the prediction is the argmax; softmax over the logits
        gives each class's probability."""
        return outputs.argmax(dim=1)

    def metrics(self) -> dict[str, Metric]:
        n = self.num_outputs()
        return {
            "acc": MulticlassAccuracy(n, average="micro"),
            "f1_macro": MulticlassF1Score(n, average="macro"),
        }

    def baseline(self, train_targets, val_targets) -> float:  # always the majority class
        majority = torch.bincount(train_targets, minlength=self.num_outputs()).argmax()
        return float((val_targets == majority).float().mean())

    def chance_loss(self) -> float:
        return math.log(self.num_outputs())

    def oracle_outputs(self, groups, targets, name):
        return majority_per_group(groups, targets, self.num_outputs())

    def check_output(self, inputs, targets, output) -> None:
        from ..training.shape_check import ShapeError, describe_shapes

        n = self.num_outputs()
        classes = f"the data has {n} classes"
        check_output_width(output, targets, n, "classes", "logit per class", classes)
        if targets.dim() != 1 or targets.is_floating_point():
            raise ShapeError(
                f"targets have shape {describe_shapes(targets)}, expected "
                f"({len(targets)},): one integer class index per input"
            )
        if len(targets) and (int(targets.min()) < 0 or int(targets.max()) >= n):
            raise ShapeError(
                f"target values range {int(targets.min())}..{int(targets.max())}, "
                f"but the model has {n} outputs (0..{n - 1})"
            )
