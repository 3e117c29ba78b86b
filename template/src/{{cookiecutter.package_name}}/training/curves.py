"""``plots/curves.png``, drawn on a thread of its own while the run measures its splits, and its
numbers (``curves.json``). ``step_metric`` (``mode=overfit``): every curve per step only, for an
epoch mean of scores measured while the weights moved says nothing (0.90 on a batch learned fully).
"""

import itertools
import json
import math
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import lightning as L

from .summary import strict


class TrainingCurves(L.Callback):
    def __init__(self, path: str = "plots/curves.png", step_metric: str | None = None) -> None:
        self.path = Path(path)
        self.step_metric = step_metric
        self.step_scores: list[tuple[int, float]] = []  # (global step, step_metric on the batch)
        self.epochs: dict[str, list[float]] = {}  # "train/loss" -> one value per epoch
        self.epoch_steps: list[int] = []  # the global step at each epoch end
        self.steps: list[tuple[int, float, float]] = []  # (global step, loss, learning rate)
        self._lr = math.nan
        self._pending: list = []  # read once per epoch: a float() per step waits for the GPU
        self._drawing: Future | None = None
        self._to_draw: tuple[str | None] | None = None  # (the task's score,) once fit has ended

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # the rate this step uses (a per-step scheduler has moved on by the batch's end)
        optimizers = trainer.optimizers
        self._lr = float(optimizers[0].param_groups[0]["lr"]) if optimizers else math.nan

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        self._pending.append((trainer.global_step, loss.detach(), self._lr))
        if self.step_metric:  # (read at once: a GPU sync per step, as the overfit check makes)
            value = pl_module.evaluate_batches([batch], self.step_metric)
            self.step_scores.append((trainer.global_step, value))

    def _flush(self) -> list[float]:
        pending, self._pending = self._pending, []
        losses = [float(loss) for _, loss, _ in pending]
        self.steps += [(s, loss, lr) for (s, _, lr), loss in zip(pending, losses, strict=True)]
        return losses

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # validation of this epoch has already run: its metrics are in callback_metrics too
        logged, losses = trainer.callback_metrics, self._flush()
        score = getattr(pl_module.task, "score", None)  # the task's score name (acc, r2, ...)
        keys = ["train/loss", "val/loss", *((f"train/{score}", f"val/{score}") if score else ())]
        for key in keys:
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
            # drawn from teardown, fit's last hook: a thread started earlier slowed what fit does
            self._to_draw = (getattr(pl_module.task, "score", None),)
            numbers = {"epochs": self.epochs, "epoch_steps": self.epoch_steps, "steps": self.steps}
            numbers |= {"step_metric": self.step_metric, "step_scores": self.step_scores}
            self.path.with_suffix(".json").write_text(json.dumps(strict(numbers)))

    def teardown(self, trainer, pl_module, stage: str) -> None:
        self._start_drawing()

    def _start_drawing(self) -> None:
        if self._to_draw is not None:
            (score,), self._to_draw = self._to_draw, None
            pool = ThreadPoolExecutor(1, thread_name_prefix="curves-plot")
            self._drawing = pool.submit(self.draw, score)
            pool.shutdown(wait=False)  # (its thread ends with the drawing)

    def wait_written(self) -> None:
        """Until plots/curves.png is written; the drawing's error, if it failed, raises here."""
        self._start_drawing()  # (when fit stopped between its end and its teardown)
        drawing, self._drawing = self._drawing, None
        if drawing is not None:
            drawing.result()

    def __getstate__(self) -> dict:  # a copy of the callback: a thread cannot be copied
        return {**self.__dict__, "_drawing": None}

    def draw(self, score: str | None) -> Path:  # (on_fit_end made the folder)
        self.figure(score).savefig(self.path)  # (no pyplot: a Figure of its own picks Agg)
        return self.path

    def figure(self, score: str | None):
        # fixed margins and legend places: tight_layout and legend search doubled a plot's cost
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        fig = Figure(figsize=(13, 3.6), dpi=100)
        fig.subplots_adjust(left=0.06, right=0.985, bottom=0.14, top=0.9, wspace=0.25)
        loss_ax, score_ax, lr_ax = fig.subplots(1, 3)
        per_step = bool(self.step_metric)
        if self.steps:
            steps, losses, rates = zip(*self.steps, strict=True)
            alpha, width = (1.0, 1.2) if per_step else (0.3, 0.8)
            style = {"color": "tab:blue", "alpha": alpha, "linewidth": width}
            loss_ax.plot(steps, losses, **style, label="train (step)")
            lr_ax.plot(steps, rates)
        if self.step_scores:
            steps, values = zip(*self.step_scores, strict=True)
            score_ax.plot(steps, values, color="tab:blue", label="train batch (step, eval mode)")
        for ax, split in itertools.product((loss_ax, score_ax), ("train", "val")):
            values = self.epochs.get(f"{split}/{'loss' if ax is loss_ax else score}", [])
            if per_step or not values or all(math.isnan(v) for v in values):
                continue
            x = self.epoch_steps[: len(values)] if ax is loss_ax else range(1, len(values) + 1)
            colour = "tab:blue" if split == "train" else "tab:orange"
            label = split + (" (epoch)" if ax is loss_ax else "")
            ax.plot(x, values, marker="o", markersize=3, color=colour, label=label)
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
