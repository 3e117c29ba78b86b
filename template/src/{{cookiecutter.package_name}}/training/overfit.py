"""The overfit check: can the model learn one fixed batch by heart, measured on that training batch
in eval mode (Lightning's ``overfit_batches`` validates on a validation batch)? Identical inputs
with different targets cap what any model reaches: the goal is ``target`` of ``best_attainable``.
"""

import math
import time

import lightning as L
import numpy as np
import torch


class OverfitCheck(L.Callback):
    summary_key = "overfit"

    def __init__(self, target: float | None = None, every_n_steps: int = 1) -> None:
        if target is not None and not 0.0 < target <= 1.0:
            raise ValueError(f"overfit target must be in (0, 1], got {target}")
        self.target, self.every_n_steps = target, every_n_steps  # None: the task's target
        self.metric = ""  # the task's overfit metric, read at the start of training
        self.reached_at: int | None = None
        self.best_value = float("-inf")
        self.losses: list[float] = []
        self.batch_size = self.num_batches = 0
        self.seconds = 0.0
        self.chance_loss: float | None = None
        # the ceiling (value, conflicting items) of each fixed batch by index, and of all together
        self._ceilings: dict[int, tuple[float, int]] = {}
        self.attainable, self.conflicting = 1.0, 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        task, datamodule = pl_module.task, trainer.datamodule
        self.metric, self.chance_loss = task.overfit_metric, task.chance_loss()
        if self.target is None:
            self.target = task.overfit_target
        self.num_batches = getattr(getattr(datamodule, "hparams", None), "overfit_batches", 1)
        # with several fixed batches, the target must hold on all of them at the same time
        several = self.num_batches > 1 and hasattr(datamodule, "overfit_batches")
        self._all_batches = datamodule.overfit_batches() if several else []
        if self._all_batches:
            xs, ys = zip(*self._all_batches, strict=True)
            self.attainable, self.conflicting = ceiling(pl_module, self.metric, xs, ys)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        x, y = batch
        self.batch_size = len(y)
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self.losses.append(float(loss))
        if trainer.global_step % self.every_n_steps or not math.isfinite(self.losses[-1]):
            return
        if batch_idx not in self._ceilings:
            self._ceilings[batch_idx] = ceiling(pl_module, self.metric, [x], [y])
            if not self._all_batches:
                self.attainable, self.conflicting = self._ceilings[batch_idx]
        value = pl_module.evaluate_batches([(x, y)], self.metric)
        if value >= self.goal(self._ceilings[batch_idx][0]) and self._all_batches:
            value = pl_module.evaluate_batches(self._all_batches, self.metric)
        self.best_value = max(self.best_value, value)
        if value >= self.goal(self.attainable) and self.reached_at is None:
            self.reached_at = trainer.global_step
            trainer.should_stop = True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds = time.perf_counter() - self._start

    def goal(self, attainable: float) -> float:  # (-1e-6: float32 metrics of the same counts)
        return self.target * attainable - 1e-6

    @property
    def reached(self) -> bool:
        return self.reached_at is not None

    def summary(self) -> dict:
        best = self.best_value if math.isfinite(self.best_value) else None
        return {
            "reached": self.reached,
            "passed": self.reached,
            "metric": self.metric,
            "target": self.target,
            "attainable": self.attainable,
            "conflicting_items": self.conflicting,
            "steps": self.reached_at if self.reached else len(self.losses),
            "best": best,
            "batch_size": self.batch_size,
            "num_batches": max(1, self.num_batches),
            "seconds": round(self.seconds, 3),
            "first_loss": self.losses[0] if self.losses else None,
            "last_loss": self.losses[-1] if self.losses else None,
            "message": self.message(),
            "diagnosis": [] if self.reached else self.diagnosis(),
        }

    def message(self) -> str:
        n = max(1, self.num_batches)
        what = f"{n} batch{'es' if n > 1 else ''} of {self.batch_size}"
        best = f"{self.best_value:.4g}" if math.isfinite(self.best_value) else "none"
        steps = self.reached_at if self.reached else len(self.losses)
        steps = f"{steps} steps ({self.seconds:.1f} s)"
        if self.attainable < 1.0:
            batch = "this batch holds" if self.num_batches <= 1 else "these batches hold"
            note = (
                f"{batch} {self.conflicting} identical inputs with different targets: the best "
                f"attainable train {self.metric} is {self.attainable:.4g}"
                + ("" if self.target == 1.0 else f" (target: {self.target:g} of it)")
            )
            if self.reached:
                return f"{note}; reached {best} on {what} in {steps}"
            return f"{note}; did NOT reach it on {what} in {steps}; best {self.metric} {best}"
        goal = f"train {self.metric} >= {self.target:g}"
        if self.target == 1.0:  # a perfect score reads as a percentage
            goal = f"{self.target:.0%} train {self.metric}"
        if self.reached:
            return f"reached {goal} on {what} in {steps}"
        return f"did NOT reach {goal} on {what} in {steps}; best {self.metric} {best}"

    def diagnosis(self) -> list[str]:  # likely causes, most specific first
        losses = self.losses
        if not losses:
            return ["no training step ran: check trainer.max_steps / limit_train_batches"]
        if not all(map(math.isfinite, losses)):
            return [
                "the loss became NaN/inf: the learning rate is too high (lower optimizer.lr), "
                "or the inputs contain NaN"
            ]
        first, last = losses[0], losses[-1]
        tail = losses[-max(1, len(losses) // 10) :]
        if max(losses) > 3 * first or min(tail) > 1.5 * first:
            return [
                f"the loss rose ({first:.4g} -> max {max(losses):.4g}, last {last:.4g}): the "
{%- if "lr_find" in cookiecutter.__features.split(",") %}
                "learning rate is too high (lower optimizer.lr, or find one with "
                "lr_find=report)"
{%- else %}
                "learning rate is too high (lower optimizer.lr)"
{%- endif %}
            ]
        chance, found = self.chance_loss, []
        if chance and all(abs(v - chance) < 0.05 * chance for v in tail):
            found.append(
                f"the loss is stuck at {chance:.3f}, the loss of outputs that ignore the "
                "input (chance level, e.g. ln(C) for C classes): check the model's "
                "forward, a frozen backbone, lr=0"
            )
        if min(losses) > 0.9 * first:
            found.append(
                f"the loss is not decreasing ({first:.4f} -> {last:.4f}): check the "
                "learning rate (is optimizer.lr 0 or far too small?), that targets match "
                "inputs, and that the model's output fits the targets"
            )
        return found or [
            f"the loss decreased ({first:.4f} -> {last:.4f}) but too slowly: raise "
            "trainer.max_steps or optimizer.lr, or use a bigger model"
        ]


def ceiling(pl_module, metric: str, inputs: list, targets: list) -> tuple[float, int]:
    """(the best ``metric`` any model reaches here, the items whose input has several targets)"""
    groups = identical_items(inputs)
    seen = np.unique(np.stack([groups, identical_items(targets)], axis=1), axis=0)
    conflicting = int((np.bincount(seen[:, 0])[groups] > 1).sum())  # groups of several targets
    if not conflicting:
        return 1.0, 0
    y = torch.cat([t.to(pl_module.device) for t in targets])
    groups = torch.as_tensor(groups, device=pl_module.device)
    return pl_module.task.best_attainable(groups, y, metric), conflicting


def identical_items(batches: list) -> np.ndarray:
    """One group number per item: the same for the same input (tensors, tuples or dicts of them)."""
    rows = np.concatenate([np.concatenate(_parts(batch), axis=1) for batch in batches], axis=0)
    _, groups = np.unique(rows, axis=0, return_inverse=True)
    return groups.reshape(-1)


def _parts(batch) -> list[np.ndarray]:  # each part of a batch as (items, bytes)
    if isinstance(batch, dict):
        return [a for value in batch.values() for a in _parts(value)]
    if isinstance(batch, (list, tuple)):
        return [a for value in batch for a in _parts(value)]
    values = torch.as_tensor(batch).detach().cpu().contiguous()
    return [values.reshape(len(values), -1).view(torch.uint8).numpy()]
