"""Resume after a crash: ``python train.py ckpt_path=last``.

``ckpt_path=last`` finds the most recent run of the *same config* (same composed config apart
from ``ckpt_path``, ``paths`` and ``print_config``) among the sibling run folders
(``outputs/<mode>/*``) and continues from its ``checkpoints/last.ckpt``. ``ckpt_path=<run dir>``
continues that run; ``ckpt_path=<file>`` that checkpoint. Lightning restores the weights, the
global step, the optimizer and the LR scheduler; the new run writes into its own folder.

Lightning does not store random number generators, so a resumed run would shuffle and augment
differently from an uninterrupted one. ``RngState`` keeps them in the checkpoint (as plain
tensors and lists, loadable with ``weights_only=True``): with the same seed, a run killed and
resumed from an epoch-end checkpoint ends with the same weights as one that never stopped.

What else can go wrong when resuming, and what happens here instead:

* ``last.ckpt`` unreadable (a full disk, a killed write): the run's ``best.ckpt`` is used, with a
  message; checkpoints are written to a temporary name and renamed (``checkpoint_writer.py``,
  which also writes ``last.ckpt`` at every epoch's end), so this should not happen.
* Another model than the checkpoint's: one message naming both (instead of Lightning's list of
  missing state-dict keys).
* Training longer than the run that wrote the checkpoint (``trainer.max_epochs`` raised): the
  LR schedule it saved has run its course, so a new cycle over the remaining steps starts from
  the saved weights and optimizer state (fastai's repeated ``fit_one_cycle``), instead of
  OneCycleLR's "Tried to step ... times".
"""

import random
from pathlib import Path

import lightning as L
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from .checkpoints import (
    CheckpointError,
    check_same_targets,
    is_readable,
    load_file,
    renamed_settings,
    task_config,
)

LAST = "last.ckpt"
BEST = "best.ckpt"
IGNORED_KEYS = ("ckpt_path", "paths", "print_config")
# model settings that do not change the parameters' names or shapes
NOT_ARCHITECTURE = ("dropout", "pretrained", "weights")


def resolve_ckpt_path(cfg: DictConfig, module: L.LightningModule | None = None) -> str | None:
    """The checkpoint ``trainer.fit`` should start from (None: from scratch). Raises
    ``CheckpointError`` when it cannot be used (unreadable, or written for another model, task
    or data than ``cfg`` and ``module``)."""
    value = cfg.get("ckpt_path")
    if value in (None, ""):
        return None
    if str(value) != "last":
        path = Path(str(value)).expanduser()
        if not path.exists():
            raise CheckpointError(
                f"ckpt_path={path} does not exist: give a run folder "
                "(outputs/<mode>/<date>_<time>), a .ckpt file or last"
            )
        file = usable_checkpoint(path / "checkpoints") if path.is_dir() else path
    else:
        output_dir = Path(cfg.paths.output_dir)
        run = find_last_run(output_dir.parent, cfg, exclude=output_dir)
        if run is None:
            raise FileNotFoundError(
                f"ckpt_path=last: no earlier run of this config with checkpoints/{LAST} under "
                f"{output_dir.parent}; give a run folder or a checkpoint file instead "
                "(ckpt_path=outputs/<mode>/<date>_<time>)"
            )
        print(f"resuming {run}")
        file = usable_checkpoint(run / "checkpoints")
    check_resumable(file, cfg, module)
    return str(file)


def usable_checkpoint(folder: Path) -> Path:
    """``folder/last.ckpt``, or ``best.ckpt`` when last is missing or unreadable (with a message
    naming both); ``CheckpointError`` when neither can be read."""
    last, best = folder / LAST, folder / BEST
    if last.is_file() and is_readable(last):
        return last
    problem = "is missing" if not last.is_file() else "cannot be read (truncated or corrupt)"
    if best.is_file() and is_readable(best):
        print(f"{last} {problem}; resuming from {best} instead (epoch {_epoch(best)})")
        return best
    raise CheckpointError(
        f"{last} {problem} and no other readable checkpoint is in {folder}: start a new run "
        "(without ckpt_path), or give another run folder or .ckpt file"
    )


def check_resumable(
    ckpt_path: str | Path, cfg: DictConfig | None = None, module: L.LightningModule | None = None
) -> dict:
    """Raise ``CheckpointError`` unless training can continue from ``ckpt_path``: the file is
    readable, was written for the model ``cfg.model`` names and (with ``module``) its weights
    fit that module. Returns the checkpoint."""
    path = Path(ckpt_path)
    checkpoint = load_file(path)
    if "state_dict" not in checkpoint or "optimizer_states" not in checkpoint:
        raise CheckpointError(
            f"{path} holds no training state (weights and optimizer) to resume from: give a "
            f"checkpoint from a run's checkpoints/ folder{_or_start_from(path, 'these')}"
        )
    saved = (checkpoint.get("hyper_parameters") or {}).get("model")
    wanted = (
        OmegaConf.to_container(cfg.model, resolve=True)
        if cfg is not None and cfg.get("model") is not None
        else None
    )
    if isinstance(saved, dict) and isinstance(wanted, dict):
        differing = sorted(
            k for k in {*saved, *wanted} - set(NOT_ARCHITECTURE) if saved.get(k) != wanted.get(k)
        )
        if differing:
            _refuse(path, _describe(saved, differing), _describe(wanted, differing))
    saved_optimizer = ((checkpoint.get("hyper_parameters") or {}).get("optimizer") or {}).get(
        "_target_"
    )
    wanted_optimizer = OmegaConf.select(cfg, "optimizer._target_") if cfg is not None else None
    if saved_optimizer and wanted_optimizer and saved_optimizer != wanted_optimizer:
        raise CheckpointError(
            f"{path} was trained with the optimizer {saved_optimizer}, this run asks for "
            f"{wanted_optimizer}: resume with the same optimizer{_or_start_from(path)}"
        )
    if module is not None:
        check_same_targets(
            checkpoint,
            module.task.target_info.get("names"),
            "this run's data",
            path,
        )
        mine = module.state_dict()
        theirs = checkpoint["state_dict"]
        if set(mine) != set(theirs) or any(
            tuple(mine[k].shape) != tuple(theirs[k].shape) for k in mine
        ):
            raise CheckpointError(
                f"{path} does not fit this run ({_what_differs(checkpoint, module)}): resume "
                "with the task, data and model it was trained with, or start a new run "
                "(without ckpt_path)"
            )
    return checkpoint


def _what_differs(checkpoint: dict, module: L.LightningModule) -> str:
    """``task classification -> regression; weights model.head.1.weight (10, 32) -> (1, 32)``:
    the settings that differ between the checkpoint and this run's module, then the first
    weight that does not fit."""
    saved, wanted = checkpoint.get("hyper_parameters") or {}, module.hparams or {}
    saved_task, wanted_task = task_config(checkpoint), wanted.get("task") or {}

    def targets(task: dict) -> str:
        names = (task.get("targets") or {}).get("names")
        return f"{len(names)} targets" if names is not None else "?"

    facts = {
        "task": (saved_task.get("name"), wanted_task.get("name")),
        "model": (
            _describe(saved.get("model") or {}, ["name"]),
            _describe(wanted.get("model") or {}, ["name"]),
        ),
        "targets": (targets(saved_task), targets(wanted_task)),
        "inputs": (saved.get("inputs"), wanted.get("inputs")),
    }
    parts = [f"{key} {old} -> {new}" for key, (old, new) in facts.items() if old != new]
    mine, theirs = module.state_dict(), checkpoint["state_dict"]
    for key in sorted(set(mine) | set(theirs)):
        old = tuple(theirs[key].shape) if key in theirs else "absent"
        new = tuple(mine[key].shape) if key in mine else "absent"
        if old != new:
            parts.append(f"weights {key} {old} -> {new}")
            break
    return "; ".join(parts)


def _refuse(path: Path, saved: str, wanted: str) -> None:
    raise CheckpointError(
        f"{path} was trained with {saved}, this run asks for {wanted}: resume with the same "
        f"model settings{_or_start_from(path)}"
    )


def _or_start_from(path: Path, whose: str = "its") -> str:
    """The other way out, where model.weights=<file> exists (the transfer feature)."""
    from .errors import generated

    if not generated("models.weights"):
        return ""
    return f", or start a new run from {whose} weights with model.weights={path}"


def _describe(model: dict, keys: list[str]) -> str:
    """``model=mlp model.width=64``: the model's name, and the differing settings when the
    names are the same."""
    from ..models.registry import model_spec

    try:  # a library builder (timm, torchvision) is registered under its own name
        builder = model_spec(model).name
    except Exception:  # (a config of an unknown builder: its name is all there is)
        builder = model.get("name")
    name = (
        f"model={builder} model.name={model.get('name')}"
        if builder != model.get("name")
        else f"model={model.get('name')}"
    )
    if {"name", "_target_"} & set(keys):
        return name
    return " ".join([name, *(f"model.{k}={model.get(k)}" for k in keys)])


def _epoch(file: Path) -> object:
    try:
        return load_file(file).get("epoch", "?")
    except CheckpointError:
        return "?"


def find_last_run(runs_dir: Path, cfg: DictConfig, exclude: Path | None = None) -> Path | None:
    """The run folder under ``runs_dir`` with the same config whose last checkpoint is newest."""
    wanted = _comparable(cfg)
    runs = [
        d
        for d in runs_dir.glob("*")
        if d != exclude
        and (d / "checkpoints" / LAST).is_file()
        and (d / ".hydra" / "config.yaml").is_file()
    ]
    runs.sort(key=lambda d: (d / "checkpoints" / LAST).stat().st_mtime, reverse=True)
    for run in runs:
        if _comparable(OmegaConf.load(run / ".hydra" / "config.yaml")) == wanted:
            return run
    return None


def _comparable(cfg: DictConfig) -> dict:
    config = OmegaConf.to_container(cfg, resolve=False)
    if isinstance(config.get("data"), dict):  # a run from before a setting was renamed
        config["data"] = renamed_settings(config["data"])
    return {k: v for k, v in config.items() if k not in IGNORED_KEYS and k != "hydra"}


def continued_wandb_run(node: DictConfig, resume_from: str | None) -> DictConfig:
    """The wandb logger's ``node`` continuing the wandb run of the run ``resume_from`` (its
    checkpoint) belongs to: wandb keeps ``<run dir>/wandb/<offline->run-<date>-<id>``, the newest
    id is reused."""
    if not resume_from or node.get("id"):
        return node
    runs = sorted(Path(resume_from).parent.parent.glob("wandb/*run-*-*"))
    if not runs:
        return node
    node = node.copy()
    with open_dict(node):
        node.id = runs[-1].name.rsplit("-", 1)[-1]
        node.resume = "allow"
    return node


class Resume(L.Callback):
    """When the LR schedule a resumed checkpoint saved has run out before the requested training
    ends: a new cycle for the rest. (Whether the checkpoint fits the model is checked before
    ``trainer.fit``, by ``resolve_ckpt_path``: in a callback's ``setup`` Lightning has not yet
    set ``trainer.ckpt_path``.)"""

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int
    ) -> None:
        config = (getattr(pl_module, "hparams", None) or {}).get("scheduler")
        if not config:
            return
        for scheduler_config in trainer.lr_scheduler_configs:
            scheduler = scheduler_config.scheduler
            if scheduler_config.interval == "step" and _exhausted(scheduler):
                remaining = _remaining_steps(trainer, _planned_steps(scheduler))
                fresh = new_cycle(dict(config), scheduler.optimizer, remaining)
                if fresh is None:
                    continue
                scheduler_config.scheduler = fresh
                if trainer.is_global_zero:  # a visible line, not a log record
                    schedule = config["_target_"].rsplit(".", 1)[-1]
                    print(
                        f"the LR schedule of the checkpoint ended at step {trainer.global_step}: "
                        f"a new {schedule} schedule of {remaining} steps starts "
                        "from the saved weights and optimizer state"
                    )


def new_cycle(config: dict, optimizer: torch.optim.Optimizer, steps: int):
    """A fresh schedule of ``config`` over ``steps``, peaking at the rates of the last one."""
    from .optim import build_scheduler

    for group in optimizer.param_groups:
        group["lr"] = group.get("max_lr", group.get("initial_lr", group["lr"]))
        group.pop("initial_lr", None)
    built = build_scheduler(config, optimizer, steps)
    return built["scheduler"] if built else None


def _planned_steps(scheduler) -> int | None:
    return getattr(scheduler, "total_steps", None) or getattr(scheduler, "T_max", None)


def _exhausted(scheduler) -> bool:
    planned = _planned_steps(scheduler)
    return planned is not None and scheduler.last_epoch >= planned


def _remaining_steps(trainer: L.Trainer, fallback: int | None) -> int:
    total = trainer.estimated_stepping_batches
    if total is None or total == float("inf"):
        return max(1, fallback or 1)
    return max(1, int(total) - trainer.global_step)


class RngState(L.Callback):
    """Saves and restores the torch, numpy and Python random generators with the checkpoint.
    The generators' words are stored as tensors: as lists they were 1,250 objects for the pickler
    at every checkpoint; lists of checkpoints written before are read too."""

    def state_dict(self) -> dict:
        name, keys, position, has_gauss, gauss = np.random.get_state()
        version, python_state, python_gauss = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss],
            "python": [version, torch.tensor(python_state, dtype=torch.int64), python_gauss],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        torch.set_rng_state(state_dict["torch"])
        name, keys, position, has_gauss, gauss = state_dict["numpy"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, gauss))
        version, python_state, python_gauss = state_dict["python"]
        if isinstance(python_state, torch.Tensor):
            python_state = python_state.tolist()
        random.setstate((version, tuple(python_state), python_gauss))
