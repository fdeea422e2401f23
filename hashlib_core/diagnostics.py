"""Diagnostics beside the figures: how much of its code length each method uses (code
health), sentences where codes collapse, and the SHNet ablation with its spread over
seeds.

Code health (:func:`hashlib_core.metrics.code_health`) is read from a record's scalars
when it has them (``query_distinct_bits`` ...; newer records) and otherwise computed
from the query codes stored with the run, so every stored run has a row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hashlib_core.tables import MISSING, display_name

#: a method's codes count as collapsed below this share of distinct bits ...
MIN_DISTINCT_SHARE = 0.9
#: ... or above this mean absolute correlation between bits
MAX_MAC = 0.35
HEALTH_KEYS = ("distinct_bits", "distinct_codes", "mac", "bit_balance", "constant_bits")


def code_health_table(root: str | Path = "results", *, scale: str, protocol: str,
                      n_bits: int, methods: list[str] | None = None,
                      seed: int = 0) -> pd.DataFrame:
    """Code health of each method's query codes (default variant, ``seed``), plus the
    mAC of its database codes (the correlation matrices' summary).

    Returns
    -------
    pandas.DataFrame
        Index: method (registry name), in ``methods`` order (all stored methods when
        None); columns ``n_bits, n_queries, distinct_bits, distinct_codes, mac,
        bit_balance, constant_bits`` (query codes), ``db_mac`` (database codes, NaN if
        not stored) and ``source`` (``"record"`` or ``"codes"``: where the values came
        from).
    """
    from hashlib_core.metrics import code_health
    from hashlib_core.results import iter_records, load_query_codes

    rows = {}
    for rec in iter_records(root, scale=scale):
        key = rec["key"]
        if (key["protocol"], key["n_bits"], key["seed"], key["variant"]) != \
                (protocol, n_bits, seed, None):
            continue
        if methods is not None and key["method"] not in methods:
            continue
        sc = rec["scalars"]
        n_q = (rec.get("eval_info") or {}).get("n_queries")
        if all(sc.get(f"query_{k}") is not None for k in HEALTH_KEYS):
            health = {k: float(sc[f"query_{k}"]) for k in HEALTH_KEYS}
            source = "record"
        else:
            codes, _ = load_query_codes(scale, protocol, key["method"], n_bits, seed=seed,
                                        root=root)
            health, source, n_q = code_health(codes), "codes", len(codes)
        rows[key["method"]] = {"n_bits": n_bits, "n_queries": n_q, **health,
                               "db_mac": np.nan if sc.get("mac") is None else float(sc["mac"]),
                               "source": source}
    cols = ["n_bits", "n_queries", *HEALTH_KEYS, "db_mac", "source"]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    order = [m for m in (methods or sorted(rows)) if m in rows]
    return out.loc[order]


def collapsed(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`code_health_table` whose codes collapse: fewer distinct bits
    than :data:`MIN_DISTINCT_SHARE` of the code length, or an mAC (query or database)
    above :data:`MAX_MAC`."""
    if table.empty:
        return table
    mac = table[["mac", "db_mac"]].max(axis=1)
    bad = (table.distinct_bits < MIN_DISTINCT_SHARE * table.n_bits) | (mac > MAX_MAC)
    return table[bad]


def collapse_text(table: pd.DataFrame) -> str:
    """One sentence per method whose codes collapse, computed from the table; or the
    sentence that none does."""
    if table.empty:
        return "No stored run to check."
    bad = collapsed(table)
    if bad.empty:
        return (f"No method's codes collapse here: every one uses at least "
                f"{MIN_DISTINCT_SHARE:.0%} of its bits as distinct bits and has an mAC at "
                f"most {MAX_MAC}.")
    out = []
    for m, r in bad.iterrows():
        n = int(r.n_bits)
        parts = []
        if r.distinct_bits < MIN_DISTINCT_SHARE * n:
            parts.append(f"only {int(r.distinct_bits)} of its {n} bits are distinct (the "
                         f"others copy or invert one of them)")
        worst = np.nanmax([r.mac, r.db_mac])
        if worst > MAX_MAC:
            parts.append(f"its bits have an mAC of {worst:.2f}")
        if r.constant_bits > 0:
            parts.append(f"{r.constant_bits:.0%} of its bits never change")
        codes = (f"; its {int(r.n_queries):,} query images get {int(r.distinct_codes):,} "
                 f"different codes" if pd.notna(r.n_queries) else "")
        out.append(f"{display_name(m)}'s {n}-bit codes collapse: {', and '.join(parts)}"
                   f"{codes}.")
    return " ".join(out)


def health_display(table: pd.DataFrame) -> pd.DataFrame:
    """The table with readable headers and formatted numbers, methods as display names."""
    if table.empty:
        return table
    out = pd.DataFrame(index=[display_name(m) for m in table.index])
    out["distinct bits"] = [f"{int(r.distinct_bits)} of {int(r.n_bits)}"
                            for r in table.itertuples()]
    n_q = table.n_queries.dropna().unique()
    codes_head = f"distinct codes (of {int(n_q[0]):,})" if len(n_q) == 1 else "distinct codes"
    out[codes_head] = [f"{int(v):,}" for v in table.distinct_codes]
    out["mAC"] = [f"{(q if pd.isna(d) else d):.3f}" for q, d in zip(table.mac, table.db_mac)]
    out["bit balance"] = [f"{v:.3f}" for v in table.bit_balance]
    out["constant bits"] = [f"{v:.0%}" for v in table.constant_bits]
    bad = set(collapsed(table).index)
    out["collapsed"] = ["yes" if m in bad else "no" for m in table.index]
    out.index.name = "method"
    return out


def health_caption(table: pd.DataFrame, *, scale: str, protocol: str, n_bits: int) -> str:
    """Caption of the code-health table: the collapse sentence first."""
    return (f"{collapse_text(table)} **Code health, {n_bits} bits** ({protocol}, scale "
            f"`{scale}`, seed 0, {len(table)} runs): on the query codes, the number of "
            f"distinct bits (a bit and its negation counted once), of distinct codes, the "
            f"bit balance (mean |mean of a bit|, 0 = every bit splits the codes in half) and "
            f"the share of bits that never change; mAC = mean absolute correlation between "
            f"the bits of the database codes, as in the matrices above. *Collapsed*: fewer "
            f"than {MIN_DISTINCT_SHARE:.0%} distinct bits, or an mAC above {MAX_MAC} on the "
            f"query or the database codes.")


# --------------------------------------------------------------------------- ablation
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
