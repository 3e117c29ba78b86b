"""Regression: one or several continuous targets per item (an angle, a point, a score).

The network learns *standardized* targets (each column minus its training mean, divided by its
training standard deviation), so one learning rate suits targets in degrees or in millions; every
metric, report and prediction is given back in the targets' original units. MSE by default
(``loss: l1`` or ``smooth_l1`` for targets with outliers); ``y_range`` bounds the outputs with a
scaled sigmoid (fastai's ``sigmoid_range``) when the targets have known limits.

Interpretation: predicted vs true scatter plot, residual histogram, per-target errors and the
items with the largest absolute errors. Suspicious items: the largest residuals.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric, R2Score

from ..analysis.plots import new_figure, save_figure
from ..analysis.reports import image_rows, write_csv
from .base import Task, TaskError

# element-wise losses on standardized targets
LOSSES = {
    "mse": nn.functional.mse_loss,
    "l1": nn.functional.l1_loss,
    "smooth_l1": nn.functional.smooth_l1_loss,
}


class RegressionTask(Task):
    target_kind = "continuous"
    default_score = "r2"
    default_overfit_metric = "r2"
    default_overfit_target = 0.99
    default_stratify = "quantiles"

    def __init__(self, *args, loss: str = "mse", y_range: list | None = None, **kwargs) -> None:
        if loss not in LOSSES:
            raise TaskError(f"task.loss={loss}: use one of {', '.join(LOSSES)}")
        super().__init__(*args, **kwargs)
        self.loss_name = loss
        stats = self.target_info
        self.register_buffer("target_mean", torch.tensor(stats["mean"]), persistent=False)
        self.register_buffer("target_std", torch.tensor(stats["std"]), persistent=False)
        self.bounds = self._standardized_bounds(y_range)

    # ---- what the targets are ------------------------------------------------------------------
    @classmethod
    def describe_targets(cls, train_targets: torch.Tensor, names: list[str]) -> dict:
        """Per-column mean/std of the training targets, and the loss of predicting that mean."""
        y = train_targets.float().reshape(len(train_targets), -1)
        if len(y) < 2:
            raise TaskError(f"regression needs at least 2 training items, got {len(y)}")
        mean = y.mean(dim=0)
        std = y.std(dim=0)
        std = torch.where(std > 1e-8, std, torch.ones_like(std))  # constant column: keep units
        z = (y - mean) / std
        chance = {name: float(fn(torch.zeros_like(z), z)) for name, fn in LOSSES.items()}
        return {
            "names": list(names),
            "mean": mean.tolist(),
            "std": std.tolist(),
            "chance_loss": chance,
        }

    @property
    def target_names(self) -> list[str]:
        return self.target_info["names"]

    def _standardized_bounds(self, y_range) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``y_range`` ([low, high] for every target, or one pair per target) in standardized
        units, where the outputs live."""
        if y_range is None:
            return None
        k = self.num_outputs()
        pairs = (
            [list(y_range)] * k
            if len(y_range) == 2 and not isinstance(y_range[0], (list, tuple))
            else [list(p) for p in y_range]
        )
        if len(pairs) != k or any(len(p) != 2 or float(p[0]) >= float(p[1]) for p in pairs):
            raise TaskError(
                f"task.y_range={y_range}: give [low, high] with low < high, or one "
                f"such pair per target ({k}: {', '.join(self.target_names)})"
            )
        low = torch.tensor([float(p[0]) for p in pairs])
        high = torch.tensor([float(p[1]) for p in pairs])
        mean, std = torch.tensor(self.target_info["mean"]), torch.tensor(self.target_info["std"])
        self.register_buffer("low", (low - mean) / std, persistent=False)
        self.register_buffer("high", (high - mean) / std, persistent=False)
        return self.low, self.high

    def standardize(self, targets: torch.Tensor) -> torch.Tensor:
        return (targets.float().reshape(len(targets), -1) - self.target_mean) / self.target_std

    # ---- the declarations ----------------------------------------------------------------------
    def forward(self, x) -> torch.Tensor:
        """Standardized predictions (squashed into ``y_range`` when one is set)."""
        out = self.model(x)
        if self.bounds is not None:
            out = self.low + (self.high - self.low) * torch.sigmoid(out)
        return out

    def item_losses(self, outputs, targets):
        losses = LOSSES[self.loss_name](
            outputs.float(), self.standardize(targets), reduction="none"
        )
        return losses.mean(dim=1)

    def decode(self, outputs):
        """Standardized outputs -> values in the targets' original units, ``(N, K)``."""
        return outputs.float() * self.target_std.to(outputs.device) + self.target_mean.to(
            outputs.device
        )

    def metrics(self) -> dict[str, Metric]:
        # MAE/RMSE over every value (all columns); R²: the mean of the per-column R²
        return {
            "mae": MeanAbsoluteError(),
            "rmse": MeanSquaredError(squared=False),
            "r2": R2Score(multioutput="uniform_average"),
        }

    def metric_inputs(self, outputs, targets):
        return self.decode(outputs), targets.float().reshape(len(targets), -1)

    def baseline(self, train_targets, val_targets) -> float:
        """R² on val of always predicting the training mean (about 0, never above)."""
        train = train_targets.float().reshape(len(train_targets), -1)
        val = val_targets.float().reshape(len(val_targets), -1)
        if len(val) < 2:
            return 0.0
        return float(R2Score(multioutput="uniform_average")(train.mean(dim=0).expand_as(val), val))

    def chance_loss(self) -> float:
        """The loss of predicting the training mean (standardized: 0): 1.0 for MSE."""
        return self.target_info["chance_loss"][self.loss_name]

    def oracle_outputs(self, groups, targets, name):
        """Each group of identical inputs answered with its mean target (the least squared
        error, hence the highest R²)."""
        z = self.standardize(targets)
        sums = z.new_zeros((int(groups.max()) + 1, z.shape[1])).index_add_(0, groups, z)
        return (sums / torch.bincount(groups)[:, None].clamp_min(1))[groups]

    def check_output(self, inputs, targets, output) -> None:
        from ..training.shape_check import ShapeError, describe_shapes

        k, names = self.num_outputs(), ", ".join(self.target_names)
        if tuple(output.shape) != (len(targets), k):
            raise ShapeError(
                f"the model's output has shape {describe_shapes(output)}, expected "
                f"({len(targets)}, {k}) (batch, target columns): the head must give "
                f"one number per target column ({names})"
            )
        if not targets.is_floating_point() or tuple(targets.shape) != (len(targets), k):
            raise ShapeError(
                f"targets have shape {describe_shapes(targets)} "
                f"({targets.dtype}), expected ({len(targets)}, {k}) floats: one "
                f"value per target column ({names})"
            )

    def describe_item(self, target) -> str:
        values = target.reshape(-1).tolist()
        if len(values) == 1:
            return f"{values[0]:.4g}"
        return ", ".join(f"{n}={v:.4g}" for n, v in zip(self.target_names, values, strict=True))

    def prediction_row(self, output, folder=None, name: str = "") -> dict:
        """The predicted value as a number, in the targets' units: ``prediction`` (one target)
        or ``prediction_<name>`` per target (several), at float32's full precision."""
        values = [float(f"{v:.9g}") for v in self.decode(output[None])[0].tolist()]
        if len(values) == 1:
            return {"prediction": values[0]}
        return {f"prediction_{n}": v for n, v in zip(self.target_names, values, strict=True)}

    # ---- reading the result --------------------------------------------------------------------
    def interpret(self, p, folder: Path, datamodule, top_k: int) -> dict:
        """predictions.csv, per_target.csv, scatter.png, residuals.png, worst.csv/.png."""
        names = self.target_names
        preds, targets = self.decode(p.outputs), p.targets.float().reshape(len(p.targets), -1)
        residuals = preds - targets
        errors = residuals.abs()
        write_csv(
            folder / "predictions.csv",
            ["index", "path", *(f"true_{n}" for n in names), *(f"pred_{n}" for n in names)],
            [
                [p.indices[i], p.paths[i] or "", *targets[i].tolist(), *preds[i].tolist()]
                for i in range(len(targets))
            ],
        )
        per_target = []
        for c, name in enumerate(names):
            r2 = float(R2Score()(preds[:, c], targets[:, c])) if len(targets) > 1 else 0.0
            per_target.append(
                [
                    name,
                    round(float(errors[:, c].mean()), 6),
                    round(float(residuals[:, c].pow(2).mean().sqrt()), 6),
                    round(r2, 6),
                    round(float(residuals[:, c].mean()), 6),
                ]
            )
        write_csv(
            folder / "per_target.csv", ["target", "mae", "rmse", "r2", "mean_residual"], per_target
        )
        self._plot_scatter(preds, targets, folder / "scatter.png", p.split)
        self._plot_residuals(residuals, folder / "residuals.png", p.split)
        # worst: the largest error in units of each column's spread (comparable across columns)
        order = self._worst(errors, top_k)
        rows = [
            [
                p.indices[i],
                p.paths[i] or "",
                self.describe_item(targets[i]),
                self.describe_item(preds[i]),
                round(float(errors[i].max()), 6),
                round(float(p.losses[i]), 6),
            ]
            for i in order
        ]
        write_csv(
            folder / "worst.csv",
            ["index", "path", "label", "prediction", "abs_error", "loss"],
            rows,
        )
        image_rows(
            datamodule,
            [r[0] for r in rows],
            [f"{r[3]}\n/{r[2]}" for r in rows],
            folder / "worst.png",
            f"largest errors on {p.split}: prediction / true",
        )
        mae = float(errors.mean()) if len(targets) else 0.0
        rmse = float(residuals.pow(2).mean().sqrt()) if len(targets) else 0.0
        r2 = sum(row[3] for row in per_target) / len(per_target)
        return {
            "split": p.split,
            "items": len(targets),
            "mae": mae,
            "rmse": rmse,
            "r2": r2,
            "per_target": {
                row[0]: dict(zip(("mae", "rmse", "r2"), row[1:4], strict=True))
                for row in per_target
            },
            "message": f"{p.split}: R² {r2:.3f}, MAE {mae:.4g}, RMSE {rmse:.4g} "
            f"({len(targets)} items, original units)",
        }

    def _worst(self, errors: torch.Tensor, top_k: int) -> list[int]:
        scaled = (errors / self.target_std.cpu()).max(dim=1).values
        return torch.argsort(scaled, descending=True)[:top_k].tolist()

    def _plot_scatter(self, preds, targets, path: Path, split: str) -> Path:
        k = preds.shape[1]
        fig, axes = new_figure(4.2 * k, 4.2)
        for c, ax in enumerate([axes] if k == 1 else axes):
            true, pred = targets[:, c].numpy(), preds[:, c].numpy()
            ax.scatter(true, pred, s=6, alpha=0.5)
            low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
            ax.plot([low, high], [low, high], color="black", linewidth=0.8)  # perfect predictions
            ax.set_xlabel(f"true {self.target_names[c]}")
            ax.set_ylabel(f"predicted {self.target_names[c]}")
            ax.set_title(f"{self.target_names[c]} ({split}, {len(true)} items)")
        return save_figure(fig, path)

    def _plot_residuals(self, residuals, path: Path, split: str) -> Path:
        k = residuals.shape[1]
        fig, axes = new_figure(4.2 * k, 3.6)
        for c, ax in enumerate([axes] if k == 1 else axes):
            ax.hist(residuals[:, c].numpy(), bins=30)
            ax.axvline(0.0, color="black", linewidth=0.8)
            ax.set_xlabel(f"predicted - true {self.target_names[c]}")
            ax.set_ylabel("items")
            ax.set_title(f"residuals ({split})")
        return save_figure(fig, path)

    def suspicious(self, p, top_k: int, outlier: float = 3.0, **_) -> list[dict]:
        """The largest residuals; ``outlier``: also any residual above that many RMSEs (a likely
        wrong target value rather than a hard item)."""
        preds, targets = self.decode(p.outputs), p.targets.float().reshape(len(p.targets), -1)
        errors = (preds - targets).abs()
        reasons: dict[int, list[str]] = {}
        for i in self._worst(errors, top_k):
            reasons.setdefault(i, []).append("large_residual")
        if len(targets) > 1:
            rmse = errors.pow(2).mean(dim=0).sqrt().clamp_min(1e-12)
            for i in ((errors / rmse) > outlier).any(dim=1).nonzero()[:, 0].tolist():
                reasons.setdefault(i, []).append("outlier")
        return [
            {
                "label": self.describe_item(targets[i]),
                "prediction": self.describe_item(preds[i]),
                "abs_error": round(float(errors[i].max()), 6),
                "loss": round(float(p.losses[i]), 6),
                "reasons": "+".join(why),
                "item": i,
            }
            for i, why in reasons.items()
        ]
