"""Table rows: categorical and continuous columns.

The preprocessing is learnt on the training rows (``fit``), kept as plain values (``state_dict``,
in the checkpoint) and applied unchanged to every row after that (``encode``):

* categories -> indices: 1..k for the training categories, 0 for missing or unseen ones;
* missing continuous values -> the training median, plus a ``<col>_na`` embedded column (only for
  columns that had missing values in training): 1 present, 2 missing;
* continuous columns -> (value - training mean) / training std.

A row becomes one float tensor: the category indices first (``cat_names``, then the ``_na``
columns), then the continuous columns (``TableFacts`` describes that layout to the model). Which
column plays which role is the source's business (``TableRows``): the input learns and applies.
"""

{% if "deploy" in cookiecutter.__features.split(",") -%}
import json
{% endif -%}
import math
from dataclasses import dataclass, replace
{% if "deploy" in cookiecutter.__features.split(",") -%}
from pathlib import Path
{% endif -%}
from typing import Any

import torch

{% if "deploy" in cookiecutter.__features.split(",") -%}
from ..data.tabular_errors import TableError, check_columns, numeric_column, separator_in_name
{% else -%}
from ..data.tabular_errors import TableError, check_columns, numeric_column
{% endif -%}
from .base import Input, InputFacts{{ ", JsonRows" if "deploy" in cookiecutter.__features.split(",") }}


@dataclass(frozen=True)
class TableFacts(InputFacts):
    """``shape``: ``(columns,)``: the embedded (categorical and missing-flag) columns first, each
    an index with 0 = unknown/missing, then the continuous ones."""

    cardinalities: tuple[int, ...] = ()  # classes per embedded column, the unknown one included
    cat_names: tuple[str, ...] = ()
    cont_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableRows:
    """Raw rows as a source gives them: a pandas DataFrame of the feature columns and the role
    of each; ``where`` names the rows in messages (``data.path=...``)."""

    frame: Any
    cat_names: list[str]
    cont_names: list[str]
    where: str = "the rows"

    def __len__(self) -> int:
        return len(self.frame)

    def subset(self, indices) -> "TableRows":
        return replace(self, frame=self.frame.iloc[list(indices)])


def category_key(value) -> str | None:
    """A cell as a category name: missing -> None; 2.0 and 2 read alike (CSV vs. float data)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return None if text in ("", "nan", "NaN", "<NA>") else text


class TableInput(Input):
    kind = "table"
    item_name = "table row"

    def __init__(self) -> None:
        self.state: dict | None = None  # what ``fit`` learnt (or a checkpoint gave back)

    @property
    def fitted(self) -> bool:
        return self.state is not None

    # ---- preprocessing: learnt on the training rows, kept in the checkpoint -------------------
    def fit(self, train: TableRows) -> None:
        """Categories, fill values and statistics of the training rows, as plain values (what a
        checkpoint gave back is kept). A continuous cell that is text or infinite is refused
        (``numeric_column``): an infinite one would make the mean/std, then every input, NaN."""
        if self.fitted:
            return
        frame = train.frame
        categories = {
            c: sorted({k for k in map(category_key, frame[c]) if k is not None})
            for c in train.cat_names
        }
        fill, mean, std, na = {}, {}, {}, []
        for column in train.cont_names:
            values = numeric_column(frame[column], column, train.where)
            present = values[~values.isna()]
            fill[column] = float(present.median()) if len(present) else 0.0
            if len(present) < len(values):
                na.append(column)
            filled = values.fillna(fill[column])
            mean[column] = float(filled.mean()) if len(filled) else 0.0
            spread = float(filled.std()) if len(filled) > 1 else 0.0
            std[column] = spread if spread > 1e-8 else 1.0
        self.state = {
            "cat_names": list(train.cat_names),
            "cont_names": list(train.cont_names),
            "categories": categories,
            "na_columns": na,
            "fill": fill,
            "mean": mean,
            "std": std,
        }

    def state_dict(self) -> dict:
        return dict(self.state or {})

    def load_state_dict(self, state: dict) -> None:
        if state:  # (nothing stored: nothing to restore)
            self.state = dict(state)

    def encode(
        self, frame, unknown: dict[str, int] | None = None, where: str = "the rows"
    ) -> torch.Tensor:
        """Raw rows (a DataFrame holding at least the trained feature columns) -> the model's
        float inputs; ``unknown`` counts, per column, the categories not seen in training. A
        number cell that is text or infinite: one ``TableError`` naming each such column and
        its rows (``where``: the rows' source)."""
        state = self.state
        check_columns(
            frame,
            {"cat_names": state["cat_names"], "cont_names": state["cont_names"]},
            "the rows to predict",
            trained=True,
        )
        conts, problems = {}, []
        for column in state["cont_names"]:
            try:
                conts[column] = numeric_column(frame[column], column, where, trained=True)
            except TableError as error:  # every column's problem at once, not the first's
                problems.append(str(error).removeprefix(f"{where}: "))
        if problems:
            raise TableError(f"{where}: {'; '.join(problems)}")
        columns = []
        for column in state["cat_names"]:
            index = {name: i + 1 for i, name in enumerate(state["categories"][column])}
            keys = [category_key(v) for v in frame[column]]
            unseen = sum(1 for k in keys if k is not None and k not in index)
            if unknown is not None and unseen:
                unknown[column] = unknown.get(column, 0) + unseen
            columns.append(torch.tensor([index.get(k, 0) for k in keys], dtype=torch.float32))
        for column in state["na_columns"]:  # 1: present, 2: missing (0 stays "unknown")
            columns.append(torch.tensor(conts[column].isna().to_numpy() + 1.0, dtype=torch.float32))
        for column in state["cont_names"]:
            values = conts[column].fillna(state["fill"][column]).to_numpy(dtype="float64")
            scaled = (values - state["mean"][column]) / state["std"][column]
            columns.append(torch.tensor(scaled, dtype=torch.float32))
        if not columns:
            return torch.zeros(len(frame), 0)
        return torch.stack(columns, dim=1)

    # ---- facts for the model and the summary --------------------------------------------------
    def facts(self) -> TableFacts:
        state = self.state
        cards = [len(state["categories"][c]) + 1 for c in state["cat_names"]]
        cards += [3] * len(state["na_columns"])
        embedded = [*state["cat_names"], *(f"{c}_na" for c in state["na_columns"])]
        return TableFacts(
            kind=self.kind,
            shape=(len(embedded) + len(state["cont_names"]),),
            cardinalities=tuple(cards),
            cat_names=tuple(embedded),
            cont_names=tuple(state["cont_names"]),
        )

    def describe(self) -> dict:
        return {"missing_filled": list(self.state["na_columns"])}
{%- if "deploy" in cookiecutter.__features.split(",") %}

    # ---- new rows: predict.py, serve.py, export -----------------------------------------------
    def read_file(self, source) -> torch.Tensor:
        raise TableError(
            "a table predicts rows, not single files: give predict.py inputs=<rows.csv>, or "
            "send serve.py JSON rows (Content-Type: application/json)"
        )

    def read_items(self, source, column: str | None = None) -> tuple[list[str], torch.Tensor, dict]:
        """New rows from a CSV/Parquet file, preprocessed as in training: (row names, inputs,
        notes). The notes: the categories not seen in training (``unknown_categories``, per
        column), and for predictions.csv each row's position in the file (``rows``, from 0) and
        its cells of every column the model does not read (``columns``: IDs, a target, ...; as
        the file spells them). Rows that serve.py received as JSON come as a ``JsonRows``: their
        number cells are checked as the JSON values sent (``.rows``), which the CSV text they
        were written to no longer tells apart (``true`` and ``"True"``, ``"NA"`` and null)."""
        import pandas as pd

        path = Path(str(source)).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"inputs={path} does not exist (a .csv or .parquet table)")
        sent = source.rows if isinstance(source, JsonRows) else None
        if sent is not None:
            check_json_numbers(sent, self.state["cont_names"])
        parquet = path.suffix.lower() in (".parquet", ".pq")
        try:  # (empty, not a table, not UTF-8: the file's problem, told in one line)
            frame = pd.read_parquet(path) if parquet else pd.read_csv(path)
        except (ValueError, OSError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
            raise TableError(f"inputs={path}: not a readable table ({reason})") from None
        found = separator_in_name(frame)
        if found:  # (new rows are read with commas: the training data.sep is not kept)
            raise TableError(
                f"inputs={path} reads as one column: the file seems separated by {found!r}; "
                "predict.py reads commas: save it with commas (or as .parquet)"
            )
        frame = frame.reset_index(drop=True)
        where = "the rows" if sent is not None else f"inputs={path}"
        unknown: dict[str, int] = {}
        inputs = self.encode(frame, unknown, where)
        names = [f"{path.name}:{i}" for i in range(len(frame))]
        features = {*self.state["cat_names"], *self.state["cont_names"]}
        others = [str(c) for c in frame.columns if str(c) not in features]
        return (
            names,
            inputs,
            {
                "unknown_categories": unknown,
                "rows": list(range(len(frame))),
                "columns": other_cells(path, frame, others, parquet),
            },
        )
{%- endif %}

    def describe_item(self, raw) -> str:
        """A row's raw values (before preprocessing; ``raw``: a pandas Series)."""
        return ", ".join(f"{name}={value}" for name, value in raw.items())
{%- if "deploy" in cookiecutter.__features.split(",") %}

    def preprocessing(self) -> dict:
        return {
            "kind": self.kind,
            "layout": "category indices first, then continuous columns",
            **self.state,
        }
{%- endif %}
{%- if "deploy" in cookiecutter.__features.split(",") %}


def other_cells(path: Path, frame, columns: list[str], parquet: bool) -> dict[str, list]:
    """The cells of ``columns`` per row, as the file holds them: a CSV's text as written (an ID
    keeps its leading zeros, an empty cell stays empty), a Parquet file's values (missing: None)."""
    if not columns:
        return {}
    if parquet:
        kept = frame[columns].astype(object)
        return {c: kept[c].where(kept[c].notna(), None).tolist() for c in columns}
    import pandas as pd

    text = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=columns)
    return {c: text[c].tolist() for c in columns}


def check_json_numbers(rows: list[dict], columns: list[str]) -> None:
    """JSON rows' cells of the continuous ``columns`` are null (missing), a finite JSON number
    or a text that reads as one (``"3.5"``, as a CSV cell would say it); a boolean, any other
    text (``"abc"``, ``"NA"``, ``""``) and infinity are refused in one line that names the
    column, what it expects and what it got, rather than read as 1/0 or as missing."""
    import pandas as pd

    problems = []
    for column in columns:
        cells = [(i, row[column]) for i, row in enumerate(rows) if row.get(column) is not None]
        texts = [value for _, value in cells if isinstance(value, str)]
        read = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").tolist()
        numbers = dict(zip(texts, read, strict=True))
        for i, value in cells:
            hint = ""
            if isinstance(value, bool):
                hint = " (send 1 or 0 for yes/no)"
            elif isinstance(value, str):
                if math.isfinite(numbers[value]):
                    continue
                if math.isinf(numbers[value]):
                    hint = " (a number the model can use is finite)"
            elif isinstance(value, int | float):
                if _finite_or_nan(value):  # (NaN: how Python's json writes a missing float)
                    continue
                hint = " (a number the model can use is finite)"
            where = f" in row {i}" if len(rows) > 1 else ""
            problems.append(
                f"column '{column}' expects a number (null when missing), got "
                f"{json.dumps(value)}{where}{hint}"
            )
            break  # (a column's first bad cell says what is wrong with it)
    if problems:
        more = f" (and {len(problems) - 3} more columns)" if len(problems) > 3 else ""
        raise TableError("; ".join(problems[:3]) + more)


def _finite_or_nan(value: int | float) -> bool:
    try:
        return not math.isinf(value)
    except OverflowError:  # an integer beyond any float
        return False
{%- endif %}
