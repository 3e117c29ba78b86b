"""Your own images with a set of labels each, in fastai's format: a folder of images and a CSV
with a file column and a labels column (labels separated by ``label_delim``, a space by default)::

    fname,labels,is_valid
    001.jpg,cat outdoor,False
    002.jpg,dog,True

An optional ``is_valid`` column (true/false, 1/0, yes/no) fixes the validation split; test is then
split, seeded, from the other rows. An empty labels cell is an item with none of the labels (an
all-zero target). Every row is checked before training: a file that is missing or unreadable, or
a row too short to have a labels cell, is reported with its line number in the CSV and skipped
(``on_bad: skip``) or stops the run before it starts (``on_bad: fail``), never mid-epoch.
Images are read, resized and normalized as ``image_folder`` does (``inputs.image.ImageFileInput``).
"""

import csv
import logging
from pathlib import Path

import torch

from ..training.validate import ConfigError
from .base import FileItems, LoadedData, first_problems
from .image_folder import ImageFolderDataModule
from .split import valid_flag

log = logging.getLogger(__name__)


class ImageCsvDataModule(ImageFolderDataModule):
    name = "image_csv"
    target_kind = "multilabel"

    def __init__(
        self,
        root: str,
        csv: str | None = None,
        file_column: str = "fname",
        label_column: str = "labels",
        label_delim: str = " ",
        valid_column: str | None = "is_valid",
        on_bad: str = "skip",
        **kwargs,
    ) -> None:
        if on_bad not in ("skip", "fail"):
            raise ConfigError(f"data.on_bad={on_bad}: use skip or fail")
        super().__init__(root=root, **kwargs)
        self.csv_path = Path(csv).expanduser() if csv else self.root / "labels.csv"
        self.skipped_files: list[str] = []  # "line N: why", for the summary and the log

    def load(self) -> LoadedData:
        h = self.hparams
        if not self.csv_path.is_file():
            raise FileNotFoundError(
                f"data.csv={self.csv_path} does not exist. Expected a CSV with a '{h.file_column}' "
                f"and a '{h.label_column}' column (e.g. 001.jpg,cat outdoor), file names "
                f"relative to data.root={self.root}"
            )
        with self.csv_path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            columns = reader.fieldnames or []
            missing = [c for c in (h.file_column, h.label_column) if c not in columns]
            if missing:
                raise ConfigError(
                    f"{self.csv_path} has no column {', '.join(missing)} (columns: "
                    f"{', '.join(columns)}): set data.file_column / "
                    "data.label_column"
                )
            rows = list(enumerate(reader, start=2))  # line numbers as a spreadsheet shows them
        valid_column = h.valid_column if h.valid_column in columns else None

        kept, problems = [], []
        for line, row in rows:
            why = self._problem(row, valid_column)
            if why:
                problems.append(f"line {line}: {why}")
            else:
                kept.append(row)
        if problems and h.on_bad == "fail":
            raise ConfigError(
                f"{self.csv_path}: {len(problems)} bad rows (data.on_bad=fail; skip them with "
                f"data.on_bad=skip): {first_problems(problems)}"
            )
        if problems:
            log.warning(
                "%s: skipped %d bad rows:\n  %s",
                self.csv_path,
                len(problems),
                "\n  ".join(problems),
            )
        self.skipped_files = problems
        if not kept:
            raise ConfigError(
                f"{self.csv_path}: no usable rows ({len(rows)} rows, {len(problems)} bad)"
            )

        label_sets = [self._labels(row) for row in kept]
        names = sorted({label for labels in label_sets for label in labels})
        column = {name: c for c, name in enumerate(names)}
        targets = torch.zeros(len(kept), len(names))
        for i, labels in enumerate(label_sets):
            targets[i, [column[label] for label in labels]] = 1.0
        self.paths = [str(self.root / row[h.file_column].strip()) for row in kept]
        val = None
        if valid_column:
            val = [i for i, row in enumerate(kept) if valid_flag(row[valid_column])]
        return LoadedData(
            FileItems(self.paths, targets, self.input.load_item),
            targets,
            names,
            val_indices=val,
            item_keys=[row[h.file_column].strip() for row in kept],
        )

    def val_source(self) -> str:
        return f"data.valid_column={self.hparams.valid_column}"

    def _labels(self, row: dict) -> list[str]:
        text = row.get(self.hparams.label_column) or ""
        delim = self.hparams.label_delim or None  # "" or null: any whitespace
        return sorted({label.strip() for label in text.split(delim) if label.strip()})

    def _problem(self, row: dict, valid_column: str | None) -> str | None:
        """Why a row cannot be used (None: it can)."""
        from PIL import Image, UnidentifiedImageError

        name = (row.get(self.hparams.file_column) or "").strip()
        if not name:
            return "no file name"
        if row.get(self.hparams.label_column) is None:  # an empty cell is "" (no labels)
            return f"{name}: no {self.hparams.label_column} cell (the row is short)"
        if valid_column and valid_flag(row.get(valid_column)) is None:
            return f"{name}: {valid_column}='{row[valid_column]}' is not true/false"
        path = self.root / name
        if not path.is_file():
            return f"{name}: file not found under {self.root}"
        try:
            with Image.open(path):  # reads the header only: cheap, catches non-images
                pass
        except (UnidentifiedImageError, OSError) as error:
            return f"{name}: not a readable image ({type(error).__name__})"
        return None
