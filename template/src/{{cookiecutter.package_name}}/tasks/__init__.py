"""Tasks: what the targets are. ``base.Task`` is the contract and the shared steps; each module
here declares one kind of problem (loss, decoding, metrics, baseline, interpretation). Configs
pick one by ``_target_`` (configs/task/); no shared module imports a task module."""

from .base import Task, TaskError

__all__ = ["Task", "TaskError"]
