"""The interface every model answers, ladder or zoo: backbone -> head, and its layer groups."""

import torch
from torch import nn

from ..inputs.base import InputFacts


class Network(nn.Module):
    """``groups``: the backbone's from input to output, what freezing and discriminative rates
    work on; ``adapter``: parameter-free (a resize), ``data_config``: pretrained size and stats."""

    def __init__(self, backbone, head, groups=None, adapter=None, data_config=None) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head
        self._groups = groups if groups is not None else [backbone]
        self.adapter = adapter if adapter is not None else nn.Identity()
        self.data_config = data_config or {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(self.adapter(x)))

    def layer_groups(self) -> list[nn.Module]:  # head last; groups without parameters left out
        return [g for g in [*self._groups, self.head] if any(True for _ in g.parameters())]

    def parameter_counts(self) -> dict[str, int]:
        params = list(self.parameters())
        trainable = sum(p.numel() for p in params if p.requires_grad)
        return {"total": sum(p.numel() for p in params), "trainable": trainable}


def fixed_shape(facts: InputFacts, model: str, dims: int | None = None) -> tuple[int, ...]:
    """One item's shape, for a model that needs it fixed, with ``dims`` axes (3: C, H, W)."""
    if facts.shape is None or (dims is not None and len(facts.shape) != dims):
        from .registry import ModelInputError

        needed = "one fixed shape" if dims is None else f"{dims} axes (channels, height, width)"
        given = "of varying size" if facts.shape is None else f"of shape {list(facts.shape)}"
        raise ModelInputError(
            f"model '{model}' needs inputs of {needed}; the data gives {facts.kind} inputs "
            f"{given}: pick a model made for this data"
        )
    return tuple(facts.shape)


def linear_head(in_features: int, num_outputs: int, dropout=0.0, hidden=0, bn=False):
    """Dropout -> Linear; with ``hidden``: fastai's head without the pooling; ``bn``: a BatchNorm
    first, as fastai does for pretrained bodies (timm's ``pool=catavgmax`` is its concat pool)."""
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
