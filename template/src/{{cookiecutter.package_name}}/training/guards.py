"""Guards that let a run end honestly (summary.py turns what they saw into the outcome).

``StopOnDivergence``: stop at the first non-finite loss; a diverged run must never look like a
finished one.
Without this, training goes on with NaN weights to the last epoch, the metrics come out NaN (or
chance level), a NaN model can be saved as "best" and the verdict advises raising the learning
rate. Here the first NaN/inf training loss - or validation loss, which catches weights that broke
on the last step of an epoch - raises ``Diverged`` before any checkpoint of that model is written;
the run ends with status ``diverged`` (summary.py).
"""

from __future__ import annotations

import math

import lightning as L


class Diverged(RuntimeError):
    def __init__(self, where: str, value: float, epoch: int, step: int, lr: float) -> None:
        self.epoch, self.step = epoch, step
        super().__init__(
            f"diverged at epoch {epoch} step {step}: the {where} loss became {value}. The "
            f"learning rate is probably too high (optimizer.lr={lr:g}: lower it, or find one "
            "with lr_find=report), or the inputs/targets contain NaN or inf"
        )


class StopOnDivergence(L.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not math.isfinite(float(loss)):
            raise Diverged(
                "training",
                float(loss),
                trainer.current_epoch,
                trainer.global_step,
                getattr(pl_module, "lr", float("nan")),
            )

    def on_validation_end(self, trainer, pl_module) -> None:
        # Lightning runs checkpoint callbacks last: this check comes before a broken model is kept
        loss = trainer.callback_metrics.get("val/loss")
        if loss is not None and not trainer.sanity_checking and not math.isfinite(float(loss)):
            raise Diverged(
                "validation",
                float(loss),
                trainer.current_epoch,
                trainer.global_step,
                getattr(pl_module, "lr", float("nan")),
            )


class Interruption(L.Callback):
    """Remembers what interrupted ``fit``: Lightning turns Ctrl-C into ``SystemExit(1)``, which
    alone cannot be told apart from any other exit."""

    def __init__(self) -> None:
        self.exception: BaseException | None = None

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        self.exception = exception
