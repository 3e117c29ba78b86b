"""Collaborative filtering: predict the rating a user gives an item, from who rated what.

The regression task over ``(user, item)`` index pairs (``data/ratings.py``): the same loss (MSE on
standardized ratings), metrics (R² as the score, MAE, RMSE in rating units) and fit verdict, with
the outputs squashed into ``y_range``: by default the training ratings' range widened by half a
step each side (``[0.5, 5.5]`` for 1..5), so the extreme ratings lie inside the sigmoid's reach;
an output of 0 means the training mean.
The baseline is the global mean rating (R² about 0); the interpretation also reports the per-item
mean rating, a stronger baseline a useful model should still beat.

Interpretation (what the embeddings learned): the items with the highest and lowest learned bias
(``dot_bias``; models without biases: the mean predicted rating over all known users), the most
similar items by cosine similarity of their vectors, a PCA map of the item vectors, and the
worst-predicted ratings.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from ..analysis.plots import new_figure, save_figure
from ..analysis.reports import write_csv
from .regression import RegressionTask

log = logging.getLogger(__name__)


class CollabTask(RegressionTask):
    default_stratify = "none"

    def __init__(self, *args, y_range: list | None = None, l2: float = 0.0, **kwargs) -> None:
        inputs = kwargs.get("inputs") or (args[2] if len(args) > 2 else {})
        super().__init__(*args, y_range=y_range or inputs.get("y_range"), **kwargs)
        # a regularizer, off with the rest of them (mode=overfit, mode=fraction); per training
        # rating, as the loss is
        self.l2 = l2 / inputs.get("train_ratings", 1) if self.regularize else 0.0
        # an output of 0 means the training mean (0 when standardized): an untrained model with
        # small weights starts at the mean-rating baseline, not at the middle of the range
        self.offset = (
            0.0
            if self.bounds is None
            else float(torch.logit(-self.low / (self.high - self.low)).clamp(-10, 10))
        )

    def loss(self, outputs, targets):
        """MSE (or the chosen loss) per rating + ``l2`` x the squared norm of every user and item
        vector and bias, per training rating: regularized matrix factorization, where each row
        is pulled towards 0 as if it had ``l2`` more ratings of the mean. A rarely rated user is
        held close to the mean; unlike weight decay in AdamW, which barely holds such rows back
        (Adam rescales their small gradients)."""
        loss = super().loss(outputs, targets)
        return loss + self.l2 * self._squared_norm() if self.l2 else loss

    def _squared_norm(self) -> torch.Tensor | float:
        """The model's own ``squared_norm()``; for a model without one (a user's own), the sum
        of the squares of its ``nn.Embedding`` weights (user and item vectors and biases)."""
        if hasattr(self.model, "squared_norm"):
            return self.model.squared_norm()
        tables = [m.weight for m in self.model.modules() if isinstance(m, nn.Embedding)]
        if not tables and not getattr(self, "_warned_no_embeddings", False):
            self._warned_no_embeddings = True
            log.warning(
                "task.l2 acts on the model's nn.Embedding tables, and %s has none: no L2 "
                "penalty (set task.l2=0 to say so)",
                type(self.model).__name__,
            )
        return sum((weight.pow(2).sum() for weight in tables), 0.0)

    def forward(self, x) -> torch.Tensor:
        if self.bounds is None:
            return super().forward(x)
        return self.low + (self.high - self.low) * torch.sigmoid(self.model(x) + self.offset)

    # ---- reading the result --------------------------------------------------------------------
    def interpret(self, p, folder: Path, datamodule, top_k: int) -> dict:
        """worst.csv, item_bias.csv, similar_items.csv, item_factors_pca.png, predictions.csv."""
        preds = self.decode(p.outputs)[:, 0]
        targets = p.targets.float().reshape(-1)
        errors = (preds - targets).abs()
        pairs = datamodule.loaded.inputs[torch.as_tensor(p.indices, dtype=torch.long)]
        users, items = datamodule.raw_users, datamodule.raw_items
        write_csv(
            folder / "predictions.csv",
            ["index", "user", "item", "known_user", "known_item", "rating", "prediction"],
            [
                [
                    k,
                    users[k],
                    items[k],
                    int(pairs[n, 0] > 0),
                    int(pairs[n, 1] > 0),
                    float(targets[n]),
                    round(float(preds[n]), 4),
                ]
                for n, k in enumerate(p.indices)
            ],
        )
        worst = torch.argsort(errors, descending=True)[:top_k].tolist()
        write_csv(
            folder / "worst.csv",
            ["index", "user", "item", "rating", "prediction", "abs_error", "loss"],
            [
                [
                    p.indices[n],
                    users[p.indices[n]],
                    items[p.indices[n]],
                    float(targets[n]),
                    round(float(preds[n]), 4),
                    round(float(errors[n]), 4),
                    round(float(p.losses[n]), 6),
                ]
                for n in worst
            ],
        )
        names, counts = datamodule.item_names, datamodule.item_counts()
        bias, kind = self._item_effects(datamodule)
        known = torch.arange(1, len(names))  # (index 0: unknown)
        order = known[torch.argsort(bias[known], descending=True)].tolist()
        ranked = order[:top_k] + [i for i in order[-top_k:] if i not in order[:top_k]]
        write_csv(
            folder / "item_bias.csv",
            ["rank", "item", "bias", "train_ratings", "end"],
            [
                [
                    order.index(i) + 1,
                    names[i],
                    round(float(bias[i]), 4),
                    int(counts[i]),
                    "highest" if order.index(i) < top_k else "lowest",
                ]
                for i in ranked
            ],
        )
        factors = self.model.item_factors().cpu()[known]
        write_csv(
            folder / "similar_items.csv",
            ["item", "similar_item", "cosine"],
            self._similar(factors, [names[i] for i in known], counts[known], top_k),
        )
        self._plot_pca(factors, bias[known], folder / "item_factors_pca.png", kind)
        baselines = self._baselines(datamodule, pairs, targets)
        rmse = float((preds - targets).pow(2).mean().sqrt()) if len(targets) else 0.0
        mae = float(errors.mean()) if len(targets) else 0.0
        r2 = (
            1.0
            - float(
                (preds - targets).pow(2).sum()
                / (targets - targets.mean()).pow(2).sum().clamp_min(1e-12)
            )
            if len(targets) > 1
            else 0.0
        )
        return {
            "split": p.split,
            "items": len(targets),
            "mae": mae,
            "rmse": rmse,
            "r2": r2,
            "baseline_rmse": baselines,
            "item_effect": kind,
            "highest_bias": [names[i] for i in order[:3]],
            "lowest_bias": [names[i] for i in order[-3:]],
            "message": f"{p.split}: RMSE {rmse:.3f} (global mean {baselines['global_mean']:.3f}"
            f", item mean {baselines['item_mean']:.3f}), MAE {mae:.3f}, "
            f"R² {r2:.3f} ({len(targets)} ratings)",
        }

    def _item_effects(self, datamodule) -> tuple[torch.Tensor, str]:
        """Per-item learned bias, or (no biases in the model) the mean predicted rating of each
        item over every known user."""
        biases = self.model.item_biases()
        if biases is not None:
            return biases.cpu(), "learned bias"
        n_users, n_items = len(datamodule.user_names), len(datamodule.item_names)
        users = torch.arange(1, n_users)
        means = torch.zeros(n_items)
        was_training = self.training
        self.eval()
        with torch.no_grad():
            for item in range(1, n_items):
                x = torch.stack([users, torch.full_like(users, item)], dim=1).to(self.device)
                means[item] = self.decode(self(x))[:, 0].mean().cpu()
        self.train(was_training)
        return means, "mean predicted rating"

    @staticmethod
    def _similar(factors, names, counts, top_k: int) -> list[list]:
        """For the ``top_k`` most-rated items, their 3 nearest items by cosine similarity."""
        unit = torch.nn.functional.normalize(factors, dim=1)
        cosine = unit @ unit.T
        cosine.fill_diagonal_(-2.0)
        rows = []
        for i in torch.argsort(counts, descending=True)[:top_k].tolist():
            for j in torch.topk(cosine[i], min(3, len(names) - 1)).indices.tolist():
                rows.append([names[i], names[j], round(float(cosine[i, j]), 4)])
        return rows

    @staticmethod
    def _plot_pca(factors, effect, path: Path, kind: str) -> Path:
        centred = factors - factors.mean(dim=0)
        _, _, v = torch.pca_lowrank(centred, q=min(2, *centred.shape), center=False)
        xy = centred @ v
        if xy.shape[1] < 2:
            xy = torch.cat([xy, torch.zeros(len(xy), 2 - xy.shape[1])], dim=1)
        fig, ax = new_figure(5.5, 4.5)
        points = ax.scatter(
            xy[:, 0].numpy(), xy[:, 1].numpy(), c=effect.numpy(), s=10, cmap="coolwarm"
        )
        fig.colorbar(points, ax=ax, label=kind)
        ax.set_xlabel("first principal component")
        ax.set_ylabel("second principal component")
        ax.set_title(f"item vectors ({len(xy)} items)")
        return save_figure(fig, path)

    @staticmethod
    def _baselines(datamodule, pairs, targets) -> dict[str, float]:
        """RMSE on these ratings of the training mean, and of each item's training mean (the
        global mean for unknown items)."""
        train = datamodule.loaded.inputs[torch.as_tensor(datamodule._full_train)]
        train_y = datamodule.split_targets("train", full=True)[:, 0]
        mean = float(train_y.mean())
        n_items = len(datamodule.item_names)
        sums = torch.zeros(n_items).index_add_(0, train[:, 1], train_y)
        counts = torch.bincount(train[:, 1], minlength=n_items).float()
        item_mean = torch.where(counts > 0, sums / counts.clamp_min(1), torch.tensor(mean))

        def rmse(pred: torch.Tensor) -> float:
            return float((pred - targets).pow(2).mean().sqrt()) if len(targets) else 0.0

        return {
            "global_mean": rmse(torch.full_like(targets, mean)),
            "item_mean": rmse(item_mean[pairs[:, 1]]),
        }
