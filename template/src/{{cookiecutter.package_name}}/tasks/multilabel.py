"""Multi-label classification: a set of labels per item (none, one or several). One sigmoid per
label, binary cross-entropy; micro-averaged F1 as the score.

Interpretation: per-label precision/recall/F1 and support, the top losses with their true and
predicted label sets, and the threshold that maximizes micro-F1 on the interpreted split.
Suspicious items: the highest losses, labels predicted with high confidence but absent (likely a
missing label) and labels present but given a very low probability (likely a wrong label).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torchmetrics import Metric
from torchmetrics.classification import (
    MultilabelAccuracy,
    MultilabelAveragePrecision,
    MultilabelExactMatch,
    MultilabelF1Score,
    MultilabelPrecision,
    MultilabelRecall,
)

from ..analysis.reports import image_rows, write_csv
from .base import Task

# candidate decision thresholds for the "best threshold" report
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 20)]


class MultiLabelTask(Task):
    target_kind = "multilabel"
    default_score = "f1_micro"
    default_overfit_metric = "exact_match"
    default_stratify = "label_sets"

    def __init__(self, *args, threshold: float = 0.5, **kwargs) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"task.threshold must be in (0, 1), got {threshold}")
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
        return (outputs.float().sigmoid() > self.threshold).long()

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
        if tuple(output.shape) != (len(targets), n):
            raise ShapeError(
                f"the model's output has shape {describe_shapes(output)}, expected "
                f"({len(targets)}, {n}) (batch, labels): the head must give one "
                f"logit per label (the data has {n} labels)"
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

    def describe_item(self, target) -> str:
        """A label set as a person reads it: "even prime"; "-" for no label."""
        names = [self.label_names[i] for i, v in enumerate(target.tolist()) if v > 0.5]
        return " ".join(names) or "-"

    def prediction_row(self, output, folder=None, name: str = "") -> dict:
        """The predicted labels (``describe_item``: space-separated, "-" for none) and every
        label's probability (``p_<label>``), as classification gives them."""
        probs = output.float().sigmoid()
        return {
            "labels": self.describe_item(self.decode(output[None])[0]),
            **{f"p_{n}": round(float(q), 6) for n, q in zip(self.label_names, probs, strict=True)},
        }

    # ---- reading the result --------------------------------------------------------------------
    def interpret(self, p, folder: Path, datamodule, top_k: int) -> dict:
        """per_label.csv, thresholds.csv, top_losses.csv/.png."""
        names, n = self.label_names, self.num_outputs()
        probs, targets = p.outputs.float().sigmoid(), p.targets.long()
        per_label = {
            "precision": MultilabelPrecision(
                n, threshold=self.threshold, average=None, zero_division=0
            )(probs, targets),
            "recall": MultilabelRecall(n, threshold=self.threshold, average=None, zero_division=0)(
                probs, targets
            ),
            "f1": MultilabelF1Score(n, threshold=self.threshold, average=None, zero_division=0)(
                probs, targets
            ),
        }
        support = targets.sum(dim=0)
        write_csv(
            folder / "per_label.csv",
            ["label", "precision", "recall", "f1", "support"],
            [
                [names[c], *(round(float(per_label[k][c]), 6) for k in per_label), int(support[c])]
                for c in range(n)
            ],
        )

        # micro-F1 at each candidate threshold: the decision threshold is a config value
        scores = [
            float(MultilabelF1Score(n, threshold=t, average="micro")(probs, targets))
            for t in THRESHOLDS
        ]
        write_csv(
            folder / "thresholds.csv",
            ["threshold", "f1_micro"],
            [[t, round(s, 6)] for t, s in zip(THRESHOLDS, scores, strict=True)],
        )
        best = max(range(len(THRESHOLDS)), key=lambda i: (scores[i], -abs(THRESHOLDS[i] - 0.5)))

        preds = (probs > self.threshold).long()
        order = torch.argsort(p.losses, descending=True)[:top_k].tolist()
        rows = [
            [
                p.indices[i],
                p.paths[i] or "",
                self.describe_item(targets[i]),
                self.describe_item(preds[i]),
                self._wrong(targets[i], preds[i]),
                round(float(p.losses[i]), 6),
            ]
            for i in order
        ]
        write_csv(
            folder / "top_losses.csv",
            ["index", "path", "labels", "prediction", "wrong", "loss"],
            rows,
        )
        image_rows(
            datamodule,
            [r[0] for r in rows],
            [f"{r[3]}\n{r[2]}\n{r[5]:.2f}" for r in rows],
            folder / "top_losses.png",
            f"top losses on {p.split}: prediction / labels / loss",
        )

        exact = float((preds == targets).all(dim=1).float().mean()) if len(targets) else 0.0
        micro = (
            float(MultilabelF1Score(n, threshold=self.threshold, average="micro")(probs, targets))
            if len(targets)
            else 0.0
        )
        weakest = sorted(range(n), key=lambda c: float(per_label["f1"][c]))[:3]
        return {
            "split": p.split,
            "items": len(targets),
            "exact_match": exact,
            "f1_micro": micro,
            "f1_macro": float(per_label["f1"].mean()),
            "threshold": self.threshold,
            "best_threshold": THRESHOLDS[best],
            "best_threshold_f1_micro": scores[best],
            "message": f"{p.split}: micro F1 {micro:.3f}, exact match {exact:.1%} at "
            f"threshold {self.threshold:g} (best threshold {THRESHOLDS[best]:g}: "
            f"micro F1 {scores[best]:.3f}); weakest labels "
            + ", ".join(f"{names[c]} ({float(per_label['f1'][c]):.2f})" for c in weakest),
        }

    def _wrong(self, target, pred) -> str:
        """Labels missed (-name) and labels added (+name), e.g. "-prime +even"."""
        missed = [f"-{self.label_names[i]}" for i in (target > pred).nonzero()[:, 0].tolist()]
        added = [f"+{self.label_names[i]}" for i in (pred > target).nonzero()[:, 0].tolist()]
        return " ".join(missed + added)

    def suspicious(
        self, p, top_k: int, confident: float = 0.9, unsure: float = 0.5, **_
    ) -> list[dict]:
        """The highest losses; a label predicted with probability >= ``confident`` but absent
        (likely a missing label); a label present but given <= 1 - ``confident`` (likely a wrong
        label). ``unsure`` is single-label's notion and has no meaning here."""
        probs, targets = p.outputs.float().sigmoid(), p.targets.long()
        absent_but_sure = (targets == 0) & (probs >= confident)
        present_but_low = (targets == 1) & (probs <= 1.0 - confident)
        reasons: dict[int, list[str]] = {}
        for i in torch.argsort(p.losses, descending=True)[:top_k].tolist():
            reasons.setdefault(i, []).append("high_loss")
        # the most confident disagreements first, at most top_k of each kind
        for mask, strength, why in (
            (absent_but_sure, probs, "likely_missing_label"),
            (present_but_low, 1.0 - probs, "likely_wrong_label"),
        ):
            items = mask.any(dim=1).nonzero()[:, 0]
            worst = (strength * mask).amax(dim=1)[items]
            for i in items[torch.argsort(worst, descending=True)[:top_k]].tolist():
                reasons.setdefault(i, []).append(why)
        preds = (probs > self.threshold).long()
        return [
            {
                "label": self.describe_item(targets[i]),
                "prediction": self.describe_item(preds[i]),
                "missing_labels": self._names(absent_but_sure[i]),
                "doubtful_labels": self._names(present_but_low[i]),
                "loss": round(float(p.losses[i]), 6),
                "reasons": "+".join(why),
                "item": i,
            }
            for i, why in reasons.items()
        ]

    def _names(self, mask) -> str:
        return " ".join(self.label_names[i] for i in mask.nonzero()[:, 0].tolist())
