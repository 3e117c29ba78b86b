"""Data sets. ``base.DataModule`` owns splitting, the fraction subset and the overfit batch; a
concrete data set only says what its items and targets are (and which kind of targets)."""

from .base import DataModule, LoadedData

__all__ = ["DataModule", "LoadedData"]
