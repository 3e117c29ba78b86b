"""Tasks: what the targets are. ``base.Task`` is the contract; each module here declares one kind
of problem (loss, decoding, metrics, baseline), and ``reports/`` holds how each reads its
predictions (interpretation, clean-data candidates, prediction rows). One training module
(``training/module.py``) trains every task. Configs pick one by ``_target_`` (configs/task/); no
shared module imports a task module."""

from .base import Task, TaskError

__all__ = ["Task", "TaskError"]
