"""Bad tables, said in one line (exit status 2): unknown columns, non-numeric or infinite
numbers, a file not separated by commas; and the checks behind the warnings for a column of
numbers with a few text cells (read as categories otherwise unnoticed) and for an ID-like column."""

from ..training.validate import ConfigError


class TableError(ConfigError):
    """A table or a table setting the user has to fix (one readable line, exit status 2)."""


def check_columns(frame, wanted: dict[str, list[str]], source: str, trained: bool = False) -> None:
    """Every column named in the settings exists; the error lists the file's columns.
    ``trained``: the columns are the ones the model was trained on (rows to predict), so the
    rows are what lacks them, not the settings that are wrong."""
    present = set(map(str, frame.columns))
    missing = {key: [c for c in names if str(c) not in present] for key, names in wanted.items()}
    missing = {key: names for key, names in missing.items() if names}
    if missing:
        if trained:
            lacking = [name for names in missing.values() for name in names]
            raise TableError(
                f"{source} lack column(s) {lacking} that the model was trained on; they have "
                f"{list(map(str, frame.columns))}"
            )
        named = "; ".join(f"data.{key}: {names}" for key, names in missing.items())
        raise TableError(
            f"{source}: unknown column(s) {named}. The table's columns: "
            f"{list(map(str, frame.columns))}"
        )


def numeric_column(series, column: str, source: str, target: bool = False, trained: bool = False):
    """``series`` as floats (missing stays NaN); text that is not a number, and an infinite
    number, is an error. ``target``: the column is a target, whose fix is the task, not
    data.cat_names. ``trained``: rows for a trained model, whose column cannot change kind
    (the training advice, data.cat_names, cannot apply): the cells are what to fix."""
    import numpy as np
    import pandas as pd

    kind = "target" if target else "continuous"
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna()
    if trained:
        bad |= np.isinf(values.astype("float64").to_numpy())
        if bad.any():
            shown = ", ".join(repr(v) for v in series[bad].drop_duplicates().head(3).tolist())
            raise TableError(
                f"{source}: column '{column}' expects finite numbers (an empty cell when "
                f"missing), got {shown} in row(s) {series.index[bad].tolist()[:5]}"
            )
        return values.astype("float64")
    if bad.any():
        rows = series.index[bad].tolist()
        examples = ", ".join(repr(v) for v in series[bad].drop_duplicates().head(3).tolist())
        if not target:
            fix = "fix them, or list the column in data.cat_names"
        elif bad.mean() > 0.5:  # mostly text: class names, not numbers with typos
            fix = "the targets are classes: use task=tabular"
        else:
            fix = "fix them (targets that are classes: task=tabular)"
        raise TableError(
            f"{source}: {kind} column '{column}' has {len(rows)} value(s) that "
            f"are not numbers ({examples}; rows {rows[:5]}): {fix}"
        )
    values = values.astype("float64")
    # An infinite cell ("inf", "Infinity", 1e400) is refused like text, not read as missing: the
    # file states a value (an overflow, a division by zero upstream), which a fill would hide;
    # kept, it makes the training mean/std inf/NaN and every input NaN.
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        rows = series.index[infinite].tolist()
        examples = ", ".join(repr(v) for v in series[infinite].drop_duplicates().head(3).tolist())
        raise TableError(
            f"{source}: {kind} column '{column}' has {len(rows)} infinite value(s) "
            f"({examples}; rows {rows[:5]}): fix them to finite numbers"
            + (" or drop those rows" if target else " (an empty cell reads as missing)")
        )
    return values


# A category seen once in training teaches its embedding nothing and is unseen in val/test (index
# 0): a column with more distinct values than half its rows (IDs, dates, free text) is mostly such
# categories; below that most values repeat and an embedding can learn them.
MOSTLY_DISTINCT = 0.5


def mostly_distinct(series) -> bool:
    """More distinct values than ``MOSTLY_DISTINCT`` of the rows: (nearly) one per row."""
    return len(series) > 1 and series.nunique() > MOSTLY_DISTINCT * len(series)


def separator_in_name(frame, used: str = ",") -> str | None:
    """The separator of a file read with ``used`` as one column whose name holds another one
    (``a;b;c``): that character, else None."""
    if frame.shape[1] != 1:
        return None
    name = str(frame.columns[0])
    return next((sep for sep in (",", ";", "\t", "|") if sep != used and sep in name), None)


def text_among_numbers(series, share: float = 0.9) -> dict | None:
    """A column read as text although most of its cells are numbers (a stray "n/a", "12,5" or
    "?" turns a whole numeric column categorical): ``{"rows", "values"}`` of the text cells, or
    None when the column is mostly text (really categorical) or all numbers."""
    import pandas as pd

    present = series.dropna()
    if len(present) == 0 or series.dtype.kind in "fiub":
        return None
    numbers = pd.to_numeric(present, errors="coerce")
    bad = numbers.isna()
    if not bad.any() or (~bad).mean() < share:
        return None
    return {"rows": present.index[bad].tolist(), "values": present[bad].tolist()}
