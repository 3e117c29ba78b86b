"""Interpretation report of a trained model on one split: where and how it is wrong.

Writes into ``<run dir>/interpret/``:

* ``per_class.csv``        precision, recall, F1 and support of each class (torchmetrics);
* ``confusion_matrix.png`` rows = true class, columns = predicted class, counts in the cells;
* ``most_confused.csv``    (true, predicted, count) pairs off the diagonal, most frequent first;
* ``top_losses.csv``       the items with the highest loss: index, path, label, prediction,
                           probability of the prediction, probability of the label, loss;
* ``top_losses.png``       those items as an image grid, titled prediction/label/loss/probability.

Returns a dict for summary.json (``interpretation``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from .plots import image_grid, new_figure, save_figure
from .predict import Predictions, item_images, predict


def interpret(task, datamodule, output_dir: str | Path, split: str = "test", top_k: int = 16,
              min_confused: int = 1) -> dict:
    folder = Path(output_dir) / "interpret"
    folder.mkdir(parents=True, exist_ok=True)
    p = predict(task, datamodule, split)
    names, n = p.class_names, len(p.class_names)
    preds, targets = p.preds, p.targets
    per_class = {
        "precision": MulticlassPrecision(n, average=None, zero_division=0)(preds, targets),
        "recall": MulticlassRecall(n, average=None, zero_division=0)(preds, targets),
        "f1": MulticlassF1Score(n, average=None, zero_division=0)(preds, targets),
    }
    matrix = MulticlassConfusionMatrix(n)(preds, targets)
    support = matrix.sum(dim=1)
    _write_csv(folder / "per_class.csv", ["class", "precision", "recall", "f1", "support"],
               [[names[c], *(round(float(per_class[k][c]), 6) for k in per_class),
                 int(support[c])] for c in range(n)])
    confused = most_confused(matrix, names, min_confused)
    _write_csv(folder / "most_confused.csv", ["true", "predicted", "count"], confused)
    plot_confusion_matrix(matrix, names, folder / "confusion_matrix.png", split)
    top = top_losses(p, top_k)
    _write_csv(folder / "top_losses.csv",
               ["index", "path", "label", "prediction", "probability", "label_probability",
                "loss"], top)
    images = item_images(datamodule, [row[0] for row in top])
    image_grid(images, [f"{r[3]}/{r[2]}\n{r[6]:.2f}/{r[4]:.2f}" for r in top],
               folder / "top_losses.png", title=f"top losses on {split}: "
               "prediction/label, loss/probability")
    accuracy = float(MulticlassAccuracy(n, average="micro")(preds, targets))
    return {"split": split, "folder": str(folder), "items": len(targets), "accuracy": accuracy,
            "macro_f1": float(per_class["f1"].mean()),
            "most_confused": confused[:5],
            "files": sorted(f.name for f in folder.iterdir())}


def most_confused(matrix: torch.Tensor, names: list[str], min_count: int = 1) -> list[list]:
    """Off-diagonal (true, predicted, count) with count >= ``min_count``, largest first."""
    pairs = [[names[t], names[q], int(matrix[t, q])] for t in range(len(names))
             for q in range(len(names)) if t != q and int(matrix[t, q]) >= min_count]
    return sorted(pairs, key=lambda row: -row[2])


def top_losses(p: Predictions, k: int) -> list[list]:
    order = torch.argsort(p.losses, descending=True)[:k].tolist()
    rows = []
    for i in order:
        pred, label = int(p.preds[i]), int(p.targets[i])
        rows.append([p.indices[i], p.paths[i] or "", p.class_names[label], p.class_names[pred],
                     round(float(p.probs[i, pred]), 6), round(float(p.probs[i, label]), 6),
                     round(float(p.losses[i]), 6)])
    return rows


def plot_confusion_matrix(matrix: torch.Tensor, names: list[str], path: Path,
                          split: str) -> Path:
    n = len(names)
    side = min(12.0, 2.0 + 0.45 * n)
    fig, ax = new_figure(side + 1, side)
    image = ax.imshow(matrix.numpy(), cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), names, rotation=90 if n > 10 else 0)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({split}, {int(matrix.sum())} items)")
    if n <= 30:
        high = float(matrix.max()) or 1.0
        for t in range(n):
            for q in range(n):
                value = int(matrix[t, q])
                if value:
                    ax.text(q, t, str(value), ha="center", va="center", fontsize=7,
                            color="white" if value > high / 2 else "black")
    return save_figure(fig, path)


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
