"""The progress bar on every rank: Lightning disables it on ranks other than 0, whose batch
hooks must then do nothing (a DDP run crashed on rank 1 reading the current dataloader); and
stopping the bar does not wait for its refresh thread to wake up."""

import threading
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


def test_stopping_the_bar_does_not_wait_for_its_refresh_thread(monkeypatch):
    """The thread sleeps between looks (a quarter of a second by default); the end of every fit,
    validation and test used to wait for it."""
    from lightning.pytorch.callbacks.progress import rich_progress

    asleep, wake = threading.Event(), threading.Event()

    def long_sleep(seconds: float) -> None:
        asleep.set()
        assert wake.wait(30)

    # (only the progress bar module's clock: the thread sleeps until the test wakes it)
    monkeypatch.setattr(rich_progress, "time", SimpleNamespace(sleep=long_sleep))
    bar = ProgressBar()
    bar.progress = rich_progress.CustomProgress(auto_refresh=True, refresh_per_second=4)
    bar.progress.start()
    thread = bar.progress.live._refresh_thread
    assert asleep.wait(30)
    bar._stop_progress()  # returns while the thread still sleeps
    assert bar._progress_stopped and thread.is_alive() and thread.done.is_set()
    wake.set()
    thread.join(30)
    assert not thread.is_alive()  # it ended on its own at its next look
