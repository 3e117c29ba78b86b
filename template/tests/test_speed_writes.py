"""What a fit writes costs the training loop as little as it can: the curves are drawn while the
run goes on, a checkpoint is serialized once, straight into its file; and the trainer's
do-nothing profiler makes nothing per hook call."""

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from {{ cookiecutter.package_name }}.training.checkpoints import atomic_save
from {{ cookiecutter.package_name }}.training.curves import TrainingCurves


def ended_fit(tmp_path: Path, draw, torn_down: bool = True) -> TrainingCurves:
    """A TrainingCurves that recorded one step and one epoch, whose fit just ended (and, where
    ``torn_down``, ran its last hook)."""
    curves = TrainingCurves(str(tmp_path / "plots" / "curves.png"))
    curves.steps, curves.epochs, curves.epoch_steps = [(1, 0.5, 1e-3)], {"val/loss": [0.4]}, [1]
    curves.draw = draw
    curves.on_fit_end(SimpleNamespace(is_global_zero=True), SimpleNamespace(task=None))
    if torn_down:
        curves.teardown(None, None, "fit")
    return curves


def test_the_fit_does_not_wait_for_the_curves_to_be_drawn(tmp_path):
    release, drawn = threading.Event(), []

    def slow_draw(score):
        assert release.wait(10)
        drawn.append(score)

    curves = ended_fit(tmp_path, slow_draw)
    assert drawn == []  # fit's hooks returned while the figure was being drawn
    assert (tmp_path / "plots" / "curves.json").is_file()
    release.set()
    curves.wait_written()
    assert drawn == [None]
    curves.wait_written()  # (once done, a second wait returns at once)


def test_the_drawing_starts_after_fit_s_own_work_and_a_wait_draws_what_was_not_started(tmp_path):
    """Drawing from ``on_fit_end`` slowed what fit still does (its thread holds the GIL)."""
    release, drawn = threading.Event(), []

    def held_draw(score):  # a thread started too early would still be alive, held here
        assert release.wait(10)
        drawn.append(score)

    before = set(threading.enumerate())
    curves = ended_fit(tmp_path, held_draw, torn_down=False)
    assert set(threading.enumerate()) == before and drawn == []
    release.set()
    curves.wait_written()  # fit stopped before its teardown: the figure is still drawn
    assert drawn == [None]


def test_a_failed_drawing_is_raised_by_the_wait(tmp_path):
    def broken_draw(score):
        raise RuntimeError("no font")

    curves = ended_fit(tmp_path, broken_draw)
    with pytest.raises(RuntimeError, match="no font"):
        curves.wait_written()


def test_a_checkpoint_is_serialized_straight_into_its_file(tmp_path, monkeypatch):
    """Once: torch.save writes into the partial file, not into a buffer copied afterwards."""
    real, targets = torch.save, []

    def recorded(obj, target, *args, **kwargs):
        targets.append(target)
        return real(obj, target, *args, **kwargs)

    monkeypatch.setattr(torch, "save", recorded)
    atomic_save({"weights": torch.ones(3)}, tmp_path / "best.ckpt")
    (target,) = targets
    assert Path(target.name).parent == tmp_path and target.name.endswith(".partial")
    assert torch.load(tmp_path / "best.ckpt")["weights"].tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["best.ckpt"]


def test_the_default_profiler_makes_nothing_per_hook_and_a_chosen_one_is_kept():
    import lightning as L

    from {{ cookiecutter.package_name }}.training.speed import lean_dispatch

    quiet = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False}
    trainer = lean_dispatch(L.Trainer(**quiet))
    context = trainer.profiler.profile("[Callback]a.on_train_batch_end")
    assert context is trainer.profiler.profile("[LightningModule]b.training_step")  # reused
    with context as entered:
        assert entered is None
    chosen = lean_dispatch(L.Trainer(profiler="simple", **quiet))
    assert type(chosen.profiler).__name__ == "SimpleProfiler"


def test_per_batch_hooks_reach_the_callbacks_that_override_them_only():
    import lightning as L
    import torch

    from {{ cookiecutter.package_name }}.training.speed import lean_dispatch

    class Counting(L.Callback):
        def __init__(self) -> None:
            self.calls = {"batch_end": 0, "backward": 0, "epoch_end": 0}

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.calls["batch_end"] += 1

        def on_after_backward(self, trainer, pl_module) -> None:
            self.calls["backward"] += 1

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            self.calls["epoch_end"] += 1

    class Silent(L.Callback):
        pass

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            return self.layer(batch[0]).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    counting, silent = Counting(), Silent()
    trainer = lean_dispatch(
        L.Trainer(
            max_epochs=2,
            callbacks=[counting, silent],
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
    )
    assert silent.on_train_batch_end is None and silent.on_before_backward is None
    assert counting.on_train_batch_end is not None and counting.on_before_backward is None
    assert silent.on_train_epoch_end is not None  # (per-epoch hooks are left as they are)
    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.randn(12, 2)), batch_size=4
    )
    trainer.fit(Tiny(), data)
    assert counting.calls == {"batch_end": 6, "backward": 6, "epoch_end": 2}
