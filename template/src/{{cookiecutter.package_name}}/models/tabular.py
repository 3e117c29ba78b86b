"""Models for tables: embeddings for the categorical columns next to the continuous ones.

The input is one float tensor per batch: the category indices first (one column per entry of
``cardinalities``, index 0 = unknown/missing), then the continuous columns. Without
``TableFacts`` (e.g. images) every input value is continuous, so these build on any input of a fixed
shape.
"""

import math

import torch
from torch import nn

from ..inputs.base import InputFacts
from ..inputs.table import TableFacts
from .base import Network, fixed_shape
from .registry import register_model


def embedding_size(categories: int) -> int:
    """fastai's rule of thumb: grows slowly with the number of categories, at most 600."""
    return min(600, round(1.6 * categories**0.56))


class TableInputs(nn.Module):
    """Category indices -> embeddings, concatenated with the continuous columns."""

    def __init__(
        self,
        cardinalities: list[int],
        n_cont: int,
        embed_dropout: float = 0.0,
        bn_cont: bool = True,
    ) -> None:
        super().__init__()
        self.n_cat = len(cardinalities)
        self.embeddings = nn.ModuleList(nn.Embedding(c, embedding_size(c)) for c in cardinalities)
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.bn_cont = nn.BatchNorm1d(n_cont) if bn_cont and n_cont else nn.Identity()
        self.out_features = sum(e.embedding_dim for e in self.embeddings) + n_cont

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        cats, conts = x[:, : self.n_cat].long(), x[:, self.n_cat :]
        parts = [e(cats[:, i]) for i, e in enumerate(self.embeddings)]
        embedded = [self.embed_dropout(torch.cat(parts, dim=1))] if parts else []
        return torch.cat([*embedded, self.bn_cont(conts)], dim=1)


def _inputs(facts: InputFacts, model: str, **options) -> TableInputs:
    """Embedded columns for table rows; any other fixed-shape input is all continuous."""
    cardinalities = list(facts.cardinalities) if isinstance(facts, TableFacts) else []
    n_cont = math.prod(fixed_shape(facts, model)) - len(cardinalities)
    return TableInputs(cardinalities, n_cont, **options)


@register_model("tabular_mlp")
def tabular_mlp(
    num_outputs: int,
    facts: InputFacts,
    layers: list[int] = (200, 100),
    dropout: float = 0.1,
    embed_dropout: float = 0.0,
) -> Network:
    """Embeddings + continuous columns -> (Linear -> ReLU -> BatchNorm -> Dropout) per layer."""
    table = _inputs(facts, "tabular_mlp", embed_dropout=embed_dropout)
    blocks, features = [], table.out_features
    for width in layers:
        blocks.append(
            nn.Sequential(
                nn.Linear(features, width, bias=False),
                nn.ReLU(inplace=True),
                nn.BatchNorm1d(width),
                nn.Dropout(dropout),
            )
        )
        features = width
    groups = [g for g in (table, *blocks) if any(True for _ in g.parameters())]
    return Network(nn.Sequential(table, *blocks), nn.Linear(features, num_outputs), groups)


@register_model("tabular_linear")
def tabular_linear(
    num_outputs: int,
    facts: InputFacts,
    dropout: float = 0.0,
) -> Network:
    """Linear (regression) or logistic (classes) on the embeddings and continuous columns: an
    embedding followed by a linear layer is still linear in the one-hot category."""
    table = _inputs(facts, "tabular_linear", bn_cont=False)
    head = nn.Sequential(nn.Dropout(dropout), nn.Linear(table.out_features, num_outputs))
    groups = [table] if any(True for _ in table.parameters()) else []
    return Network(table, head, groups)
