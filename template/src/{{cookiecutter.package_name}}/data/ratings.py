"""Ratings: who rated what, how much. Inputs are ``(user index, item index)`` pairs, the target is
the rating; the collaborative-filtering task and models (``task=collab``) learn from them.

* ``path: null``: the embedded synthetic set (``ratings_synthetic.py``), in memory;
  ``path: <file>``: a CSV with ``user_col``, ``item_col``, ``rating_col`` (and ``time_col``)
  columns, or ``format: movielens`` for MovieLens 100k's ``u.data`` (tab-separated
  ``user item rating timestamp``, no header).
* ``split: random`` (seeded) or ``split: time``: the oldest ratings train, the next
  ``val_fraction`` validate and the newest ``test_fraction`` test (is the model any good at
  tomorrow's ratings?); or ``valid_column``: the rows where it is true validate (a split given
  with the data; ``test_fraction`` then defaults to 0, so every other row trains).
* The pair input (``inputs/pair.py``) learns the users and items of the *full* training split
  (every mode shares them) and turns each rating's (user, item) into index pairs, ``0`` for a
  user or item training never saw; how many there are is in ``describe()`` (summary.json's
  ``data.ratings``). The mapping is part of ``config()`` (``vocab``), which checkpoints store, so
  eval encodes the data exactly as training did, even if the file has grown since.
* The reference to beat (``reference_scores``): the bias-only baseline, global mean + a user bias
  + an item bias, fitted on the same training ratings; the fit verdict compares the model with it.
* Ratings are not augmented: the ``augment`` setting is accepted and ignored.
* A file that cannot be read as ratings (a missing column, a rating that is not a number, too few
  ratings) is a ``ConfigError``: one line, exit status 2.
"""

from pathlib import Path

import numpy as np
import torch

from ..inputs.pair import PairInput
from ..training.validate import ConfigError
from .base import DataModule, LoadedData
from .ratings_synthetic import synthetic_ratings
from .split import split_indices, subset, test_share, valid_flags

BIAS_DAMPING = 10.0  # the bias-only baseline's L2: each bias counts this many ratings of 0
FORMATS = ("csv", "movielens")
MOVIELENS_COLUMNS = ["user", "item", "rating", "timestamp"]


class RatingsDataModule(DataModule):
    """Ratings from ``path`` (a CSV, or MovieLens' ``u.data``) or the synthetic set; the pair
    input reads new pairs from the same ``user_col`` and ``item_col`` (``data.input``)."""

    name = "ratings"
    picks_folds = True  # setup() calls DataModule.fold_split (cv=kfold)
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
        valid_column: str | None = None,
        synthetic: dict | None = None,
        vocab: dict | None = None,
        reference_model: bool = True,
        input: dict | None = None,
        **kwargs,
    ) -> None:
{%- if "clean" in cookiecutter.__features.split(",") %}
        if kwargs.get("decisions"):  # (setup below builds its own split: they would be ignored)
            raise ConfigError(
                "data.decisions: a review's decisions are not applied to ratings; drop or fix "
                "those rows in the ratings file itself (data.path=...)"
            )
{%- endif %}
        kwargs.setdefault("stratify", "none")
        kwargs.pop("classes", None)
        kwargs["augment"] = None  # (ratings are not augmented)
        # new pairs (predict.py, serve.py) are read from the same columns
        kwargs["input"] = input or {
            "_target_": f"{PairInput.__module__}.PairInput",
            "user_col": user_col,
            "item_col": item_col,
            "sep": sep,
        }
        # a given split keeps every other row training (time_split needs the number itself)
        kwargs["test_fraction"] = test_share(kwargs.get("test_fraction"), bool(valid_column))
        super().__init__(**kwargs)
        if format not in FORMATS or split not in ("random", "time"):
            raise ConfigError(
                f"data.format={format}, data.split={split}: format is one of "
                f"{', '.join(FORMATS)}, split is random or time"
            )
        if vocab:  # {"users": [...], "items": [...]}: given back by a checkpoint
            self.input.load_state_dict(vocab)

    # ---- reading -----------------------------------------------------------------------------
    def read(self) -> dict:
        """Columns ``user``, ``item`` (as strings), ``rating``, ``timestamp`` and ``valid`` (or
        None)."""
        h = self.hparams
        if h.path is None:
            return {**synthetic_ratings(**(h.synthetic or {})), "valid": None}
        import pandas as pd

        path = Path(h.path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"data.path={path}: no such ratings file")
        try:
            frame = self._read_frame(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
            raise ConfigError(f"data.path={path}: not a ratings file ({error})") from None
        settings = (
            dict(
                zip(
                    ("user_col", "item_col", "rating_col", "time_col"),
                    MOVIELENS_COLUMNS,
                    strict=True,
                )
            )
            if h.format == "movielens"
            else {
                "user_col": h.user_col,
                "item_col": h.item_col,
                "rating_col": h.rating_col,
                "time_col": h.time_col,
            }
        )
        settings["valid_column"] = h.valid_column
        missing = [
            f"data.{key}={name}"
            for key, name in settings.items()
            if name is not None and name not in frame.columns
        ]
        if missing:
            raise ConfigError(
                f"{path}: no column {', '.join(missing)}; its columns: {list(frame.columns)}"
            )
        times, valid = settings["time_col"], settings["valid_column"]
        return {
            "user": frame[settings["user_col"]].tolist(),
            "item": frame[settings["item_col"]].tolist(),
            "rating": numbers(frame[settings["rating_col"]], path, "rating"),
            "timestamp": None if times is None else numbers(frame[times], path, "time"),
            "valid": None
            if valid is None
            else valid_flags(frame[valid].tolist(), valid, str(path)),
        }

    def _read_frame(self, path: Path):
        import pandas as pd

        h = self.hparams
        if h.format == "movielens":
            return pd.read_csv(
                path,
                sep=h.sep or "\t",
                header=None,
                names=MOVIELENS_COLUMNS,
                dtype={"user": str, "item": str},
            )
        return pd.read_csv(path, sep=h.sep or ",", dtype={h.user_col: str, h.item_col: str})

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
            raise ConfigError(
                f"{h.path or self.name}: {len(ratings)} ratings are too few to split into "
                "train/val/test (10 at least)"
            )
        if table["valid"] is not None:
            val = [i for i, flag in enumerate(table["valid"]) if flag]
            if not val or len(val) == len(ratings):
                raise ConfigError(
                    f"data.valid_column={h.valid_column} flags {len(val)} of {len(ratings)} "
                    "ratings for validation: it must flag some and leave some to train on"
                )
            self.indices = split_indices(
                ratings, "none", h.val_fraction, h.test_fraction, h.split_seed, fixed_val=val
            )
        elif h.split == "time":
            if table["timestamp"] is None:
                raise ConfigError(
                    "data.split=time needs timestamps: set data.time_col (or "
                    "format=movielens), or use data.split=random"
                )
            self.indices = time_split(table["timestamp"], h.val_fraction, h.test_fraction)
        else:
            self.indices = split_indices(
                ratings, "none", h.val_fraction, h.test_fraction, h.split_seed
            )
{%- if "cv" in cookiecutter.__features.split(",") %}
        if h.folds:  # cv=kfold: this fold's train/val from the pooled train+val (base.py)
            self.indices = self.fold_split(self.indices, ratings)
{%- endif %}
        self._full_train = list(self.indices["train"])
        self.full_train_size = len(self._full_train)
        train = self._full_train  # (a vocabulary a checkpoint gave back is kept)
        self.input.fit(([self.raw_users[i] for i in train], [self.raw_items[i] for i in train]))
        pairs = self.input.encode(self.raw_users, self.raw_items)
        self._loaded = LoadedData(pairs, ratings, ["rating"])
        if h.fraction < 1.0:
            self.indices["train"] = subset(
                self.indices["train"], ratings, "none", h.fraction, h.split_seed
            )

    def config(self) -> dict:
        return {**super().config(), "vocab": self.input.state_dict()}

    def state_dict(self) -> dict:  # Lightning's own checkpoint hook, for resuming
        return {**super().state_dict(), "input": self.input.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        vocab = state.get("input")
        if vocab and vocab != self.input.state_dict():
            self.input.load_state_dict(vocab)
            if self._loaded is not None:
                self._loaded.inputs = self.input.encode(self.raw_users, self.raw_items)

    # ---- facts for the model, the task and the summary -----------------------------------------
    @property
    def vocab(self) -> dict[str, list[str]]:
        return self.input.vocab

    @property
    def user_names(self) -> list[str]:
        return self.input.user_names

    @property
    def item_names(self) -> list[str]:
        return self.input.item_names

    def training_ratings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The full training split, whatever data.fraction (baselines and statistics read it, so
        every mode sees the same): its ``(N, 2)`` (user, item) index pairs and ``(N,)`` ratings."""
        train = torch.as_tensor(self._full_train, dtype=torch.long)
        return self.loaded.inputs[train], self.loaded.targets[train, 0]

    def rating_range(self) -> list[float]:
        train = self.split_targets("train", full=True)
        return [float(train.min()), float(train.max())]

    def item_counts(self) -> torch.Tensor:
        """Training ratings per item index (index 0: unknown, 0 ratings)."""
        pairs, _ = self.training_ratings()
        return torch.bincount(pairs[:, 1], minlength=len(self.item_names))

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

    # ---- the baseline to beat ---------------------------------------------------------------
    def reference_scores(self, task, splits) -> dict | None:
        """The bias-only baseline (global mean + user bias + item bias) fitted on the same
        training ratings, scored with the task's own score (and RMSE) on each split."""
        if not self.hparams.reference_model:
            return None
        pairs, ratings = self.loaded.inputs, self.loaded.targets[:, 0]
        train = torch.as_tensor(self.indices["train"], dtype=torch.long)
        predict = bias_only(
            pairs[train], ratings[train], len(self.user_names), len(self.item_names)
        )
        low, high = self.rating_range()
        # the task's outputs are standardized ratings
        mean, std = (torch.tensor(task.target_info[key]) for key in ("mean", "std"))
        result = {"name": "bias-only baseline", "metric": task.score, "rmse": {}}
        for split in splits:
            rows = torch.as_tensor(self.indices[split], dtype=torch.long)
            if not len(rows):
                continue
            predicted = predict(pairs[rows]).clamp(low, high)
            metric = task.metrics()[task.score]
            metric.update(
                *task.metric_inputs((predicted[:, None] - mean) / std, ratings[rows, None])
            )
            result[split] = float(metric.compute())
            result["rmse"][split] = float((predicted - ratings[rows]).pow(2).mean().sqrt())
        return result

    # ---- cross-validation and items ---------------------------------------------------------
    def item_groups(self) -> dict[str, list]:
        """cv.group_by=user (or item): a user's ratings stay in one fold."""
        return {"user": self.raw_users, "item": self.raw_items}


def time_split(times: list, val_fraction: float, test_fraction: float) -> dict[str, list[int]]:
    """The oldest ratings train, the next ``val_fraction`` validate, the newest test (ties in
    time keep file order)."""
    order = np.argsort(np.asarray(times), kind="stable").tolist()
    n = len(order)
    n_test, n_val = round(test_fraction * n), max(1, round(val_fraction * n))
    train, val = order[: n - n_val - n_test], order[n - n_val - n_test : n - n_test]
    return {"train": sorted(train), "val": sorted(val), "test": sorted(order[n - n_test :])}


def numbers(column, path: Path, what: str) -> list[float]:
    """A column of numbers; a missing or non-numeric cell is a user's mistake, named."""
    import pandas as pd

    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna()
    if bad.any():
        first = bad[bad].index[:3]
        cells = ", ".join(f"{column[i]!r} in data row {int(i) + 1}" for i in first)
        raise ConfigError(
            f"{path}: {int(bad.sum())} {what} value(s) in column '{column.name}' are missing "
            f"or not numbers ({cells})"
        )
    return values.astype(float).tolist()


def bias_only(pairs: torch.Tensor, ratings: torch.Tensor, n_users: int, n_items: int):
    """Global mean + user bias + item bias, fitted by alternating damped means (least squares
    with an L2 penalty of ``BIAS_DAMPING`` on each bias); unknown users/items (index 0, never in
    training) get no bias. Returns ``pairs -> predicted ratings``."""
    mean = ratings.mean()
    users, items = pairs[:, 0], pairs[:, 1]
    user_counts = torch.bincount(users, minlength=n_users).float() + BIAS_DAMPING
    item_counts = torch.bincount(items, minlength=n_items).float() + BIAS_DAMPING
    user_bias = torch.zeros(n_users)
    for _ in range(10):  # (converged to a few decimals on MovieLens-like data)
        residual = ratings - mean - user_bias[users]
        item_bias = torch.zeros(n_items).index_add_(0, items, residual) / item_counts
        residual = ratings - mean - item_bias[items]
        user_bias = torch.zeros(n_users).index_add_(0, users, residual) / user_counts
    return lambda new: mean + user_bias[new[:, 0]] + item_bias[new[:, 1]]
