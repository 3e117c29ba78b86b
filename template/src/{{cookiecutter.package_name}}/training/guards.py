"""Guards that let a run end honestly (summary.py turns what they saw into the outcome).

``StopOnDivergence`` raises ``Diverged`` on a NaN/inf training or validation loss (weights broken
on an epoch's last step) or an exploding one, before a checkpoint of that model is written. Without
it a NaN model could be saved as "best" and the verdict advised a higher learning rate."""

import math
from collections import deque

import lightning as L
import torch

# Exploded: the mean training loss of the last WINDOW steps above EXPLODED x the larger of the
# task's chance loss and the run's first loss (so a run that starts high is not stopped for it).
# The default CNN even at lr=100 peaks at ~50x for an epoch, then recovers; an exploded run goes to
# 1e3-1e15x. The mean keeps one outlier batch (a rare large target) from deciding.
EXPLODED = 100.0
WINDOW = 50
# Reading a loss on a GPU waits for the device: losses are read together every READ_EVERY steps,
# before each validation and before any checkpoint (none of a broken model is written); on the CPU,
# free, every step (a NaN stops the run at once). Explosions are judged at the same points anywhere.
READ_EVERY = 50


class Diverged(RuntimeError):
    def __init__(self, epoch: int, step: int, what: str, nonfinite: bool, lr: float) -> None:
        data = ", or the inputs/targets contain NaN or inf" if nonfinite else ""
        super().__init__(
            f"diverged at epoch {epoch} step {step}: {what}. The learning rate is probably too "
            f"high (optimizer.lr={lr:g}: lower it{{ ', or find one with lr_find=report' if 'lr_find' in cookiecutter.__features.split(',') }}){data}"
        )


class StopOnDivergence(L.Callback):
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pending: list[tuple[int, int, torch.Tensor]] = []  # (epoch, step, loss) not read yet
        self._recent: deque[float] = deque(maxlen=WINDOW)
        self._chance: float | None = None
        self._limit: tuple[float, str] | None = None  # EXPLODED x the reference, and its name
        self._scale = 1  # Lightning divides the loss by the number of batches accumulated
        self._batches = 0
        self._at_once = False  # read each loss at its step
        self._saves_every: list[int] = []  # checkpoint callbacks' every_n_train_steps
        self._timed_saves = False

    def on_fit_start(self, trainer, pl_module) -> None:
        self._reset()
        task = getattr(pl_module, "task", None)
        self._chance = task.chance_loss() if task is not None else None
        # (several processes agree at each read: not every step)
        self._at_once = trainer.strategy.root_device.type == "cpu" and trainer.world_size == 1
        self.on_train_epoch_start(trainer, pl_module)
        for callback in trainer.checkpoint_callbacks:  # those that may save after a batch
            every = getattr(callback, "_every_n_train_steps", 0) or 0
            self._saves_every += [every] if every > 0 else []
            self._timed_saves |= getattr(callback, "_train_time_interval", None) is not None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        # (a GradientAccumulationScheduler changes it between epochs)
        self._scale = trainer.accumulate_grad_batches if pl_module.automatic_optimization else 1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is not None:
            self._pending.append((trainer.current_epoch, trainer.global_step, loss))
            if self._at_once:
                self._stop(pl_module, self._read())
        # (counted the same in every process, also when a step returned no loss: see _check)
        self._batches += 1
        saves = self._timed_saves or any(trainer.global_step % n == 0 for n in self._saves_every)
        if self._batches % READ_EVERY == 0 or saves:
            self._check(trainer, pl_module)

    def on_validation_start(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._check(trainer, pl_module)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._check(trainer, pl_module)

    on_train_end = on_train_epoch_end  # (a run stopped within an epoch)

    def on_validation_end(self, trainer, pl_module) -> None:
        # Lightning runs checkpoint callbacks last: this check comes before a broken model is kept
        loss = trainer.callback_metrics.get("val/loss")
        if loss is not None and not trainer.sanity_checking and not math.isfinite(float(loss)):
            what = f"the validation loss became {float(loss)}"
            self._stop(pl_module, (trainer.current_epoch, trainer.global_step, what, True))

    def _check(self, trainer, pl_module) -> None:
        """Read the pending losses, apply the explosion rule: at the same steps on every device."""
        finding = (self._read() if self._pending else None) or self._exploded(trainer)
        # with several processes all stop together, or the others wait for this one forever
        if trainer.world_size > 1 and trainer.strategy.reduce_boolean_decision(
            finding is not None, all=False
        ):
            what = "the training loss diverged in another process"
            finding = finding or (trainer.current_epoch, trainer.global_step, what, True)
        self._stop(pl_module, finding)

    def _stop(self, pl_module, finding: tuple[int, int, str, bool] | None) -> None:
        if finding is not None:  # (epoch, step, what the loss did, whether it became NaN/inf)
            raise Diverged(*finding, getattr(pl_module, "lr", float("nan")))

    def _read(self) -> tuple[int, int, str, bool] | None:
        """The pending losses, read at once (one wait for the device): the first NaN/inf."""
        pending, self._pending = self._pending, []
        values = torch.stack([torch.as_tensor(loss) for _, _, loss in pending]).tolist()
        for (epoch, step, _), value in zip(pending, values, strict=True):
            if not self._take(value):
                return epoch, step, f"the training loss became {value}", True
        return None

    def _take(self, value: float) -> bool:
        """One step's loss, kept for the explosion rule; False: it is NaN/inf."""
        if not math.isfinite(value):
            return False
        value *= self._scale
        if self._limit is None:  # EXPLODED x the larger of the first loss and chance, its name
            candidates = [(value, "the loss at the start of training")]
            if self._chance is not None:
                candidates.append((self._chance, "the loss of outputs that ignore the input"))
            reference, name = max(candidates)
            if reference > 0:
                self._limit = (EXPLODED * reference, f"{name} ({reference:.3g})")
        self._recent.append(value)
        return True

    def _exploded(self, trainer) -> tuple[int, int, str, bool] | None:
        if self._limit is None or not self._recent:
            return None
        mean = sum(self._recent) / len(self._recent)
        if mean <= self._limit[0]:
            return None
        what = (
            f"the training loss exploded to {mean:.3g} (mean of the last {len(self._recent)} "
            f"steps), over {EXPLODED:g}x {self._limit[1]}"
        )
        return trainer.current_epoch, trainer.global_step, what, False


class Interruption(L.Callback):
    """Remembers what interrupted ``fit``: Lightning turns Ctrl-C into ``SystemExit(1)``, which
    alone cannot be told apart from any other exit."""

    def __init__(self) -> None:
        self.exception: BaseException | None = None

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        self.exception = exception
