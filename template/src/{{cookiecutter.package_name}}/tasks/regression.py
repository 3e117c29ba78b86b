"""Regression: one or several continuous targets per item (an angle, a point, a score).

The network learns *standardized* targets (each column minus its training mean, divided by its
training standard deviation), so one learning rate suits targets in degrees or in millions; every
metric, report and prediction is given back in the targets' original units. MSE by default
(``loss: l1`` or ``smooth_l1`` for targets with outliers); ``y_range`` bounds the outputs with a
scaled sigmoid (fastai's ``sigmoid_range``) when the targets have known limits.

Its report (``reports/regression.py``): predicted vs true, residuals, per-target errors, the
largest errors; suspicious items for clean-data.
"""

import torch
from torch import nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric, R2Score

from .base import Task, TaskError, check_output_width
from .reports.regression import RegressionReport

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
    report_class = RegressionReport

    def __init__(self, *args, loss: str = "mse", y_range: list | None = None, **kwargs) -> None:
        if loss not in LOSSES:
            raise TaskError(f"task.loss={loss}: use one of {', '.join(LOSSES)}")
        super().__init__(*args, **kwargs)
        self.loss_name = loss
        stats = self.target_info
        self.register_buffer("target_mean", torch.tensor(stats["mean"]), persistent=False)
        self.register_buffer("target_std", torch.tensor(stats["std"]), persistent=False)
        self.bounds = self._standardized_bounds(y_range)
        self.offset = 0.0

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
    def activate(self, raw):
        """Standardized predictions (squashed into ``y_range`` when one is set; ``offset``
        shifts the sigmoid's middle)."""
        if self.bounds is None:
            return raw
        return self.low + (self.high - self.low) * torch.sigmoid(raw + self.offset)

    def item_losses(self, outputs, targets):
        losses = LOSSES[self.loss_name](
            outputs.float(), self.standardize(targets), reduction="none"
        )
        return losses.mean(dim=1)

    def decode(self, outputs):
        """Outputs are standardized, one per target (in target_names order; a ``y_range`` is
        already applied by the model): prediction = output * target_std + target_mean, per
        target, in the targets' own units."""
        return outputs.float() * self.target_std.to(outputs.device) + self.target_mean.to(
            outputs.device
        )
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def decode_parameters(self) -> dict:
        return {"target_mean": self.target_mean.tolist(), "target_std": self.target_std.tolist()}
{%- endif %}

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
        check_output_width(output, targets, k, "target columns", "number per target column", names)
        if not targets.is_floating_point() or tuple(targets.shape) != (len(targets), k):
            raise ShapeError(
                f"targets have shape {describe_shapes(targets)} "
                f"({targets.dtype}), expected ({len(targets)}, {k}) floats: one "
                f"value per target column ({names})"
            )
