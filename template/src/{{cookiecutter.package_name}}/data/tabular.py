"""Tables: rows of categorical and continuous columns, from a CSV/Parquet file or an embedded set.

Preprocessing is learnt on the *training split only* and kept as plain values (``preprocessing``),
saved in checkpoints through Lightning's ``state_dict`` and applied unchanged at eval/predict:

* categories -> indices: 1..k for the training categories, 0 for missing or unseen ones;
* missing continuous values -> the training median, plus a ``<col>_na`` categorical column
  (only for columns that had missing values in training);
* continuous columns -> (value - training mean) / training std.

A batch is ``(x, y)`` with ``x`` one float tensor: the category indices first (``cat_names``,
then the ``_na`` columns), then the continuous columns; the model reads that layout from
``input_info()`` (``cardinalities``: categories per categorical column, index 0 included).
Augmentation is for images: a table ignores it.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch

from . import augment as aug
from .base import DataModule, LoadedData, require_classes
from .split import valid_flags
from .tabular_errors import TableError, check_columns, numeric_column, text_among_numbers

log = logging.getLogger(__name__)

TARGET_KINDS = ("class", "continuous")


def category_key(value) -> str | None:
    """A cell as a category name: missing -> None; 2.0 and 2 read alike (CSV vs. float data)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return None if text in ("", "nan", "NaN", "<NA>") else text


class TabularDataModule(DataModule):
    name = "table"
    input_name = "table row"
    image_inputs = False  # rows: no image augmentation, plots or augmentation advice

    def __init__(
        self,
        path: str | None = None,
        cat_names: list[str] | None = None,
        cont_names: list[str] | None = None,
        y_names: list[str] | str | None = None,
        target_kind: str = "class",
        valid_column: str | None = None,
        reference_model: bool = True,
        **kwargs,
    ) -> None:
        kwargs.setdefault("stratify", "labels" if target_kind == "class" else "quantiles")
        kwargs["augment"] = None  # image augmentation means nothing for rows
        super().__init__(**kwargs)
        if target_kind not in TARGET_KINDS:
            raise TableError(f"data.target_kind={target_kind}: use one of {TARGET_KINDS}")
        self.target_kind = target_kind
        self.augment_policy = aug.policy(None)
        self.preprocessing_state: dict | None = None  # learnt on train, or from a checkpoint
        self.stored_classes: list[str] | None = None  # a checkpoint's class list
        self.unknown_categories: dict[str, int] = {}
        self.text_in_numbers: dict[str, dict] = {}  # numeric columns read as categories

    # ---- reading ---------------------------------------------------------------------------
    def read_frame(self):
        """The whole table as a pandas DataFrame (embedded sets override this)."""
        import pandas as pd

        if not self.hparams.path:
            raise TableError("data.path is required: a .csv or .parquet file")
        path = Path(str(self.hparams.path)).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"data.path={path} does not exist")
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            try:
                frame = pd.read_csv(path)
            except pd.errors.EmptyDataError:
                raise TableError(
                    f"data.path={path} is empty: a table needs a header line and rows"
                ) from None
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
            cats = list(cats) if cats is not None else [c for c in rest if c not in numeric]
            self._warn_text_in_numbers(frame, [c for c in cats if c in rest])
            conts = list(conts) if conts is not None else numeric
        return list(cats), list(conts), y_names

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
        return f"data.path={self.hparams.path}" if self.hparams.path else self.name

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
        values = [numeric_column(frame[c], c, self.source()) for c in y_names]
        return torch.tensor(values, dtype=torch.float32).T.contiguous(), list(y_names)

    # ---- preprocessing: learnt on the training split, kept in the checkpoint ----------------
    def _prepare_inputs(self, inputs: torch.Tensor) -> None:
        """(Called by ``setup`` once the split is known.) Learn the preprocessing on the full
        training split, unless a checkpoint brought it, and turn every row into model inputs."""
        if self.preprocessing_state is None:
            # the full training split, whatever data.fraction: every mode sees the same scale
            self.preprocessing_state = self.learn(self.frame.iloc[self._full_train])
        self.unknown_categories = {}
        self._loaded.inputs = self.transform(self.frame, self.unknown_categories)

    def learn(self, train) -> dict:
        """Categories, fill values and statistics of the training rows, as plain values."""
        categories = {
            c: sorted({k for k in map(category_key, train[c]) if k is not None})
            for c in self.cat_names
        }
        fill, mean, std, na = {}, {}, {}, []
        for column in self.cont_names:
            values = numeric_column(train[column], column, self.source())
            present = values[~values.isna()]
            fill[column] = float(present.median()) if len(present) else 0.0
            if len(present) < len(values):
                na.append(column)
            filled = values.fillna(fill[column])
            mean[column] = float(filled.mean()) if len(filled) else 0.0
            spread = float(filled.std()) if len(filled) > 1 else 0.0
            std[column] = spread if spread > 1e-8 else 1.0
        return {
            "cat_names": list(self.cat_names),
            "cont_names": list(self.cont_names),
            "categories": categories,
            "na_columns": na,
            "fill": fill,
            "mean": mean,
            "std": std,
        }

    def transform(self, frame, unknown: dict[str, int] | None = None) -> torch.Tensor:
        """Raw rows (a DataFrame with the feature columns) -> the model's float inputs;
        ``unknown`` counts, per column, the categories not seen in training."""
        state = self.preprocessing_state
        check_columns(
            frame,
            {"cat_names": state["cat_names"], "cont_names": state["cont_names"]},
            "the rows to predict",
            trained=True,
        )
        columns = []
        for column in state["cat_names"]:
            index = {name: i + 1 for i, name in enumerate(state["categories"][column])}
            keys = [category_key(v) for v in frame[column]]
            unseen = sum(1 for k in keys if k is not None and k not in index)
            if unknown is not None and unseen:
                unknown[column] = unknown.get(column, 0) + unseen
            columns.append(torch.tensor([index.get(k, 0) for k in keys], dtype=torch.float32))
        conts = {c: numeric_column(frame[c], c, "the rows") for c in state["cont_names"]}
        for column in state["na_columns"]:  # 1: present, 2: missing (0 stays "unknown")
            columns.append(torch.tensor(conts[column].isna().to_numpy() + 1.0, dtype=torch.float32))
        for column in state["cont_names"]:
            values = conts[column].fillna(state["fill"][column]).to_numpy(dtype="float64")
            scaled = (values - state["mean"][column]) / state["std"][column]
            columns.append(torch.tensor(scaled, dtype=torch.float32))
        if not columns:
            return torch.zeros(len(frame), 0)
        return torch.stack(columns, dim=1)

    def state_dict(self) -> dict:
        """Saved by Lightning in every checkpoint: eval/predict apply the same preprocessing
        (and keep the same class list)."""
        classes = self.target_names if self.target_kind == "class" else None
        return {"preprocessing": self.preprocessing_state, "classes": classes}

    def load_state_dict(self, state: dict) -> None:
        self.stored_classes = state.get("classes")
        self.preprocessing_state = state.get("preprocessing")
        if self._loaded is not None and self.preprocessing_state is not None:
            self._prepare_inputs(self._loaded.inputs)

    # ---- facts for the model, the summary and new rows ---------------------------------------
    @property
    def embedded_names(self) -> list[str]:
        state = self.preprocessing_state
        return list(state["cat_names"]) + [f"{c}_na" for c in state["na_columns"]]

    def input_info(self) -> dict:
        self.loaded  # noqa: B018 (the preprocessing is learnt with the split)
        state = self.preprocessing_state
        cards = [len(state["categories"][c]) + 1 for c in state["cat_names"]]
        cards += [3] * len(state["na_columns"])
        return {
            "shape": self.input_shape,
            "cardinalities": cards,
            "cat_names": self.embedded_names,
            "cont_names": list(state["cont_names"]),
        }

    def describe(self) -> dict:
        return {
            **super().describe(),
            "unknown_categories": dict(self.unknown_categories),
            "missing_filled": list(self.preprocessing_state["na_columns"]),
            **({"text_in_numbers": self.text_in_numbers} if self.text_in_numbers else {}),
        }

    def notes(self) -> list[str]:
        return [
            *super().notes(),
            *(
                f"column '{column}' read as categories: {found['rows']} text cell(s) among "
                f"numbers (rows {found['first_rows']})"
                for column, found in self.text_in_numbers.items()
            ),
        ]

    def read_items(self, path) -> tuple[list[str], torch.Tensor, dict]:
        """New rows from a CSV/Parquet file, preprocessed as in training: (row names, inputs,
        categories not seen in training, per column). Other columns (targets) are ignored."""
        import pandas as pd

        path = Path(str(path)).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"inputs={path} does not exist (a .csv or .parquet table)")
        try:  # (empty, not a table, not UTF-8: the file's problem, told in one line)
            frame = (
                pd.read_parquet(path)
                if path.suffix.lower() in (".parquet", ".pq")
                else pd.read_csv(path)
            )
        except (ValueError, OSError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
            raise TableError(f"inputs={path}: not a readable table ({reason})") from None
        unknown: dict[str, int] = {}
        inputs = self.transform(frame.reset_index(drop=True), unknown)
        names = [f"{path.name}:{i}" for i in range(len(frame))]
        return names, inputs, {"unknown_categories": unknown}

    def describe_input(self, index: int) -> str:
        """The row's raw values (before preprocessing), for the clean-data review."""
        row = self.frame.iloc[index]
        return ", ".join(f"{name}={value}" for name, value in row.items())

    def preprocessing(self) -> dict:
        """How a raw row becomes the model's input (the export's JSON)."""
        return {
            "kind": "table",
            "layout": "category indices first, then continuous columns",
            **self.preprocessing_state,
        }

    def read_input(self, path) -> torch.Tensor:
        raise TableError(
            f"{self.name}: a table predicts rows, not single files: give predict.py "
            "inputs=<rows.csv>, or send serve.py JSON rows (Content-Type: application/json)"
        )

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
