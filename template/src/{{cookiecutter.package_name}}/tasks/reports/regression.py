"""Regression's report: predicted vs true scatter plot, residual histogram, per-target errors
and the items with the largest absolute errors (every value in the targets' original units).
Suspicious items: the largest residuals, and residuals far above the typical error (outliers)."""

from pathlib import Path

import torch
from torchmetrics import R2Score

from ...analysis.plots import new_figure, save_figure
from ...analysis.reports import write_csv
from .base import Report


class RegressionReport(Report):
    ranked_file = "worst"
    ranked_title = "largest errors on {split}: prediction / true"
    ranked_header = ("label", "prediction", "abs_error")

    def derive(self, p, **options) -> dict:
        preds = self.task.decode(p.outputs)
        targets = p.targets.float().reshape(len(p.targets), -1)
        return {"preds": preds, "targets": targets, "errors": (preds - targets).abs()}

    def tables(self, p, d, folder: Path, datamodule, top_k: int) -> dict:
        """predictions.csv, per_target.csv, scatter.png, residuals.png."""
        names = self.task.target_names
        preds, targets, errors = d["preds"], d["targets"], d["errors"]
        residuals = preds - targets
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
        mae = float(errors.mean()) if len(targets) else 0.0
        rmse = float(residuals.pow(2).mean().sqrt()) if len(targets) else 0.0
        r2 = sum(row[3] for row in per_target) / len(per_target)
        return {
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

    def ranked(self, p, d, top_k: int) -> list[int]:
        """The largest errors in units of each column's spread (comparable across columns)."""
        scaled = (d["errors"] / self.task.target_std.cpu()).max(dim=1).values
        return torch.argsort(scaled, descending=True)[:top_k].tolist()

    def ranked_columns(self, p, d, i: int) -> dict:
        return {
            "label": self.describe_item(d["targets"][i]),
            "prediction": self.describe_item(d["preds"][i]),
            "abs_error": round(float(d["errors"][i].max()), 6),
        }

    def caption(self, row: dict) -> str:
        return f"{row['prediction']}\n/{row['label']}"
{%- if "clean" in cookiecutter.__features.split(",") %}

    def reasons(self, p, d, top_k: int, outlier: float = 3.0, **_):
        """The largest residuals; ``outlier``: also any residual above that many RMSEs (a likely
        wrong target value rather than a hard item)."""
        found = [("large_residual", self.ranked(p, d, top_k))]
        errors = d["errors"]
        if len(errors) > 1:
            rmse = errors.pow(2).mean(dim=0).sqrt().clamp_min(1e-12)
            outliers = ((errors / rmse) > outlier).any(dim=1).nonzero()[:, 0]
            found.append(("outlier", outliers.tolist()))
        return found
{%- endif %}

    def describe_item(self, target) -> str:
        values = target.reshape(-1).tolist()
        if len(values) == 1:
            return f"{values[0]:.4g}"
        names = self.task.target_names
        return ", ".join(f"{n}={v:.4g}" for n, v in zip(names, values, strict=True))
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def prediction_row(self, output, folder=None, name: str = "") -> dict:
        """The predicted value as a number, in the targets' units: ``prediction`` (one target)
        or ``prediction_<name>`` per target (several), at float32's full precision."""
        values = [float(f"{v:.9g}") for v in self.task.decode(output[None])[0].tolist()]
        if len(values) == 1:
            return {"prediction": values[0]}
        names = self.task.target_names
        return {f"prediction_{n}": v for n, v in zip(names, values, strict=True)}
{%- endif %}

    def _plot_scatter(self, preds, targets, path: Path, split: str) -> Path:
        k, names = preds.shape[1], self.task.target_names
        fig, axes = new_figure(4.2 * k, 4.2, columns=k)
        for c, ax in enumerate([axes] if k == 1 else axes):
            true, pred = targets[:, c].numpy(), preds[:, c].numpy()
            ax.scatter(true, pred, s=6, alpha=0.5)
            low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
            ax.plot([low, high], [low, high], color="black", linewidth=0.8)  # perfect predictions
            ax.set_xlabel(f"true {names[c]}")
            ax.set_ylabel(f"predicted {names[c]}")
            ax.set_title(f"{names[c]} ({split}, {len(true)} items)")
        return save_figure(fig, path)

    def _plot_residuals(self, residuals, path: Path, split: str) -> Path:
        k = residuals.shape[1]
        fig, axes = new_figure(4.2 * k, 3.6, columns=k)
        for c, ax in enumerate([axes] if k == 1 else axes):
            ax.hist(residuals[:, c].numpy(), bins=30)
            ax.axvline(0.0, color="black", linewidth=0.8)
            ax.set_xlabel(f"predicted - true {self.task.target_names[c]}")
            ax.set_ylabel("items")
            ax.set_title(f"residuals ({split})")
        return save_figure(fig, path)
