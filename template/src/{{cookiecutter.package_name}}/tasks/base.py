"""The task contract: what the targets are. ``score``: the one number (higher is better, 1 when
perfect) read as ``<split>/<score>``. Constructor arguments are plain values, checkpointed."""

from typing import ClassVar

import torch
from torch import nn
from torchmetrics import Metric

from .reports.base import Report


class TaskError(ValueError):
    """A task and its data or model do not fit together (one readable line, exit status 2)."""

    user_error = True


class Task(nn.Module):
    """(A module only so that its tensors, such as target statistics, follow the model's device.)"""

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
        default_target = self.default_overfit_target
        self.overfit_target = default_target if overfit_target is None else overfit_target
        # how the fit verdict reads this run (kept in the checkpoint: eval.py judges alike)
        self.tolerances = {"bias": 0.05, "variance": 0.05, **(tolerances or {})}
        names = set(self.metrics())
        for key, value in (("score", self.score), ("overfit_metric", self.overfit_metric)):
            if value not in names:
                measured = ", ".join(sorted(names))
                raise TaskError(f"task.{key}={value}: {type(self).__name__} measures {measured}")

    @classmethod
    def validate_options(cls, options: dict) -> list[str]:  # problems, each naming its task.<key>
        return []

    # ---- declarations: override in each task ---------------------------------------------------
    @classmethod
    def describe_targets(cls, train_targets, names: list[str]) -> dict:  # on the full train split
        return {"names": list(names)}

    def num_outputs(self) -> int:
        return len(self.target_info["names"])

    def activate(self, raw: torch.Tensor) -> torch.Tensor:  # e.g. squashed into a range
        return raw

    def loss(self, outputs, targets) -> torch.Tensor:  # may regularize (label smoothing)
        return self.item_losses(outputs, targets).mean()

    def penalty(self, model: nn.Module) -> torch.Tensor | float:  # added to the training loss
        return 0.0

    def item_losses(self, outputs, targets) -> torch.Tensor:  # (N,) unregularized: eval, top losses
        raise NotImplementedError

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """Raw outputs -> predictions in the targets' own terms."""
        raise NotImplementedError

    def metrics(self) -> dict[str, Metric]:  # fresh, by name, with score and overfit_metric
        raise NotImplementedError

    def metric_inputs(self, outputs, targets) -> tuple:  # e.g. values back in original units
        return outputs, targets

    def baseline(self, train_targets, val_targets) -> float:  # a trivial predictor's val score
        raise NotImplementedError

    def chance_loss(self) -> float | None:  # of outputs that ignore the input (None: no level)
        return None

    def oracle_outputs(self, groups, targets, name: str) -> torch.Tensor | None:
        """Per group of identical inputs, the output scoring best by ``name`` (None: can't tell)."""
        return None

    @torch.no_grad()
    def best_attainable(self, groups: torch.Tensor, targets: torch.Tensor, name: str) -> float:
        """The highest metric ``name`` any model reaches when items of one group share an input."""
        outputs = self.oracle_outputs(groups, targets, name)
        if outputs is None:
            return 1.0
        metric = self.metrics()[name]
        metric.update(*self.metric_inputs(outputs, targets))
        return float(metric.compute())

    def check_output(self, inputs, targets, output) -> None:  # ShapeError in the task's terms
        n = self.num_outputs()
        check_output_width(output, targets, n, "outputs", "output per target", f"{n} here")

    def report(self, module=None) -> Report:  # module: for reports that read the model itself
        return self.report_class(self, module)
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def export_info(self) -> dict:
        """What a consumer of an exported model needs to read its raw outputs."""
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
{%- endif %}


def check_output_width(output, targets, n: int, axis: str, each: str, detail: str) -> None:
    from ..training.shape_check import ShapeError, describe_shapes

    if tuple(output.shape) != (len(targets), n):
        raise ShapeError(
            f"the model's output has shape {describe_shapes(output)}, expected "
            f"({len(targets)}, {n}) (batch, {axis}): the head must give one {each} ({detail})"
        )


def majority_per_group(groups, targets, classes: int, ignore_index: int | None = None):
    """Each item's group's most frequent class (per position for masks), as confident logits."""
    valid = targets != ignore_index if ignore_index is not None else torch.ones_like(targets).bool()
    votes = nn.functional.one_hot(torch.where(valid, targets, 0), classes) * valid[..., None]
    counts = votes.new_zeros((int(groups.max()) + 1, *votes.shape[1:]))
    counts.index_add_(0, groups, votes)
    best = nn.functional.one_hot(counts.argmax(dim=-1), classes)[groups].float()
    return best.movedim(-1, 1) * 20.0 - 10.0  # confident logits: the metrics read the argmax
