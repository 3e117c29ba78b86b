"""Reading and writing checkpoints safely.

``read_checkpoint`` accepts a ``.ckpt`` file or a run folder and turns every way a checkpoint can
be unusable (missing, truncated by a full disk, a text file, a checkpoint of another program) into
one ``CheckpointError`` whose message names the file and says what to do. Files are loaded with
``weights_only=True``: plain tensors and values only, never code.

Checkpoints carry their format (``format_version``): 2 since the training module
(``training/module.py``) holds the task, whose class and options are the ``task`` entry of the
hyper-parameters. A checkpoint without one was written before (format 1: the task was the module,
its class in ``checkpoint["task"]``, its options among the hyper-parameters) and is read as format
2 (``upgrade``); one of a later format ends with one line naming it. A data setting renamed
since (``RENAMED_DATA_SETTINGS``) is read under its new name, whatever the format.

``atomic_save`` / ``atomic_write`` write to a temporary name in the same folder, flush it to disk
and rename it over the target: a crash or a full disk leaves the old file or the new one, never a
truncated one. ``save_partial`` + ``commit`` are the same two halves apart, so that the flush to
disk (0.1-0.3 s for a ResNet-18's 134 MB) can run on another thread while training goes on.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import torch

from .speed import strip_compile_prefix
from .validate import ConfigError

# what train.py's checkpoints hold besides Lightning's own keys (training/module.py writes them)
REQUIRED_KEYS = ("hyper_parameters", "state_dict", "datamodule")
FORMAT_VERSION = 2  # (1: before the format was written; read by ``upgrade``)
# the training module's own constructor arguments; the rest of a format-1 checkpoint's
# hyper-parameters were the task's
MODULE_KEYS = ("model", "inputs", "optimizer", "scheduler", "regularize")
# data settings renamed since (the name an older checkpoint or config gives -> today's): a
# checkpoint's data config is read with today's names (``upgrade``, whatever its format); a user's
# config that gives an old name is refused, naming the new one (``refuse_renamed``), never ignored
RENAMED_DATA_SETTINGS = {"bad_rows": "on_bad", "on_bad_rows": "on_bad"}
CHECKPOINTS = "checkpoints"
PREFERRED = ("best.ckpt", "last.ckpt")  # for a run folder: the best weights, else the latest


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message says which file and what to do."""

    user_error = True  # one line, exit status 2 (training/summary.py)


def checkpoint_file(path: str | Path, preferred: tuple[str, ...] = PREFERRED) -> Path:
    """``path`` itself when it is a file; for a run folder (or its ``checkpoints/`` folder) the
    first of ``preferred`` that exists."""
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if not path.exists():
        raise CheckpointError(
            f"ckpt_path={path} does not exist: give a run folder (outputs/<mode>/<date>_<time>) "
            f"or a checkpoint file in its {CHECKPOINTS}/ folder"
        )
    folder = path if path.name == CHECKPOINTS else path / CHECKPOINTS
    for name in preferred:
        if (folder / name).is_file():
            return folder / name
    names = " or ".join(f"{CHECKPOINTS}/{name}" for name in preferred)
    raise CheckpointError(
        f"ckpt_path={path} is a folder without {names}: give the run folder "
        "of a training run, or a .ckpt file"
    )


def read_checkpoint(path: str | Path, required: tuple[str, ...] = REQUIRED_KEYS) -> dict:
    """The checkpoint at ``path`` (a file or a run folder), loaded on the CPU."""
    file = checkpoint_file(path)
    checkpoint = load_file(file)
    missing = [key for key in required if key not in checkpoint]
    if "hyper_parameters" in required and not task_config(checkpoint).get("_target_"):
        missing.append("task")
    if missing:
        raise CheckpointError(
            f"{file} is a PyTorch file but not a checkpoint written by train.py (it has no "
            f"{', '.join(repr(k) for k in missing)}): give a checkpoint from a run's "
            f"{CHECKPOINTS}/ folder{_from_weights()}"
        )
    return checkpoint


def _from_weights() -> str:
    """The hint for weights that are not a checkpoint, where ``model.weights`` exists here."""
    from .errors import generated

    hint = " (to start a model from other weights: model.weights=<file>)"
    return hint if generated("models.weights") else ""


def trained_checkpoint(path: str | Path) -> Path:
    """The checkpoint file of ``path`` (a file or a run folder: its best), once it is known to be
    a readable checkpoint written by train.py: what every command that loads a trained model
    checks first (eval, predict, export, serve, clean)."""
    file = checkpoint_file(path)
    read_checkpoint(file)
    return file


def check_same_targets(
    checkpoint: dict, names: list[str] | None, where: str, file: str | Path
) -> None:
    """The targets a checkpoint was trained on (class names, label names, target columns) must
    be the data's: a 3-class model measured on a 2-class folder would report a meaningless
    accuracy, and one with the same count in another order would swap every label."""
    saved = (task_config(checkpoint).get("targets") or {}).get("names")
    if saved is None or names is None or list(saved) == list(names):
        return

    def show(values: list) -> str:
        return ", ".join(map(str, values[:10])) + (", ..." if len(values) > 10 else "")

    missing = [n for n in saved if n not in names]
    new = [n for n in names if n not in saved]
    detail = (f"missing now: {show(missing)}; " if missing else "") + (
        f"new: {show(new)}; " if new else ""
    ) or "the same names in another order; "
    raise CheckpointError(
        f"{file} was trained on {len(saved)} targets ({show(list(saved))}) but {where} has "
        f"{len(names)} ({show(list(names))}) - {detail}use the data the model was trained on, or "
        "train a new model on this data"
    )


def load_file(file: Path) -> dict:
    """``torch.load`` with one clear error for a file that is empty, cut short or not a
    checkpoint at all."""
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # garbage makes torch's unpickler fail in many ways (KeyError, ...)
        raise CheckpointError(f"{file} {_why_unreadable(file, error)}") from error
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{file} holds a {type(checkpoint).__name__}, not a checkpoint written by train.py"
        )
    if isinstance(checkpoint.get("state_dict"), dict):  # a model compiled by wrapping it
        checkpoint["state_dict"] = strip_compile_prefix(checkpoint["state_dict"])
    return upgrade(checkpoint, file)


def upgrade(checkpoint: dict, file: str | Path) -> dict:
    """``checkpoint`` in the current format: a format-1 one rearranged (its task's class and
    options become the ``task`` hyper-parameter; ``upgraded_from`` says it was); one of a later
    format than this code reads: ``CheckpointError``."""
    version = checkpoint.get("format_version", 1)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{file} was written in checkpoint format {version} by a newer version of this "
            f"project; this code reads formats 1 to {FORMAT_VERSION}: update the code, or use a "
            "checkpoint it wrote"
        )
    if isinstance(checkpoint.get("datamodule"), dict):  # (no format change: names only)
        checkpoint["datamodule"] = renamed_settings(checkpoint["datamodule"])
    hparams, task = checkpoint.get("hyper_parameters"), checkpoint.get("task")
    if version == 1 and isinstance(hparams, dict) and isinstance(task, dict):
        from ..data import upgrade_config
        from ..models.format1 import configs_from_format1

        hparams = configs_from_format1(hparams)  # model, optimizer, scheduler, facts: one rule
        if isinstance(checkpoint.get("datamodule"), dict):  # sources merged since
            checkpoint["datamodule"] = upgrade_config(checkpoint["datamodule"])
        checkpoint["hyper_parameters"] = {
            **{key: hparams[key] for key in MODULE_KEYS if key in hparams},
            "task": {
                "_target_": task["_target_"],
                **{key: value for key, value in hparams.items() if key not in MODULE_KEYS},
            },
        }
        del checkpoint["task"]
        checkpoint["format_version"], checkpoint["upgraded_from"] = FORMAT_VERSION, version
    return checkpoint


def renamed_settings(config: dict) -> dict:
    """A stored data config with today's setting names (``RENAMED_DATA_SETTINGS``)."""
    old = [key for key in config if key in RENAMED_DATA_SETTINGS]
    renamed = {key: value for key, value in config.items() if key not in old}
    for key in old:
        renamed.setdefault(RENAMED_DATA_SETTINGS[key], config[key])
    return renamed


def refuse_renamed(data_class: type, settings: dict) -> None:
    """Settings for ``data_class`` that give one it takes by an old name (``data.bad_rows=skip``
    in a user's yaml or as ``+data.bad_rows=skip``): ``ConfigError`` naming the new one, instead
    of a TypeError. Checked where a data module is built from settings: train's
    (``run.build_datamodule``) and eval/predict's (``analysis.predict.check_data_settings``); a
    class without the new setting is left to say the old name is no setting of it."""
    from ..analysis.predict import init_parameters

    takes = init_parameters(data_class)
    messages = [
        renamed_message(key, value)
        for key, value in settings.items()
        if RENAMED_DATA_SETTINGS.get(key) in takes
    ]
    if messages:
        raise ConfigError("; ".join(messages))


def renamed_message(key: str, value: object = "...") -> str | None:
    """The line that tells a user ``data.<key>`` is now called otherwise (None: it is not)."""
    new = RENAMED_DATA_SETTINGS.get(key)
    if new is None:
        return None
    return (
        f"data.{key} was renamed data.{new}: set data.{new}={value} instead (in your own data "
        "config too)"
    )


def task_config(checkpoint: dict) -> dict:
    """The task's ``_target_`` and options a checkpoint was trained with ({} if none)."""
    return (checkpoint.get("hyper_parameters") or {}).get("task") or {}


def is_readable(file: str | Path) -> bool:
    """Can ``file`` be loaded at all (without keeping it in memory)?"""
    try:
        load_file(Path(file))
    except CheckpointError:
        return False
    return True


def _why_unreadable(file: Path, error: Exception) -> str:
    if isinstance(error, PermissionError | IsADirectoryError | FileNotFoundError):
        return f"cannot be read ({error.strerror or error})"
    size = file.stat().st_size
    with file.open("rb") as handle:
        head = handle.read(4)
    if size == 0:
        return "is empty (0 bytes): the write was interrupted; use another checkpoint"
    pickled = head.startswith((b"PK", b"\x80"))  # torch's zip format or a bare pickle
    if pickled and "Weights only load failed" in str(error):  # whole, but with more than values
        return (
            "holds Python objects (code, not only weights and values) that are not loaded, for "
            "safety: it was not written by train.py; use a checkpoint from a run's checkpoints/ "
            "folder, and load only files you trust"
        )
    if head.startswith(b"PK"):  # torch's zip format, cut short or damaged
        return (
            f"is truncated or corrupt ({size} bytes; a full disk or a killed write?): use "
            "another checkpoint of the run, e.g. checkpoints/best.ckpt"
        )
    return "is not a PyTorch checkpoint (not the format torch.save writes)"


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path``: a temporary file in the same folder, synced, then renamed."""
    return _atomic(path, lambda handle: handle.write(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, text.encode("utf-8"))


def atomic_save(obj, path: str | Path) -> Path:
    """``torch.save`` that never leaves a truncated file behind. It streams into the temporary
    file: serializing into memory first (as Lightning does) cost a copy of the whole checkpoint
    in memory and twice the time."""
    return _atomic(path, lambda handle: torch.save(obj, handle))


def _atomic(path: str | Path, write) -> Path:
    path = Path(path)
    partial = _partial_name(path)
    try:
        with partial.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def save_partial(obj, path: str | Path) -> Path:
    """``torch.save`` into a new temporary file next to ``path``, not yet synced nor renamed:
    ``commit`` finishes it (a failed write removes the file and raises)."""
    partial = _partial_name(Path(path))
    try:
        with partial.open("wb") as handle:
            torch.save(obj, handle)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return partial


def commit(partial: str | Path, path: str | Path) -> None:
    """Sync a fully written ``partial`` file and rename it to ``path`` (same folder: atomic); a
    failed sync (a full disk) removes the partial file and raises, ``path`` is left as it was."""
    try:
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _partial_name(path: Path) -> Path:
    # unique per write: a write may wait for its commit while the next one of the same file starts
    return path.with_name(f".{path.name}.{os.getpid()}.{next(_WRITES)}.partial")


_WRITES = itertools.count()
