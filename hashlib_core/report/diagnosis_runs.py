"""The diagnosis runs: one part of a method changed, beside the method's own run of the
same code length and seed, and the sentences on what each change does."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashlib_core.report.learning import MIN_MAP
from hashlib_core.report.names import display_name


def diagnoses(results: pd.DataFrame, *, protocol: str) -> pd.DataFrame:
    """The diagnosis runs (:data:`hashlib_core.runner.grids.DIAGNOSES`) beside their method's own
    run of the same code length and seed: what changing one part of a method does.

    Returns
    -------
    pandas.DataFrame
        One row per run that has a record, the method's own run first: ``method``,
        ``variant`` (None for the method's own run), ``change`` (what differs, in words),
        ``map`` (mAP@ALL on the queries), ``map_change`` (against the method's own run),
        ``distinct_codes``, ``constant_bits`` (how many bits are the same for every
        query), ``mac`` and ``bit_balance`` (of the query codes).
    """
    from hashlib_core.runner.grids import (
        DIAGNOSES,
        DIAGNOSIS_DESCRIPTIONS,
        TUNE_BITS,
        TUNE_SEED,
        diagnosis_variant,
    )

    cols = ["method", "variant", "change", "map", "map_change", "distinct_codes",
            "constant_bits", "mac", "bit_balance"]
    rows = []
    if results.empty:
        return pd.DataFrame(columns=cols)
    for m, variants in DIAGNOSES.items():
        sel = results[(results.protocol == protocol) & (results.method == m)
                      & (results.n_bits == TUNE_BITS) & (results.seed == TUNE_SEED)]
        base = sel[sel.variant.isna()]
        if base.empty:
            continue
        runs = [(None, "none: the method as its paper describes it", base.iloc[0])]
        for name in variants:
            got = sel[sel.variant == diagnosis_variant(name)]
            if len(got):
                runs.append((diagnosis_variant(name), DIAGNOSIS_DESCRIPTIONS[m][name],
                             got.iloc[0]))
        if len(runs) == 1:
            continue
        ref = float(base["map"].iloc[0])
        for variant, change, r in runs:
            rows.append({"method": m, "variant": variant, "change": change,
                         "map": float(r["map"]), "map_change": float(r["map"]) - ref,
                         "distinct_codes": r.get("query_distinct_codes", np.nan),
                         "constant_bits": r.get("query_constant_bits", np.nan) * TUNE_BITS,
                         "mac": r.get("query_mac", np.nan),
                         "bit_balance": r.get("query_bit_balance", np.nan)})
    return pd.DataFrame(rows, columns=cols)


def diagnosis_text(table: pd.DataFrame) -> str:
    """Sentences on :func:`diagnoses`: for each diagnosed method, whether it misses the
    mAP bar and what each change does to its mAP@ALL and bit balance."""
    from hashlib_core.runner.grids import DIAGNOSES, TUNE_BITS

    if table.empty:
        names = ", ".join(display_name(m) for m in DIAGNOSES)
        return f"The diagnosis runs ({names}) have no record yet."
    out = []
    for m, rows in table.groupby("method", sort=False):
        own = rows[rows.variant.isna()].iloc[0]
        bar = ("below" if own["map"] < MIN_MAP else "at or above")
        out.append(f"{display_name(m)} at {TUNE_BITS} bits reaches mAP@ALL {own['map']:.3f}, "
                   f"{bar} the {MIN_MAP:.2f} bar, with a bit balance of "
                   f"{own.bit_balance:.2f}{_constant(own.constant_bits)}.")
        for _, r in rows[rows.variant.notna()].iterrows():
            out.append(f"With {r.change}: mAP@ALL {r['map']:.3f} ({r.map_change:+.3f}), "
                       f"bit balance {r.bit_balance:.2f}{_constant(r.constant_bits)}.")
    return " ".join(out)


def _constant(n) -> str:
    """", 3 constant bits" (nothing when unknown)."""
    if pd.isna(n):
        return ""
    n = int(round(float(n)))
    return f", {n} constant bit{'' if n == 1 else 's'}"


def format_diagnoses(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`diagnoses` for the page: method names, readable headers, 3 decimals."""
    from hashlib_core.report.markdown import format_numbers

    # mAC is left out to keep the table within the page (it is in the records)
    out = table[["change", "map", "map_change", "distinct_codes", "constant_bits",
                 "bit_balance"]].copy()
    out.index = [display_name(m) for m in table.method]
    out = format_numbers(out)
    for col in ("distinct_codes", "constant_bits"):
        out[col] = [("—" if pd.isna(v) else f"{int(round(v)):,}") for v in table[col]]
    out["map_change"] = [("—" if v is None or pd.isna(v) else f"{c:+.3f}")
                         for v, c in zip(table.variant, table.map_change, strict=True)]
    return out.rename(columns={
        "change": "what is changed", "map": "mAP@ALL", "map_change": "change",
        "distinct_codes": "distinct codes", "constant_bits": "constant bits",
        "bit_balance": "bit balance"})
