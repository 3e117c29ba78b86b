"""Cross-validation folds (``cv=kfold``, training/cv.py): which pooled train+val items validate
in each fold. Seeded and stratified as the split is (data/split.py), or keeping each ``group_by``
group in one fold; test is never pooled.
"""

import numpy as np
import torch

from ..training.validate import ConfigError
from .split import strata


def fold_split(datamodule, indices: dict[str, list[int]], targets: torch.Tensor) -> dict:
    """Train and val are pooled and cut into ``folds`` folds, seeded by ``fold_seed``; fold
    ``fold`` validates, the others train, test is left as it is. ``fold=None``: the whole pool
    trains, nothing validates (the refit). The fold of every pooled item is kept in
    ``datamodule.fold_of`` (data-set position -> fold)."""
    h = datamodule.hparams
    pool = sorted(indices["train"] + indices["val"])
    groups = None
    if h.group_by is not None:
        offered = datamodule.item_groups()
        if h.group_by not in offered:
            raise ConfigError(
                f"cv.group_by={h.group_by}: data={datamodule.name} has no such grouping "
                f"(it offers: {', '.join(offered) or 'none'})"
            )
        groups = [offered[h.group_by][i] for i in pool]
    try:
        folds = fold_assignment(
            targets[torch.as_tensor(pool)], h.stratify, h.folds, h.fold_seed, groups
        )
    except ValueError as error:  # more folds than items or groups
        raise ConfigError(str(error)) from None
    datamodule.fold_of = dict(zip(pool, folds.tolist(), strict=True))
    return {
        "train": [i for i, f in datamodule.fold_of.items() if f != h.fold],
        "val": [i for i, f in datamodule.fold_of.items() if f == h.fold],
        "test": list(indices["test"]),
    }


def fold_assignment(
    targets: torch.Tensor,
    stratify: str,
    folds: int,
    seed: int,
    groups: list | None = None,
) -> np.ndarray:
    """The fold (``0..folds-1``) of each item, seeded: each stratum of ``strata(targets,
    stratify)`` dealt over the folds in turn, so every fold holds its share of every stratum and
    fold sizes differ by at most one. With ``groups`` (one value per item, e.g. the user of each
    rating), all items of a group share a fold: groups are dealt largest first, each to the fold
    with the fewest items so far (ties in seeded random order); strata are not used then."""
    if folds < 2:
        raise ValueError(f"cv.folds must be >= 2, got {folds}")
    rng = np.random.default_rng(seed)
    if groups is not None:
        names, group_of = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
        if len(names) < folds:
            raise ValueError(f"{len(names)} groups cannot fill {folds} folds: lower cv.folds")
        sizes = np.bincount(group_of)
        order = np.lexsort((rng.random(len(names)), -sizes))
        fold_sizes = np.zeros(folds, dtype=int)
        fold_of_group = np.empty(len(names), dtype=int)
        for group in order:
            fold = int(np.argmin(fold_sizes))
            fold_of_group[group] = fold
            fold_sizes[fold] += sizes[group]
        return fold_of_group[group_of]
    if len(targets) < folds:
        raise ValueError(f"{len(targets)} items cannot fill {folds} folds: lower cv.folds")
    labels = strata(targets, stratify)
    labels = np.zeros(len(targets), dtype=int) if labels is None else labels
    # every stratum shuffled, the strata one after the other (in random order), then dealt
    # round-robin: a stratum of n items puts n // folds or one more into each fold
    dealt = np.concatenate(
        [
            rng.permutation(np.flatnonzero(labels == value))
            for value in rng.permutation(np.unique(labels))
        ]
    )
    fold_of = np.empty(len(targets), dtype=int)
    fold_of[dealt] = np.arange(len(dealt)) % folds
    return fold_of
