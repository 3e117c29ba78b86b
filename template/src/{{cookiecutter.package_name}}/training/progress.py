"""Lightning's rich bar (which redraws up to 100 times a second), updated at most ``refresh_rate``
times a second (ten cost 3 % of the default loop, four too little to measure) and at an epoch's
last batch. Stopping it (every fit, validation and test) joined its refresh thread, up to 0.25 s
each time: here the thread ends on its own.
"""

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
        # (a disabled bar, a rank other than 0, never noted the dataloader: the hook's own index)
        sanity = trainer.sanity_checking
        totals = trainer.num_sanity_val_batches if sanity else trainer.num_val_batches
        total = totals[dataloader_idx] if isinstance(totals, list) else totals
        if self.is_enabled and self._due(batch_idx, total):
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
