"""The progress bar of ``train.py``: Lightning's rich bar, updated at most ``refresh_rate`` times
a second.

Lightning's bar reads the logged metrics and updates itself after every batch, and redraws up to
100 times a second: on a small model that is a noticeable share of each step, for changes faster
than anyone reads. Here a batch updates the bar only when ``1 / refresh_rate`` seconds have passed
since the last update; the last batch of an epoch always does. Four a second by default (rich's
own default): on the default loop ten cost 3 % of its time, four too little to measure. The
training loss it shows is the one logged every ``trainer.log_every_n_steps`` steps
(tasks/base.py). Turned off as before: ``trainer.enable_progress_bar=false``.

Lightning's bar keeps a refresh thread that sleeps ``1 / refresh_rate`` seconds between looks,
and stopping the bar (the end of every fit, validation and test) joined it: up to a quarter of a
second each time, doing nothing. Here the stopped bar lets it end on its own (a daemon thread).

Under DDP, Lightning disables the bar on every rank but 0 and its batch-start hooks then return
before noting which validation dataloader runs, so ``total_val_batches_current_dataloader``
would assert: the totals here are read from the hook's own ``dataloader_idx`` instead, and a
disabled bar does no work at all.
"""

from __future__ import annotations

import time

from lightning.pytorch.callbacks import RichProgressBar


class ProgressBar(RichProgressBar):
    def __init__(self, refresh_rate: int = 4, **kwargs) -> None:
        super().__init__(refresh_rate=refresh_rate, **kwargs)
        self._updated_at = float("-inf")

    def _due(self, batch_idx: int, total: float) -> bool:
        now = time.monotonic()
        if batch_idx + 1 >= total or now - self._updated_at >= 1 / self.refresh_rate:
            self._updated_at = now
            return True
        return False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if self.is_enabled and self._due(batch_idx, self.total_train_batches):
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if not self.is_enabled:  # a rank other than 0, or turned off
            return
        sanity = trainer.sanity_checking
        totals = trainer.num_sanity_val_batches if sanity else trainer.num_val_batches
        total = totals[dataloader_idx] if isinstance(totals, list) else totals
        if self._due(batch_idx, total):
            super().on_validation_batch_end(
                trainer, pl_module, outputs, batch, batch_idx, dataloader_idx
            )

    def _stop_progress(self) -> None:
        live = getattr(self.progress, "live", None)
        thread = getattr(live, "_refresh_thread", None)
        if thread is not None:  # (not joined: it ends after its current sleep)
            thread.refresh_cond = False  # nothing more to draw
            thread.done.set()
            live._refresh_thread = None
        super()._stop_progress()
