"""Semantic segmentation: one class per pixel. Cross-entropy + Dice; mean IoU as the score.

Targets are ``(N, H, W)`` class indices; pixels equal to ``ignore_index`` (CamVid's "Void",
pixels moved in from outside the image by augmentation) count in no loss and no metric.
Interpretation: per-class IoU, the pixel confusion matrix, the worst images by IoU as
image | true mask | predicted mask. Suspicious items: images whose prediction disagrees most with
their mask (the lowest IoU, the highest loss).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch.nn import functional as F
from torchmetrics import Metric
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassJaccardIndex,
)

from ..analysis.plots import panel_figure, save_figure, show_image
from ..analysis.predict import item_images
from ..analysis.reports import plot_confusion_matrix, write_csv
from .base import Task, majority_per_group


class SegmentationTask(Task):
    target_kind = "mask"
    head = "dense"
    default_score = "miou"
    default_overfit_metric = "pixel_acc"
    default_overfit_target = 0.99
    default_stratify = "none"

    def __init__(
        self,
        *args,
        ce_weight: float = 1.0,
        dice_weight: float = 1.0,
        ignore_index: int = 255,
        **kwargs,
    ) -> None:
        if ce_weight < 0 or dice_weight < 0 or ce_weight + dice_weight == 0:
            raise ValueError("task.ce_weight and task.dice_weight must be >= 0, not both 0")
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

    def describe_item(self, target) -> str:
        if target.dim() == 0:
            return self.class_names[int(target)]
        present = torch.unique(target[target != self.ignore_index]).tolist()
        return "+".join(self.class_names[c] for c in present if c) or self.class_names[0]

    def prediction_row(self, output, folder=None, name: str = "") -> dict:
        """The classes present (``classes``, as ``describe_item``) and the predicted mask, at the
        model's input size: predict.py saves it as ``masks/<name>.png`` in ``folder`` (grey, pixel
        value = class index) and gives its path; served (no ``folder``), it is run-length
        encoded row by row, ``{"shape": [H, W], "values", "counts", "class_names"}``:
        ``numpy.repeat(values, counts).reshape(shape)`` is the mask of class indices."""
        mask = self.decode(output[None])[0].cpu()
        row = {"classes": self.describe_item(mask)}
        if folder is not None:
            from PIL import Image

            path = Path(folder) / "masks" / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = mask.numpy().astype("uint8" if self.num_outputs() <= 256 else "uint16")
            Image.fromarray(pixels).save(path)
            return {**row, "mask": str(path)}
        values, counts = torch.unique_consecutive(mask.flatten(), return_counts=True)
        return {
            **row,
            "mask": {
                "shape": list(mask.shape),
                "values": values.tolist(),
                "counts": counts.tolist(),
                "class_names": list(self.class_names),
            },
        }

    # ---- reading the result --------------------------------------------------------------------
    def image_ious(self, preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean IoU of each image over the classes in its mask or its prediction ``(N,)``."""
        n = self.num_outputs()
        valid = (targets != self.ignore_index).flatten(1)
        pred = F.one_hot(preds.flatten(1), n).bool() & valid[..., None]
        true = (
            F.one_hot(torch.where(targets != self.ignore_index, targets, 0).flatten(1), n).bool()
            & valid[..., None]
        )
        inter, union = (pred & true).sum(dim=1), (pred | true).sum(dim=1)
        present = union > 0
        ious = torch.where(present, inter / union.clamp_min(1), 0.0)
        return ious.sum(dim=1) / present.sum(dim=1).clamp_min(1)

    def interpret(self, p, folder: Path, datamodule, top_k: int) -> dict:
        """per_class_iou.csv, confusion_matrix.png (pixels), worst_images.csv/.png."""
        names, n = self.class_names, self.num_outputs()
        preds, targets = self.decode(p.outputs), p.targets
        per_class = MulticlassJaccardIndex(n, average=None, ignore_index=self.ignore_index)(
            preds, targets
        )
        matrix = MulticlassConfusionMatrix(n, ignore_index=self.ignore_index)(preds, targets)
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
        ious = self.image_ious(preds, targets)
        order = torch.argsort(ious)[:top_k].tolist()
        write_csv(
            folder / "worst_images.csv",
            ["index", "path", "label", "prediction", "iou", "loss"],
            [
                [
                    p.indices[i],
                    p.paths[i] or "",
                    self.describe_item(targets[i]),
                    self.describe_item(preds[i]),
                    round(float(ious[i]), 6),
                    round(float(p.losses[i]), 6),
                ]
                for i in order
            ],
        )
        images = item_images(datamodule, [p.indices[i] for i in order])
        if images is not None:
            fig = mask_figure(
                images,
                targets[order],
                preds[order],
                names,
                self.ignore_index,
                [f"#{p.indices[i]} IoU {float(ious[i]):.2f}" for i in order],
                f"worst images by IoU on {p.split}: image | true mask | predicted mask",
            )
            save_figure(fig, folder / "worst_images.png")
        valid = targets != self.ignore_index
        accuracy = float((preds == targets)[valid].float().mean()) if valid.any() else 0.0
        seen = matrix.sum(dim=1) + matrix.sum(dim=0) > 0
        miou = float(per_class[seen].mean()) if seen.any() else 0.0
        worst = sorted((float(per_class[c]), names[c]) for c in range(n) if seen[c])[:3]
        return {
            "split": p.split,
            "items": len(targets),
            "pixel_accuracy": accuracy,
            "miou": miou,
            "worst_classes": [[name, round(v, 4)] for v, name in worst],
            "message": f"{p.split}: pixel accuracy {accuracy:.1%}, mean IoU {miou:.3f}; "
            "worst classes " + ", ".join(f"{k} ({v:.2f})" for v, k in worst),
        }

    def suspicious(self, p, top_k: int, **_) -> list[dict]:
        """The images whose prediction disagrees most with their mask (lowest IoU) and the
        highest losses: a wrong or sloppy mask, or a hard image."""
        preds = self.decode(p.outputs)
        ious = self.image_ious(preds, p.targets)
        reasons: dict[int, list[str]] = {}
        for i in torch.argsort(ious)[:top_k].tolist():
            reasons.setdefault(i, []).append("low_iou")
        for i in torch.argsort(p.losses, descending=True)[:top_k].tolist():
            reasons.setdefault(i, []).append("high_loss")
        return [
            {
                "label": self.describe_item(p.targets[i]),
                "prediction": self.describe_item(preds[i]),
                "iou": round(float(ious[i]), 6),
                "loss": round(float(p.losses[i]), 6),
                "reasons": "+".join(why),
                "item": i,
            }
            for i, why in reasons.items()
        ]


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
