"""The progress bar on every rank: Lightning disables it on ranks other than 0, whose batch
hooks must then do nothing (a DDP run crashed on rank 1 reading the current dataloader)."""

from __future__ import annotations

from types import SimpleNamespace

from {{ cookiecutter.package_name }}.training.progress import ProgressBar


def fake_trainer(sanity_checking: bool = False) -> SimpleNamespace:
    return SimpleNamespace(
        sanity_checking=sanity_checking,
        num_val_batches=[3],
        num_sanity_val_batches=[2],
        num_training_batches=4,
        max_epochs=1,
        max_steps=-1,
        is_global_zero=False,
    )


def test_a_disabled_bar_ignores_validation_batches_it_never_saw_start():
    bar = ProgressBar()
    bar.disable()  # what Lightning's setup does on a rank other than 0
    trainer = fake_trainer()
    bar._trainer = trainer
    # the start hook returns early on a disabled bar: no current dataloader is noted
    bar.on_validation_batch_start(trainer, None, batch=None, batch_idx=0)
    for batch_idx in range(3):
        bar.on_validation_batch_end(trainer, None, None, None, batch_idx)
    bar.on_train_batch_end(trainer, None, None, None, 0)


def test_the_total_comes_from_the_hook_s_own_dataloader(monkeypatch):
    drawn = []
    monkeypatch.setattr(
        "lightning.pytorch.callbacks.RichProgressBar.on_validation_batch_end",
        lambda self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0: drawn.append(
            batch_idx
        ),
    )
    bar = ProgressBar(refresh_rate=1)
    trainer = fake_trainer()
    bar._trainer = trainer
    for batch_idx in range(3):  # one refresh a second: the first batch and the last (of 3)
        bar.on_validation_batch_end(trainer, None, None, None, batch_idx)
    assert drawn == [0, 2]
