"""Texts: token ids from a tokenizer learnt on the training split."""

from __future__ import annotations

from dataclasses import dataclass

from .base import InputFacts


@dataclass(frozen=True)
class TextFacts(InputFacts):
    """Token-id sequences of varying length (``shape`` None), padded with ``pad_id``."""

    vocab_size: int = 0
    pad_id: int = 0
    max_length: int = 0
