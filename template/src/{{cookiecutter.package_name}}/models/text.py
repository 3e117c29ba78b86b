"""Text models trained from scratch, on token ids ``(batch, length)`` padded with ``pad_id``.

The ladder's first two rungs (the third, any pretrained Hugging Face model, is ``hf_text.py``):

* ``text_bow``: bag of words: the mean of the texts' token embeddings, then a linear layer; a
  linear model of the normalized word counts (no order, no interaction between words): fast, and
  the baseline the others must beat;
* ``text_transformer``: token + position embeddings, a small transformer encoder, the mean of the
  encoded tokens (padding left out), then the head. Layer groups: embeddings -> each encoder
  layer -> head, for freezing, discriminative learning rates and gradual unfreezing.
"""

import torch
from torch import nn

from ..inputs.text import TextFacts
from .base import Network, linear_head
from .registry import register_model


class BagOfWords(nn.Module):
    def __init__(self, vocab_size: int, dim: int, pad_id: int) -> None:
        super().__init__()
        # padding_idx: padded positions are left out of the mean (and their embedding unused)
        self.bag = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=pad_id)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.bag(ids)


@register_model("text_bow")
def text_bow(num_outputs: int, facts: TextFacts, dim: int = 64, dropout: float = 0.0) -> Network:
    """Mean of the token embeddings -> Linear: linear in the bag of words."""
    body = BagOfWords(facts.vocab_size, dim, facts.pad_id)
    return Network(body, linear_head(dim, num_outputs, dropout), [body])


class TokenEmbedding(nn.Module):
    def __init__(
        self, vocab_size: int, dim: int, max_length: int, pad_id: int, dropout: float
    ) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.positions = nn.Embedding(max_length, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.dropout(self.tokens(ids) + self.positions(positions))


class TextEncoder(nn.Module):
    """Embeddings -> encoder layers -> masked mean over the tokens: one vector per text."""

    def __init__(self, embedding: TokenEmbedding, layers: nn.ModuleList, pad_id: int) -> None:
        super().__init__()
        self.embedding, self.layers, self.pad_id = embedding, layers, pad_id

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        padding = ids == self.pad_id
        x = self.embedding(ids)
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=padding)
        keep = (~padding).unsqueeze(-1).to(x.dtype)
        return (x * keep).sum(1) / keep.sum(1).clamp_min(1.0)


@register_model("text_transformer")
def text_transformer(
    num_outputs: int,
    facts: TextFacts,
    dim: int = 64,
    layers: int = 2,
    heads: int = 4,
    ff_dim: int = 128,
    dropout: float = 0.1,
) -> Network:
    """A small pre-norm transformer encoder trained from scratch."""
    embedding = TokenEmbedding(facts.vocab_size, dim, facts.max_length, facts.pad_id, dropout)
    blocks = nn.ModuleList(
        nn.TransformerEncoderLayer(dim, heads, ff_dim, dropout, batch_first=True, norm_first=True)
        for _ in range(layers)
    )
    encoder = TextEncoder(embedding, blocks, facts.pad_id)
    head = nn.Sequential(nn.LayerNorm(dim), linear_head(dim, num_outputs))  # (pre-norm layers
    return Network(encoder, head, [embedding, *blocks])  # need a final norm)
