"""Texts: token ids from a tokenizer learnt on the training split (or a pretrained model's).

``fit`` gets the tokenizer (``data/tokenizer.py``: a WordPiece tokenizer trained on the training
texts, or a pretrained model's own), kept as its JSON text in ``state_dict`` (the checkpoint), so
eval, predict and resume never retrain nor download one. ``encode`` turns texts into token ids
padded to the longest one (the source serves batches padded to their own longest text). Texts
longer than ``max_length`` tokens are cut. The tokenizer libraries are imported only when a text
input is fitted or restored.
"""

{% if "deploy" in cookiecutter.__features.split(",") -%}
import json
{% endif -%}
from dataclasses import dataclass
{% if "deploy" in cookiecutter.__features.split(",") -%}
from pathlib import Path
from typing import ClassVar
{% endif %}
import torch

from .base import Input, InputFacts{{ ", JsonRows" if "deploy" in cookiecutter.__features.split(",") }}


@dataclass(frozen=True)
class TextFacts(InputFacts):
    """Token-id sequences of varying length (``shape`` None), padded with ``pad_id``."""

    vocab_size: int = 0
    pad_id: int = 0
    max_length: int = 0


class TextError(ValueError):
    """Text data the user has to fix (one readable line, exit status 2)."""

    user_error = True
{%- if "deploy" in cookiecutter.__features.split(",") %}


def check_json_fields(rows: list[dict], text_column: str) -> None:
    """Every row serve.py received names the text field (else a 422 that says so)."""
    without = [i + 1 for i, row in enumerate(rows) if text_column not in row]
    if without:
        sent = sorted({str(key) for row in rows for key in row})
        example = json.dumps({text_column: "<the text>"})
        raise TextError(
            f"row(s) {without[:5]} have no {text_column!r} field (sent: {sent}): send "
            f"{example} per row"
        )
{%- endif %}


def decode_utf8(data: bytes) -> tuple[str, bool]:
    """The text (undecodable bytes kept as surrogates, so line numbers stay right) and whether
    it was all valid UTF-8."""
    try:
        return data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff"), False


def has_bad_bytes(text: str | None) -> bool:
    return text is not None and any("\udc80" <= c <= "\udcff" for c in text)


def text_problem(text: str | None) -> str | None:
    """Why a text cannot be used (None: it can)."""
    if has_bad_bytes(text):
        return "not valid UTF-8 (save the file as UTF-8)"
    if text is None or not text.strip():
        return "empty text"
    return None


class TextInput(Input):
    """``tokenizer``: ``train`` (learnt on the training texts: ``vocab_size``, ``min_frequency``)
    or a pretrained model's name or folder; ``text_column``: the column new rows (a CSV given to
    predict.py) hold their text in."""

    kind = "text"
    item_name = "text"
{%- if "deploy" in cookiecutter.__features.split(",") %}
    dynamic_axes: ClassVar[dict[int, str]] = {0: "batch", 1: "length"}  # (any text length)
{%- endif %}

    def __init__(
        self,
        tokenizer: str = "train",
        vocab_size: int = 8000,
        min_frequency: int = 2,
        max_length: int = 128,
        text_column: str = "text",
    ) -> None:
        if max_length < 2:
            raise TextError(f"data.input.max_length={max_length}: must be at least 2 tokens")
        self.tokenizer_name, self.vocab_size = tokenizer, vocab_size
        self.min_frequency = min_frequency
        self.max_length, self.text_column = max_length, text_column
        self.state: dict | None = None  # the tokenizer as plain values: learnt, or a checkpoint's
        self.tokenizer = None

    @property
    def fitted(self) -> bool:
        return self.state is not None

    # ---- the tokenizer: learnt on the training texts, kept in the checkpoint -------------------
    @classmethod
    def settings_from_model(cls, options: dict, model_config: dict) -> dict:
        """A pretrained model reads token ids of its own tokenizer: ``tokenizer`` follows the
        model unless it names one already."""
        wanted = model_config.get("tokenizer")
        if wanted and options.get("tokenizer", "train") == "train":
            return {"tokenizer": wanted}
        return {}

    def fit(self, train_inputs: list[str]) -> None:
        """The tokenizer (what a checkpoint gave back is kept)."""
        from ..data.tokenizer import pretrained_tokenizer, train_tokenizer

        if self.fitted:
            return
        if self.tokenizer_name == "train":
            state = train_tokenizer(train_inputs, self.vocab_size, self.min_frequency)
        else:
            state = pretrained_tokenizer(str(self.tokenizer_name))
        self.load_state_dict(state)

    def state_dict(self) -> dict:
        return dict(self.state or {})

    def load_state_dict(self, state: dict) -> None:
        from ..data.tokenizer import load_tokenizer

        if state:  # (nothing stored: nothing to restore)
            self.state = dict(state)
            self.tokenizer = load_tokenizer(self.state, self.max_length)

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids, lengths)``: token ids padded to the longest text (int32), and each length."""
        from ..data.tokenizer import encode

        return encode(self.tokenizer, texts, self.state["pad_id"])

    # ---- facts for the model and the summary --------------------------------------------------
    def facts(self) -> TextFacts:
        return TextFacts(
            kind=self.kind,
            vocab_size=self.tokenizer.get_vocab_size(),
            pad_id=self.state["pad_id"],
            max_length=self.max_length,
        )

    def describe(self) -> dict:
        return {"tokenizer": self.state["source"]}
{%- if "deploy" in cookiecutter.__features.split(",") %}

    # ---- new texts: predict.py, serve.py, export ----------------------------------------------
    def read_file(self, source) -> torch.Tensor:
        """One text (a .txt file, or the bytes of an HTTP body) as token ids."""
        data = source.read() if hasattr(source, "read") else Path(source).expanduser().read_bytes()
        text, ok = decode_utf8(data)
        if not ok or not text.strip():
            raise TextError("not valid UTF-8" if not ok else "empty text")
        return self.encode([text])[0][0].long()

    def read_items(self, source, column: str | None = None) -> tuple[list[str], torch.Tensor, dict]:
        """New texts: a CSV/Parquet file (its ``column``, else ``text_column``), a folder of .txt
        files or one .txt file. Empty or undecodable texts are left out and listed. From a table,
        the notes also hold, per text kept, its row's position in the file (``rows``, from 0)
        and its cells of the other columns (``columns``), which predict.py writes beside the
        predictions."""
        from ..data.text import read_table, read_text_file

        path = Path(str(source)).expanduser()
        cells: dict[str, list] | None = None  # a table's other columns
        if path.is_dir():
            texts = [(str(f), *read_text_file(f)) for f in sorted(path.rglob("*.txt"))]
        elif path.suffix.lower() == ".txt":
            texts = [(str(path), *read_text_file(path))]
        elif path.is_file():  # (names in predictions.csv: "new.csv line 7"; serve.py's: "row 2")
            text_column = column or self.text_column
            sent = source.rows if isinstance(source, JsonRows) else None
            if sent is not None:  # rows sent as JSON: told as sent, not as the file they fill
                check_json_fields(sent, text_column)
            records = read_table(path, text_column, None, None, others=True)
            texts = [
                (f"row {i + 1}" if sent is not None else f"{path.name} {r.where}", r.text, None)
                for i, r in enumerate(records)
            ]
            columns = records[0].others if records else {}  # (every row has the same)
            cells = {c: [r.others[c] for r in records] for c in columns}
        else:
            raise FileNotFoundError(
                f"inputs={path} does not exist (a .csv/.parquet file with a "
                "text column, a .txt file or a folder of them)"
            )
        names, kept, left_out, positions = [], [], [], []
        for position, (where, text, problem) in enumerate(texts):
            why = problem or text_problem(text)
            if why:
                left_out.append(f"{where}: {why}")
            else:
                names.append(where)
                kept.append(text)
                positions.append(position)
        ids = self.encode(kept)[0].long() if kept else torch.zeros(0, 1, dtype=torch.long)
        notes = {"left_out": left_out}
        if cells is not None:  # (a table: a text's position is its row's)
            notes["rows"] = positions
            notes["columns"] = {c: [values[i] for i in positions] for c, values in cells.items()}
        return names, ids, notes
{%- endif %}

    def describe_item(self, raw: str) -> str:
        """The text itself (long ones cut at 500 characters), for review tables."""
        text = " ".join(raw.split())
        return text if len(text) <= 500 else text[:499] + "…"

{%- if "deploy" in cookiecutter.__features.split(",") %}

    def preprocessing(self) -> dict:
        return {
            "kind": self.kind,
            "tokenizer_json": self.state["json"],
            "pad_id": self.state["pad_id"],
            "max_length": self.max_length,
            "input": "token ids (batch, length) int64; padded positions hold pad_id",
        }
{%- endif %}
