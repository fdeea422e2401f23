"""The SHNet ablation beside the figures, with its spread over seeds. (Code health, the
measures of how much of its length a code uses, is :mod:`hashlib_core.report.code_health`.)
"""

from __future__ import annotations

import pandas as pd

from hashlib_core.report.markdown import MISSING
from hashlib_core.report.names import display_name


def ablation_table(results: pd.DataFrame, *, protocol: str, n_bits: int,
                   variants: dict[str, str], method: str = "shnet", baseline: str = "csq",
                   metrics: tuple[str, ...] = ("map", "precision_r2", "mac")) -> pd.DataFrame:
    """The SHNet ablation: per variant (default first, then ``variants``, then the
    baseline's default run), each metric as ``mean ± std`` over seeds (one seed: the value
    alone; no run: "—"), and the number of seeds.

    Returns
    -------
    pandas.DataFrame
        Index: descriptions; columns: the metrics (strings) and ``seeds`` (int).
    """
    sel = results[(results.protocol == protocol) & (results.n_bits == n_bits)] \
        if not results.empty else results
    order = [(method, None, f"{display_name(method)} (default)")]
    order += [(method, v, f"{display_name(method)}: {d}") for v, d in variants.items()]
    order += [(baseline, None, f"{display_name(baseline)} (for reference)")]
    rows = {}
    for m, v, desc in order:
        sub = sel[(sel.method == m) & (sel.variant.isna() if v is None else sel.variant == v)] \
            if len(sel) else sel
        row = {}
        for k in metrics:
            vals = sub[k].dropna() if (len(sub) and k in sub.columns) else pd.Series(dtype=float)
            if vals.empty:
                row[k] = MISSING
            elif len(vals) == 1:
                row[k] = f"{vals.iloc[0]:.3f}"
            else:
                row[k] = f"{vals.mean():.3f} ± {vals.std(ddof=1):.3f}"
        row["seeds"] = len(sub)
        rows[desc] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def ablation_caption(table: pd.DataFrame, *, scale: str, protocol: str, n_bits: int) -> str:
    """Caption of :func:`ablation_table`."""
    have = int((table.seeds > 0).sum())
    multi = int((table.seeds > 1).sum())
    return (f"**SHNet ablation, {n_bits} bits** (protocol `{protocol}`, scale `{scale}`): "
            f"mAP@ALL, precision within Hamming radius 2 and mAC (mean absolute correlation "
            f"between bits) of each variant, mean ± standard deviation over seeds where "
            f"there are several ({multi} rows), the value of the one seed otherwise; "
            f"*seeds* = number of runs ({MISSING} = not run). {have} of {len(table)} rows "
            f"have a run.")
