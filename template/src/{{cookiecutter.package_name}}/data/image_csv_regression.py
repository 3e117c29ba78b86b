"""Your own images with numbers to predict: a folder of images and a CSV naming them.

``data.csv`` has a column with each image's file name (``file_column``, relative to ``data.root``)
and one or more numeric target columns (``y_names``; null: every other column)::

    file,angle,height
    img/001.png,12.5,3.1
    img/002.png,-4.0,2.7

Rows with a missing or non-numeric value, or naming a missing file, are reported with their line
numbers before training: ``on_bad: fail`` stops with the list, ``skip`` leaves them out
(``skipped_files`` lists them; summary.json counts them). An ``is_valid`` column (``valid_column``:
true/false), when the CSV has it, names the validation split. Images are read item by item and
resized like an image folder (a pretrained backbone's input size and statistics unless set).
"""

import csv
import logging
import math
import os
from pathlib import Path

import torch

from ..training.validate import ConfigError
from .base import FileItems, LoadedData, first_problems
from .image_folder import ImageFolderDataModule
from .split import valid_flag

log = logging.getLogger(__name__)
ON_BAD = ("fail", "skip")


class ImageCSVRegressionDataModule(ImageFolderDataModule):
    name = "image_csv_regression"
    target_kind = "continuous"

    def __init__(
        self,
        root: str,
        csv: str = "labels.csv",
        file_column: str = "file",
        y_names: list[str] | None = None,
        valid_column: str | None = "is_valid",
        on_bad: str = "fail",
        hflip_ok: bool = False,
        geometric_ok: bool = False,
        **kwargs,
    ) -> None:
        if on_bad not in ON_BAD:
            raise ConfigError(f"data.on_bad={on_bad}: use one of {', '.join(ON_BAD)}")
        # may mirroring/shifting the image keep its targets true? (an angle or a position: no)
        super().__init__(root=root, hflip_ok=hflip_ok, geometric_ok=geometric_ok, **kwargs)
        self.skipped_files: list[str] = []

    def load(self) -> LoadedData:
        table = Path(self.hparams.csv).expanduser()
        table = table if table.is_absolute() else self.root / table
        if not table.is_file():
            raise FileNotFoundError(
                f"data.csv={table} does not exist (a CSV with a "
                f"'{self.hparams.file_column}' column and numeric targets)"
            )
        with table.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            columns = list(reader.fieldnames or [])
            rows = list(reader)
        names = self._target_columns(columns, table)
        valid_column = self.hparams.valid_column if self.hparams.valid_column in columns else None
        paths, values, problems, val = [], [], [], []
        for line, row in enumerate(rows, start=2):  # line numbers as a spreadsheet shows them
            name = (row.get(self.hparams.file_column) or "").strip()
            path = self.root / name
            why = [] if name and path.is_file() else [f"file '{name}' not found under {self.root}"]
            numbers = []
            for column in names:
                text = (row.get(column) or "").strip()
                try:
                    number = float(text)
                except ValueError:
                    number = math.nan
                if not math.isfinite(number):
                    what = "missing" if not text else "not a number"
                    if math.isinf(number):  # (a cell of inf or 1e400)
                        what = "not a finite number"
                    why.append(f"{column}='{text}' is {what}")
                numbers.append(number)
            if valid_column and valid_flag(row.get(valid_column)) is None:
                why.append(f"{valid_column}='{row[valid_column]}' is not true/false")
            if why:
                problems.append(f"line {line}: {name or '(no file)'}: {'; '.join(why)}")
                continue
            if valid_column and valid_flag(row.get(valid_column)):
                val.append(len(paths))
            paths.append(str(path))
            values.append(numbers)
        if problems:
            listed = "\n  ".join(problems[:20]) + (
                f"\n  ... {len(problems) - 20} more" if len(problems) > 20 else ""
            )
            if self.hparams.on_bad == "fail":
                raise ConfigError(
                    f"{table}: {len(problems)} bad rows (fix them, or set "
                    f"data.on_bad=skip): {first_problems(problems)}"
                )
            log.warning("%s: skipping %d bad rows:\n  %s", table, len(problems), listed)
            self.skipped_files = problems
        if not paths:
            raise ConfigError(f"{table}: no usable rows")
        self.paths = paths
        keys = [Path(os.path.relpath(path, self.root)).as_posix() for path in paths]
        return LoadedData(
            FileItems(paths, torch.tensor(values), self.input.load_item),
            torch.tensor(values),
            names,
            val_indices=val if valid_column else None,
            item_keys=keys,
        )

    def val_source(self) -> str:
        return f"data.valid_column={self.hparams.valid_column}"

    def _target_columns(self, columns: list[str], table: Path) -> list[str]:
        file_column = self.hparams.file_column
        if file_column not in columns:
            raise ConfigError(
                f"{table}: no column '{file_column}' (data.file_column); columns: "
                f"{', '.join(columns)}"
            )
        not_targets = (file_column, self.hparams.valid_column)
        names = list(self.hparams.y_names or [c for c in columns if c not in not_targets])
        unknown = [n for n in names if n not in columns]
        if unknown or not names:
            raise ConfigError(
                f"{table}: target columns {unknown or '(none)'} not found "
                f"(data.y_names); columns: {', '.join(columns)}"
            )
        return names
