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
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

LAST = "last.ckpt"
IGNORED_KEYS = ("ckpt_path", "paths", "print_config")


def resolve_ckpt_path(cfg: DictConfig) -> str | None:
    """The checkpoint ``trainer.fit`` should start from (None: from scratch)."""
    value = cfg.get("ckpt_path")
    if value in (None, ""):
        return None
    if str(value) != "last":
        path = Path(str(value)).expanduser()
        return str(path / "checkpoints" / LAST if path.is_dir() else path)
    output_dir = Path(cfg.paths.output_dir)
    run = find_last_run(output_dir.parent, cfg, exclude=output_dir)
    if run is None:
        raise FileNotFoundError(
            f"ckpt_path=last: no earlier run of this config with checkpoints/{LAST} under "
            f"{output_dir.parent}; give a run folder or a checkpoint file instead "
            "(ckpt_path=outputs/<mode>/<date>_<time>)")
    print(f"resuming {run}")
    return str(run / "checkpoints" / LAST)


def find_last_run(runs_dir: Path, cfg: DictConfig, exclude: Path | None = None) -> Path | None:
    """The run folder under ``runs_dir`` with the same config whose last checkpoint is newest."""
    wanted = _comparable(cfg)
    runs = [d for d in runs_dir.glob("*") if d != exclude and (d / "checkpoints" / LAST).is_file()
            and (d / ".hydra" / "config.yaml").is_file()]
    runs.sort(key=lambda d: (d / "checkpoints" / LAST).stat().st_mtime, reverse=True)
    for run in runs:
        if _comparable(OmegaConf.load(run / ".hydra" / "config.yaml")) == wanted:
            return run
    return None


def _comparable(cfg: DictConfig) -> dict:
    config = OmegaConf.to_container(cfg, resolve=False)
    return {k: v for k, v in config.items() if k not in IGNORED_KEYS and k != "hydra"}


class ResumableCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint``, but a run resumed into a new folder keeps its best.

    Lightning forgets the best score when the checkpoint folder changed (it warns and starts
    over), so the resumed run would call its first new epoch "best" even when an epoch before
    the crash was better. Here the tracked checkpoints are copied into the new folder and the
    state is rewritten to point there; then Lightning's own ``load_state_dict`` takes over.
    """

    def load_state_dict(self, state_dict: dict) -> None:
        old = state_dict.get("dirpath")
        if old and self.dirpath and os.path.abspath(old) != os.path.abspath(self.dirpath):
            state_dict = _moved(dict(state_dict), old, self.dirpath)
        super().load_state_dict(state_dict)


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


class RngState(L.Callback):
    """Saves and restores the torch, numpy and Python random generators with the checkpoint."""

    def state_dict(self) -> dict:
        name, keys, position, has_gauss, gauss = np.random.get_state()
        version, python_state, python_gauss = random.getstate()
        return {"torch": torch.get_rng_state(),
                "numpy": [name, keys.tolist(), position, has_gauss, gauss],
                "python": [version, list(python_state), python_gauss]}

    def load_state_dict(self, state_dict: dict) -> None:
        torch.set_rng_state(state_dict["torch"])
        name, keys, position, has_gauss, gauss = state_dict["numpy"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, gauss))
        version, python_state, python_gauss = state_dict["python"]
        random.setstate((version, tuple(python_state), python_gauss))
