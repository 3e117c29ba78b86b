"""Training curves: every run draws its own metrics into ``plots/curves.png`` at the end of fit
(on a thread of its own, while the run measures its splits: ``wait_written``).

Per step: the training loss and the learning rate (first layer group); per epoch: the train loss
(mean of the epoch's steps), the validation loss and the task's score on both splits, as the
trainer logged them. Overfit runs that stop inside their first epoch still get the per-step curves.

``step_metric`` (``mode=overfit`` sets it to the overfit check's metric): that metric is measured on
every training batch, in eval mode, and every curve is drawn per step only. An overfit run's epochs
repeat one batch, so a mean over an epoch (of scores measured while the weights moved) says nothing
there: its accuracy read 0.90 while the batch was learned to 100 %.

The numbers are written next to the figure (``curves.json``) to redraw or compare runs. A resumed
run draws the epochs it ran itself.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import lightning as L


class TrainingCurves(L.Callback):
    def __init__(self, path: str = "plots/curves.png", step_metric: str | None = None) -> None:
        self.path = Path(path)
        self.step_metric = step_metric
        self.step_scores: list[tuple[int, float]] = []  # (global step, step_metric on the batch)
        self.epochs: dict[str, list[float]] = {}  # "train/loss" -> one value per epoch
        self.epoch_steps: list[int] = []  # the global step at each epoch end
        self.steps: list[tuple[int, float, float]] = []  # (global step, loss, learning rate)
        self._lr = math.nan
        self._pending: list = []  # this epoch's (step, loss tensor, lr): read once per epoch,
        # not per step (a float() per step would wait for the GPU at every step)
        self._drawing: _Drawing | None = None
        self._to_draw: tuple[str | None] | None = None  # (the task's score,) once fit has ended

    def _keys(self, pl_module) -> list[str]:
        score = getattr(pl_module.task, "score", None)  # the task's score name (acc, r2, ...)
        return ["train/loss", "val/loss", *((f"train/{score}", f"val/{score}") if score else ())]

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # the rate this step uses (a per-step scheduler has moved on by the batch's end)
        self._lr = (
            float(trainer.optimizers[0].param_groups[0]["lr"]) if trainer.optimizers else math.nan
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        self._pending.append((trainer.global_step, loss.detach(), self._lr))
        if self.step_metric:  # (read at once: a GPU sync per step, as the overfit check makes)
            value = pl_module.evaluate_batches([batch], self.step_metric)
            self.step_scores.append((trainer.global_step, value))

    def _flush(self) -> list[float]:
        losses = [float(loss) for _, loss, _ in self._pending]
        self.steps += [
            (step, loss, lr) for (step, _, lr), loss in zip(self._pending, losses, strict=True)
        ]
        self._pending = []
        return losses

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # validation of this epoch has already run: its metrics are in callback_metrics too
        logged, losses = trainer.callback_metrics, self._flush()
        for key in self._keys(pl_module):
            if key == "train/loss" and losses:
                value = sum(losses) / len(losses)
            else:
                value = float(logged[key]) if key in logged else math.nan
            self.epochs.setdefault(key, []).append(value)
        self.epoch_steps.append(trainer.global_step)

    def on_fit_end(self, trainer, pl_module) -> None:
        self._flush()  # steps of an epoch that did not finish (an overfit run that stopped early)
        if trainer.is_global_zero and (self.epochs or self.steps):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # the figure (0.1-0.3 s of matplotlib) is drawn on a thread of its own while the run
            # goes on to its final evaluation (from ``teardown``, fit's last hook: before it, the
            # thread slowed what fit still does); ``wait_written`` returns once it is saved
            self._to_draw = (getattr(pl_module.task, "score", None),)
            self.path.with_suffix(".json").write_text(
                json.dumps(
                    _plain(
                        {
                            "epochs": self.epochs,
                            "epoch_steps": self.epoch_steps,
                            "steps": self.steps,
                            "step_metric": self.step_metric,
                            "step_scores": self.step_scores,
                        }
                    )
                )
            )

    def teardown(self, trainer, pl_module, stage: str) -> None:
        self._start_drawing()

    def _start_drawing(self) -> None:
        if self._to_draw is not None:
            (score,), self._to_draw = self._to_draw, None
            self._drawing = _Drawing(self.draw, score)

    def wait_written(self) -> None:
        """Until plots/curves.png is written (train.py calls this before summary.json); the
        drawing's error, if it failed, is raised here."""
        self._start_drawing()  # (when fit stopped between its end and its teardown)
        drawing, self._drawing = self._drawing, None
        if drawing is not None:
            drawing.wait()

    def __getstate__(self) -> dict:  # a copy of the callback: a thread cannot be copied
        return {**self.__dict__, "_drawing": None}

    def draw(self, score: str | None) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.figure(score).savefig(self.path)  # (no pyplot: a Figure of its own picks Agg)
        return self.path

    def figure(self, score: str | None):
        """Three panels: loss, the score (or ``step_metric``), learning rate; every axis named."""
        # A bare Figure with fixed margins and legend places: tight_layout and legend
        # placement by search measure every text and line first, which doubled the cost of a plot
        # drawn at the end of every run (overfit checks included).
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        fig = Figure(figsize=(13, 3.6), dpi=100)
        fig.subplots_adjust(left=0.06, right=0.985, bottom=0.14, top=0.9, wspace=0.25)
        loss_ax, score_ax, lr_ax = fig.subplots(1, 3)
        per_step = bool(self.step_metric)
        if self.steps:
            steps, losses, rates = zip(*self.steps, strict=True)
            loss_ax.plot(
                steps,
                losses,
                color="tab:blue",
                alpha=1.0 if per_step else 0.3,
                linewidth=1.2 if per_step else 0.8,
                label="train (step)",
            )
            lr_ax.plot(steps, rates)
        if self.step_scores:
            steps, values = zip(*self.step_scores, strict=True)
            score_ax.plot(steps, values, color="tab:blue", label="train batch (step, eval mode)")
        at = self.epoch_steps
        for ax, key, style in (
            (loss_ax, "train/loss", "tab:blue"),
            (loss_ax, "val/loss", "tab:orange"),
            (score_ax, f"train/{score}", "tab:blue"),
            (score_ax, f"val/{score}", "tab:orange"),
        ):
            values = self.epochs.get(key, [])
            if per_step or not values or all(math.isnan(v) for v in values):
                continue
            x = at[: len(values)] if ax is loss_ax else range(1, len(values) + 1)
            ax.plot(
                x,
                values,
                marker="o",
                markersize=3,
                color=style,
                label=key.split("/")[0] + (" (epoch)" if ax is loss_ax else ""),
            )
        metric = self.step_metric or score or "score"
        loss_ax.set(title="loss", xlabel="step", ylabel="loss")
        score_ax.set(title=metric, xlabel="step" if per_step else "epoch", ylabel=metric)
        lr_ax.set(title="learning rate", xlabel="step", ylabel="learning rate")
        lr_ax.set_ylim(bottom=0)  # a constant rate reads as one, not as noise around an offset
        for ax in (loss_ax, score_ax, lr_ax):  # steps and epochs are counted: whole ticks
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax, where in ((loss_ax, "upper right"), (score_ax, "lower right")):  # loss falls,
            if ax.lines:  # the score rises
                ax.legend(fontsize=8, loc=where)
        return fig


class _Drawing:
    """``function(*args)`` on a thread; ``wait`` joins it and raises what it raised."""

    def __init__(self, function, *args) -> None:
        self.error: BaseException | None = None

        def run() -> None:
            try:
                function(*args)
            except BaseException as error:  # raised in the run's thread by ``wait``
                self.error = error

        self.thread = threading.Thread(target=run, name="curves-plot")
        self.thread.start()

    def wait(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


def _plain(value):
    """JSON without NaN (not valid JSON): a value that was not logged becomes null."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value
