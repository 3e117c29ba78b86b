"""User-item pairs (collaborative filtering): two ids per item."""

from __future__ import annotations

from dataclasses import dataclass

from .base import InputFacts


@dataclass(frozen=True)
class PairFacts(InputFacts):
    """``shape``: ``(2,)``: a user index and an item index (0 = unknown for both)."""

    n_users: int = 0
    n_items: int = 0
