"""Table rows: categorical and continuous columns."""

from __future__ import annotations

from dataclasses import dataclass

from .base import InputFacts


@dataclass(frozen=True)
class TableFacts(InputFacts):
    """``shape``: ``(columns,)``: the embedded (categorical and missing-flag) columns first, each
    an index with 0 = unknown/missing, then the continuous ones."""

    cardinalities: tuple[int, ...] = ()  # classes per embedded column, the unknown one included
    cat_names: tuple[str, ...] = ()
    cont_names: tuple[str, ...] = ()
