"""The task contract: what every kind of problem declares, and the steps they all share.

A *task* is what the targets are (one class, a set of labels, numbers, a mask per pixel, ratings);
how inputs are read (image tensors, image files, table rows, token ids) belongs to the data module.
The shared code (run, overfit check, fit verdict, summary, sweeps, LR finder, fine-tuning, eval,
interpretation, clean-data) reads only what this class declares; it never asks which task runs.

A task declares (class attributes, or methods to override):

* ``target_kind``: the kind of targets it needs (the data module's ``target_kind`` must match);
* ``head``: ``"pooled"`` (one output vector per item) or ``"dense"`` (one per pixel);
* ``score``: the one number that says how good the model is: higher is better, a perfect model
  scores 1 (accuracy, F1, R², mean IoU). Checkpoint monitoring, early stopping, the fit verdict,
  the sweep table and Optuna read ``<split>/<score>``; ``overfit_metric``/``overfit_target``: what
  the overfit check reads on the fixed batch and the value it must reach;
* ``stratify``: how the data split stratifies (``labels``, ``label_sets``, ``quantiles``, ``none``);
* ``describe_targets``: what it keeps of the training targets (names, scaling statistics);
* ``num_outputs``, ``loss``, ``item_losses``, ``decode``, ``metrics``, ``metric_inputs``;
* ``baseline``: the score of the trivial predictor (majority class, training mean, ...);
* ``chance_loss``: the loss of outputs that ignore the input (the overfit diagnosis);
* ``oracle_outputs``: the best outputs for a batch whose identical inputs carry different targets
  (the overfit check's attainable ceiling, ``best_attainable``);
* ``check_output``: a batch/output check worded in the task's own terms (the shape check);
* ``report_class``: its report (``tasks/reports/<task>.py``): the interpretation report, what
  makes an item suspicious (clean-data), a target and a prediction as people read them.

The base owns the training/validation/test steps, per-split logging, ``configure_optimizers``
(from the model's layer groups) and the checkpoint hook. Every constructor argument is a plain
value: checkpoints load with ``weights_only=True`` and rebuild the task without knowing it.
"""

from __future__ import annotations

from typing import ClassVar

import lightning as L
import torch
from torch import nn
from torchmetrics import Metric, MetricCollection

from ..models import create_model
from ..training.optim import (
    build_optimizer,
    build_scheduler,
    group_learning_rates,
    parameter_groups,
)
from .reports import Report

EVAL_SPLITS = ("train", "val", "test")


class TaskError(ValueError):
    """A task and its data or model do not fit together (one readable line, exit status 2)."""

    user_error = True


class Task(L.LightningModule):
    target_kind: ClassVar[str] = ""
    head: ClassVar[str] = "pooled"
    default_score: ClassVar[str] = ""
    default_overfit_metric: ClassVar[str] = ""
    default_overfit_target: ClassVar[float] = 1.0
    default_stratify: ClassVar[str] = "none"
    report_class: ClassVar[type[Report]] = Report

    def __init__(
        self,
        model: dict,
        targets: dict,
        inputs: dict,
        optimizer: dict,
        scheduler: dict,
        regularize: bool = True,
        score: str | None = None,
        overfit_metric: str | None = None,
        overfit_target: float | None = None,
        stratify: str | None = None,
        name: str | None = None,
        tolerances: dict | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.target_info = targets  # what describe_targets kept: names, statistics
        self.regularize = regularize
        self.score = score or self.default_score
        self.overfit_metric = overfit_metric or self.default_overfit_metric or self.score
        self.overfit_target = (
            self.default_overfit_target if overfit_target is None else overfit_target
        )
        # how the fit verdict reads this run (kept in the checkpoint: eval.py judges alike)
        self.tolerances = {"bias": 0.05, "variance": 0.05, **(tolerances or {})}
        self.model = create_model(
            num_outputs=self.num_outputs(), inputs=inputs, regularize=regularize, **model
        )
        self.lr = optimizer["lr"]  # the head's rate; an LR finder may change it (``set_lr``)
        self.lr_ratios: list[float] | None = None  # per layer group (see ``set_schedule``)
        self.schedule_steps: int | None = None
        if "shape" in inputs:  # per-layer shapes in Lightning's model summary
            self.example_input_array = torch.zeros(2, *inputs["shape"])
        names = set(self.metrics())
        for key, value in (("score", self.score), ("overfit_metric", self.overfit_metric)):
            if value not in names:
                raise TaskError(
                    f"task.{key}={value}: {type(self).__name__} measures {', '.join(sorted(names))}"
                )
        self.train_score = self.metrics()[self.score]
        self.val_metrics = MetricCollection(self.metrics(), prefix="val/")
        # every split measured in eval mode after training (``measure`` in training/run.py)
        # (keys are prefixed: a ModuleDict key may not shadow a method such as ``train``)
        self.eval_metrics = nn.ModuleDict(
            {
                f"split_{s}": MetricCollection(self.metrics(), prefix=f"{s}/final_")
                for s in EVAL_SPLITS
            }
        )
        self.eval_splits: tuple[str, ...] = ("test",)

    # ---- declarations: override in each task ---------------------------------------------------
    @classmethod
    def describe_targets(cls, train_targets: torch.Tensor, names: list[str]) -> dict:
        """Plain values the task keeps about its targets, from the (full) training split."""
        return {"names": list(names)}

    def num_outputs(self) -> int:
        return len(self.target_info["names"])

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The training loss (may include regularization such as label smoothing)."""
        return self.item_losses(outputs, targets).mean()

    def item_losses(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """One unregularized loss per item ``(N,)``: eval loss, top losses, clean-data."""
        raise NotImplementedError

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """Raw outputs -> predictions in the targets' own terms."""
        raise NotImplementedError

    def metrics(self) -> dict[str, Metric]:
        """Fresh torchmetrics, by name; must contain ``score`` and ``overfit_metric``."""
        raise NotImplementedError

    def metric_inputs(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What the metrics are updated with (e.g. values back in original units)."""
        return outputs, targets

    def baseline(self, train_targets: torch.Tensor, val_targets: torch.Tensor) -> float:
        """The score on ``val_targets`` of the trivial predictor fitted on ``train_targets``."""
        raise NotImplementedError

    def chance_loss(self) -> float | None:
        """The loss of outputs that ignore the input (None: no single level)."""
        return None

    def oracle_outputs(
        self, groups: torch.Tensor, targets: torch.Tensor, name: str
    ) -> torch.Tensor | None:
        """The outputs of the best possible model on a batch where items with the same number in
        ``groups`` have identical inputs (so any model gives them one output): per group, the
        output that scores best on the group's targets by metric ``name``. None: the task
        cannot tell."""
        return None

    @torch.no_grad()
    def best_attainable(self, groups: torch.Tensor, targets: torch.Tensor, name: str) -> float:
        """The highest metric ``name`` any model can reach on these targets, given which items
        share their input (``groups``): below 1 when identical inputs have different targets."""
        outputs = self.oracle_outputs(groups, targets, name)
        if outputs is None:
            return 1.0
        metric = self.metrics()[name]
        metric.update(*self.metric_inputs(outputs, targets))
        return float(metric.compute())

    def check_output(self, inputs, targets: torch.Tensor, output: torch.Tensor) -> None:
        """Raise ``ShapeError`` with a message in the task's terms when the batch or the output
        does not fit (called by the shape check on one real batch)."""
        from ..training.shape_check import ShapeError, describe_shapes

        expected = (len(targets), self.num_outputs())
        if tuple(output.shape) != expected:
            raise ShapeError(
                f"the model's output has shape {describe_shapes(output)}, expected "
                f"{expected} (batch, outputs): the head must give one output per "
                f"target ({self.num_outputs()} here)"
            )

    def report(self, module=None) -> Report:
        """How this task reads its predictions (``report_class``, in ``tasks/reports/``);
        ``module``: what runs the model, for reports that read the model itself."""
        return self.report_class(self, module)

    def export_info(self) -> dict:
        """What a consumer of an exported model needs to read its raw outputs (plain values)."""
        import inspect

        cls = type(self)
        return {
            "task": f"{cls.__module__}.{cls.__qualname__}",
            "name": self.hparams.get("name"),
            "head": self.head,
            "num_outputs": self.num_outputs(),
            "target_names": list(self.target_info.get("names", [])),
            "targets": self.target_info,
            "decode": inspect.getdoc(cls.decode),
        }

    # ---- what fine-tuning, the LR finder, the speed switches and ``measure`` change -------------
    def set_lr(self, lr: float) -> None:
        """The base learning rate (the head's; every layer group's derives from it): the LR
        finder's suggestion, applied before training."""
        self.lr = float(lr)

    def set_eval_splits(self, splits) -> None:
        """The splits ``trainer.test`` measures, one dataloader each, in this order."""
        self.eval_splits = tuple(splits)

    def use_channels_last(self, enabled: bool) -> None:
        """Image batches in channels_last memory layout, as the weights (training/speed.py)."""
        self.channels_last = bool(enabled)

    def set_schedule(self, lr_ratios: list[float] | None, steps: int | None) -> None:
        """One LR multiplier per layer group and the optimizer steps the schedule spans; a
        fine-tune stage calls this, then has ``configure_optimizers`` run again."""
        self.lr_ratios = None if lr_ratios is None else list(lr_ratios)
        self.schedule_steps = steps

    # ---- the shared steps ------------------------------------------------------------------------
    channels_last = False  # (``use_channels_last``)

    def forward(self, x) -> torch.Tensor:
        if self.channels_last and isinstance(x, torch.Tensor) and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)

    # Each ``self.log`` costs Lightning about a millisecond (a sizeable part of a small model's
    # step), so the steps log only what will be read: the loss on the steps the loggers write
    # (``trainer.log_every_n_steps``), and each metric object once per epoch (Lightning computes
    # and resets a logged metric at the epoch's end; ``update`` accumulates every batch).
    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        outputs = self(x)
        loss = self.loss(outputs, y)
        self.train_score.update(*self.metric_inputs(outputs.detach(), y))
        if _writes_logs(self._trainer):  # (plots/curves.png reads every step's loss itself)
            self.log("train/loss", loss, prog_bar=True, batch_size=len(y))
        if self.train_score.update_count == 1:  # the epoch's first batch (also after a resume)
            self.log(
                f"train/{self.score}",
                self.train_score,
                on_step=False,
                on_epoch=True,
                batch_size=len(y),
            )
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        outputs = self(x)
        self.val_metrics.update(*self.metric_inputs(outputs, y))
        self.log(
            "val/loss",
            self.item_losses(outputs, y).mean(),
            prog_bar=True,
            batch_size=len(y),
            sync_dist=True,
        )  # averaged over DDP ranks
        if batch_idx == 0:
            self.log_dict(self.val_metrics, batch_size=len(y))

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        """One dataloader per name in ``self.eval_splits``; logs ``<split>/final_<metric>``."""
        split = self.eval_splits[dataloader_idx]
        x, y = batch
        outputs = self(x)
        metrics = self.eval_metrics[f"split_{split}"]
        metrics.update(*self.metric_inputs(outputs, y))
        self.log(
            f"{split}/final_loss",
            self.item_losses(outputs, y).mean(),
            batch_size=len(y),
            add_dataloader_idx=False,
            sync_dist=True,
        )
        if batch_idx == 0:  # (batch_idx counts from 0 in each split's loader)
            self.log_dict(metrics, batch_size=len(y), add_dataloader_idx=False)

    @torch.no_grad()
    def evaluate_batches(self, batches, name: str) -> float:
        """Metric ``name`` over ``batches`` in eval mode (dropout off, BatchNorm statistics);
        the overfit check calls this after every step, so the metric is built once."""
        probes = self.__dict__.setdefault("_probes", {})  # (not a submodule: not checkpointed)
        if name not in probes:
            probes[name] = self.metrics()[name]
        metric = probes[name].to(self.device)
        metric.reset()
        was_training = self.training
        self.eval()
        try:
            for x, y in batches:
                x = x.to(self.device) if isinstance(x, torch.Tensor) else x
                metric.update(*self.metric_inputs(self(x), y.to(self.device)))
            return float(metric.compute())
        finally:
            self.train(was_training)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # the task and the data split travel with the weights: eval/predict rebuild both
        cls = type(self)
        checkpoint["task"] = {"_target_": f"{cls.__module__}.{cls.__qualname__}"}
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        if datamodule is not None and hasattr(datamodule, "config"):
            checkpoint["datamodule"] = datamodule.config()
        # the checkpoint holds every weight: rebuilding it must need neither the start-from file
        # nor a download of pretrained weights; a model may add what it needs to be rebuilt
        # without its files (a Hugging Face model's configuration)
        model = checkpoint.get("hyper_parameters", {}).get("model")
        rebuild = getattr(self.model, "rebuild_options", {})
        if isinstance(model, dict) and (model.get("weights") or model.get("pretrained") or rebuild):
            start = {k: v for k, v in (("weights", None), ("pretrained", False)) if k in model}
            checkpoint["hyper_parameters"] = {
                **checkpoint["hyper_parameters"],
                "model": {**model, **start, **rebuild},
            }

    def configure_optimizers(self):
        """Runs again at each fine-tune stage: fresh groups (frozen ones left out), fresh cycle."""
        groups = self.model.layer_groups()
        lrs = group_learning_rates(self.lr, self.lr_ratios, len(groups))
        decay = self.hparams.optimizer.get("weight_decay", 0.0) if self.regularize else 0.0
        optimizer = build_optimizer(self.hparams.optimizer, parameter_groups(groups, lrs, decay))
        steps = self.schedule_steps or int(self.trainer.estimated_stepping_batches)
        scheduler = build_scheduler(self.hparams.scheduler, optimizer, steps)
        return (
            optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}
        )


def majority_per_group(
    groups: torch.Tensor, targets: torch.Tensor, classes: int, ignore_index: int | None = None
) -> torch.Tensor:
    """Each item's most frequent class among the items of its group (per position for masks;
    ``ignore_index`` votes for nothing), as one-hot logits with the class axis second."""
    valid = targets != ignore_index if ignore_index is not None else torch.ones_like(targets).bool()
    votes = nn.functional.one_hot(torch.where(valid, targets, 0), classes) * valid[..., None]
    counts = votes.new_zeros((int(groups.max()) + 1, *votes.shape[1:]))
    counts.index_add_(0, groups, votes)
    best = nn.functional.one_hot(counts.argmax(dim=-1), classes)[groups].float()
    return best.movedim(-1, 1) * 20.0 - 10.0  # confident logits: the metrics read the argmax


def _writes_logs(trainer) -> bool:
    """Whether Lightning hands this training step's logged values to the loggers and the
    progress bar (every ``log_every_n_steps`` steps; always without a trainer)."""
    connector = getattr(trainer, "_logger_connector", None)
    return connector is None or connector.should_update_logs or bool(trainer.fast_dev_run)
