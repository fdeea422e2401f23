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
        ``attrs["variant_rows"]``: the descriptions of the ablation variants (every row
        but the default and the baseline); ``attrs["stale"]``: per variant row, its runs
        that ``results`` left out as made with an earlier revision of the method
        (``results.attrs["stale_records"]``, :func:`hashlib_core.results.load_results`).
    """
    from hashlib_core.results.store import stale_runs

    old = [s for s in stale_runs(results.attrs.get("stale_records") or [])
           if s["protocol"] == protocol and s["n_bits"] == n_bits and s["method"] == method]
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
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.attrs["variant_rows"] = [desc for _, v, desc in order[1:-1]]
    out.attrs["stale"] = {desc: sum(s["variant"] == v for s in old)
                          for _, v, desc in order[1:-1]}
    return out


def ablation_caption(table: pd.DataFrame, *, scale: str, protocol: str, n_bits: int) -> str:
    """Caption of :func:`ablation_table`: how many of the ablation variants (the default
    and the baseline rows not counted) have a run, and the runs left out as made
    with an earlier version of the method."""
    variants = [d for d in table.attrs.get("variant_rows", list(table.index[1:-1]))
                if d in table.index]
    have = int((table.loc[variants, "seeds"] > 0).sum()) if variants else 0
    stale = int(sum((table.attrs.get("stale") or {}).values()))
    multi = int((table.seeds > 1).sum())
    left = (f"; {stale} run{'s' * (stale != 1)} of the variants, made with an earlier "
            f"version of the loss, {'are' if stale != 1 else 'is'} left out until the "
            f"grid remakes {'them' if stale != 1 else 'it'}" if stale else "")
    rest = table.drop(index=variants)
    ref = " and ".join(f"{d} from {int(n)} run{'s' * (n != 1)}"
                       for d, n in rest.seeds.items())
    return (f"**SHNet ablation, {n_bits} bits** (protocol `{protocol}`, scale `{scale}`): "
            f"mAP@ALL, precision within Hamming radius 2 and mAC (mean absolute correlation "
            f"between all bits of the database codes, as in the bit-correlation matrices) "
            f"of each variant, mean ± standard deviation over seeds where there are several "
            f"({multi} rows), the value of the one seed otherwise; *seeds* = number of "
            f"runs ({MISSING} = none). {have} of the {len(variants)} ablation variants "
            f"ha{'s' if have == 1 else 've'} a run{left}. The other rows, {ref}, "
            f"are what the variants are compared with.")
