"""Multi-label classification's report: per-label precision/recall/F1 and support, the top losses
with their true and predicted label sets, and the threshold that maximizes micro-F1 on the
interpreted split. Suspicious items: the highest losses, labels predicted with high confidence but
absent (likely a missing label) and labels present but given a very low probability (likely a
wrong label)."""

from pathlib import Path

from torchmetrics.classification import (
    MultilabelF1Score,
    MultilabelPrecision,
    MultilabelRecall,
)

from ...analysis.reports import write_csv, write_per_class
from .base import Report

# candidate decision thresholds for the "best threshold" report
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 20)]


class MultiLabelReport(Report):
    ranked_title = "top losses on {split}: prediction / labels / loss"
    ranked_header = ("labels", "prediction", "wrong")

    def derive(self, p, confident: float = 0.9, **_) -> dict:
        """Probabilities, 0/1 targets and predictions; for clean-data, the labels absent but
        predicted with probability >= ``confident`` and those present but given <= 1 -
        ``confident``, per item and label."""
        probs, targets = p.outputs.float().sigmoid(), p.targets.long()
        return {
            "probs": probs,
            "targets": targets,
            "preds": (probs > self.task.threshold).long(),
            "absent_but_sure": (targets == 0) & (probs >= confident),
            "present_but_low": (targets == 1) & (probs <= 1.0 - confident),
        }

    def tables(self, p, d, folder: Path, datamodule, top_k: int) -> dict:
        """per_label.csv, thresholds.csv."""
        names, n, threshold = self.task.label_names, self.task.num_outputs(), self.task.threshold
        probs, targets, preds = d["probs"], d["targets"], d["preds"]
        options = {"threshold": threshold, "average": None, "zero_division": 0}
        per_label = {
            "precision": MultilabelPrecision(n, **options)(probs, targets),
            "recall": MultilabelRecall(n, **options)(probs, targets),
            "f1": MultilabelF1Score(n, **options)(probs, targets),
        }
        write_per_class(folder / "per_label.csv", "label", names, per_label, targets.sum(dim=0))
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
        exact = float((preds == targets).all(dim=1).float().mean()) if len(targets) else 0.0
        micro = (
            float(MultilabelF1Score(n, threshold=threshold, average="micro")(probs, targets))
            if len(targets)
            else 0.0
        )
        weakest = sorted(range(n), key=lambda c: float(per_label["f1"][c]))[:3]
        return {
            "exact_match": exact,
            "f1_micro": micro,
            "f1_macro": float(per_label["f1"].mean()),
            "threshold": threshold,
            "best_threshold": THRESHOLDS[best],
            "best_threshold_f1_micro": scores[best],
            "message": f"{p.split}: micro F1 {micro:.3f}, exact match {exact:.1%} at "
            f"threshold {threshold:g} (best threshold {THRESHOLDS[best]:g}: "
            f"micro F1 {scores[best]:.3f}); weakest labels "
            + ", ".join(f"{names[c]} ({float(per_label['f1'][c]):.2f})" for c in weakest),
        }

    def ranked_columns(self, p, d, i: int) -> dict:
        target, pred = d["targets"][i], d["preds"][i]
        missed = [f"-{self.task.label_names[c]}" for c in (target > pred).nonzero()[:, 0].tolist()]
        added = [f"+{self.task.label_names[c]}" for c in (pred > target).nonzero()[:, 0].tolist()]
        return {
            "labels": self.describe_item(target),
            "prediction": self.describe_item(pred),
            "wrong": " ".join(missed + added),  # e.g. "-prime +even"
        }

    def caption(self, row: dict) -> str:
        return f"{row['prediction']}\n{row['labels']}\n{row['loss']:.2f}"
{%- if "clean" in cookiecutter.__features.split(",") %}

    def reasons(self, p, d, top_k: int, **_):
        """The highest losses; a label predicted with probability >= ``confident`` but absent
        (likely a missing label); a label present but given <= 1 - ``confident`` (likely a wrong
        label), the most confident disagreements first, at most ``top_k`` of each kind.
        (``unsure`` is single-label's notion and has no meaning here.)"""
        found = [("high_loss", self.highest_losses(p, top_k))]
        for mask, strength, why in (
            (d["absent_but_sure"], d["probs"], "likely_missing_label"),
            (d["present_but_low"], 1.0 - d["probs"], "likely_wrong_label"),
        ):
            items = mask.any(dim=1).nonzero()[:, 0]
            worst = (strength * mask).amax(dim=1)[items]
            found.append((why, items[worst.argsort(descending=True)[:top_k]].tolist()))
        return found

    def review_columns(self, p, d, i: int) -> dict:
        return {
            "label": self.describe_item(d["targets"][i]),
            "prediction": self.describe_item(d["preds"][i]),
            "missing_labels": self._names(d["absent_but_sure"][i]),
            "doubtful_labels": self._names(d["present_but_low"][i]),
        }

    def _names(self, mask) -> str:
        return " ".join(self.task.label_names[c] for c in mask.nonzero()[:, 0].tolist())
{%- endif %}

    def describe_item(self, target) -> str:
        """A label set as a person reads it: "even prime"; "-" for no label."""
        names = [self.task.label_names[i] for i, v in enumerate(target.tolist()) if v > 0.5]
        return " ".join(names) or "-"
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def prediction_row(self, output, folder=None, name: str = "") -> dict:
        """The predicted labels (``describe_item``: space-separated, "-" for none) and every
        label's probability (``p_<label>``), as classification gives them."""
        probs = output.float().sigmoid()
        return {
            "labels": self.describe_item(self.task.decode(output[None])[0]),
            **{
                f"p_{n}": round(float(q), 6)
                for n, q in zip(self.task.label_names, probs, strict=True)
            },
        }
{%- endif %}
