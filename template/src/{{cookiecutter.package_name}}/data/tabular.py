"""Tables: rows of categorical and continuous columns, from a CSV/Parquet file or a table that
ships with scikit-learn (``embedded``: ``tables.py``).

The source reads the rows, says which columns are the targets and which the categorical and
continuous features, and splits; the table input (``inputs/table.py``) learns the preprocessing on
the *training split only*, keeps it in checkpoints (``state_dict``) and applies it unchanged at
eval/predict. Rows are not augmented.
"""

import logging
import time
from pathlib import Path
from typing import ClassVar

import torch

from ..inputs.table import TableInput, TableRows, category_key
from .base import DataModule, LoadedData, require_classes
from .split import valid_flags
from .tabular_errors import (
    TableError,
    check_columns,
    mostly_distinct,
    numeric_column,
    separator_in_name,
    text_among_numbers,
)

log = logging.getLogger(__name__)

TARGET_KINDS = ("class", "continuous")
SEPARATORS = {"tab": "\t", "\\t": "\t"}  # data.sep=tab: a tab is awkward to type in an override


class TabularDataModule(DataModule):
    """A table from ``path`` (your .csv/.parquet file) or ``embedded`` (a table of ``tables.py``);
    ``target_kind``: class (one label column) or continuous (one or more number columns)."""

    default_input: ClassVar[dict] = {"_target_": f"{TableInput.__module__}.TableInput"}

    def __init__(
        self,
        path: str | None = None,
        embedded: str | None = None,
        cat_names: list[str] | None = None,
        cont_names: list[str] | None = None,
        y_names: list[str] | str | None = None,
        target_kind: str = "class",
        valid_column: str | None = None,
        reference_model: bool = True,
        sep: str = ",",
        **kwargs,
    ) -> None:
        from .tables import EMBEDDED

        kwargs.setdefault("stratify", "labels" if target_kind == "class" else "quantiles")
        kwargs["augment"] = None  # (rows are not augmented)
        super().__init__(**kwargs)
        if target_kind not in TARGET_KINDS:
            raise TableError(f"data.target_kind={target_kind}: use one of {TARGET_KINDS}")
        if embedded is not None and (embedded not in EMBEDDED or path):
            raise TableError(
                f"data.embedded={embedded}: give either data.path (your file) or data.embedded "
                f"(one of {sorted(EMBEDDED)})"
            )
        self.name = embedded or "table"
        self.target_kind = target_kind
        self.stored_classes: list[str] | None = None  # a checkpoint's class list
        self.unknown_categories: dict[str, int] = {}
        self.text_in_numbers: dict[str, dict] = {}  # numeric columns read as categories
        self.left_out: dict[str, int] = {}  # ID-like columns left out: distinct values

    # ---- reading ---------------------------------------------------------------------------
    def read_frame(self):
        """The whole table as a pandas DataFrame."""
        import pandas as pd

        if self.hparams.embedded:
            from .tables import EMBEDDED

            return EMBEDDED[self.hparams.embedded]()
        if not self.hparams.path:
            raise TableError("data.path is required: a .csv or .parquet file")
        path = Path(str(self.hparams.path)).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"data.path={path} does not exist")
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            sep = SEPARATORS.get(str(self.hparams.sep), str(self.hparams.sep))
            try:
                frame = pd.read_csv(path, sep=sep)
            except pd.errors.EmptyDataError:
                raise TableError(
                    f"data.path={path} is empty: a table needs a header line and rows"
                ) from None
            found = separator_in_name(frame, sep)
            if found:
                setting = "data.sep=tab" if found == "\t" else f"\"data.sep='{found}'\""
                raise TableError(
                    f"data.path={path} reads as one column named {str(frame.columns[0])!r}: the "
                    f"file seems separated by {found!r}, not {sep!r}: set {setting}"
                )
        if len(frame) == 0:
            raise TableError(
                f"data.path={path} has column names ({', '.join(map(str, frame.columns))}) "
                "but no rows"
            )
        return frame

    def columns(self, frame) -> tuple[list[str], list[str], list[str]]:
        """(cat_names, cont_names, y_names); unset feature lists: every other column, numeric
        ones continuous and the rest categorical."""
        y = self.hparams.y_names
        y_names = [y] if isinstance(y, str) else list(y or [])
        if not y_names:
            raise TableError(
                f"data.y_names is required: the target column(s), among "
                f"{list(map(str, frame.columns))}"
            )
        cats, conts = self.hparams.cat_names, self.hparams.cont_names
        if cats is None or conts is None:
            valid = self.hparams.valid_column
            rest = [
                c
                for c in frame.columns
                if c not in y_names
                and c != valid
                and c not in (cats or [])
                and c not in (conts or [])
            ]
            numeric = [c for c in rest if frame[c].dtype.kind in "fiu"]
            guessed = cats is None
            cats = list(cats) if cats is not None else [c for c in rest if c not in numeric]
            self._warn_text_in_numbers(frame, [c for c in cats if c in rest])
            if guessed:  # (columns the user lists in cat_names are theirs: kept)
                cats = self._leave_out_distinct(frame, cats)
            conts = list(conts) if conts is not None else numeric
        return list(cats), list(conts), y_names

    def _leave_out_distinct(self, frame, guessed_categorical: list[str]) -> list[str]:
        """Guessed categorical columns with (nearly) one value per row (IDs, dates) are left out:
        every val/test row would be an unseen category. Counted over the whole table (the split
        comes later; its training rows are as distinct). Say so in one line."""
        self.left_out = {
            str(c): int(frame[c].nunique())
            for c in guessed_categorical
            if str(c) not in self.text_in_numbers and mostly_distinct(frame[c])
        }
        if self.left_out:
            log.warning("%s: %s", self.source(), self._left_out_note(len(frame)))
        return [c for c in guessed_categorical if str(c) not in self.left_out]

    def _left_out_note(self, rows: int) -> str:
        counts = ", ".join(f"'{c}' ({n} values)" for c, n in self.left_out.items())
        return (
            f"column(s) {counts} left out of the inputs: distinct in more than half of the "
            f"{rows} rows, as IDs and dates are, their val/test rows would be unseen categories; "
            "list a column in data.cat_names to keep it"
        )

    def _warn_text_in_numbers(self, frame, guessed_categorical: list[str]) -> None:
        """A column of numbers with a few text cells becomes categorical (one category per
        distinct number): say so, with the first text cells and their rows."""
        for column in guessed_categorical:
            found = text_among_numbers(frame[column])
            if found is None:
                continue
            self.text_in_numbers[str(column)] = {
                "rows": len(found["rows"]),
                "first_rows": found["rows"][:5],
                "categories": int(frame[column].nunique()),
            }
            log.warning(
                "%s: column '%s' holds numbers but %d cell(s) are text (%s in rows %s): it is "
                "read as categorical (%d categories). Fix those cells, or set "
                "data.cont_names to read it as numbers (data.cat_names to keep it categorical)",
                self.source(),
                column,
                len(found["rows"]),
                ", ".join(repr(v) for v in found["values"][:3]),
                found["rows"][:5],
                frame[column].nunique(),
            )

    def load(self) -> LoadedData:
        frame = self.read_frame().reset_index(drop=True)
        cats, conts, y_names = self.columns(frame)
        valid = self.hparams.valid_column
        check_columns(
            frame,
            {
                "cat_names": cats,
                "cont_names": conts,
                "y_names": y_names,
                "valid_column": [valid] if valid else [],
            },
            self.source(),
        )
        self.cat_names, self.cont_names, self.y_names = cats, conts, y_names
        self.frame = frame[cats + conts]
        for column in conts:  # non-numeric text in a continuous column: a clear error now
            numeric_column(frame[column], column, self.source())
        targets, names = self._targets(frame, y_names)
        val_indices = None
        if valid:
            flags = valid_flags(frame[valid].tolist(), valid, self.source())
            val_indices = [i for i, flag in enumerate(flags) if flag]
        # the inputs are made once the split is known (``_prepare_inputs``): learnt on train only
        return LoadedData(torch.zeros(len(frame), 0), targets, names, val_indices)

    def source(self) -> str:
        return f"data.path={self.hparams.path}" if self.hparams.path else f"data={self.name}"

    def val_source(self) -> str:
        return f"data.valid_column={self.hparams.valid_column}"

    def _targets(self, frame, y_names: list[str]) -> tuple[torch.Tensor, list[str]]:
        missing = {c: int(frame[c].isna().sum()) for c in y_names if frame[c].isna().any()}
        if missing:
            rows = frame.index[frame[y_names].isna().any(axis=1)].tolist()[:5]
            raise TableError(
                f"{self.source()}: the target column(s) have missing values "
                f"({missing}; first rows {rows}): fill or drop those rows"
            )
        if self.target_kind == "class":
            if len(y_names) != 1:
                raise TableError(f"data.y_names={y_names}: class targets need one column")
            keys = [category_key(v) for v in frame[y_names[0]]]
            # the classes a checkpoint was trained on stay its classes, whichever this file has
            column = frame[y_names[0]]
            if not self.stored_classes and column.dtype.kind in "fiu" and mostly_distinct(column):
                raise TableError(
                    f"{self.source()}: target column '{y_names[0]}' holds numbers with "
                    f"{column.nunique()} distinct values in {len(column)} rows, (nearly) one class "
                    "per row: numbers to predict: use task=tabular_regression"
                )
            names = self.stored_classes or sorted(set(keys))
            index = {name: i for i, name in enumerate(names)}
            unknown = sorted(set(keys) - set(index))
            if unknown:
                raise TableError(
                    f"{self.source()}: classes {unknown[:5]} in column "
                    f"'{y_names[0]}' are not among the model's classes {names}"
                )
            require_classes(names, f"{self.source()} column '{y_names[0]}'")
            return torch.tensor([index[k] for k in keys], dtype=torch.long), names
        values = [numeric_column(frame[c], c, self.source(), target=True) for c in y_names]
        return torch.tensor(values, dtype=torch.float32).T.contiguous(), list(y_names)

    # ---- preprocessing: the input's, learnt on the training split, kept in the checkpoint ----
    def rows(self) -> TableRows:
        """Every row's feature columns, with their roles: the raw items of the table input."""
        return TableRows(self.frame, self.cat_names, self.cont_names, self.source())

    def _prepare_inputs(self, inputs: torch.Tensor) -> None:
        """(Called by ``setup`` once the split is known.) The input learns its preprocessing on
        the full training split (whatever data.fraction: every mode sees the same scale), unless
        a checkpoint brought it, and turns every row into model inputs."""
        self.input.fit(self.rows().subset(self._full_train))  # (kept if a checkpoint gave it)
        self.unknown_categories = {}
        self._loaded.inputs = self.input.encode(self.frame, self.unknown_categories)

    def state_dict(self) -> dict:
        """Saved by Lightning in every checkpoint: eval/predict apply the same preprocessing
        (and keep the same class list)."""
        classes = self.target_names if self.target_kind == "class" else None
        return {**super().state_dict(), "input": self.input.state_dict(), "classes": classes}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.stored_classes = state.get("classes")
        self.input.load_state_dict(state.get("input") or {})
        if self._loaded is not None and self.input.fitted:
            self._prepare_inputs(self._loaded.inputs)

    # ---- facts for the summary ---------------------------------------------------------------
    def describe_input(self, index: int) -> str:
        return self.input.describe_item(self.frame.iloc[index])

    def describe(self) -> dict:
        return {
            **super().describe(),
            "unknown_categories": dict(self.unknown_categories),
            **({"text_in_numbers": self.text_in_numbers} if self.text_in_numbers else {}),
            **({"left_out_columns": dict(self.left_out)} if self.left_out else {}),
        }

    def notes(self) -> list[str]:
        return [
            *super().notes(),
            *(
                f"column '{column}' read as categories: {found['rows']} text cell(s) among "
                f"numbers (rows {found['first_rows']})"
                for column, found in self.text_in_numbers.items()
            ),
            *([self._left_out_note(len(self.frame))] if self.left_out else []),
        ]

    # ---- the baseline to beat ----------------------------------------------------------------
    def reference_scores(self, task, splits) -> dict | None:
        """Gradient boosting (scikit-learn's HistGradientBoosting*) fitted on the same training
        rows and features, scored with the task's own score on each split."""
        if not self.hparams.reference_model:
            return None
        from .tabular_reference import gradient_boosting_scores

        start = time.perf_counter()
        result = gradient_boosting_scores(self, task, splits)
        result["seconds"] = round(time.perf_counter() - start, 3)
        return result
