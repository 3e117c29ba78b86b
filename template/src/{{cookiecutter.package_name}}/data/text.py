"""Text: one text per item, one class (``target_kind: class``) or a set of labels
(``target_kind: multilabel``, labels separated by ``label_delim``), from one of three sources:

* ``path``: your CSV (UTF-8) or Parquet file, with a text column, a label column and optionally a
  validation flag column (``is_valid``: true/false, 1/0, yes/no);
* ``root``: .txt files in one folder per label, IMDB's layout (``text_folder.py``);
* ``embedded: reviews``: short synthetic reviews, generated (``text_reviews.py``).

Every item is checked before training: an empty text, a missing label or bytes that are not
UTF-8 is reported with its line (CSV) or file and skipped (``on_bad: skip``, listed in the log
and counted in summary.json) or stops the run before it starts (``on_bad: fail``); a label column
with a single class stops it too. Never a crash mid-epoch.

The text input (``inputs/text.py``) tokenizes once, when the split is known, with a tokenizer
learnt on the training split (or a pretrained model's), kept in checkpoints; the token ids stay in
memory. Batches are padded to their own longest text (dynamic padding), and training batches hold
texts of similar length (fastai's sort-ish sampling: shuffled, then sorted by length within chunks
of 50 batches), so little compute goes to padding.
"""

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, SequentialSampler

from ..inputs.text import TextError, TextInput, decode_utf8, has_bad_bytes, text_problem
from .base import DataModule, LoadedData, _MappedBatchSampler
from .split import valid_flags

log = logging.getLogger(__name__)
TARGET_KINDS = ("class", "multilabel")
EMBEDDED = ("reviews",)


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
    others: dict | None = None  # a table row's cells of the columns not read (``read_table``)


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
    """Texts from ``path`` (a CSV/Parquet file: ``text_column``, ``label_column``,
    ``valid_column``), ``root`` (a folder: ``train_folder``, ``valid_folder``,
    ``ignore_folders``) or ``embedded`` (``reviews``: ``size``, ``corpus_seed``)."""

    default_input: ClassVar[dict] = {"_target_": f"{TextInput.__module__}.TextInput"}

    def __init__(
        self,
        path: str | None = None,
        root: str | None = None,
        embedded: str | None = None,
        text_column: str = "text",
        label_column: str = "label",
        valid_column: str | None = None,
        train_folder: str = "train",
        valid_folder: str | None = "test",
        ignore_folders: list[str] | None = None,
        size: int = 2000,
        corpus_seed: int = 0,
        target_kind: str = "class",
        label_delim: str = " ",
        on_bad: str = "skip",
        input: dict | None = None,
        **kwargs,
    ) -> None:
        if target_kind not in TARGET_KINDS:
            raise TextError(f"data.target_kind={target_kind}: use one of {TARGET_KINDS}")
        if on_bad not in ("skip", "fail"):
            raise TextError(f"data.on_bad={on_bad}: use skip or fail")
        given = [f"data.{k}={v}" for k, v in (("path", path), ("root", root)) if v is not None]
        if embedded is not None and embedded not in EMBEDDED:
            raise TextError(f"data.embedded={embedded}: the embedded texts are {EMBEDDED}")
        if len(given) + (embedded is not None) != 1:
            raise TextError(
                f"texts come from one of data.path (a CSV/Parquet file), data.root (a folder) "
                f"or data.embedded=reviews; got {', '.join(given) or 'none'}"
                + (f" and data.embedded={embedded}" if embedded and given else "")
            )
        kwargs.setdefault("stratify", "labels" if target_kind == "class" else "label_sets")
        kwargs["augment"] = None  # (texts are not augmented)
        # (new rows given to predict.py hold their text in the same column)
        super().__init__(
            input=input or {**self.default_input, "text_column": text_column}, **kwargs
        )
        self.name = embedded or ("text_csv" if path is not None else "text_folder")
        self.target_kind = target_kind
        self.skipped_files: list[str] = []  # "line 7: empty text", for the log and the summary
        self.texts: list[str] = []

    # ---- where the texts come from -------------------------------------------------------------
    def records(self) -> list[Record]:
        h = self.hparams
        if h.embedded:
            from .text_reviews import review_records

            return review_records(h.size, h.corpus_seed)
        if h.root is not None:
            from .text_folder import folder_records

            return folder_records(
                Path(str(h.root)).expanduser(),
                h.train_folder,
                h.valid_folder,
                h.ignore_folders,
                self.source(),
            )
        path = Path(str(h.path)).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"data.path={path} does not exist (a .csv or .parquet "
                "file with a text and a label column)"
            )
        return read_table(path, h.text_column, h.label_column, h.valid_column)

    def source(self) -> str:
        h = self.hparams
        if h.embedded:
            return f"data={self.name}"
        if h.root is not None:
            return f"data.root={Path(str(h.root)).expanduser()}"
        return f"data.path={Path(str(h.path)).expanduser()}"

    def val_source(self) -> str:
        h = self.hparams
        if h.root is not None:
            return f"the {h.valid_folder}/ folder next to {h.train_folder}/"
        return f"data.valid_column={h.valid_column}"

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
        if bad and not good:  # (one line with the reasons, not a warning then a vague error)
            shown = "; ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
            hint = " or check data.text_column / data.label_column" if self.hparams.path else ""
            raise TextError(
                f"{self.source()}: all {len(bad)} item(s) are bad, none left to train on: "
                f"{shown} (fix them{hint})"
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
        if has_bad_bytes(record.label):
            return "not valid UTF-8 (save the file as UTF-8)"
        if why := text_problem(record.text):
            return why
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

    # ---- tokens: the input's, learnt on the training split, kept in the checkpoint -----------
    def _prepare_inputs(self, inputs: torch.Tensor) -> None:
        """(Called by ``setup`` once the split is known.) The input gets its tokenizer from the
        full training split, unless a checkpoint brought it; every text is tokenized once."""
        self.input.fit([self.texts[i] for i in self._full_train])  # (kept if a checkpoint gave it)
        self._loaded.inputs, self.lengths = self.input.encode(self.texts)

    def state_dict(self) -> dict:
        """Saved by Lightning in every checkpoint: eval/predict/resume use the same tokenizer."""
        return {**super().state_dict(), "input": self.input.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if (state or {}).get("input"):
            self.input.load_state_dict(state["input"])
            if self._loaded is not None:
                self._prepare_inputs(self._loaded.inputs)

    # ---- facts for the summary -----------------------------------------------------------------
    def describe_input(self, index: int) -> str:
        return self.input.describe_item(self.texts[index])

    def describe(self) -> dict:
        lengths = self.lengths.float()
        return {
            **super().describe(),
            "tokens_per_text": {"median": int(lengths.median()), "max": int(lengths.max())},
            "truncated": int((self.lengths >= self.input.max_length).sum()),
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


def read_text_file(path: Path) -> tuple[str | None, str | None]:
    """(text, problem) of a .txt file that holds one text."""
    try:
        text, ok = decode_utf8(path.read_bytes())
    except OSError as error:
        return None, f"unreadable ({error.strerror or error})"
    return text, None if ok else "not valid UTF-8 (save the file as UTF-8)"


def read_table(
    path: Path,
    text_column: str,
    label_column: str | None,
    valid_column: str | None,
    others: bool = False,
) -> list[Record]:
    """The rows of a CSV (read with the csv module: "line N" is the line an editor shows) or a
    Parquet file ("row N"), as records. ``others``: each record also keeps its row's cells of
    the other columns (``Record.others``, as the file holds them: a CSV's text as written, so
    an ID keeps its leading zeros), which predict.py writes beside the predictions."""
    wanted = [c for c in (text_column, label_column, valid_column) if c]
    if path.suffix.lower() in (".parquet", ".pq"):
        import pandas as pd

        frame = pd.read_parquet(path)
        _check_columns(list(map(str, frame.columns)), wanted, path)
        if len(frame) == 0:
            raise TextError(
                f"{path} has no rows: a table needs columns and rows (add one row per text)"
            )
        frame = frame.astype(object).where(frame.notna(), None)
        rows = frame.to_dict("records")
        columns = [c for c in frame.columns if str(c) not in wanted] if others else []
        return _with_flags(
            [
                Record(
                    f"row {i + 1}",
                    _cell(row.get(text_column)),
                    _cell(row.get(label_column)),
                    others={str(c): row[c] for c in columns} if others else None,
                )
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
    columns = [c for c in reader.fieldnames or [] if c not in wanted] if others else []
    records, cells, line = [], [], 1
    for row in reader:
        where = f"line {line + 1}"
        line = reader.line_num
        records.append(
            Record(
                where,
                row.get(text_column),
                row.get(label_column) if label_column else None,
                others={c: row.get(c) for c in columns} if others else None,
            )
        )
        cells.append(row.get(valid_column))
    if not records:  # (blank lines after the header are no rows either)
        raise TextError(
            f"{path} has a header line but no rows: a table needs a header line and rows "
            "(add one row per text)"
        )
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
