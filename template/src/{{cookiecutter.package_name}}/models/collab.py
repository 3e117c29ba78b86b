"""Collaborative-filtering models over ``(user index, item index)`` pairs (index 0: unknown).

They read ``n_users`` and ``n_items`` from the data's ``PairFacts``; the task squashes
their output into the rating range (``y_range``), so the models stay free of rating units.

* ``dot_bias``: a user vector . an item vector + a user bias + an item bias (the classic
  matrix-factorization model). Backbone: the embeddings, giving the element-wise products of the
  two vectors and the two biases; head: one linear layer that sums them (its weights start at 1:
  a plain dot product plus biases; its own bias is the global offset).
* ``collab_nn``: both vectors concatenated, then an MLP: can learn interactions a dot product
  cannot, needs more data to beat ``dot_bias``.

Both answer ``item_factors()`` (item vectors, for similarity and the PCA plot) and
``item_biases()`` (learned per-item bias, or None): the task's interpretation reads them.
"""

import torch
from torch import nn

from ..inputs.pair import PairFacts
from .base import Network, linear_head
from .registry import register_model


def embedding(count: int, size: int, std: float = 0.01) -> nn.Embedding:
    layer = nn.Embedding(count, size)
    nn.init.normal_(layer.weight, std=std)  # small start: the first steps learn the biases
    return layer


class PairEmbeddings(nn.Module):
    """``(N, 2)`` index pairs -> user and item vectors (and biases when ``biases``)."""

    def __init__(self, n_users: int, n_items: int, n_factors: int, biases: bool) -> None:
        super().__init__()
        self.users, self.items = embedding(n_users, n_factors), embedding(n_items, n_factors)
        self.user_bias = embedding(n_users, 1) if biases else None
        self.item_bias = embedding(n_items, 1) if biases else None

    def lookup(self, x: torch.Tensor):
        x = x.long()
        return self.users(x[:, 0]), self.items(x[:, 1]), x


class DotBiasBody(PairEmbeddings):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, i, x = self.lookup(x)
        return torch.cat([u * i, self.user_bias(x[:, 0]) + self.item_bias(x[:, 1])], dim=1)


class ConcatBody(PairEmbeddings):
    def __init__(self, *args, hidden: list[int], dropout: float) -> None:
        super().__init__(*args, biases=False)
        blocks, features = [], 2 * self.users.embedding_dim
        for width in hidden:
            blocks.append(
                nn.Sequential(
                    nn.Linear(features, width, bias=False),
                    nn.BatchNorm1d(width),
                    nn.ReLU(inplace=True),
                    nn.Dropout(dropout),
                )
            )
            features = width
        self.mlp = nn.Sequential(*blocks)
        self.out_features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, i, _ = self.lookup(x)
        return self.mlp(torch.cat([u, i], dim=1))


class CollabNetwork(Network):
    def squared_norm(self) -> torch.Tensor:
        """The sum of the squares of every user and item vector and bias (the embeddings): the
        task's L2 penalty (a Gaussian prior on each row, whatever its number of ratings)."""
        return sum(
            m.weight.pow(2).sum() for m in self.backbone.modules() if isinstance(m, nn.Embedding)
        )

    def item_factors(self) -> torch.Tensor:
        return self.backbone.items.weight.detach()

    def item_biases(self) -> torch.Tensor | None:
        bias = self.backbone.item_bias
        return None if bias is None else bias.weight.detach()[:, 0]


class DotSum(nn.Module):
    """The sum of the features (the dot product's terms and the two biases) + a global offset:
    no weight that could scale the factors back up while weight decay shrinks them."""

    def __init__(self, num_outputs: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=1, keepdim=True) + self.bias


@register_model("dot_bias")
def dot_bias(num_outputs: int, facts: PairFacts, n_factors: int = 50) -> Network:
    """User . item vectors + user and item biases (fastai's ``EmbeddingDotBias`` idea)."""
    body = DotBiasBody(facts.n_users, facts.n_items, n_factors, biases=True)
    return CollabNetwork(body, DotSum(num_outputs), [body])


@register_model("collab_nn")
def collab_nn(
    num_outputs: int,
    facts: PairFacts,
    n_factors: int = 50,
    hidden: list[int] | None = None,
    dropout: float = 0.1,
) -> Network:
    """Concatenated user and item vectors -> MLP (fastai's ``EmbeddingNN`` idea)."""
    body = ConcatBody(
        facts.n_users, facts.n_items, n_factors, hidden=list(hidden or [100]), dropout=dropout
    )
    return CollabNetwork(body, linear_head(body.out_features, num_outputs, dropout), [body])
