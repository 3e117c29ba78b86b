"""The progress bar of ``train.py``: Lightning's rich bar, updated at most ``refresh_rate`` times
a second.

Lightning's bar reads the logged metrics and updates itself after every batch, and redraws up to
100 times a second: on a small model that is a noticeable share of each step, for changes faster
than anyone reads. Here a batch updates the bar only when ``1 / refresh_rate`` seconds have passed
since the last update; the last batch of an epoch always does. The training loss it shows is the
one logged every ``trainer.log_every_n_steps`` steps (tasks/base.py). Turned off as before:
``trainer.enable_progress_bar=false``.
"""

from __future__ import annotations

import time

from lightning.pytorch.callbacks import RichProgressBar


class ProgressBar(RichProgressBar):
    def __init__(self, refresh_rate: int = 10, **kwargs) -> None:
        super().__init__(refresh_rate=refresh_rate, **kwargs)
        self._updated_at = float("-inf")

    def _due(self, batch_idx: int, total: float) -> bool:
        now = time.monotonic()
        if batch_idx + 1 >= total or now - self._updated_at >= 1 / self.refresh_rate:
            self._updated_at = now
            return True
        return False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if self._due(batch_idx, self.total_train_batches):
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if self._due(batch_idx, self.total_val_batches_current_dataloader):
            super().on_validation_batch_end(
                trainer, pl_module, outputs, batch, batch_idx, dataloader_idx
            )
