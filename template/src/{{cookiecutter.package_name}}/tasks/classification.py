"""Single-label classification: one class per item. Cross-entropy, accuracy as the score.

Interpretation: per-class precision/recall/F1, the confusion matrix, the most confused pairs and
the top losses. Suspicious items: the highest losses, confident predictions that disagree with the
label (likely mislabelled) and correct but unsure predictions.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torchmetrics import Metric
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from ..analysis.reports import image_rows, most_confused, plot_confusion_matrix, write_csv
from .base import Task, majority_per_group


class ClassificationTask(Task):
    target_kind = "class"
    default_score = "acc"
    default_overfit_metric = "acc"
    default_stratify = "labels"

    def __init__(self, *args, label_smoothing: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # label smoothing is regularization: off when the mode switches regularization off
        self.criterion = nn.CrossEntropyLoss(
            label_smoothing=label_smoothing if self.regularize else 0.0
        )

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

    def baseline(self, train_targets, val_targets) -> float:
        """Accuracy of always predicting the most frequent training class."""
        majority = torch.bincount(train_targets, minlength=self.num_outputs()).argmax()
        return float((val_targets == majority).float().mean())

    def chance_loss(self) -> float:
        return math.log(self.num_outputs())

    def oracle_outputs(self, groups, targets, name):
        """Each group of identical inputs answered with its most frequent class."""
        return majority_per_group(groups, targets, self.num_outputs())

    def check_output(self, inputs, targets, output) -> None:
        from ..training.shape_check import ShapeError, describe_shapes

        n = self.num_outputs()
        if tuple(output.shape) != (len(targets), n):
            raise ShapeError(
                f"the model's output has shape {describe_shapes(output)}, expected "
                f"({len(targets)}, {n}) (batch, classes): the head must give one "
                f"logit per class (the data has {n} classes)"
            )
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

    def describe_item(self, target) -> str:
        return self.class_names[int(target)]

    def prediction_row(self, output, folder=None, name: str = "") -> dict:
        """The predicted label, its probability and every class's probability (``p_<class>``)."""
        probs = output.float().softmax(dim=0)
        best = int(probs.argmax())
        return {
            "label": self.class_names[best],
            "probability": round(float(probs[best]), 6),
            **{f"p_{c}": round(float(q), 6) for c, q in zip(self.class_names, probs, strict=True)},
        }

    # ---- reading the result --------------------------------------------------------------------
    def interpret(self, p, folder: Path, datamodule, top_k: int) -> dict:
        """per_class.csv, confusion_matrix.png, most_confused.csv, top_losses.csv/.png."""
        names, n = self.class_names, self.num_outputs()
        preds, targets = self.decode(p.outputs), p.targets
        per_class = {
            "precision": MulticlassPrecision(n, average=None, zero_division=0)(preds, targets),
            "recall": MulticlassRecall(n, average=None, zero_division=0)(preds, targets),
            "f1": MulticlassF1Score(n, average=None, zero_division=0)(preds, targets),
        }
        matrix = MulticlassConfusionMatrix(n)(preds, targets)
        support = matrix.sum(dim=1)
        write_csv(
            folder / "per_class.csv",
            ["class", "precision", "recall", "f1", "support"],
            [
                [names[c], *(round(float(per_class[k][c]), 6) for k in per_class), int(support[c])]
                for c in range(n)
            ],
        )
        confused = most_confused(matrix, names)
        write_csv(folder / "most_confused.csv", ["true", "predicted", "count"], confused)
        plot_confusion_matrix(matrix, names, folder / "confusion_matrix.png", p.split)
        probs = p.outputs.float().softmax(dim=1)
        order = torch.argsort(p.losses, descending=True)[:top_k].tolist()
        rows = [
            [
                p.indices[i],
                p.paths[i] or "",
                names[int(targets[i])],
                names[int(preds[i])],
                round(float(probs[i, preds[i]]), 6),
                round(float(probs[i, targets[i]]), 6),
                round(float(p.losses[i]), 6),
            ]
            for i in order
        ]
        write_csv(
            folder / "top_losses.csv",
            ["index", "path", "label", "prediction", "probability", "label_probability", "loss"],
            rows,
        )
        image_rows(
            datamodule,
            [r[0] for r in rows],
            [f"{r[3]}/{r[2]}\n{r[6]:.2f}/{r[4]:.2f}" for r in rows],
            folder / "top_losses.png",
            f"top losses on {p.split}: prediction/label, loss/probability",
        )
        accuracy = float((preds == targets).float().mean()) if len(targets) else 0.0
        macro_f1 = float(per_class["f1"].mean())
        pairs = ", ".join(f"{t}->{q} ({c})" for t, q, c in confused[:3])
        return {
            "split": p.split,
            "items": len(targets),
            "accuracy": accuracy,
            "macro_f1": macro_f1,
            "most_confused": confused[:5],
            "message": f"{p.split}: accuracy {accuracy:.1%}, macro F1 {macro_f1:.3f}"
            + (f"; most confused {pairs}" if pairs else ""),
        }

    def suspicious(
        self, p, top_k: int, confident: float = 0.9, unsure: float = 0.5, **_
    ) -> list[dict]:
        """The highest losses, confident mistakes (likely mislabelled), unsure right answers."""
        probs = p.outputs.float().softmax(dim=1)
        preds = probs.argmax(dim=1)
        chosen = probs.gather(1, preds[:, None])[:, 0]
        reasons: dict[int, list[str]] = {}
        for i in torch.argsort(p.losses, descending=True)[:top_k].tolist():
            reasons.setdefault(i, []).append("high_loss")
        for i in ((preds != p.targets) & (chosen >= confident)).nonzero()[:, 0].tolist():
            reasons.setdefault(i, []).append("likely_mislabelled")
        right_but_unsure = ((preds == p.targets) & (chosen < unsure)).nonzero()[:, 0]
        for i in right_but_unsure[torch.argsort(chosen[right_but_unsure])[:top_k]].tolist():
            reasons.setdefault(i, []).append("low_confidence_correct")
        return [
            {
                "label": self.class_names[int(p.targets[i])],
                "prediction": self.class_names[int(preds[i])],
                "probability": round(float(chosen[i]), 6),
                "label_probability": round(float(probs[i, p.targets[i]]), 6),
                "loss": round(float(p.losses[i]), 6),
                "reasons": "+".join(why),
                "item": i,
            }
            for i, why in reasons.items()
        ]
