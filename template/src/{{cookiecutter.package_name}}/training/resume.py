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
  message; checkpoints are written to a temporary name and renamed, so this should not happen.
* Lightning 2.6 rewrites ``last.ckpt`` only when the monitored metric improved: here it is
  written at the end of every epoch, except while this run's previous ``last.ckpt`` is less than
  ``last_min_interval_s`` seconds old (a write can cost more than a short epoch's training); the
  first and the final epoch are always written. A crash loses at most the current epoch and that
  many seconds before it.
* Another model than the checkpoint's: one message naming both (instead of Lightning's list of
  missing state-dict keys).
* Training longer than the run that wrote the checkpoint (``trainer.max_epochs`` raised): the
  LR schedule it saved has run its course, so a new cycle over the remaining steps starts from
  the saved weights and optimizer state (fastai's repeated ``fit_one_cycle``), instead of
  OneCycleLR's "Tried to step ... times".
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from weakref import proxy

import lightning as L
import numpy as np
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.fabric.utilities.apply_func import apply_to_collection
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.strategies import Strategy
from omegaconf import DictConfig, OmegaConf

from .checkpoints import (
    CheckpointError,
    atomic_save,
    check_same_targets,
    commit,
    is_readable,
    load_file,
    renamed_settings,
    save_partial,
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


class ResumableCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint``, with three changes for resuming:

    * a run resumed into a new folder keeps its best: Lightning forgets the best score when the
      checkpoint folder changed (it warns and starts over), so the resumed run would call its
      first new epoch "best" even when an epoch before the crash was better. The tracked
      checkpoints are copied into the new folder and the state rewritten to point there;
    * ``last.ckpt`` is the last epoch (Lightning 2.6 writes it only together with a new best),
      rewritten at most every ``last_min_interval_s`` seconds (0: every epoch) apart from the
      first and the final epoch;
    * every file is written under a temporary name and renamed once complete: a full disk or a
      kill during the write leaves the previous checkpoint intact; a ``last.ckpt`` of the same
      step as a new ``best.ckpt`` is a hard link to it, not a second write. In one process, the
      file is synced to disk and renamed by a writer thread, in the order asked (the sync of a
      ResNet-18's 134 MB took 0.1-0.3 s, time the training goes on); the fit's end waits;
    * ``background_writes`` (one process only): the files are written by a background thread
      from a copy of the state while training goes on; the fit's end waits for the last write
      and raises its error. ``None``: on an accelerator only, where the copy stays in its
      memory. On the CPU the copy raised the peak memory of a ResNet-18 run by 15 % (checkpoint
      writes inline: 5 %) for a wall-time gain of about 3 % on an idle machine (10 % when
      other programs share the cores).
    """

    def __init__(
        self,
        *args,
        last_min_interval_s: float = 0.0,
        background_writes: bool | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.last_min_interval_s = last_min_interval_s
        self.background_writes = background_writes
        self._last_written: float | None = None  # when this run last wrote last.ckpt (monotonic)
        self.best_epoch: int | None = None  # the epoch best.ckpt was saved at (summary.json)
        self._writes = _BackgroundWrites()

    def state_dict(self) -> dict:
        return {**super().state_dict(), "best_epoch": self.best_epoch}

    def load_state_dict(self, state_dict: dict) -> None:
        old = state_dict.get("dirpath")
        if old and self.dirpath and os.path.abspath(old) != os.path.abspath(self.dirpath):
            state_dict = _moved(dict(state_dict), old, self.dirpath)
        self.best_epoch = state_dict.get("best_epoch")
        super().load_state_dict(state_dict)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().teardown(trainer, pl_module, stage)
        self._writes.wait()  # the files are complete when fit returns

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, error) -> None:
        with contextlib.suppress(Exception):  # the error that stopped the run is the one to show
            self._writes.wait()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_last_of_epoch(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_of_epoch(trainer)

    def _save_last_of_epoch(self, trainer: L.Trainer) -> None:
        """Lightning skipped last.ckpt because no new best was saved at this step: save it."""
        if (
            not self.save_last
            or self._should_skip_saving_checkpoint(trainer)
            or self._last_global_step_saved == trainer.global_step
            or self._every_n_epochs < 1
            or (trainer.current_epoch + 1) % self._every_n_epochs != 0
        ):
            return
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict) -> None:
        recent = self._last_written is not None and (
            time.monotonic() - self._last_written < self.last_min_interval_s
        )
        if recent and not _training_ends_here(trainer):
            return
        super()._save_last_checkpoint(trainer, monitor_candidates)
        self._last_written = time.monotonic()

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        self._writes.raise_failed()  # (before a partial file is written that nothing commits)
        source = self._last_checkpoint_saved
        if (
            filepath == self.last_model_path
            and source
            and source != filepath
            and self._last_global_step_saved == trainer.global_step
        ):
            # this step's best.ckpt holds the same state: last.ckpt becomes a second name of that
            # file instead of a second write of the weights and optimizer state (a hard link: a
            # later best.ckpt is a new file, last.ckpt keeps this one)
            if _one_process(trainer):
                self._writes.submit(_link_or_copy, source, filepath)  # after the source's write
            else:
                if trainer.is_global_zero:
                    _link_or_copy(source, filepath)
                trainer.strategy.barrier("ResumableCheckpoint.link")
        elif self._in_background(trainer):
            # what trainer.save_checkpoint writes, copied (training goes on changing the live
            # tensors), written by the background thread
            checkpoint = trainer._checkpoint_connector.dump_checkpoint(self.save_weights_only)
            copied = apply_to_collection(checkpoint, torch.Tensor, lambda t: t.detach().clone())
            self._writes.submit(_save_and_commit, trainer.strategy, copied, filepath)
        elif _writes_plain_files(trainer.strategy):
            # what trainer.save_checkpoint writes, streamed into a partial file next to the target
            # (Lightning serializes it into memory first, then writes through the system temp
            # folder and, across file systems, copies: a full disk then truncated the target)
            checkpoint = trainer._checkpoint_connector.dump_checkpoint(self.save_weights_only)
            if trainer.is_global_zero:
                os.makedirs(os.path.dirname(filepath) or ".", exist_ok=True)
                if _one_process(trainer):  # serialized now, synced and renamed by the writer
                    self._writes.submit(commit, save_partial(checkpoint, filepath), filepath)
                else:
                    atomic_save(checkpoint, filepath)
            trainer.strategy.barrier("ResumableCheckpoint.save")
        else:  # a strategy with a format of its own (sharded): its write, to a partial file
            partial = f"{filepath}.partial"
            trainer.save_checkpoint(partial, self.save_weights_only)
            if trainer.is_global_zero:
                commit(partial, filepath)
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if filepath == self.best_model_path:
            self.best_epoch = trainer.current_epoch
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                if getattr(logger, "_log_model", False):  # it uploads the files now (log_model)
                    self._writes.wait()
                logger.after_save_checkpoint(proxy(self))

    def _in_background(self, trainer: L.Trainer) -> bool:
        wanted = self.background_writes
        if wanted is None:
            wanted = trainer.strategy.root_device.type != "cpu"
        return wanted and _one_process(trainer)

    def _remove_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        if _one_process(trainer):  # not before the writes asked earlier (a link to it)
            self._writes.submit(super()._remove_checkpoint, trainer, filepath)
        else:
            super()._remove_checkpoint(trainer, filepath)


class _BackgroundWrites:
    """One thread that does the checkpoint file operations in the order they were asked for."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []

    def submit(self, function, *args) -> None:
        self.raise_failed()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="checkpoint-writer")
        self._pending.append(self._executor.submit(function, *args))

    def raise_failed(self) -> None:
        """An operation that already failed (a full disk) raises here: the run stops at its next
        save, not at its end."""
        done, pending = [], []
        for write in self._pending:  # (each looked at once: none can finish between two looks)
            (done if write.done() else pending).append(write)
        self._pending = pending
        for write in done:
            write.result()

    def wait(self) -> None:
        """Until every operation asked is done; then the first that failed raises."""
        pending, self._pending = self._pending, []
        failed = [error for error in (write.exception() for write in pending) if error]
        if failed:
            raise failed[0]

    def __getstate__(self) -> dict:  # a copy of the callback: a thread cannot be copied
        return {"_executor": None, "_pending": []}


def _one_process(trainer: L.Trainer) -> bool:
    """File operations go through the writer thread (DDP ranks wait for each other's files)."""
    return trainer.world_size == 1


def _save_and_commit(strategy, checkpoint: dict, filepath: str) -> None:
    if _writes_plain_files(strategy):
        os.makedirs(os.path.dirname(filepath) or ".", exist_ok=True)
        atomic_save(checkpoint, filepath)
        return
    partial = f"{filepath}.partial"
    strategy.checkpoint_io.save_checkpoint(checkpoint, partial)
    commit(partial, filepath)


def _writes_plain_files(strategy) -> bool:
    """Whether the strategy saves a checkpoint as one ``torch.save`` file on rank 0 (Lightning's
    own write), which ``atomic_save`` then does in one pass."""
    return (
        type(strategy).save_checkpoint is Strategy.save_checkpoint
        and type(strategy.checkpoint_io) is TorchCheckpointIO
    )


def _link_or_copy(source: str, target: str) -> None:
    if os.path.exists(target) and os.path.samefile(source, target):
        return  # (already: a rename between two links to one file would leave the partial name)
    partial = f"{target}.partial"
    if os.path.lexists(partial):
        os.unlink(partial)
    try:
        os.link(source, partial)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, partial)
        commit(partial, target)
        return
    os.replace(partial, target)


def _training_ends_here(trainer: L.Trainer) -> bool:
    """Whether training stops after this epoch (or step): its last.ckpt is never skipped."""
    return bool(
        trainer.should_stop
        or (
            trainer.max_epochs not in (None, -1) and trainer.current_epoch + 1 >= trainer.max_epochs
        )
        or (trainer.max_steps not in (None, -1) and trainer.global_step >= trainer.max_steps)
    )


def _moved(state: dict, old: str, new: str) -> dict:
    def move(path):
        if not path or not os.path.abspath(path).startswith(os.path.abspath(old) + os.sep):
            return path
        target = os.path.join(new, os.path.relpath(path, old))
        if os.path.isfile(path) and not os.path.exists(target):
            os.makedirs(new, exist_ok=True)
            partial = f"{target}.{os.getpid()}.partial"  # DDP ranks may copy at the same time
            shutil.copy2(path, partial)
            os.replace(partial, target)
        return target

    state["dirpath"] = new
    for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
        state[key] = move(state.get(key))
    state["best_k_models"] = {move(k): v for k, v in (state.get("best_k_models") or {}).items()}
    return state


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
