"""Seeded train/val/test splits and the fixed fraction subset, stratified on what the task says.

The task declares its strata by name (``task.stratify``); these are plain functions of the target
tensor, so the data module needs to know nothing about tasks:

* ``labels``: one integer class per item (single-label classification);
* ``label_sets``: multi-hot rows: each item's rarest label (items without labels form their own
  stratum), so rare labels reach every split;
* ``quantiles``: continuous targets: five quantile bins of the first target column;
* ``none``: a plain seeded shuffle (masks, ratings, ...).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.model_selection import train_test_split

STRATA = ("labels", "label_sets", "quantiles", "none")


def strata(targets: torch.Tensor, kind: str) -> np.ndarray | None:
    if kind not in STRATA:
        raise ValueError(f"stratify='{kind}': use one of {', '.join(STRATA)}")
    if kind == "labels":
        return targets.numpy()
    if kind == "label_sets":
        multi_hot = targets.float()
        counts = multi_hot.sum(dim=0)
        rarity = torch.where(multi_hot > 0, counts.expand_as(multi_hot), torch.inf)
        rarest = rarity.argmin(dim=1)
        return torch.where(multi_hot.sum(dim=1) > 0, rarest, -1).numpy()
    if kind == "quantiles":
        first = targets.float().reshape(len(targets), -1)[:, 0].numpy()
        edges = np.quantile(first, [0.2, 0.4, 0.6, 0.8])
        return np.digitize(first, edges)
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


def split_indices(targets: torch.Tensor, stratify: str, val_fraction: float,
                  test_fraction: float, seed: int,
                  fixed_val: list[int] | None = None) -> dict[str, list[int]]:
    """Seeded train/val/test indices, stratified on ``strata(targets, stratify)``; with
    ``fixed_val`` (the data set's own validation items), test is split from the other items."""
    groups = strata(targets, stratify)
    if stratify != "labels":  # approximate strata: tiny ones are merged rather than fatal
        groups = _mergeable(groups, 3)
    everything = np.arange(len(targets))
    if fixed_val is not None:
        return _split_around(everything, groups, sorted(set(fixed_val)), test_fraction, seed)
    try:
        rest, test = (everything, everything[:0]) if test_fraction == 0 else train_test_split(
            everything, test_size=test_fraction, stratify=groups, random_state=seed)
        train, val = train_test_split(
            rest, test_size=val_fraction / (1.0 - test_fraction),
            stratify=None if groups is None else groups[rest], random_state=seed)
    except ValueError as error:  # sklearn's words are about its arguments, not about the data
        counts = np.bincount(groups) if groups is not None and groups.min() >= 0 else []
        smallest = f" (the smallest has {min(counts)})" if len(counts) else ""
        raise ValueError(
            f"{len(targets)} items in {len(counts)} classes{smallest} cannot be split into "
            f"train/val/test with every class in each split (data.val_fraction={val_fraction}, "
            f"data.test_fraction={test_fraction}): add data, or raise the fractions so that each "
            f"split gets one item per class ({error})") from None
    return {"train": sorted(train.tolist()), "val": sorted(val.tolist()),
            "test": sorted(test.tolist())}


def _split_around(everything: np.ndarray, groups: np.ndarray | None, val: list[int],
                  test_fraction: float, seed: int) -> dict[str, list[int]]:
    """The given val items; test (``test_fraction`` of all items) seeded from the rest."""
    rest = np.setdiff1d(everything, val)
    test_size = round(test_fraction * len(everything))
    if not val or len(rest) - test_size < 1:
        raise ValueError(f"the data set's own validation split has {len(val)} of "
                         f"{len(everything)} items: it must leave items for training and be "
                         "non-empty")
    test = rest[:0]
    if test_size:
        rest_groups = None if groups is None else _mergeable(groups[rest], 2)
        try:
            rest, test = train_test_split(rest, test_size=test_size, stratify=rest_groups,
                                          random_state=seed)
        except ValueError:  # too few items per stratum for a stratified test split: seeded only
            rest, test = train_test_split(rest, test_size=test_size, random_state=seed)
    return {"train": sorted(rest.tolist()), "val": list(val), "test": sorted(test.tolist())}


def subset(indices: list[int], targets: torch.Tensor, stratify: str, fraction: float,
           seed: int) -> list[int]:
    """A fixed, seeded subset of ``indices`` (same strata proportions, >= 1 per class)."""
    groups = strata(targets[torch.as_tensor(indices)], stratify)
    if stratify != "labels":
        groups = _mergeable(groups, 2)
    minimum = len(set(groups.tolist())) if groups is not None else 1
    size = max(minimum, math.ceil(fraction * len(indices)))
    if size >= len(indices):
        return list(indices)
    chosen, _ = train_test_split(indices, train_size=size, stratify=groups, random_state=seed)
    return sorted(chosen)
