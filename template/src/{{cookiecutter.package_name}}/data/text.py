"""Text: one text per item, one class (``target_kind: class``) or a set of labels
(``target_kind: multilabel``, labels separated by ``label_delim``).

Every item is checked before training: an empty text, a missing label or bytes that are not
UTF-8 is reported with its line (CSV) or file and skipped (``on_bad: skip``, listed in the log
and counted in summary.json) or stops the run before it starts (``on_bad: fail``); a label column
with a single class stops it too. Never a crash mid-epoch.

Tokenization happens once, when the split is known (``tokenizer.py``: a tokenizer trained on the
training split, or a pretrained model's), and the token ids stay in memory. Batches are padded to
their own longest text (dynamic padding), and training batches hold texts of similar length
(fastai's sort-ish sampling: shuffled, then sorted by length within chunks of 50 batches), so
little compute goes to padding. The tokenizer travels in checkpoints (``state_dict``).

A concrete data set says where its texts come from (``records``). This file also holds the one
for your CSV / Parquet file (``TextCsvDataModule``); see ``text_reviews.py`` (embedded) and
``text_folder.py`` (one file per text, e.g. IMDB's folders).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, SequentialSampler

from . import augment as aug
from .base import DataModule, LoadedData, _MappedBatchSampler
from .split import valid_flags
from .tokenizer import encode, load_tokenizer, pretrained_tokenizer, train_tokenizer

log = logging.getLogger(__name__)
TARGET_KINDS = ("class", "multilabel")


class TextError(ValueError):
    """Text data the user has to fix (one readable line, exit status 2)."""

    user_error = True


@dataclass
class Record:
    """One text as read: ``where`` names it in messages ("line 7", a file); ``problem`` is set
    when it could not be read at all (bytes that are not UTF-8)."""

    where: str
    text: str | None
    label: str | None
    key: str | None = None
    is_valid: bool = False
    problem: str | None = None


def decode_utf8(data: bytes) -> tuple[str, bool]:
    """The text (undecodable bytes kept as surrogates, so line numbers stay right) and whether
    it was all valid UTF-8."""
    try:
        return data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff"), False


def has_bad_bytes(text: str | None) -> bool:
    return text is not None and any("\udc80" <= c <= "\udcff" for c in text)


class TokenBatches(Dataset):
    """Items are whole batches: ``dataset[indices]`` -> token ids cut to the batch's longest
    text (as int64), and the targets."""

    def __init__(self, ids: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor) -> None:
        self.ids, self.lengths, self.targets = ids, lengths, targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices)
        width = int(self.lengths[index].max())
        return self.ids[index, :width].long(), self.targets[index]


class SortishBatches(Sampler):
    """Shuffled batches of texts of similar length: a random order (the global torch RNG, seeded
    by the run), sorted by length within chunks of ``chunk`` batches, the batches shuffled."""

    def __init__(
        self, indices: list[int], lengths: torch.Tensor, batch_size: int, chunk: int = 50
    ) -> None:
        self.indices, self.lengths = torch.as_tensor(indices), lengths
        self.batch_size, self.chunk = batch_size, chunk * batch_size

    def __len__(self) -> int:
        return -(-len(self.indices) // self.batch_size)

    def __iter__(self):
        order = self.indices[torch.randperm(len(self.indices))]
        batches = []
        for start in range(0, len(order), self.chunk):
            part = order[start : start + self.chunk]
            part = part[torch.argsort(self.lengths[part], descending=True, stable=True)]
            batches += [
                part[i : i + self.batch_size].tolist() for i in range(0, len(part), self.batch_size)
            ]
        for b in torch.randperm(len(batches)).tolist():
            yield batches[b]


class TextDataModule(DataModule):
    """Subclasses implement ``records()``."""

    name = "text"
    image_inputs = False  # no image augmentation, batch plots or augmentation advice
    input_name = "text"
    geometric_ok = False
    input_axes: ClassVar[dict] = {0: "batch", 1: "length"}  # (exports take any text length)

    def __init__(
        self,
        target_kind: str = "class",
        label_delim: str = " ",
        tokenizer: str = "train",
        vocab_size: int = 8000,
        min_frequency: int = 2,
        max_length: int = 128,
        on_bad: str = "skip",
        **kwargs,
    ) -> None:
        if target_kind not in TARGET_KINDS:
            raise TextError(f"data.target_kind={target_kind}: use one of {TARGET_KINDS}")
        if on_bad not in ("skip", "fail"):
            raise TextError(f"data.on_bad={on_bad}: use skip or fail")
        if max_length < 2:
            raise TextError(f"data.max_length={max_length}: must be at least 2 tokens")
        kwargs.setdefault("stratify", "labels" if target_kind == "class" else "label_sets")
        kwargs["augment"] = None  # image augmentation means nothing for text
        super().__init__(**kwargs)
        self.target_kind = target_kind
        self.augment_policy = aug.policy(None)
        self.tokenizer_state: dict | None = None  # learnt on train, or from a checkpoint
        self.skipped_files: list[str] = []  # "line 7: empty text", for the log and the summary
        self.texts: list[str] = []

    @classmethod
    def settings_from_model(cls, settings: dict, model_config: dict) -> dict:
        """A pretrained model reads token ids of its own tokenizer: ``data.tokenizer`` follows
        the model unless it is set to a name already."""
        wanted = model_config.get("tokenizer")
        if wanted and settings.get("tokenizer", "train") == "train":
            return {"tokenizer": wanted}
        return {}

    # ---- what a concrete text data set provides ------------------------------------------------
    def records(self) -> list[Record]:
        raise NotImplementedError

    def source(self) -> str:
        return f"data={self.name}"

    # ---- reading and checking ------------------------------------------------------------------
    def load(self) -> LoadedData:
        good, bad = [], []
        for record in self.records():
            why = self._problem(record)
            (bad.append(f"{record.where}: {why}") if why else good.append(record))
        if bad and self.hparams.on_bad == "fail":
            raise TextError(
                f"{self.source()}: {len(bad)} bad item(s): {'; '.join(bad[:10])}"
                + (" ..." if len(bad) > 10 else "")
                + " (data.on_bad=skip skips them)"
            )
        if bad:
            log.warning(
                "%s: skipped %d bad item(s): %s%s",
                self.source(),
                len(bad),
                "; ".join(bad[:10]),
                " ..." if len(bad) > 10 else "",
            )
        self.skipped_files = bad
        if not good:
            raise TextError(f"{self.source()}: no usable text")
        targets, names = self._targets([r.label for r in good])
        self.texts = [r.text for r in good]
        keys = [r.key for r in good]
        val = [i for i, r in enumerate(good) if r.is_valid] or None
        # token ids are made once the split is known (``_prepare_inputs``): a tokenizer trained
        # on the training split only
        return LoadedData(
            torch.zeros(len(good), 0, dtype=torch.int32),
            targets,
            names,
            val,
            keys if all(k is not None for k in keys) else None,
        )

    def _problem(self, record: Record) -> str | None:
        if record.problem:
            return record.problem
        if has_bad_bytes(record.text) or has_bad_bytes(record.label):
            return "not valid UTF-8 (save the file as UTF-8)"
        if record.text is None or not record.text.strip():
            return "empty text"
        if record.label is None or not str(record.label).strip():
            return "missing label"
        return None

    def _targets(self, labels: list[str]) -> tuple[torch.Tensor, list[str]]:
        if self.target_kind == "class":
            labels = [label.strip() for label in labels]
            names = sorted(set(labels))
            if len(names) < 2:
                raise TextError(
                    f"{self.source()}: every text has the label {names[0]!r}: a "
                    "classifier needs at least two classes (is it the right column?)"
                )
            index = {name: i for i, name in enumerate(names)}
            return torch.tensor([index[label] for label in labels], dtype=torch.long), names
        delim = self.hparams.label_delim or None  # "" or null: any white space
        sets = [[part for part in label.split(delim) if part.strip()] for label in labels]
        names = sorted({part.strip() for parts in sets for part in parts})
        if len(names) < 2:
            raise TextError(
                f"{self.source()}: the labels hold only {names}: multi-label needs "
                "at least two labels"
            )
        index = {name: i for i, name in enumerate(names)}
        targets = torch.zeros(len(sets), len(names))
        for row, parts in enumerate(sets):
            targets[row, [index[p.strip()] for p in parts]] = 1.0
        return targets, names

    # ---- tokens: learnt on the training split, kept in the checkpoint ------------------------
    def _prepare_inputs(self, inputs: torch.Tensor) -> None:
        """(Called by ``setup`` once the split is known.) Get the tokenizer, unless a checkpoint
        brought it, and tokenize every text once."""
        if self.tokenizer_state is None:
            source = self.hparams.tokenizer
            if source == "train":
                train = [self.texts[i] for i in self._full_train]
                self.tokenizer_state = train_tokenizer(
                    train, self.hparams.vocab_size, self.hparams.min_frequency
                )
            else:
                self.tokenizer_state = pretrained_tokenizer(str(source))
        self.tokenizer = load_tokenizer(self.tokenizer_state, self.hparams.max_length)
        self._loaded.inputs, self.lengths = self.encode(self.texts)

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return encode(self.tokenizer, texts, self.tokenizer_state["pad_id"])

    def state_dict(self) -> dict:
        """Saved by Lightning in every checkpoint: eval/predict/resume use the same tokenizer."""
        return {**super().state_dict(), "tokenizer": self.tokenizer_state}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if (state or {}).get("tokenizer") is not None:
            self.tokenizer_state = state["tokenizer"]
            if self._loaded is not None:
                self._prepare_inputs(self._loaded.inputs)

    # ---- facts for the model, the summary and new texts --------------------------------------
    def input_info(self) -> dict:
        self.loaded  # noqa: B018 (the tokenizer comes with the split)
        return {
            "vocab_size": self.tokenizer.get_vocab_size(),
            "pad_id": self.tokenizer_state["pad_id"],
            "max_length": self.hparams.max_length,
        }

    def describe(self) -> dict:
        lengths = self.lengths.float()
        return {
            **super().describe(),
            "tokenizer": self.tokenizer_state["source"],
            "tokens_per_text": {"median": int(lengths.median()), "max": int(lengths.max())},
            "truncated": int((self.lengths >= self.hparams.max_length).sum()),
        }

    def describe_input(self, index: int) -> str:
        """The text itself (long ones cut at 500 characters), for review tables."""
        text = " ".join(self.texts[index].split())
        return text if len(text) <= 500 else text[:499] + "…"

    def read_input(self, path) -> torch.Tensor:
        """One text (a .txt file, or the bytes of an HTTP body) as token ids."""
        data = path.read() if hasattr(path, "read") else Path(path).expanduser().read_bytes()
        text, ok = decode_utf8(data)
        if not ok or not text.strip():
            raise TextError("not valid UTF-8" if not ok else "empty text")
        return self.encode([text])[0][0].long()

    def read_items(self, inputs) -> tuple[list[str], torch.Tensor, dict]:
        """New texts: a CSV/Parquet file (its ``text_column``, else ``text``), a folder of .txt
        files or one .txt file. Empty or undecodable texts are left out and listed."""
        path = Path(str(inputs)).expanduser()
        if path.is_dir():
            records = [Record(str(f), *_read_text_file(f)) for f in sorted(path.rglob("*.txt"))]
        elif path.suffix.lower() == ".txt":
            records = [Record(str(path), *_read_text_file(path))]
        elif path.is_file():
            column = getattr(self.hparams, "text_column", None) or "text"
            records = read_table(path, column, None, None)
            for record in records:  # (names in predictions.csv: "new.csv line 7")
                record.where = f"{path.name} {record.where}"
        else:
            raise FileNotFoundError(
                f"inputs={path} does not exist (a .csv/.parquet file with a "
                "text column, a .txt file or a folder of them)"
            )
        names, texts, left_out = [], [], []
        for record in records:
            record.label = "-"  # new texts have no label
            why = self._problem(record)
            (
                left_out.append(f"{record.where}: {why}")
                if why
                else (names.append(record.where), texts.append(record.text))
            )
        ids = self.encode(texts)[0].long() if texts else torch.zeros(0, 1, dtype=torch.long)
        return names, ids, {"left_out": left_out}

    def preprocessing(self) -> dict:
        """How a raw text becomes the model's input (the export's JSON)."""
        return {
            "kind": "text",
            "tokenizer_json": self.tokenizer_state["json"],
            "pad_id": self.tokenizer_state["pad_id"],
            "max_length": self.hparams.max_length,
            "input": "token ids (batch, length) int64; padded positions hold pad_id",
        }

    # ---- loaders: token batches, padded per batch, similar lengths together -----------------
    def _loader(
        self, indices, shuffle: bool = False, batch_sampler: bool = False, augment: bool = False
    ) -> DataLoader:
        data = TokenBatches(self.loaded.inputs, self.lengths, self.loaded.targets)
        if batch_sampler:  # fixed batches (overfit mode), kept as they are
            sampler = indices
        elif shuffle:
            sampler = SortishBatches(indices, self.lengths, self.batch_size)
        else:  # evaluation keeps the split's order (predictions line up with the items)
            sampler = _MappedBatchSampler(indices, SequentialSampler(indices), self.batch_size)
        return DataLoader(data, sampler=sampler, batch_size=None)


def _read_text_file(path: Path) -> tuple[str, None, None, bool, str | None]:
    """(text, label, key, is_valid, problem) of a .txt file that holds one text."""
    try:
        text, ok = decode_utf8(path.read_bytes())
    except OSError as error:
        return None, None, None, False, f"unreadable ({error.strerror or error})"
    return text, None, None, False, None if ok else "not valid UTF-8 (save the file as UTF-8)"


def read_table(
    path: Path, text_column: str, label_column: str | None, valid_column: str | None
) -> list[Record]:
    """The rows of a CSV (read with the csv module: "line N" is the line an editor shows) or a
    Parquet file ("row N"), as records."""
    wanted = [c for c in (text_column, label_column, valid_column) if c]
    if path.suffix.lower() in (".parquet", ".pq"):
        import pandas as pd

        frame = pd.read_parquet(path)
        _check_columns(list(map(str, frame.columns)), wanted, path)
        frame = frame.astype(object).where(frame.notna(), None)
        rows = frame.to_dict("records")
        return _with_flags(
            [
                Record(f"row {i + 1}", _cell(row.get(text_column)), _cell(row.get(label_column)))
                for i, row in enumerate(rows)
            ],
            [row.get(valid_column) for row in rows],
            valid_column,
            path,
        )
    text, _ = decode_utf8(path.read_bytes())
    if not text.strip():
        raise TextError(f"{path} is empty: a table needs a header line and rows")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    _check_columns(reader.fieldnames or [], wanted, path)
    records, cells, line = [], [], 1
    for row in reader:
        where = f"line {line + 1}"
        line = reader.line_num
        records.append(
            Record(where, row.get(text_column), row.get(label_column) if label_column else None)
        )
        cells.append(row.get(valid_column))
    return _with_flags(records, cells, valid_column, path)


def _with_flags(
    records: list[Record], cells: list, valid_column: str | None, path: Path
) -> list[Record]:
    """The records, each marked from its cell of ``valid_column`` (none: all training)."""
    if valid_column:
        flags = valid_flags(cells, valid_column, str(path), [r.where for r in records])
        for record, flag in zip(records, flags, strict=True):
            record.is_valid = flag
    return records


def _cell(value) -> str | None:
    return None if value is None else str(value)


def _check_columns(columns: list[str], wanted: list[str], path: Path) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise TextError(
            f"{path}: no column(s) {missing}; its columns are {columns} (set "
            "data.text_column / data.label_column / data.valid_column)"
        )


class TextCsvDataModule(TextDataModule):
    """Your texts: a CSV (UTF-8) or Parquet file with a text column and a label column, and
    optionally a validation flag column (``is_valid``: true/false, 1/0, yes/no)."""

    name = "text_csv"

    def __init__(
        self,
        path: str,
        text_column: str = "text",
        label_column: str = "label",
        valid_column: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.path = Path(str(path)).expanduser()

    def source(self) -> str:
        return f"data.path={self.path}"

    def val_source(self) -> str:
        return f"data.valid_column={self.hparams.valid_column}"

    def records(self) -> list[Record]:
        if not self.path.is_file():
            raise FileNotFoundError(
                f"data.path={self.path} does not exist (a .csv or .parquet "
                "file with a text and a label column)"
            )
        h = self.hparams
        return read_table(self.path, h.text_column, h.label_column, h.valid_column)
