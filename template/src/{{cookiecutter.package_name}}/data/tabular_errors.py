"""Bad tables, said in one line (exit status 2): unknown columns, non-numeric numbers."""

from __future__ import annotations


class TableError(ValueError):
    """A table or a table setting the user has to fix (one readable line, exit status 2)."""

    user_error = True


def check_columns(frame, wanted: dict[str, list[str]], source: str) -> None:
    """Every column named in the settings exists; the error lists the file's columns."""
    present = set(map(str, frame.columns))
    missing = {key: [c for c in names if str(c) not in present] for key, names in wanted.items()}
    missing = {key: names for key, names in missing.items() if names}
    if missing:
        named = "; ".join(f"data.{key}: {names}" for key, names in missing.items())
        raise TableError(
            f"{source}: unknown column(s) {named}. The table's columns: "
            f"{list(map(str, frame.columns))}"
        )


def numeric_column(series, column: str, source: str):
    """``series`` as floats (missing stays NaN); text that is not a number is an error."""
    import pandas as pd

    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna()
    if bad.any():
        rows = series.index[bad].tolist()
        examples = ", ".join(repr(v) for v in series[bad].head(3).tolist())
        raise TableError(
            f"{source}: continuous column '{column}' has {len(rows)} value(s) that "
            f"are not numbers ({examples}; rows {rows[:5]}): fix them, or list "
            "the column in data.cat_names"
        )
    return values.astype("float64")
