"""Tables as the pages show them: numbers as text ("—" where a value is missing),
Markdown pipe tables, and the CSV files written beside the pages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MISSING = "—"


def format_value(x: float, *, signed: bool = False) -> str:
    """``0.612`` (``+0.012`` when ``signed``), "—" for None or NaN."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return MISSING
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def cell(mean: float, std: float = np.nan, n: int = 1) -> str:
    """``0.540`` for one seed, ``0.540 ± 0.012 (3)`` for several, "—" when missing."""
    if mean is None or pd.isna(mean):
        return MISSING
    if n and n > 1 and not pd.isna(std):
        return f"{mean:.3f} ± {std:.3f} ({int(n)})"
    return f"{mean:.3f}"


def no_break(table: pd.DataFrame) -> pd.DataFrame:
    """The table with ``"0.560 ± 0.006"`` kept on one line (no-break spaces around ±)."""
    return table.map(lambda v: v.replace(" ± ", "\u00a0±\u00a0") if isinstance(v, str)
                     else v)


def readable_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Metric keys as column headers a reader knows (``map`` -> ``mAP`` ...)."""
    names = {"map": "mAP", "precision_top5000": "precision of the top 5,000",
             "precision_r2": "precision within radius 2", "recall_r2": "recall within radius 2",
             "mac": "mAC", "n_runs": "runs", "bit_balance": "bit balance"}
    return table.rename(columns=names)


def format_numbers(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Floats as fixed-point strings, NaN and None as "—", booleans as yes/no (integers
    kept)."""
    out = table.copy().astype(object)
    for col in table.columns:
        if pd.api.types.is_bool_dtype(table[col]):
            out[col] = ["yes" if x else "no" for x in table[col]]
        elif pd.api.types.is_float_dtype(table[col]):
            out[col] = [MISSING if pd.isna(x) else f"{x:.{digits}f}" for x in table[col]]
        elif table[col].dtype == object:
            out[col] = [MISSING if x is None or (isinstance(x, float) and np.isnan(x))
                        else ("yes" if x is True else "no" if x is False else x)
                        for x in table[col]]
    return out


def markdown_table(table: pd.DataFrame, *, index: bool = False) -> str:
    """A pipe table (MyST/GFM) of the frame's values as strings; ``|`` escaped, and
    ``& < >`` as HTML entities (a value read from a record never becomes markup)."""
    from html import escape

    frame = table.reset_index() if index else table

    def esc(x) -> str:
        return escape(str(x), quote=False).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(esc(c) for c in frame.columns) + " |"
    rule = "|" + "|".join(":--" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(esc(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV atomically; returns the path."""
    from hashlib_core.atomic import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, table.to_csv(index=False).encode())
    return path
