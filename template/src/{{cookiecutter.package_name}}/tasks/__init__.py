"""Tasks: what the targets are. ``base.Task`` is the contract, one module per kind of problem;
``reports/`` holds how each reads its predictions. Configs pick one by ``_target_``."""

from .base import Task, TaskError

__all__ = ["Task", "TaskError"]
