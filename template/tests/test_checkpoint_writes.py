"""Checkpoint files written by a background thread (training/resume.py): the same files, complete
when fit returns, written off the training's thread."""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from {{ cookiecutter.package_name }}.training import resume

SHORT = (
    "mode=full",
    "trainer.max_epochs=2",
    "seed=0",
    "callbacks.model_checkpoint.last_min_interval_s=0",
)


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_background_writes_give_the_same_complete_files_off_the_training_thread(
    run_train, monkeypatch
):
    writers = []
    save_and_commit = resume._save_and_commit

    def recording(*args):
        writers.append(threading.current_thread().name)
        return save_and_commit(*args)

    monkeypatch.setattr(resume, "_save_and_commit", recording)
    background = Path(run_train(*SHORT)["best_checkpoint"]).parent
    monkeypatch.undo()
    assert writers and all(name.startswith("checkpoint-writer") for name in writers)

    inline = Path(
        run_train(*SHORT, "callbacks.model_checkpoint.background_writes=false")["best_checkpoint"]
    ).parent
    assert sorted(p.name for p in background.iterdir()) == ["best.ckpt", "last.ckpt"]
    for name in ("best.ckpt", "last.ckpt"):
        ours, theirs = load(background / name), load(inline / name)
        assert (ours["epoch"], ours["global_step"]) == (theirs["epoch"], theirs["global_step"])
        for key, value in theirs["state_dict"].items():
            assert torch.equal(ours["state_dict"][key], value), (name, key)
        assert (
            ours["optimizer_states"][0]["state"].keys()
            == theirs["optimizer_states"][0]["state"].keys()
        )
