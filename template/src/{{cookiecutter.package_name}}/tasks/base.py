"""The task contract: what every kind of problem declares.

A *task* is what the targets are (one class, a set of labels, numbers, a mask per pixel, ratings);
how inputs are read (image tensors, image files, table rows, token ids) belongs to the data module.
The shared code (run, overfit check, fit verdict, summary, sweeps, LR finder, fine-tuning, eval,
interpretation, clean-data) reads only what this class declares; it never asks which task runs.
The one training module (``training/module.py``) composes a task with a model and runs the
steps, the logging, the optimizers and the checkpoint for every task.

A task declares (class attributes, or methods to override):

* ``target_kind``: the kind of targets it needs (the data module's ``target_kind`` must match);
* ``head``: ``"pooled"`` (one output vector per item) or ``"dense"`` (one per pixel);
* ``score``: the one number that says how good the model is: higher is better, a perfect model
  scores 1 (accuracy, F1, R², mean IoU). Checkpoint monitoring, early stopping, the fit verdict,
  the sweep table and Optuna read ``<split>/<score>``; ``overfit_metric``/``overfit_target``: what
  the overfit check reads on the fixed batch and the value it must reach;
* ``stratify``: how the data split stratifies (``labels``, ``label_sets``, ``quantiles``, ``none``);
* ``describe_targets``: what it keeps of the training targets (names, scaling statistics);
* ``num_outputs``, ``activate``, ``loss``, ``penalty``, ``item_losses``, ``decode``, ``metrics``,
  ``metric_inputs``;
* ``baseline``: the score of the trivial predictor (majority class, training mean, ...);
* ``chance_loss``: the loss of outputs that ignore the input (the overfit diagnosis);
* ``oracle_outputs``: the best outputs for a batch whose identical inputs carry different targets
  (the overfit check's attainable ceiling, ``best_attainable``);
* ``check_output``: a batch/output check worded in the task's own terms (the shape check);
* ``report_class``: its report (``tasks/reports/<task>.py``): the interpretation report, what
  makes an item suspicious (clean-data), a target and a prediction as people read them;
* ``validate_options``: its own options checked before anything is built (``task.<option>``).

Every constructor argument is a plain value (the checkpoint keeps them, ``task`` in its
hyper-parameters); a task's own options are keyword arguments of its constructor.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torchmetrics import Metric

from .reports import Report


class TaskError(ValueError):
    """A task and its data or model do not fit together (one readable line, exit status 2)."""

    user_error = True


class Task(nn.Module):
    """(A module only so that what it keeps as tensors, such as target statistics, follows the
    model's device; it has no weights.)"""

    target_kind: ClassVar[str] = ""
    head: ClassVar[str] = "pooled"
    default_score: ClassVar[str] = ""
    default_overfit_metric: ClassVar[str] = ""
    default_overfit_target: ClassVar[float] = 1.0
    default_stratify: ClassVar[str] = "none"
    report_class: ClassVar[type[Report]] = Report

    def __init__(
        self,
        targets: dict,
        regularize: bool = True,
        score: str | None = None,
        overfit_metric: str | None = None,
        overfit_target: float | None = None,
        stratify: str | None = None,
        name: str | None = None,
        tolerances: dict | None = None,
    ) -> None:
        super().__init__()
        self.target_info = targets  # what describe_targets kept: names, statistics
        self.regularize = regularize
        self.name = name
        self.score = score or self.default_score
        self.overfit_metric = overfit_metric or self.default_overfit_metric or self.score
        self.overfit_target = (
            self.default_overfit_target if overfit_target is None else overfit_target
        )
        # how the fit verdict reads this run (kept in the checkpoint: eval.py judges alike)
        self.tolerances = {"bias": 0.05, "variance": 0.05, **(tolerances or {})}
        names = set(self.metrics())
        for key, value in (("score", self.score), ("overfit_metric", self.overfit_metric)):
            if value not in names:
                raise TaskError(
                    f"task.{key}={value}: {type(self).__name__} measures {', '.join(sorted(names))}"
                )

    @classmethod
    def validate_options(cls, options: dict) -> list[str]:
        """Problems with the task's own options (``task.<key>`` as configured), each a phrase
        naming the key and what it accepts; checked with the rest of the run's settings."""
        return []

    # ---- declarations: override in each task ---------------------------------------------------
    @classmethod
    def describe_targets(cls, train_targets: torch.Tensor, names: list[str]) -> dict:
        """Plain values the task keeps about its targets, from the (full) training split."""
        return {"names": list(names)}

    def num_outputs(self) -> int:
        return len(self.target_info["names"])

    def activate(self, raw: torch.Tensor) -> torch.Tensor:
        """The model's raw output -> the outputs the loss, ``decode`` and the metrics read (e.g.
        squashed into a range); as it is by default."""
        return raw

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The training loss (may include regularization such as label smoothing)."""
        return self.item_losses(outputs, targets).mean()

    def penalty(self, model: nn.Module) -> torch.Tensor | float:
        """A regularization term on the model's weights added to the training loss (0: none)."""
        return 0.0

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
        n = self.num_outputs()
        check_output_width(output, targets, n, "outputs", "output per target", f"{n} here")

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
            "name": self.name,
            "head": self.head,
            "num_outputs": self.num_outputs(),
            "target_names": list(self.target_info.get("names", [])),
            "targets": self.target_info,
            "decode": inspect.getdoc(cls.decode),  # how, in words; a task adds its numbers
            **self.decode_parameters(),
        }

    def decode_parameters(self) -> dict:
        """The numbers ``decode`` uses (a threshold, a scale), for a consumer of the export."""
        return {}


def check_output_width(
    output: torch.Tensor, targets: torch.Tensor, n: int, axis: str, each: str, detail: str
) -> None:
    """``ShapeError`` unless ``output`` is ``(batch, n)``: one ``each`` (e.g. "logit per class")
    for each of the ``n`` ``axis`` entries; ``detail`` says where ``n`` comes from."""
    from ..training.shape_check import ShapeError, describe_shapes

    if tuple(output.shape) != (len(targets), n):
        raise ShapeError(
            f"the model's output has shape {describe_shapes(output)}, expected "
            f"({len(targets)}, {n}) (batch, {axis}): the head must give one {each} ({detail})"
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
