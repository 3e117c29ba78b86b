"""What tests of SHARED behaviour (checkpoints, loggers, the summary, the command line) train: this
project's default task on its own data, so that every project, whichever tasks it holds, keeps
those tests. ``QUICK_MODEL``: the linear model of the family of the task's own model where that
family has one (image ladder: linear, tables: tabular_linear; seconds per run, and no batch
statistics that move with lr=0), else the task's own model."""

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from conftest import CONFIGS


def _linear_sibling(target: str) -> str | None:
    """The linear model built in the same module as ``target`` (a model's ``_target_``)."""
    module = target.rsplit(".", 1)[0]
    for path in sorted((CONFIGS / "model").glob("*.yaml")):
        option = OmegaConf.load(path)
        if path.stem.split("_")[-1] == "linear" and option._target_.rsplit(".", 1)[0] == module:
            return path.stem
    return None


def _default_task() -> tuple[str, str, str, str, list[str]]:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("train", return_hydra_config=True)
    linear = _linear_sibling(cfg.model._target_)
    model = linear or cfg.model.name
    data = cfg.hydra.runtime.choices.data
    return cfg.task.name, cfg.task.score, data, model, [f"model={linear}"] if linear else []


# DEFAULT_TASK: its name; SCORE: the metric its summary and checkpoints read (val/<SCORE>); DATA:
# its data set (data=...); MODEL: the name summary.json gives the model QUICK_MODEL trains
DEFAULT_TASK, SCORE, DATA, MODEL, QUICK_MODEL = _default_task()
