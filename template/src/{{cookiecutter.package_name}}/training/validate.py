"""Check a run's settings before anything is built, naming a wrong value with its allowed range:
unchecked, ``optimizer.lr=-1`` trains (the verdict advising a higher rate), ``trainer.max_epochs=0``
"completes" untrained, and ``optimizer.lr=abc`` ends in a TypeError deep in torch naming no key."""

import math
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .errors import {{ "" if "ddp" in cookiecutter.__features.split(",") else "comes_with, " }}feature_missing

_ABSENT = object()


class ConfigError(ValueError):
    user_error = True  # one line, exit status 2 (training/errors.py)


def validate_config(cfg: DictConfig) -> None:
    if problems := [problem for check in _CHECKS if (problem := check(cfg))]:
        raise ConfigError("; ".join(problems))


def _get(cfg: DictConfig, key: str) -> Any:
    try:
        return OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=True)
    except Exception:  # a missing value (???) or an interpolation that does not resolve
        return _ABSENT


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)  # (True is an int)


def _number(key: str, minimum: float, maximum: float | None = None, include_minimum: bool = True):
    def check(cfg: DictConfig) -> str | None:
        value = _get(cfg, key)
        if value is _ABSENT or value is None:
            return None
        if not _is(value, int | float):
            return f"{key} must be a number, got {value!r}"
        low = ">=" if include_minimum else ">"
        allowed = f"{low} {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
        too_low = value < minimum if include_minimum else value <= minimum
        if not math.isfinite(value) or too_low or (maximum is not None and value > maximum):
            return f"{key} must be a number {allowed}, got {value!r}"
        return None

    return check


def _integer(key: str, minimum: float, allowed: str = ""):
    def check(cfg: DictConfig) -> str | None:
        value = _get(cfg, key)
        if value is _ABSENT or value is None or (_is(value, int) and value >= minimum):
            return None
        return f"{key} must be {allowed or f'an integer >= {minimum}'}, got {value!r}"

    return check


def _learning_rate(cfg: DictConfig) -> str | None:
    value = _get(cfg, "optimizer.lr")
    if value is _ABSENT or (_is(value, int | float) and math.isfinite(value) and value >= 0):
        return None  # 0 is allowed on purpose: the overfit check's own test trains with lr=0
    if not _is(value, int | float):
        return f"optimizer.lr must be a number, got {value!r}"
    return f"optimizer.lr must be a number >= 0 (e.g. 3e-3), got {value!r}"


def _epochs(cfg: DictConfig) -> str | None:
    epochs, steps = _get(cfg, "trainer.max_epochs"), _get(cfg, "trainer.max_steps")
    if epochs is _ABSENT:
        return None
    if steps not in (_ABSENT, None) and (not _is(steps, int) or (steps < 1 and steps != -1)):
        return f"trainer.max_steps must be an integer >= 1 or -1 (no limit), got {steps!r}"
    if epochs is not None and not _is(epochs, int):
        return f"trainer.max_epochs must be an integer >= 1, got {epochs!r}"
    if epochs in (None, -1) and _is(steps, int) and steps > 0:
        return None
    if epochs is None or epochs < 1:
        return (
            f"trainer.max_epochs must be an integer >= 1 (or -1 with trainer.max_steps > 0), "
            f"got {epochs!r}"
        )
    return None


def _task_options(cfg: DictConfig) -> str | None:
    target = _get(cfg, "task._target_")
    if not isinstance(target, str):
        return None
    from hydra.utils import get_class

    try:
        task_class = get_class(target)
    except Exception:  # an unknown task: building it names the problem
        return None
    options = {key: v for key in cfg.task if (v := _get(cfg, f"task.{key}")) is not _ABSENT}
    return "; ".join(task_class.validate_options(options)) or None


def _gpu(cfg: DictConfig) -> str | None:
    accelerator = str(_get(cfg, "trainer.accelerator") or "")
    if accelerator not in ("gpu", "cuda"):
        return None
    import torch

    if torch.cuda.is_available():
        return None
    return (
        f"trainer.accelerator={accelerator} (trainer=gpu{{ ", ddp" if "ddp" in cookiecutter.__features.split(",") }}) asks for a GPU, but no GPU is "
        "visible to PyTorch (torch.cuda.is_available() is False): use trainer=cpu, or "
        "trainer=default (a GPU when there is one, else the CPU)"
    )


{% if "ddp" not in cookiecutter.__features.split(",") -%}
def _several_devices(cfg: DictConfig) -> str | None:
    # Lightning would start DDP by itself for several devices or nodes, without the loaders and
    # relaunching that the ddp feature adds (each sample evaluated once, one run folder)
    devices = str(_get(cfg, "trainer.devices")).strip("[], ")
    strategy, nodes = _get(cfg, "trainer.strategy"), _get(cfg, "trainer.num_nodes")
    if devices == "auto":
        import torch

        several = torch.cuda.device_count() > 1
    else:  # a count ("2"; -1: all) or device indices ("0,1", [0, 1])
        several = devices == "-1" or "," in devices or (devices.isdigit() and int(devices) > 1)
    if isinstance(strategy, str) and "ddp" in strategy:
        what = f"trainer.strategy={strategy}"
    elif several:
        what = f"trainer.devices={_get(cfg, 'trainer.devices')}"
    elif _is(nodes, int) and nodes > 1:
        what = f"trainer.num_nodes={nodes}"
    else:
        return None
    return comes_with(f"{what} (several devices: Lightning DDP)", "features", "ddp")


{% endif -%}
def _lr_find(cfg: DictConfig) -> str | None:
    """LR finder options given while it is off would be dropped without a word."""
    options = _get(cfg, "lr_find")
    if not isinstance(options, DictConfig):
        return None
    enabled, given = options.get("enabled", False), sorted(k for k in options if k != "enabled")
    if not (enabled or given):
        return None
{%- if "lr_find" not in cookiecutter.__features.split(",") %}
    # (no LR finder to turn on without the lr_find feature)
    finder = "the LR finder (lr_find=report)"
    if missing := feature_missing("training.lr_finder", finder, "lr_find"):
        return missing
{%- endif %}
    if not enabled:
        return (
            f"lr_find.{given[0]} is set but the LR finder is off: add lr_find=report (test and "
            "report) or lr_find=apply (train with its suggestion)"
        )
    return None
{%- if "resume" not in cookiecutter.__features.split(",") and "cv" not in cookiecutter.__features.split(",") %}


def _ckpt_path(cfg: DictConfig) -> str | None:
    value = _get(cfg, "ckpt_path")
    if value in (_ABSENT, None, ""):
        return None
    return feature_missing("training.resume", f"resuming (ckpt_path={value})", "resume")
{%- endif %}


def _decisions(cfg: DictConfig) -> str | None:
    return None if _get(cfg, "data.decisions") in (_ABSENT, None, "") else without_clean()


def without_clean() -> str | None:
    """How to add the clean feature that ``data.decisions`` (a review's) comes with (None: here)."""
    return feature_missing("data.decisions", "data.decisions (clean.py's review)", "clean")


_CHECKS = (
    _learning_rate,
    _number("optimizer.weight_decay", 0),
    _epochs,
    _integer("seed", -math.inf, "an integer or null (no seeding)"),
    _integer("data.batch_size", 1),
    _integer("data.num_workers", 0),
    _number("data.fraction", 0, 1, include_minimum=False),
    _number("data.val_fraction", 0, 1),
    _number("data.test_fraction", 0, 1),
    _integer("data.overfit_batches", 0),
    _task_options,
    _gpu,
{%- if "ddp" not in cookiecutter.__features.split(",") %}
    _several_devices,
{%- endif %}
    _lr_find,
{%- if "resume" not in cookiecutter.__features.split(",") and "cv" not in cookiecutter.__features.split(",") %}
    _ckpt_path,
{%- endif %}
    _decisions,
)
