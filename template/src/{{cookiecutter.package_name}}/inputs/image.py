"""Images: in-memory tensors or files, standardized per channel."""

from __future__ import annotations

from .base import InputFacts

# images need no facts beyond ``InputFacts(kind="image", shape=(C, H, W))``
ImageFacts = InputFacts
