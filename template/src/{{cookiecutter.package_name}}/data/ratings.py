"""Ratings: who rated what, how much. Inputs are ``(user index, item index)`` pairs, the target is
the rating; the collaborative-filtering task and models (``task=collab``) learn from them.

* ``path: null``: the embedded synthetic set (``ratings_synthetic.py``), in memory;
  ``path: <file>``: a CSV with ``user_col``, ``item_col``, ``rating_col`` (and ``time_col``)
  columns, or ``format: movielens`` for MovieLens 100k's ``u.data`` (tab-separated
  ``user item rating timestamp``, no header).
* ``split: random`` (seeded) or ``split: time``: the oldest ratings train, the next
  ``val_fraction`` validate and the newest ``test_fraction`` test (is the model any good at
  tomorrow's ratings?).
* Users and items become indices learnt on the *full* training split (every mode shares them):
  ``1..n`` in order of first appearance there, ``0`` for "unknown". Users or items of val/test
  that training never saw get index 0, so the model can only use what it knows of the other side;
  how many there are is in ``describe()`` (summary.json's ``data.ratings``). The mapping is part
  of ``config()``, which checkpoints store, so eval encodes the data exactly as training did,
  even if the file has grown since.
* Image augmentation does not apply to ratings: the ``augment`` setting is accepted and ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import DataModule, LoadedData
from .ratings_synthetic import synthetic_ratings
from .split import split_indices, subset

UNKNOWN = "<unknown>"
FORMATS = ("csv", "movielens")
MOVIELENS_COLUMNS = ["user", "item", "rating", "timestamp"]


class RatingsDataModule(DataModule):
    name = "ratings"
    image_inputs = False  # (the augment group is accepted and ignored)
    target_kind = "continuous"

    def __init__(
        self,
        path: str | None = None,
        format: str = "csv",
        user_col: str = "user",
        item_col: str = "item",
        rating_col: str = "rating",
        time_col: str | None = None,
        sep: str | None = None,
        split: str = "random",
        synthetic: dict | None = None,
        vocab: dict | None = None,
        **kwargs,
    ) -> None:
        kwargs.setdefault("stratify", "none")
        kwargs.pop("classes", None)
        super().__init__(**kwargs)
        if format not in FORMATS or split not in ("random", "time"):
            raise ValueError(
                f"data.format={format}, data.split={split}: format is one of "
                f"{', '.join(FORMATS)}, split is random or time"
            )
        self.vocab = vocab  # {"users": [...], "items": [...]}: given back by a checkpoint

    # ---- reading -----------------------------------------------------------------------------
    def read(self) -> dict:
        """Columns ``user``, ``item`` (as strings), ``rating`` and ``timestamp`` (or None)."""
        h = self.hparams
        if h.path is None:
            return synthetic_ratings(**(h.synthetic or {}))
        import pandas as pd

        path = Path(h.path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"data.path={path}: no such ratings file")
        if h.format == "movielens":
            frame = pd.read_csv(
                path,
                sep=h.sep or "\t",
                header=None,
                names=MOVIELENS_COLUMNS,
                dtype={"user": str, "item": str},
            )
            columns = dict(
                zip(("user", "item", "rating", "timestamp"), MOVIELENS_COLUMNS, strict=True)
            )
        else:
            frame = pd.read_csv(path, sep=h.sep or ",", dtype={h.user_col: str, h.item_col: str})
            columns = {
                "user": h.user_col,
                "item": h.item_col,
                "rating": h.rating_col,
                "timestamp": h.time_col,
            }
            missing = [c for c in columns.values() if c is not None and c not in frame.columns]
            if missing:
                raise ValueError(
                    f"{path}: no column(s) {missing}; its columns: "
                    f"{list(frame.columns)} (set data.user_col, data.item_col, "
                    "data.rating_col, data.time_col)"
                )
        ratings = pd.to_numeric(frame[columns["rating"]], errors="coerce")
        if ratings.isna().any():
            bad = int(ratings.isna().sum())
            raise ValueError(
                f"{path}: {bad} rating(s) are missing or not numbers (column '{columns['rating']}')"
            )
        times = frame[columns["timestamp"]] if columns["timestamp"] else None
        return {
            "user": frame[columns["user"]].tolist(),
            "item": frame[columns["item"]].tolist(),
            "rating": ratings.astype(float).tolist(),
            "timestamp": None if times is None else pd.to_numeric(times).tolist(),
        }

    def load(self) -> LoadedData:
        self.setup()
        return self._loaded

    # ---- splitting and encoding (learnt on the training split) ---------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self._loaded is not None:
            return
        h = self.hparams
        table = self.read()
        self.raw_users, self.raw_items = table["user"], table["item"]
        ratings = torch.tensor(table["rating"], dtype=torch.float32)[:, None]
        if len(ratings) < 10:
            raise ValueError(f"{self.name}: {len(ratings)} ratings are too few to split")
        if h.split == "time":
            if table["timestamp"] is None:
                raise ValueError(
                    "data.split=time needs timestamps: set data.time_col (or "
                    "format=movielens), or use data.split=random"
                )
            self.indices = time_split(table["timestamp"], h.val_fraction, h.test_fraction)
        else:
            self.indices = split_indices(
                ratings, "none", h.val_fraction, h.test_fraction, h.split_seed
            )
        self._full_train = list(self.indices["train"])
        self.full_train_size = len(self._full_train)
        if self.vocab is None:  # learnt here; a checkpoint gives it back unchanged
            train = self._full_train
            self.vocab = {
                "users": first_seen([self.raw_users[i] for i in train]),
                "items": first_seen([self.raw_items[i] for i in train]),
            }
        self._loaded = LoadedData(self.encode(self.raw_users, self.raw_items), ratings, ["rating"])
        if h.fraction < 1.0:
            self.indices["train"] = subset(
                self.indices["train"], ratings, "none", h.fraction, h.split_seed
            )

    def encode(self, users: list, items: list) -> torch.Tensor:
        """``(N, 2)`` long: the user's and the item's index (0: not seen in training)."""
        return torch.stack(
            [_lookup(self.vocab["users"], users), _lookup(self.vocab["items"], items)], dim=1
        )

    def config(self) -> dict:
        return {**super().config(), "vocab": self.vocab}

    def state_dict(self) -> dict:  # Lightning's own checkpoint hook, for resuming
        return {"vocab": self.vocab}

    def load_state_dict(self, state: dict) -> None:
        if state.get("vocab") and state["vocab"] != self.vocab:
            self.vocab = state["vocab"]
            self._loaded.inputs = self.encode(self.raw_users, self.raw_items)

    # ---- facts for the model, the task and the summary -----------------------------------------
    @property
    def user_names(self) -> list[str]:
        return [UNKNOWN, *self.vocab["users"]]

    @property
    def item_names(self) -> list[str]:
        return [UNKNOWN, *self.vocab["items"]]

    def rating_range(self) -> list[float]:
        train = self.split_targets("train", full=True)
        return [float(train.min()), float(train.max())]

    def input_info(self) -> dict:
        self.loaded  # noqa: B018 (the vocabulary exists after setup)
        low, high = self.rating_range()
        # (half a step beyond the extremes: a sigmoid reaches 1 and 5 with finite outputs)
        return {
            "n_users": len(self.user_names),
            "n_items": len(self.item_names),
            "y_range": [low - 0.5, high + 0.5],
        }

    def item_counts(self) -> torch.Tensor:
        """Training ratings per item index (index 0: unknown, 0 ratings)."""
        items = self.loaded.inputs[torch.as_tensor(self._full_train), 1]
        return torch.bincount(items, minlength=len(self.item_names))

    def unknown_counts(self) -> dict[str, dict[str, int]]:
        """Per split: ratings whose user / item / either was not seen in training."""
        out = {}
        for split in ("val", "test"):
            pairs = self.loaded.inputs[torch.as_tensor(self.indices[split], dtype=torch.long)]
            if len(pairs) == 0:
                out[split] = {"users": 0, "items": 0, "ratings": 0}
                continue
            unknown = pairs == 0
            out[split] = {
                "users": len(
                    {
                        self.raw_users[i]
                        for i, u in zip(self.indices[split], unknown[:, 0].tolist(), strict=True)
                        if u
                    }
                ),
                "items": len(
                    {
                        self.raw_items[i]
                        for i, u in zip(self.indices[split], unknown[:, 1].tolist(), strict=True)
                        if u
                    }
                ),
                "ratings": int(unknown.any(dim=1).sum()),
            }
        return out

    def describe(self) -> dict:
        info = super().describe()
        users, items = len(self.vocab["users"]), len(self.vocab["items"])
        unknown = self.unknown_counts()
        info["ratings"] = {
            "source": self.hparams.path or "synthetic",
            "split": self.hparams.split,
            "users": users,
            "items": items,
            "rating_range": self.rating_range(),
            "density": round(self.full_train_size / max(1, users * items), 4),
            "unknown": unknown,
            "message": f"{users} users x {items} items in training; unseen in training -> "
            "unknown index: "
            + ", ".join(
                f"{s} {c['ratings']} ratings ({c['users']} users, {c['items']} items)"
                for s, c in unknown.items()
            ),
        }
        return info

    # ---- what does not apply to ratings --------------------------------------------------------
    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        return batch  # no image augmentation of index pairs

    def read_input(self, path) -> torch.Tensor:
        raise ValueError(
            "ratings data reads no input files: measure a ratings file with "
            "eval.py ckpt_path=<run> +data.path=<file> (the stored mapping applies)"
        )

    def preprocessing(self) -> dict:
        return {
            "inputs": "(user index, item index) pairs, long",
            "unknown_index": 0,
            "users": self.user_names,
            "items": self.item_names,
        }


def first_seen(values: list) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values))


def _lookup(names: list[str], values: list) -> torch.Tensor:
    index = {name: i + 1 for i, name in enumerate(names)}
    return torch.tensor([index.get(str(v), 0) for v in values], dtype=torch.long)


def time_split(times: list, val_fraction: float, test_fraction: float) -> dict[str, list[int]]:
    """The oldest ratings train, the next ``val_fraction`` validate, the newest test (ties in
    time keep file order)."""
    order = np.argsort(np.asarray(times), kind="stable").tolist()
    n = len(order)
    n_test, n_val = round(test_fraction * n), max(1, round(val_fraction * n))
    train, val = order[: n - n_val - n_test], order[n - n_val - n_test : n - n_test]
    return {"train": sorted(train), "val": sorted(val), "test": sorted(order[n - n_test :])}
