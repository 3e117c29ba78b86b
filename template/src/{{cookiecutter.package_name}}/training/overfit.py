"""The overfit check: can the model learn one fixed batch by heart?

Lightning's ``overfit_batches`` validates on a *validation* batch, so it cannot tell whether the
training batch was learned. This callback measures accuracy on the training batch itself, in eval
mode (dropout off, BatchNorm running statistics), after every ``every_n_steps`` optimizer steps,
stops training as soon as ``target`` is reached, and otherwise explains what probably went wrong.
"""

from __future__ import annotations

import math
import time

import lightning as L
import torch


class OverfitCheck(L.Callback):
    summary_key = "overfit"

    def __init__(self, target: float = 1.0, every_n_steps: int = 1) -> None:
        if not 0.0 < target <= 1.0:
            raise ValueError(f"overfit target must be in (0, 1], got {target}")
        self.target, self.every_n_steps = target, every_n_steps
        self.reached_at: int | None = None
        self.best_accuracy = 0.0
        self.losses: list[float] = []
        self.batch_size = 0
        self.num_batches = 0
        self.seconds = 0.0
        self.num_classes: int | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        self.num_classes = getattr(pl_module.hparams, "num_classes", None)
        datamodule = trainer.datamodule
        self.num_batches = getattr(getattr(datamodule, "hparams", None), "overfit_batches", 1)
        # with several fixed batches, the target must hold on all of them at the same time
        self._all_batches = (datamodule.overfit_batches() if self.num_batches > 1
                             and hasattr(datamodule, "overfit_batches") else [])

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs,
                           batch, batch_idx: int) -> None:
        x, y = batch
        self.batch_size = len(y)
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self.losses.append(float(loss))
        if trainer.global_step % self.every_n_steps:
            return
        accuracy = self._accuracy(pl_module, [(x, y)])
        if accuracy >= self.target and self._all_batches:
            accuracy = self._accuracy(pl_module, self._all_batches)
        self.best_accuracy = max(self.best_accuracy, accuracy)
        if accuracy >= self.target and self.reached_at is None:
            self.reached_at = trainer.global_step
            trainer.should_stop = True

    @staticmethod
    def _accuracy(pl_module: L.LightningModule, batches: list) -> float:
        """Accuracy over ``batches`` in eval mode (dropout off, BatchNorm running statistics)."""
        was_training = pl_module.training
        pl_module.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in batches:
                x, y = x.to(pl_module.device), y.to(pl_module.device)
                correct += int((pl_module(x).argmax(dim=1) == y).sum())
                total += len(y)
        pl_module.train(was_training)
        return correct / max(total, 1)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds = time.perf_counter() - self._start

    # ---- verdict --------------------------------------------------------------------------
    @property
    def reached(self) -> bool:
        return self.reached_at is not None

    def summary(self) -> dict:
        return {"reached": self.reached, "passed": self.reached, "target": self.target,
                "steps": self.reached_at if self.reached else len(self.losses),
                "best_accuracy": self.best_accuracy, "batch_size": self.batch_size,
                "num_batches": max(1, self.num_batches), "seconds": round(self.seconds, 3),
                "first_loss": self.losses[0] if self.losses else None,
                "last_loss": self.losses[-1] if self.losses else None,
                "message": self.message(), "diagnosis": [] if self.reached else self.diagnosis()}

    def message(self) -> str:
        what = f"{self.num_batches_text()} of {self.batch_size}"
        if self.reached:
            return (f"reached {self.target:.0%} train accuracy on {what} in {self.reached_at} "
                    f"steps ({self.seconds:.1f} s)")
        return (f"did NOT reach {self.target:.0%} train accuracy on {what} in {len(self.losses)} "
                f"steps ({self.seconds:.1f} s); best {self.best_accuracy:.1%}")

    def num_batches_text(self) -> str:
        n = max(1, self.num_batches)
        return f"{n} batch" + ("es" if n > 1 else "")

    def diagnosis(self) -> list[str]:
        """Likely causes, most specific first."""
        losses = self.losses
        if not losses:
            return ["no training step ran: check trainer.max_steps / limit_train_batches"]
        if any(math.isnan(v) or math.isinf(v) for v in losses):
            return ["the loss became NaN/inf: the learning rate is too high (lower optimizer.lr), "
                    "or the inputs contain NaN"]
        first, last = losses[0], losses[-1]
        tail = losses[-max(1, len(losses) // 10):]
        found = []
        chance = math.log(self.num_classes) if self.num_classes else None
        if chance and all(abs(v - chance) < 0.05 * chance for v in tail):
            found.append(f"the loss is stuck at ln(C) = {chance:.3f} (chance level): the outputs "
                         "ignore the input (check the model's forward, a frozen backbone, lr=0)")
        if min(losses) > 0.9 * first:
            found.append(f"the loss is not decreasing ({first:.4f} -> {last:.4f}): check the "
                         "learning rate (is optimizer.lr 0 or far too small?), that labels match "
                         "inputs, and that the model's output has one logit per class")
        if not found:
            found.append(f"the loss decreased ({first:.4f} -> {last:.4f}) but too slowly: raise "
                         "trainer.max_steps or optimizer.lr, or use a bigger model")
        return found
