"""Seeded train/val/test splits and the fixed fraction subset, stratified as the task declares
(``task.stratify``): ``labels`` (one class per item), ``label_sets`` (multi-hot rows: each item's
rarest label, so rare labels reach every split), ``quantiles`` (five bins of the first target
column) or ``none`` (a seeded shuffle)."""

import math

import numpy as np
import torch

from ..training.validate import ConfigError

STRATA = ("labels", "label_sets", "quantiles", "none")
DEFAULT_TEST_FRACTION = 0.15  # when none is set (see ``test_share``)


def strata(targets: torch.Tensor, kind: str) -> np.ndarray | None:
    if kind not in STRATA:
        raise ConfigError(f"stratify='{kind}': use one of {', '.join(STRATA)}")
    if kind == "labels":  # (rows of several values: each distinct row is a stratum)
        values = targets.numpy()
        if values.ndim == 1:
            return values
        return np.unique(values.reshape(len(values), -1), axis=0, return_inverse=True)[1].ravel()
    if kind == "label_sets":  # items without labels form a stratum of their own
        multi_hot = targets.float()
        rarity = torch.where(multi_hot > 0, multi_hot.sum(dim=0).expand_as(multi_hot), torch.inf)
        return torch.where(multi_hot.sum(dim=1) > 0, rarity.argmin(dim=1), -1).numpy()
    if kind == "quantiles":
        first = targets.float().reshape(len(targets), -1)[:, 0].numpy()
        return np.digitize(first, np.quantile(first, [0.2, 0.4, 0.6, 0.8]))
    return None


def _mergeable(groups: np.ndarray | None, minimum: int) -> np.ndarray | None:
    """Strata with fewer than ``minimum`` items join one "rest" stratum (sklearn needs >= 2)."""
    if groups is None:
        return None
    values, counts = np.unique(groups, return_counts=True)
    rare = values[counts < minimum]
    if len(rare) == 0:
        return groups
    merged = np.where(np.isin(groups, rare), values.max() + 1, groups)
    return merged if (np.unique(merged, return_counts=True)[1] >= minimum).all() else None


def split_indices(
    targets: torch.Tensor,
    stratify: str,
    val_fraction: float,
    test_fraction: float | None,
    seed: int,
    fixed_val: list[int] | None = None,
) -> dict[str, list[int]]:
    test_fraction = test_share(test_fraction, given_val=fixed_val is not None)
    groups = strata(targets, stratify)
    if stratify != "labels":  # approximate strata: tiny ones are merged rather than fatal
        groups = _mergeable(groups, 3)
    everything = np.arange(len(targets))
    if fixed_val is not None:  # the data set's own validation items: test seeded from the rest
        val = sorted(set(fixed_val))
        rest = np.setdiff1d(everything, val)
        test_size = round(test_fraction * len(everything))
        if not val or len(rest) - test_size < 1:
            raise ConfigError(
                f"the data set's own validation split has {len(val)} of {len(everything)} items: "
                "it must leave items for training and be non-empty"
            )
        rest_groups = None if groups is None else _mergeable(groups[rest], 2)
        train, test = draw(rest, rest_groups, test_size, seed)
        return {"train": train.tolist(), "val": val, "test": test.tolist()}
    every = "both" if stratify == "labels" else ""  # every class in every split, or an error
    try:
        rest, test = everything, everything[:0]
        if test_fraction != 0:
            test_size = math.ceil(test_fraction * len(everything))
            rest, test = draw(everything, groups, test_size, seed, every)
        val_size = math.ceil(val_fraction / (1.0 - test_fraction) * len(rest))
        train, val = draw(rest, None if groups is None else groups[rest], val_size, seed + 1, every)
    except ValueError as error:
        counts = np.bincount(groups) if groups is not None and groups.min() >= 0 else []
        smallest = f" (the smallest has {min(counts)})" if len(counts) else ""
        raise ConfigError(
            f"{len(targets)} items in {len(counts)} classes{smallest} cannot be split into "
            f"train/val/test with every class in each split (data.val_fraction={val_fraction}, "
            f"data.test_fraction={test_fraction}): add data, or raise the fractions so that each "
            f"split gets one item per class ({error})"
        ) from None
    return {"train": train.tolist(), "val": val.tolist(), "test": test.tolist()}
{%- if cookiecutter.__tasks.split(",") | select("in", ["multilabel", "regression", "collab", "tabular", "tabular_regression", "text"]) | list %}


# what marks a row of a given validation split (an ``is_valid``-style column), in every source
VALID_FLAGS = frozenset({"true", "1", "yes", "y", "t", "1.0"})
NOT_VALID_FLAGS = frozenset({"false", "0", "no", "n", "f", "0.0", ""})


def valid_flag(value) -> bool | None:
    """One cell of a validation column: True (validation), False (training; empty or missing
    too), None for anything else ("valid", "nan" written out, ...)."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    text = "" if missing else str(value).strip().lower()
    return True if text in VALID_FLAGS else False if text in NOT_VALID_FLAGS else None


def valid_flags(values, column: str, where: str, rows: list[str] | None = None) -> list[bool]:
    """The cells of a validation column as flags; ``ConfigError`` naming the first that are
    neither (taken for training, they would put validation items into training). ``rows``: the
    rows' names (default: their CSV lines, from 2)."""
    values = list(values)
    flags = [valid_flag(value) for value in values]
    if bad := [i for i, flag in enumerate(flags) if flag is None]:
        shown = ", ".join(
            f"{rows[i] if rows else f'line {i + 2}'} '{values[i]}'" for i in bad[:5]
        ) + (f", ... {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ConfigError(
            f"{where}: data.valid_column={column} holds {len(bad)} value(s) that are neither "
            f"true nor false ({shown}): use true/false, 1/0 or yes/no (empty: training)"
        )
    return flags
{%- endif %}


def test_share(test_fraction: float | None, given_val: bool) -> float:
    """The test fraction used: as set, else 0 beside a validation split the data gives (that
    split is the user's: no training items are taken for a test split unless asked)."""
    if test_fraction is not None:
        return test_fraction
    return 0.0 if given_val else DEFAULT_TEST_FRACTION


def draw(
    items: np.ndarray, groups: np.ndarray | None, size: int, seed: int, every_stratum: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """``(rest, drawn)``: ``size`` of ``items`` drawn seeded, each stratum in proportion (largest
    remainders); ``every_stratum``: each stratum on "both" sides (or an error), or "drawn". Not
    sklearn's ``train_test_split``: importing ``sklearn.model_selection`` pulls in SciPy and
    pandas, about two seconds at every start, more than ``mode=overfit`` needs in all."""
    rng = np.random.default_rng(seed)
    if groups is None:
        order = rng.permutation(len(items))
        return np.sort(items[order[size:]]), np.sort(items[order[:size]])
    values, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    quota = counts * size / len(items)
    take = np.floor(quota).astype(int)
    # the remaining draws go to the largest remainders (ties in seeded random order)
    order = np.lexsort((rng.random(len(values)), -(quota - take)))
    take[order[: size - take.sum()]] += 1
    if every_stratum == "both":
        if counts.min() < 2 or not len(values) <= size <= len(items) - len(values):
            raise ConfigError(
                f"{len(values)} classes, the smallest with {counts.min()} items, "
                f"cannot all be on both sides of {size} drawn of {len(items)}"
            )
        take = _rebalance(take, quota, low=1, high=counts - 1)
    elif every_stratum == "drawn" and size >= len(values):
        take = _rebalance(take, quota, low=1, high=counts)
    drawn = np.zeros(len(items), dtype=bool)
    for stratum, count in enumerate(take):
        drawn[rng.permutation(np.flatnonzero(inverse == stratum))[:count]] = True
    return np.sort(items[~drawn]), np.sort(items[drawn])


def _rebalance(take: np.ndarray, quota: np.ndarray, low: int, high: np.ndarray) -> np.ndarray:
    """Draws clipped to ``[low, high]``, then moved back to the total, furthest from quota first."""
    total = int(take.sum())
    take = np.clip(take, low, high)
    while take.sum() > total:
        candidates = np.flatnonzero(take > low)
        take[candidates[np.argmax((take - quota)[candidates])]] -= 1
    while take.sum() < total:
        candidates = np.flatnonzero(take < high)
        take[candidates[np.argmax((quota - take)[candidates])]] += 1
    return take


def subset(
    indices: list[int], targets: torch.Tensor, stratify: str, fraction: float, seed: int
) -> list[int]:
    """A fixed, seeded subset of ``indices`` (same strata proportions, >= 1 per class)."""
    groups = strata(targets[torch.as_tensor(indices)], stratify)
    if stratify != "labels":
        groups = _mergeable(groups, 2)
    minimum = len(set(groups.tolist())) if groups is not None else 1
    size = max(minimum, math.ceil(fraction * len(indices)))
    if size >= len(indices):
        return list(indices)
    _, chosen = draw(np.asarray(indices), groups, size, seed, every_stratum="drawn")
    return chosen.tolist()
