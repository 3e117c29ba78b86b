"""How each task reads its predictions (interpretation, clean-data candidates, predict.py's rows
and serve.py's JSON): one ``Report`` per task, on the skeleton in ``base.py``."""

from .base import Report

__all__ = ["Report"]
