"""LightningModules, one per task type: loss, metrics, logging, optimizer from parameter groups."""

from .classification import ClassificationTask

__all__ = ["ClassificationTask"]
