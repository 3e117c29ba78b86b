"""Collaborative filtering's report (what the embeddings learned): the items with the highest and
lowest learned bias (``dot_bias``; models without biases: the mean predicted rating over all
known users), the most similar items by cosine similarity of their vectors, a PCA map of the item
vectors, and the worst-predicted ratings; RMSE against the global-mean and the per-item-mean
baselines. Suspicious ratings: regression's (the largest residuals, outliers)."""

from pathlib import Path

import torch

from ...analysis.plots import new_figure, save_figure
from ...analysis.reports import write_csv
from .regression import RegressionReport


class CollabReport(RegressionReport):
    identity_header = ("index", "user", "item")
    ranked_header = ("rating", "prediction", "abs_error")

    def identity(self, p, i: int, datamodule) -> dict:
        k = p.indices[i]
        return {"index": k, "user": datamodule.raw_users[k], "item": datamodule.raw_items[k]}

    def ranked_columns(self, p, d, i: int) -> dict:
        return {
            "rating": float(d["targets"][i, 0]),
            "prediction": round(float(d["preds"][i, 0]), 4),
            "abs_error": round(float(d["errors"][i, 0]), 4),
        }

    def caption(self, row: dict) -> str:
        return f"{row['prediction']}\n/{row['rating']}"

    def tables(self, p, d, folder: Path, datamodule, top_k: int) -> dict:
        """predictions.csv, item_bias.csv, similar_items.csv, item_factors_pca.png."""
        preds, targets, errors = d["preds"][:, 0], d["targets"][:, 0], d["errors"][:, 0]
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
        factors = self.module.model.item_factors().cpu()[known]
        write_csv(
            folder / "similar_items.csv",
            ["item", "similar_item", "cosine"],
            self._similar(factors, [names[i] for i in known], counts[known], top_k),
        )
        self._plot_pca(factors, bias[known], folder / "item_factors_pca.png", kind)
        baselines = self._baselines(datamodule, pairs, targets)
        rmse = float((preds - targets).pow(2).mean().sqrt()) if len(targets) else 0.0
        mae = float(errors.mean()) if len(targets) else 0.0
        spread = (targets - targets.mean()).pow(2).sum().clamp_min(1e-12)
        r2 = 1.0 - float((preds - targets).pow(2).sum() / spread) if len(targets) > 1 else 0.0
        return {
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
        module = self.module
        biases = module.model.item_biases()
        if biases is not None:
            return biases.cpu(), "learned bias"
        n_users, n_items = len(datamodule.user_names), len(datamodule.item_names)
        users = torch.arange(1, n_users)
        means = torch.zeros(n_items)
        was_training = module.training
        module.eval()
        with torch.no_grad():
            for item in range(1, n_items):
                x = torch.stack([users, torch.full_like(users, item)], dim=1).to(module.device)
                means[item] = self.task.decode(module(x))[:, 0].mean().cpu()
        module.train(was_training)
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
        train, train_y = datamodule.training_ratings()
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
