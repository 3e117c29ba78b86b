"""Data sets. ``base.ClassificationDataModule`` owns splitting, the fraction subset and the overfit
batch; a concrete data set only says what its items, labels and class names are."""

from .base import ClassificationDataModule, LoadedData

__all__ = ["ClassificationDataModule", "LoadedData"]
