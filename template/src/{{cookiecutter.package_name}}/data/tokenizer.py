"""Tokenizers for text, all as one object: a Hugging Face ``tokenizers.Tokenizer``.

* ``train``: a WordPiece tokenizer learnt on the training split's texts (lower-cased, split on
  white space and punctuation; frequent words whole, others spelt out) for the models trained
  from scratch;
* a pretrained model's name or folder: its own fast tokenizer (through ``AutoTokenizer``), with its
  special tokens ([CLS] ... [SEP]) added as the model was pretrained with.

Either is kept as its JSON text (``Tokenizer.to_str``) in the text input's state, so a checkpoint
brings its tokenizer along: eval, predict and resume never retrain nor download one. The
libraries are imported only here, only when a text data set is set up.
"""

from pathlib import Path

import torch

PAD, UNK = "[PAD]", "[UNK]"


class TokenizerError(ValueError):
    """A tokenizer that cannot be had (one readable line, exit status 2)."""

    user_error = True


def train_tokenizer(texts: list[str], vocab_size: int, min_frequency: int) -> dict:
    """A WordPiece tokenizer learnt on ``texts``, as state (JSON text and the padding id).

    The vocabulary is counted here rather than by the library's trainer, whose ids (and, on ties,
    merges) depend on hash order, so the same texts gave different token ids from run to run:
    the words seen at least ``min_frequency`` times, most frequent first (ties alphabetical), plus
    every character seen, so an unknown word is spelt out rather than lost."""
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    normalizer, splitter = (
        normalizers.BertNormalizer(lowercase=True),
        pre_tokenizers.BertPreTokenizer(),
    )
    words = Counter(
        word
        for text in texts
        for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text))
    )
    chars = sorted({c for word in words for c in word})
    pieces = [*chars, *(f"##{c}" for c in chars)]
    room = max(0, vocab_size - 2 - len(pieces))
    frequent = [
        w
        for w, n in sorted(words.items(), key=lambda wn: (-wn[1], wn[0]))
        if n >= min_frequency and len(w) > 1
    ][:room]
    vocab = {token: i for i, token in enumerate(dict.fromkeys([PAD, UNK, *frequent, *pieces]))}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token=UNK, max_input_chars_per_word=100))
    tokenizer.normalizer, tokenizer.pre_tokenizer = normalizer, splitter
    tokenizer.decoder = decoders.WordPiece()
    return {
        "json": tokenizer.to_str(),
        "pad_id": vocab[PAD],
        "source": "trained on the training split",
    }


def pretrained_tokenizer(name: str) -> dict:
    """The tokenizer of a pretrained model (a local folder or a name in the Hugging Face cache)."""
    from ..models.hf_text import check_available, import_transformers

    check_available(name)
    try:
        loaded = import_transformers().AutoTokenizer.from_pretrained(
            str(Path(name).expanduser()) if name.startswith("~") else name
        )
    except (OSError, ValueError) as error:
        raise TokenizerError(
            f"data.tokenizer={name}: no tokenizer could be loaded ({str(error).splitlines()[0]})"
        ) from None
    if not getattr(loaded, "is_fast", False):
        raise TokenizerError(
            f"data.tokenizer={name}: only fast tokenizers (a tokenizer.json) are supported"
        )
    pad = loaded.pad_token_id
    if pad is None:  # (GPT-style models have no padding token: padded positions are masked)
        pad = loaded.eos_token_id if loaded.eos_token_id is not None else 0
    return {"json": loaded.backend_tokenizer.to_str(), "pad_id": int(pad), "source": str(name)}


def load_tokenizer(state: dict, max_length: int):
    """The tokenizer of ``state``, truncating to ``max_length`` tokens (special ones included)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(state["json"])
    tokenizer.no_padding()  # batches are padded to their own longest text (``TokenBatches``)
    tokenizer.enable_truncation(max_length)
    return tokenizer


def encode(tokenizer, texts: list[str], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, lengths)``: every text's token ids, padded to the longest one, and its length.
    Kept as int32 (half the memory); batches become int64 when they are served."""
    rows = [encoding.ids for encoding in tokenizer.encode_batch(texts)]
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    width = int(lengths.max()) if len(rows) else 1
    ids = torch.full((len(rows), max(width, 1)), pad_id, dtype=torch.int32)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.int32)
    return ids, lengths.clamp_min(1)
