"""Semantic segmentation's report: per-class IoU, the pixel confusion matrix, the worst images by
IoU as image | true mask | predicted mask. Suspicious items: images whose prediction disagrees
most with their mask (the lowest IoU, the highest loss)."""

import math
from pathlib import Path

import torch
from torch.nn import functional as F
from torchmetrics.classification import MulticlassConfusionMatrix, MulticlassJaccardIndex

from ...analysis.plots import panel_figure, save_figure, show_image
from ...analysis.predict import item_images
from ...analysis.reports import plot_confusion_matrix, write_csv
from .base import Report


class SegmentationReport(Report):
    ranked_file = "worst_images"
    ranked_header = ("label", "prediction", "iou")

    def derive(self, p, **options) -> dict:
        preds = self.task.decode(p.outputs)
        return {"preds": preds, "ious": self.image_ious(preds, p.targets)}

    def image_ious(self, preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean IoU of each image over the classes in its mask or its prediction ``(N,)``."""
        n, void = self.task.num_outputs(), self.task.ignore_index
        valid = (targets != void).flatten(1)
        pred = F.one_hot(preds.flatten(1), n).bool() & valid[..., None]
        true = F.one_hot(torch.where(targets != void, targets, 0).flatten(1), n).bool()
        true = true & valid[..., None]
        inter, union = (pred & true).sum(dim=1), (pred | true).sum(dim=1)
        present = union > 0
        ious = torch.where(present, inter / union.clamp_min(1), 0.0)
        return ious.sum(dim=1) / present.sum(dim=1).clamp_min(1)

    def tables(self, p, d, folder: Path, datamodule, top_k: int) -> dict:
        """per_class_iou.csv, confusion_matrix.png (pixels)."""
        names, n, void = self.task.class_names, self.task.num_outputs(), self.task.ignore_index
        preds, targets = d["preds"], p.targets
        per_class = MulticlassJaccardIndex(n, average=None, ignore_index=void)(preds, targets)
        matrix = MulticlassConfusionMatrix(n, ignore_index=void)(preds, targets)
        write_csv(
            folder / "per_class_iou.csv",
            ["class", "iou", "pixels", "predicted_pixels"],
            [
                [
                    names[c],
                    round(float(per_class[c]), 6),
                    int(matrix[c].sum()),
                    int(matrix[:, c].sum()),
                ]
                for c in range(n)
            ],
        )
        plot_confusion_matrix(
            matrix, names, folder / "confusion_matrix.png", p.split, unit="pixels"
        )
        valid = targets != void
        accuracy = float((preds == targets)[valid].float().mean()) if valid.any() else 0.0
        seen = matrix.sum(dim=1) + matrix.sum(dim=0) > 0
        miou = float(per_class[seen].mean()) if seen.any() else 0.0
        worst = sorted((float(per_class[c]), names[c]) for c in range(n) if seen[c])[:3]
        return {
            "pixel_accuracy": accuracy,
            "miou": miou,
            "worst_classes": [[name, round(v, 4)] for v, name in worst],
            "message": f"{p.split}: pixel accuracy {accuracy:.1%}, mean IoU {miou:.3f}; "
            "worst classes " + ", ".join(f"{k} ({v:.2f})" for v, k in worst),
        }

    def ranked(self, p, d, top_k: int) -> list[int]:
        return torch.argsort(d["ious"])[:top_k].tolist()

    def ranked_columns(self, p, d, i: int) -> dict:
        return {
            "label": self.describe_item(p.targets[i]),
            "prediction": self.describe_item(d["preds"][i]),
            "iou": round(float(d["ious"][i]), 6),
        }

    def show_ranked(self, p, d, rows: list[dict], path: Path, datamodule) -> None:
        """Each worst image beside its true and its predicted mask."""
        order = self.ranked(p, d, len(rows))
        images = item_images(datamodule, [p.indices[i] for i in order])
        if images is None:
            return
        fig = mask_figure(
            images,
            p.targets[order],
            d["preds"][order],
            self.task.class_names,
            self.task.ignore_index,
            [f"#{p.indices[i]} IoU {float(d['ious'][i]):.2f}" for i in order],
            f"worst images by IoU on {p.split}: image | true mask | predicted mask",
        )
        save_figure(fig, path)
{%- if "clean" in cookiecutter.__features.split(",") %}

    def reasons(self, p, d, top_k: int, **_):
        """The images whose prediction disagrees most with their mask (lowest IoU) and the
        highest losses: a wrong or sloppy mask, or a hard image."""
        return [("low_iou", self.ranked(p, d, top_k)), ("high_loss", self.highest_losses(p, top_k))]
{%- endif %}

    def describe_item(self, target) -> str:
        names = self.task.class_names
        if target.dim() == 0:
            return names[int(target)]
        present = torch.unique(target[target != self.task.ignore_index]).tolist()
        return "+".join(names[c] for c in present if c) or names[0]
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def prediction_row(self, output, folder=None, name: str = "") -> dict:
        """The classes present (``classes``, as ``describe_item``) and the predicted mask, at the
        model's input size: predict.py saves it as ``masks/<name>.png`` in ``folder`` (grey, pixel
        value = class index) and gives its path; served (no ``folder``), it is run-length
        encoded row by row, ``{"shape": [H, W], "values", "counts", "class_names"}``:
        ``numpy.repeat(values, counts).reshape(shape)`` is the mask of class indices."""
        mask = self.task.decode(output[None])[0].cpu()
        row = {"classes": self.describe_item(mask)}
        if folder is not None:
            from PIL import Image

            path = Path(folder) / "masks" / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = mask.numpy().astype("uint8" if self.task.num_outputs() <= 256 else "uint16")
            Image.fromarray(pixels).save(path)
            return {**row, "mask": str(path)}
        values, counts = torch.unique_consecutive(mask.flatten(), return_counts=True)
        return {
            **row,
            "mask": {
                "shape": list(mask.shape),
                "values": values.tolist(),
                "counts": counts.tolist(),
                "class_names": list(self.task.class_names),
            },
        }
{%- endif %}


def mask_figure(
    images: torch.Tensor,
    targets: torch.Tensor,
    preds: torch.Tensor,
    names: list[str],
    ignore_index: int,
    titles: list[str],
    title: str,
):
    """One row per image: the image | its true mask | the predicted mask, each class in the same
    colour in every panel, the colours named in a legend below (void pixels blank)."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.patches import Patch

    rows = max(1, len(images))
    fig, axes = panel_figure(
        rows, 3, [t for row in titles for t in (row, "true", "predicted")], title, side=1.8
    )
    cmap = colormaps["tab20" if len(names) <= 20 else "nipy_spectral"]
    colours = {
        "cmap": cmap,
        "norm": Normalize(0, max(len(names) - 1, 1)),
        "interpolation": "nearest",
    }
    for ax, image, true, pred in zip(axes, images, targets, preds, strict=False):
        show_image(ax[0], image)
        ax[1].imshow(np.ma.masked_equal(true.cpu().numpy(), ignore_index), **colours)
        ax[2].imshow(pred.cpu().numpy(), **colours)
    void = targets == ignore_index
    shown = sorted(set(targets[~void].unique().tolist()) | set(preds.unique().tolist()))
    legend = [Patch(color=cmap(colours["norm"](c)), label=names[c]) for c in shown]
    if void.any():
        legend.append(Patch(facecolor="white", edgecolor="grey", label="void (no label)"))
    per_row = 4
    fig.set_figheight(fig.get_figheight() + 0.2 * math.ceil(len(legend) / per_row) + 0.3)
    fig.legend(
        handles=legend,
        loc="outside lower center",
        ncols=min(per_row, len(legend)),
        fontsize=7,
        title="classes (colours of both masks)",
        title_fontsize=7,
    )
    return fig
