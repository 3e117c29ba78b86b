"""``data.decisions=<decisions.json>``: the clean-data review's decisions (``clean.py step=apply``
on data without files of its own) applied by the data module to the items it loaded."""

import json
from pathlib import Path

from ..training.validate import ConfigError
from .base import LoadedData


def read_decisions(path: str) -> dict:
    """What the clean-data review decided, as plain values."""
    file = Path(path).expanduser()
    try:
        decisions = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"data.decisions={path}: not a readable decisions.json ({error}); it is written by "
            "clean.py step=apply"
        ) from None
    if not isinstance(decisions, dict) or not {"delete", "relabel"} <= set(decisions):
        raise ConfigError(f"data.decisions={path}: not a decisions.json of clean.py step=apply")
    return decisions


def apply_decisions(data: LoadedData, decisions: dict, source: str) -> set[int]:
    """Relabel the decided items in place; return the items to drop. The decisions must have
    been made on this data (same items, same classes): indices mean nothing otherwise."""
    made_on = decisions.get("data") or {}
    count = len(data.targets)
    if made_on.get("items") not in (None, count) or decisions.get("class_names") not in (
        None,
        list(data.target_names),
    ):
        raise ConfigError(
            f"data.decisions={source} was made on {made_on.get('items')} items with classes "
            f"{decisions.get('class_names')}; this data has {count} with "
            f"{list(data.target_names)}: use the reviewed run's data settings (data.classes, ...)"
        )
    relabel = {int(index): name for index, name in decisions["relabel"].items()}
    dropped = {int(index) for index in decisions["delete"]}
    outside = sorted(i for i in dropped | set(relabel) if not 0 <= i < count)
    if outside:
        raise ConfigError(f"data.decisions={source}: items {outside[:5]} are not in 0..{count - 1}")
    if relabel:
        if data.targets.dim() != 1 or data.targets.is_floating_point():
            raise ConfigError(
                f"data.decisions={source} relabels items: only single class labels can be"
                " relabelled"
            )
        index = {name: i for i, name in enumerate(data.target_names)}
        unknown = sorted({name for name in relabel.values() if name not in index})
        if unknown:
            raise ConfigError(f"data.decisions={source}: {unknown} are not classes of this data")
        for item, name in relabel.items():
            data.targets[item] = index[name]
    return dropped
