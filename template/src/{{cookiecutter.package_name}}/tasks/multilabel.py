"""Multi-label classification: a set of labels per item (none, one or several). One sigmoid per
label, binary cross-entropy; micro-averaged F1 as the score.

Its report (``reports/multilabel.py``): per-label scores, the best threshold, the top losses;
suspicious items for clean-data.
"""

import math

import torch
from torch import nn
from torchmetrics import Metric
from torchmetrics.classification import (
    MultilabelAccuracy,
    MultilabelAveragePrecision,
    MultilabelExactMatch,
    MultilabelF1Score,
)

from .base import Task, TaskError, check_output_width
from .reports.multilabel import MultiLabelReport


class MultiLabelTask(Task):
    target_kind = "multilabel"
    default_score = "f1_micro"
    default_overfit_metric = "exact_match"
    default_stratify = "label_sets"
    report_class = MultiLabelReport

    def __init__(self, *args, threshold: float = 0.5, **kwargs) -> None:
        if not 0.0 < threshold < 1.0:
            raise TaskError(f"task.threshold must be in (0, 1), got {threshold}")
        self.threshold = threshold  # before super(): metrics() reads it
        super().__init__(*args, **kwargs)
        self.criterion = nn.BCEWithLogitsLoss()

    @classmethod
    def describe_targets(cls, train_targets, names) -> dict:
        """The label names and each label's share of the training items (its prevalence)."""
        prevalence = train_targets.float().mean(dim=0) if len(train_targets) else None
        return {
            "names": list(names),
            "prevalence": [] if prevalence is None else [round(float(v), 6) for v in prevalence],
        }

    @property
    def label_names(self) -> list[str]:
        return self.target_info["names"]

    def loss(self, outputs, targets):
        return self.criterion(outputs, targets.float())

    def item_losses(self, outputs, targets):
        losses = nn.functional.binary_cross_entropy_with_logits(
            outputs.float(), targets.float(), reduction="none"
        )
        return losses.mean(dim=1)

    def decode(self, outputs):
        """Outputs are one logit per label (in target_names order): the sigmoid of each is its
        probability, and a label is predicted where that probability is above ``threshold``."""
        return (outputs.float().sigmoid() > self.threshold).long()
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def decode_parameters(self) -> dict:
        return {"threshold": self.threshold}
{%- endif %}

    def metrics(self) -> dict[str, Metric]:
        n, t = self.num_outputs(), self.threshold
        return {
            "exact_match": MultilabelExactMatch(n, threshold=t),
            "acc": MultilabelAccuracy(n, threshold=t, average="micro"),
            "f1_micro": MultilabelF1Score(n, threshold=t, average="micro"),
            "f1_macro": MultilabelF1Score(n, threshold=t, average="macro"),
            "map": MultilabelAveragePrecision(n, average="macro"),
        }

    def metric_inputs(self, outputs, targets):
        # probabilities, not logits: torchmetrics would take logits that happen to lie in [0, 1]
        # for probabilities and skip the sigmoid
        return outputs.float().sigmoid(), targets.long()

    def baseline(self, train_targets, val_targets) -> float:
        """The score on val of predicting each label's training prevalence for every item: with
        the threshold, every label gets its majority value (present if most items carry it)."""
        prevalence = train_targets.float().mean(dim=0)
        constant = prevalence.expand(len(val_targets), -1)
        metric = self.metrics()[self.score]
        metric.update(constant, val_targets.long())
        return float(metric.compute())

    def chance_loss(self) -> float | None:
        """BCE of outputs that ignore the input. A model that learns nothing from the images
        still learns each label's prevalence p (the best constant), so its loss settles at the
        mean binary entropy H(p), not at ln 2 (the loss of zero logits; equal only at p = 0.5)."""
        prevalence = self.target_info.get("prevalence") or []
        if not prevalence:
            return None
        entropy = [
            0.0 if p in (0.0, 1.0) else -(p * math.log(p) + (1 - p) * math.log(1 - p))
            for p in prevalence
        ]
        return sum(entropy) / len(entropy) or None

    def oracle_outputs(self, groups, targets, name):
        """Each group of identical inputs answered with its most frequent label set (the best
        exact match), or, for the per-label metrics, each label's majority value."""
        rows = targets.long()
        best = torch.empty_like(rows)
        for group in groups.unique():
            members = groups == group
            if name == "exact_match":
                sets, counts = rows[members].unique(dim=0, return_counts=True)
                best[members] = sets[counts.argmax()]
            else:
                best[members] = (rows[members].float().mean(dim=0) > 0.5).long()
        return best.float() * 20.0 - 10.0  # confident logits

    def check_output(self, inputs, targets, output) -> None:
        from ..training.shape_check import ShapeError, describe_shapes

        n = self.num_outputs()
        check_output_width(
            output, targets, n, "labels", "logit per label", f"the data has {n} labels"
        )
        if targets.dim() != 2 or targets.shape[1] != n:
            raise ShapeError(
                f"targets have shape {describe_shapes(targets)}, expected "
                f"({len(targets)}, {n}): one 0/1 row per input, a column per label"
            )
        if len(targets) and not ((targets == 0) | (targets == 1)).all():
            raise ShapeError(
                "targets must be 0 or 1 (multi-hot label sets); found values "
                f"{sorted(set(targets.flatten().tolist()) - {0, 1})[:5]}"
            )
