"""Collaborative filtering: predict the rating a user gives an item, from who rated what.

The regression task over ``(user, item)`` index pairs (``data/ratings.py``): the same loss (MSE on
standardized ratings), metrics (R² as the score, MAE, RMSE in rating units) and fit verdict, with
the outputs squashed into ``y_range``: by default the training ratings' range widened by half a
step each side (``[0.5, 5.5]`` for 1..5), so the extreme ratings lie inside the sigmoid's reach;
an output of 0 means the training mean.
The baseline is the global mean rating (R² about 0); the interpretation also reports the per-item
mean rating, a stronger baseline a useful model should still beat.

Its report (``reports/collab.py``): what the embeddings learned (item biases, similar items, a
map of the item vectors) and the worst-predicted ratings.
"""

import logging

import torch
from torch import nn

from .regression import RegressionTask
from .reports.collab import CollabReport

log = logging.getLogger(__name__)


class CollabTask(RegressionTask):
    default_stratify = "none"
    report_class = CollabReport

    def __init__(
        self, targets: dict, y_range: list | None = None, l2: float = 0.0, **kwargs
    ) -> None:
        super().__init__(targets, y_range=y_range or self.default_y_range(targets), **kwargs)
        # a regularizer, off with the rest of them (mode=overfit, mode=fraction); per training
        # rating, as the loss is
        self.l2 = l2 / targets["count"] if self.regularize else 0.0
        # an output of 0 means the training mean (0 when standardized): an untrained model with
        # small weights starts at the mean-rating baseline, not at the middle of the range
        self.offset = (
            0.0
            if self.bounds is None
            else float(torch.logit(-self.low / (self.high - self.low)).clamp(-10, 10))
        )

    @classmethod
    def describe_targets(cls, train_targets, names) -> dict:
        """Regression's statistics, the lowest and highest training rating, and how many there
        are (the L2 penalty is per training rating)."""
        ratings = train_targets.float().reshape(-1)
        return {
            **super().describe_targets(train_targets, names),
            "range": [float(ratings.min()), float(ratings.max())],
            "count": len(ratings),
        }

    @staticmethod
    def default_y_range(targets: dict) -> list[float]:
        """The training ratings' range widened by half a step each side: a sigmoid reaches the
        extreme ratings (1 and 5) with finite outputs."""
        low, high = targets["range"]
        return [low - 0.5, high + 0.5]

    def penalty(self, model):
        """``l2`` x the squared norm of every user and item vector and bias, per training rating,
        added to the MSE (or the chosen loss) per rating: regularized matrix factorization, where
        each row is pulled towards 0 as if it had ``l2`` more ratings of the mean. A rarely rated
        user is held close to the mean; unlike weight decay in AdamW, which barely holds such
        rows back (Adam rescales their small gradients)."""
        return self.l2 * self._squared_norm(model) if self.l2 else 0.0

    def _squared_norm(self, model) -> torch.Tensor | float:
        """The model's own ``squared_norm()``; for a model without one (a user's own), the sum
        of the squares of its ``nn.Embedding`` weights (user and item vectors and biases)."""
        if hasattr(model, "squared_norm"):
            return model.squared_norm()
        tables = [m.weight for m in model.modules() if isinstance(m, nn.Embedding)]
        if not tables and not getattr(self, "_warned_no_embeddings", False):
            self._warned_no_embeddings = True
            log.warning(
                "task.l2 acts on the model's nn.Embedding tables, and %s has none: no L2 "
                "penalty (set task.l2=0 to say so)",
                type(model).__name__,
            )
        return sum((weight.pow(2).sum() for weight in tables), 0.0)
