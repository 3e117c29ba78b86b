"""The progress bar of ``train.py``: Lightning's rich bar, updated at most ``refresh_rate`` times
a second (the last batch of an epoch always).

Lightning's bar updates after every batch and redraws up to 100 times a second: on a small model a
noticeable share of each step (ten a second cost 3 % of the default loop, four too little to
measure). Stopping Lightning's bar (the end of every fit, validation and test) joined its refresh
thread, up to a quarter of a second each time: here the thread ends on its own. Under DDP a
disabled bar's batch-start hook returns before noting the validation dataloader, so totals are
read from the hook's own ``dataloader_idx``.
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
        totals = (
            trainer.num_sanity_val_batches if trainer.sanity_checking else trainer.num_val_batches
        )
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
