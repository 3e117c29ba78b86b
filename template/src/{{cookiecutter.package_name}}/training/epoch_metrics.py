"""Metrics measured over an epoch at the cost of one update: a torchmetrics update costs about as
much on 64 items as on a thousand (0.1-0.5 ms on the CPU), a sizeable share of a small model's step.
"""

import contextlib

import torch
from torchmetrics import Metric


class EpochMetric(Metric):
    """One update when read or past ``max_elements``: every task metric sums counts or keeps all."""

    full_state_update = False

    def __init__(self, metric: Metric, max_elements: int = 1 << 22) -> None:
        super().__init__()
        self.metric = metric
        self.max_elements = max_elements  # kept inputs (16 MB of float32) before updating
        self._kept: list[tuple[torch.Tensor, ...]] = []
        self._elements = 0

    def update(self, *inputs: torch.Tensor) -> None:
        self._kept.append(inputs)
        self._elements += sum(t.numel() for t in inputs)
        if self._elements >= self.max_elements:
            self._update_with_kept()

    def compute(self):
        self._update_with_kept()
        return self.metric.compute()

    def reset(self) -> None:
        super().reset()
        self._kept, self._elements = [], 0
        self.metric.reset()

    def _update_with_kept(self) -> None:
        if not self._kept:
            return
        kept, self._kept, self._elements = self._kept, [], 0
        # batches of different shapes (beyond the batch dimension): one update each
        with contextlib.suppress(RuntimeError):
            kept = [[torch.cat(parts) for parts in zip(*kept, strict=True)]]
        for inputs in kept:
            self.metric.update(*inputs)


class MeanValue(Metric):
    """Unlike torchmetrics' ``MeanMetric`` it keeps NaN (a diverged loss must show)."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, values: torch.Tensor) -> None:
        self.total += values.detach().float().sum()
        self.count += values.numel()

    def compute(self) -> torch.Tensor:
        return self.total / self.count


def per_epoch(metrics: dict[str, Metric]) -> dict[str, EpochMetric]:
    """Each metric updated once per epoch (in a ``MetricCollection``: ``compute_groups=False``)."""
    return {name: EpochMetric(metric) for name, metric in metrics.items()}
