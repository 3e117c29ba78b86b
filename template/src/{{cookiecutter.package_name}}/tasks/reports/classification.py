"""Single-label classification's report: per-class scores, confusion matrix, most confused pairs."""

from pathlib import Path

from torchmetrics import classification as metrics

from ...analysis.reports import most_confused, plot_confusion_matrix, write_csv, write_per_class
from .base import Report


class ClassificationReport(Report):
    ranked_title = "top losses on {split}: prediction/label, loss/probability"
    ranked_header = ("label", "prediction", "probability", "label_probability")

    def derive(self, p, **options) -> dict:
        probs = p.outputs.float().softmax(dim=1)
        preds = probs.argmax(dim=1)
        return {"probs": probs, "preds": preds, "chosen": probs.gather(1, preds[:, None])[:, 0]}

    def tables(self, p, d, folder: Path, datamodule, top_k: int) -> dict:
        """per_class.csv, confusion_matrix.png, most_confused.csv."""
        names, n = self.task.class_names, self.task.num_outputs()
        preds, targets = d["preds"], p.targets
        each = {"average": None, "zero_division": 0}  # one value per class
        per_class = {
            "precision": metrics.MulticlassPrecision(n, **each)(preds, targets),
            "recall": metrics.MulticlassRecall(n, **each)(preds, targets),
            "f1": metrics.MulticlassF1Score(n, **each)(preds, targets),
        }
        matrix = metrics.MulticlassConfusionMatrix(n)(preds, targets)
        write_per_class(folder / "per_class.csv", "class", names, per_class, matrix.sum(dim=1))
        confused = most_confused(matrix, names)
        write_csv(folder / "most_confused.csv", ["true", "predicted", "count"], confused)
        plot_confusion_matrix(matrix, names, folder / "confusion_matrix.png", p.split)
        accuracy = float((preds == targets).float().mean()) if len(targets) else 0.0
        macro_f1 = float(per_class["f1"].mean())
        pairs = ", ".join(f"{t}->{q} ({c})" for t, q, c in confused[:3])
        message = f"{p.split}: accuracy {accuracy:.1%}, macro F1 {macro_f1:.3f}"
        message += f"; most confused {pairs}" if pairs else ""
        summary = {"accuracy": accuracy, "macro_f1": macro_f1, "most_confused": confused[:5]}
        return {**summary, "message": message}

    def ranked_columns(self, p, d, i: int) -> dict:
        return {
            **super().ranked_columns(p, d, i),
            "probability": round(float(d["chosen"][i]), 6),
            "label_probability": round(float(d["probs"][i, p.targets[i]]), 6),
        }

    def caption(self, row: dict) -> str:
        return f"{row['prediction']}/{row['label']}\n{row['loss']:.2f}/{row['probability']:.2f}"
{%- if "clean" in cookiecutter.__features.split(",") %}

    def reasons(self, p, d, top_k: int, confident: float = 0.9, unsure: float = 0.5, **_):
        """The highest losses, confident mistakes (likely mislabelled), unsure right answers."""
        preds, chosen = d["preds"], d["chosen"]
        mislabelled = ((preds != p.targets) & (chosen >= confident)).nonzero()[:, 0]
        right_but_unsure = ((preds == p.targets) & (chosen < unsure)).nonzero()[:, 0]
        return [
            ("high_loss", self.highest_losses(p, top_k)),
            ("likely_mislabelled", mislabelled.tolist()),
            (
                "low_confidence_correct",
                right_but_unsure[chosen[right_but_unsure].argsort()[:top_k]].tolist(),
            ),
        ]
{%- endif %}

    def describe_item(self, target) -> str:
        return self.task.class_names[int(target)]
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def prediction_row(self, output, folder=None, name: str = "") -> dict:
        """The predicted label, its probability and every class's probability (``p_<class>``)."""
        names = self.task.class_names
        probs = output.float().softmax(dim=0)
        best = int(probs.argmax())
        every = {f"p_{c}": round(float(q), 6) for c, q in zip(names, probs, strict=True)}
        return {"label": names[best], "probability": round(float(probs[best]), 6), **every}
{%- endif %}
