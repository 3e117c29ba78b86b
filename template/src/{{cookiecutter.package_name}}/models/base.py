"""The interface every model answers, ladder or zoo: backbone -> head, and its layer groups."""

from __future__ import annotations

import torch
from torch import nn

from ..inputs.base import InputFacts


class Network(nn.Module):
    """``head(backbone(adapter(x)))``. ``groups``: the backbone's parameter groups from input to
    output (the head comes last), what freezing and discriminative learning rates work on."""

    def __init__(
        self,
        backbone: nn.Module,
        head: nn.Module,
        groups: list[nn.Module] | None = None,
        adapter: nn.Module | None = None,
        data_config: dict | None = None,
    ) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head
        self._groups = groups if groups is not None else [backbone]
        # parameter-free input adaptation (e.g. resize to the size the backbone was pretrained at),
        # and that size / normalization as plain values
        self.adapter = adapter if adapter is not None else nn.Identity()
        self.data_config = data_config or {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(self.adapter(x)))

    def layer_groups(self) -> list[nn.Module]:
        """Modules from input to output, head last; groups without parameters are left out."""
        return [g for g in [*self._groups, self.head] if any(True for _ in g.parameters())]

    def parameter_counts(self) -> dict[str, int]:
        params = list(self.parameters())
        return {
            "total": sum(p.numel() for p in params),
            "trainable": sum(p.numel() for p in params if p.requires_grad),
        }


def fixed_shape(facts: InputFacts, model: str, dims: int | None = None) -> tuple[int, ...]:
    """One item's tensor shape, for a model that needs it fixed (flattening), with ``dims`` axes
    (3 for 2-D convolutions: channels, height, width)."""
    if facts.shape is None or (dims is not None and len(facts.shape) != dims):
        from .registry import ModelInputError

        needed = "one fixed shape" if dims is None else f"{dims} axes (channels, height, width)"
        given = "of varying size" if facts.shape is None else f"of shape {list(facts.shape)}"
        raise ModelInputError(
            f"model '{model}' needs inputs of {needed}; the data gives {facts.kind} inputs "
            f"{given}: pick a model made for this data"
        )
    return tuple(facts.shape)


def linear_head(
    in_features: int, num_outputs: int, dropout: float = 0.0, hidden: int = 0, bn: bool = False
) -> nn.Sequential:
    """Dropout -> Linear; with ``hidden``: fastai's head without the pooling (Dropout -> Linear ->
    BN -> ReLU -> Dropout -> Linear); ``bn``: a BatchNorm first, as fastai does for pretrained
    bodies. (Zoo models choose the pooling: timm's ``pool=catavgmax`` is fastai's concat pool.)"""
    first = [nn.BatchNorm1d(in_features)] if bn else []
    if hidden <= 0:
        return nn.Sequential(*first, nn.Dropout(dropout), nn.Linear(in_features, num_outputs))
    return nn.Sequential(
        *first,
        nn.Dropout(dropout / 2),
        nn.Linear(in_features, hidden, bias=False),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_outputs),
    )
