"""Checkpoints read (``weights_only=True``: values, never code; format 1, the task as the module,
rearranged) and written safely: ``atomic_save`` = ``save_partial`` + ``commit`` (sync, rename),
whose sync (0.1-0.3 s for a ResNet-18's 134 MB) can run on another thread during training.
"""

import itertools
import os
from pathlib import Path

import torch

from .errors import generated
from .speed import strip_compile_prefix
from .validate import ConfigError

REQUIRED_KEYS = ("hyper_parameters", "state_dict", "datamodule")
FORMAT_VERSION = 2
# the training module's own arguments; the rest of a format-1 checkpoint's hparams were the task's
MODULE_KEYS = ("model", "inputs", "optimizer", "scheduler", "regularize")
# old data setting name -> today's (a checkpoint's are read renamed, a user's config refused)
RENAMED_DATA_SETTINGS = {"bad_rows": "on_bad", "on_bad_rows": "on_bad"}
CHECKPOINTS = "checkpoints"
PREFERRED = ("best.ckpt", "last.ckpt")  # for a run folder: the best weights, else the latest
_WRITES = itertools.count()


class CheckpointError(Exception):
    user_error = True  # one line, exit status 2 (training/summary.py)


def checkpoint_file(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if not path.exists():
        raise CheckpointError(
            f"ckpt_path={path} does not exist: give a run folder (outputs/<mode>/<date>_<time>) "
            f"or a checkpoint file in its {CHECKPOINTS}/ folder"
        )
    folder = path if path.name == CHECKPOINTS else path / CHECKPOINTS
    for name in PREFERRED:
        if (folder / name).is_file():
            return folder / name
    names = " or ".join(f"{CHECKPOINTS}/{name}" for name in PREFERRED)
    raise CheckpointError(
        f"ckpt_path={path} is a folder without {names}: give the run folder "
        "of a training run, or a .ckpt file"
    )


def read_checkpoint(path: str | Path) -> dict:
    file = checkpoint_file(path)
    checkpoint = load_file(file)
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if not task_config(checkpoint).get("_target_"):
        missing.append("task")
    if missing:
        weights = " (to start a model from other weights: model.weights=<file>)"
        raise CheckpointError(
            f"{file} is a PyTorch file but not a checkpoint written by train.py (it has no "
            f"{', '.join(repr(k) for k in missing)}): give a checkpoint from a run's "
            f"{CHECKPOINTS}/ folder{weights if generated('models.weights') else ''}"
        )
    return checkpoint


def trained_checkpoint(path: str | Path) -> Path:
    file = checkpoint_file(path)
    read_checkpoint(file)
    return file


def check_same_targets(checkpoint: dict, names: list | None, where: str, file: str | Path) -> None:
    """Another count of targets makes the metrics meaningless, another order swaps every label."""
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
        options = {key: value for key, value in hparams.items() if key not in MODULE_KEYS}
        checkpoint["hyper_parameters"] = {
            **{key: hparams[key] for key in MODULE_KEYS if key in hparams},
            "task": {"_target_": task["_target_"], **options},
        }
        del checkpoint["task"]
        checkpoint["format_version"], checkpoint["upgraded_from"] = FORMAT_VERSION, version
    return checkpoint


def renamed_settings(config: dict) -> dict:
    renamed = {key: value for key, value in config.items() if key not in RENAMED_DATA_SETTINGS}
    for key, value in config.items():
        if key in RENAMED_DATA_SETTINGS:
            renamed.setdefault(RENAMED_DATA_SETTINGS[key], value)
    return renamed


def refuse_renamed(data_class: type, settings: dict) -> None:
    """(A class without the new setting is left to say the old one is no setting of it.)"""
    from ..analysis.predict import init_parameters

    takes = init_parameters(data_class)
    renamed = [k for k in settings if RENAMED_DATA_SETTINGS.get(k) in takes]
    if renamed:
        raise ConfigError("; ".join(renamed_message(k, settings[k]) for k in renamed))


def renamed_message(key: str, value: object) -> str:
    new = RENAMED_DATA_SETTINGS[key]
    return (
        f"data.{key} was renamed data.{new}: set data.{new}={value} instead (in your own data "
        "config too)"
    )


def task_config(checkpoint: dict) -> dict:
    return (checkpoint.get("hyper_parameters") or {}).get("task") or {}
{%- if "resume" in cookiecutter.__features.split(",") or "cv" in cookiecutter.__features.split(",") %}


def is_readable(file: str | Path) -> bool:
    try:
        load_file(Path(file))
    except CheckpointError:
        return False
    return True
{%- endif %}


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


def atomic_save(obj, path: str | Path, save=None) -> Path:
    # streamed into the partial file (serializing into memory first, as Lightning does, cost a
    # copy and twice the time)
    commit(save_partial(obj, path, save), path)
    return Path(path)


def save_partial(obj, path: str | Path, save=None) -> Path:
    # unique per write: a write may wait for its commit while the next one of the same file starts
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{next(_WRITES)}.partial")
    try:
        with partial.open("wb") as handle:
            (save or torch.save)(obj, handle)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return partial


def commit(partial: str | Path, path: str | Path) -> None:
    try:
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
