"""What tests of SHARED behaviour (checkpoints, loggers, the summary, the command line) train: this
project's default task on its own data, so that every project, whichever tasks it holds, keeps
those tests. ``QUICK_MODEL``: the image ladder's linear model where the project has it and the
task takes one vector per item (seconds per run), else the task's own model."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.utils import get_class

from conftest import CONFIGS


def _default_task() -> tuple[str, str, str, str, list[str]]:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("train", return_hydra_config=True)
    task = get_class(cfg.task._target_)
    quick = (CONFIGS / "model" / "linear.yaml").exists() and task.head == "pooled"
    model = "linear" if quick else cfg.model.name
    data = cfg.hydra.runtime.choices.data
    return cfg.task.name, cfg.task.score, data, model, ["model=linear"] if quick else []


# DEFAULT_TASK: its name; SCORE: the metric its summary and checkpoints read (val/<SCORE>); DATA:
# its data set (data=...); MODEL: the name summary.json gives the model QUICK_MODEL trains
DEFAULT_TASK, SCORE, DATA, MODEL, QUICK_MODEL = _default_task()
