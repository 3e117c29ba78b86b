"""The one LightningModule: a task (loss, metrics, ...) composed with a model. Settings arrive
through the constructor (plain dicts, kept in the checkpoint) or a ``set_...``/``use_...`` call."""

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from torch import nn
from torchmetrics import MetricCollection

from ..models import create_model, facts_from_config
from ..tasks.base import TaskError
from .checkpoints import FORMAT_VERSION
from .epoch_metrics import EpochMetric, MeanValue, per_epoch
from .optim import build_optimizer, build_scheduler, parameter_groups

EVAL_SPLITS = ("train", "val", "test")


class TaskModule(L.LightningModule):
    def __init__(self, task, model, inputs, optimizer, scheduler, regularize=True) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)  # (run.py logs the whole config, once)
        try:
            self.task = instantiate(task, _convert_="all", _recursive_=False, regularize=regularize)
        except InstantiationException as error:  # a bad option: its one line
            if isinstance(error.__cause__, TaskError):
                raise error.__cause__ from None
            raise
        self.regularize = regularize
        facts = facts_from_config(inputs)
        self.model = create_model(model, self.task.num_outputs(), facts, regularize)
        self.lr = optimizer["lr"]  # the head's rate; every layer group's derives from it
{%- if "transfer" in cookiecutter.__features.split(",") %}
        self.lr_ratios: list[float] | None = None  # per layer group (see ``set_schedule``)
        self.schedule_steps: int | None = None
{%- endif %}
        self.channels_last = False
        if "shape" in inputs:  # per-layer shapes in Lightning's model summary
            self.example_input_array = torch.zeros(2, *inputs["shape"])
        # each updated once per epoch, logged once per epoch (training/epoch_metrics.py)
        self.train_score = EpochMetric(self.task.metrics()[self.task.score])
        self.val_metrics = self._epoch_metrics("val/")
        self.val_loss = MeanValue()
        # every split measured after training; prefixed: a ModuleDict key may not shadow ``train``
        metrics = {f"split_{s}": self._epoch_metrics(f"{s}/final_") for s in EVAL_SPLITS}
        self.eval_metrics = nn.ModuleDict(metrics)
        self.eval_losses = nn.ModuleDict({f"split_{s}": MeanValue() for s in EVAL_SPLITS})
        self.eval_splits: tuple[str, ...] = ("test",)

    @classmethod
    def for_task(
        cls, task: type, model, targets, inputs, optimizer, scheduler, regularize=True, **options
    ) -> "TaskModule":
        config = {"_target_": f"{task.__module__}.{task.__qualname__}", "targets": targets}
        return cls({**config, **options}, model, inputs, optimizer, scheduler, regularize)

    def _epoch_metrics(self, prefix: str) -> MetricCollection:
        # no compute groups: the wrappers hold no state by which to group them
        return MetricCollection(per_epoch(self.task.metrics()), prefix=prefix, compute_groups=False)

    # ---- what fine-tuning, the LR finder, the speed switches and ``measure`` change -------------
    def set_eval_splits(self, splits) -> None:  # what ``trainer.test`` measures, a loader each
        self.eval_splits = tuple(splits)

    def use_channels_last(self, enabled: bool) -> None:
        self.channels_last = bool(enabled)
{%- if "lr_find" in cookiecutter.__features.split(",") or "transfer" in cookiecutter.__features.split(",") %}

    def set_lr(self, lr: float) -> None:  # the head's; every layer group's derives from it
        self.lr = float(lr)
{%- endif %}
{%- if "transfer" in cookiecutter.__features.split(",") %}

    def set_schedule(self, lr_ratios: list[float] | None, steps: int | None) -> None:
        """One LR multiplier per layer group and the optimizer steps the schedule spans."""
        self.lr_ratios = None if lr_ratios is None else list(lr_ratios)
        self.schedule_steps = steps
{%- endif %}

    def report(self):
        return self.task.report(self)
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def export_info(self) -> dict:
        return self.task.export_info()
{%- endif %}

    def forward(self, x) -> torch.Tensor:
        if self.channels_last and isinstance(x, torch.Tensor) and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.task.activate(self.model(x))

    # Each ``self.log`` costs about a millisecond (a sizeable part of a small model's step): log
    # the loss only on steps the loggers write, each metric object once per epoch.
    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        outputs = self(x)
        loss = self.task.loss(outputs, y) + self.task.penalty(self.model)
        self.train_score.update(*self.task.metric_inputs(outputs.detach(), y))
        # whether Lightning passes this step's values on (plots/curves.png reads every step's loss)
        logs = getattr(self._trainer, "_logger_connector", None)
        if logs is None or logs.should_update_logs or bool(self._trainer.fast_dev_run):
            self.log("train/loss", loss, prog_bar=True, batch_size=len(y))
        if self.train_score.update_count == 1:  # the epoch's first batch (also after a resume)
            name = f"train/{self.task.score}"
            self.log(name, self.train_score, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        outputs = self(x)
        self.val_metrics.update(*self.task.metric_inputs(outputs, y))
        self.val_loss.update(self.task.item_losses(outputs, y))  # (its mean over DDP ranks)
        if batch_idx == 0:
            self.log("val/loss", self.val_loss, prog_bar=True, batch_size=len(y))
            self.log_dict(self.val_metrics, batch_size=len(y))

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        split = self.eval_splits[dataloader_idx]
        x, y = batch
        outputs = self(x)
        metrics, loss = self.eval_metrics[f"split_{split}"], self.eval_losses[f"split_{split}"]
        metrics.update(*self.task.metric_inputs(outputs, y))
        loss.update(self.task.item_losses(outputs, y))
        if batch_idx == 0:  # (batch_idx counts from 0 in each split's loader)
            self.log(f"{split}/final_loss", loss, batch_size=len(y), add_dataloader_idx=False)
            self.log_dict(metrics, batch_size=len(y), add_dataloader_idx=False)

    @torch.no_grad()
    def evaluate_batches(self, batches, name: str) -> float:
        """Metric ``name`` over ``batches`` in eval mode (built once: called after every step)."""
        probes = self.__dict__.setdefault("_probes", {})  # (not a submodule: not checkpointed)
        if name not in probes:
            probes[name] = self.task.metrics()[name]
        metric = probes[name].to(self.device)
        metric.reset()
        was_training = self.training
        self.eval()
        try:
            for x, y in batches:
                x = x.to(self.device) if isinstance(x, torch.Tensor) else x
                metric.update(*self.task.metric_inputs(self(x), y.to(self.device)))
            return float(metric.compute())
        finally:
            self.train(was_training)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # the format (checkpoints.py reads older ones) and the data split: eval/predict rebuild both
        checkpoint["format_version"] = FORMAT_VERSION
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        if datamodule is not None and hasattr(datamodule, "config"):
            checkpoint["datamodule"] = datamodule.config()
{%- if "transfer" in cookiecutter.__features.split(",") or "segmentation" in cookiecutter.__tasks.split(",") or "text" in cookiecutter.__tasks.split(",") %}
        # the checkpoint holds every weight: rebuilding it must need neither the start-from file
        # nor a download; a model may add what it needs to be rebuilt (a Hugging Face config)
        model = checkpoint.get("hyper_parameters", {}).get("model")
        rebuild = getattr(self.model, "rebuild_options", {})
        if isinstance(model, dict) and (model.get("weights") or model.get("pretrained") or rebuild):
            start = {k: v for k, v in (("weights", None), ("pretrained", False)) if k in model}
            hparams = checkpoint["hyper_parameters"]
            checkpoint["hyper_parameters"] = {**hparams, "model": {**model, **start, **rebuild}}
{%- endif %}

    def configure_optimizers(self):  # again at each fine-tune stage: fresh groups, fresh cycle
        groups = self.model.layer_groups()
{%- if "transfer" in cookiecutter.__features.split(",") %}
        # ratios, not rates, are stored: an LR finder that changes ``lr`` keeps the spread
        ratios = list(self.lr_ratios) if self.lr_ratios else [1.0] * len(groups)
        if len(ratios) != len(groups):
            raise ValueError(f"{len(ratios)} learning-rate ratios for {len(groups)} layer groups")
        lrs = [self.lr * r for r in ratios]
        steps = self.schedule_steps or int(self.trainer.estimated_stepping_batches)
{%- else %}
        lrs = [float(self.lr)] * len(groups)
        steps = int(self.trainer.estimated_stepping_batches)
{%- endif %}
        decay = self.hparams.optimizer.get("weight_decay", 0.0) if self.regularize else 0.0
        optimizer = build_optimizer(self.hparams.optimizer, parameter_groups(groups, lrs, decay))
        scheduler = build_scheduler(self.hparams.scheduler, optimizer, steps)
        return {"optimizer": optimizer, "lr_scheduler": scheduler} if scheduler else optimizer
