"""What the stored results show, computed: the numbers behind the discussion page.

Rank agreement with the papers, the quality floor of issue 9 (every deep method above
LSH at 32 bits, the best deep method at least 0.5 mAP at 64 bits), and the SHNet-vs-CSQ
headline gap. Each function returns a DataFrame; :func:`headline_text` and
:func:`ranking_text` turn them into sentences, so the page states only what the store
holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from hashlib_core.grids import DEEP
from hashlib_core.tables import comparison, display_name, reproduced


def ranking_agreement(results: pd.DataFrame, reported: pd.DataFrame, *, dataset: str,
                      protocol: str, metric: str, bits: list[int], source: str,
                      methods: list[str]) -> pd.DataFrame:
    """Per code length: Kendall's tau between the reported and reproduced values of the
    methods that have both, and the two orders (best first).

    Returns
    -------
    pandas.DataFrame
        Columns ``n_bits, n_methods, kendall_tau, reported_order, reproduced_order``
        (tau NaN with fewer than 3 methods).
    """
    comp = comparison(results, reported, dataset=dataset, protocol=protocol, metric=metric,
                      methods=methods, bits=bits, source=source)
    rows = []
    for b in bits:
        sub = comp[(comp.n_bits == b) & comp.reported.notna() & comp["mean"].notna()]
        tau = kendalltau(sub.reported, sub["mean"]).statistic if len(sub) >= 3 else np.nan
        rows.append({
            "n_bits": b,
            "n_methods": len(sub),
            "kendall_tau": float(tau),
            "reported_order": " > ".join(
                display_name(m) for m in sub.sort_values("reported", ascending=False).method),
            "reproduced_order": " > ".join(
                display_name(m) for m in sub.sort_values("mean", ascending=False).method),
        })
    return pd.DataFrame(rows)


def ranking_text(agreement: pd.DataFrame, *, metric_label: str) -> str:
    """One sentence per code length on how far the reproduced ranking follows the paper's."""
    lines = []
    for r in agreement.itertuples():
        if r.n_methods < 3:
            lines.append(f"* {r.n_bits} bits: {r.n_methods} methods have both a reported "
                         f"and a reproduced {metric_label}; too few to compare rankings.")
            continue
        verdict = ("the same order" if r.kendall_tau == 1 else
                   "mostly the same order" if r.kendall_tau >= 0.6 else
                   "a partly different order" if r.kendall_tau >= 0 else
                   "a largely reversed order")
        lines.append(f"* {r.n_bits} bits, {r.n_methods} methods: {verdict} "
                     f"(Kendall τ = {r.kendall_tau:.2f}). Paper: {r.reported_order}. "
                     f"Here: {r.reproduced_order}.")
    return "\n".join(lines)


def quality_floor(results: pd.DataFrame, *, protocol: str) -> pd.DataFrame:
    """Every deep method's mAP at 32 bits against LSH's, and its best mAP at 64 bits.

    Returns
    -------
    pandas.DataFrame
        Index: deep methods with a run; columns ``map_32``, ``lsh_map_32``,
        ``above_lsh`` (bool, or None without an LSH run) and ``map_64``.
    """
    rep = reproduced(results, protocol=protocol, metric="map")
    if rep.empty:
        return pd.DataFrame(columns=["map_32", "lsh_map_32", "above_lsh", "map_64"])
    val = rep.set_index(["method", "n_bits"])["mean"]
    lsh = val.get(("lsh", 32), np.nan)
    rows = {}
    for m in DEEP:
        m32, m64 = val.get((m, 32), np.nan), val.get((m, 64), np.nan)
        if np.isnan(m32) and np.isnan(m64):
            continue
        above = None if np.isnan(lsh) or np.isnan(m32) else bool(m32 > lsh)
        rows[m] = {"map_32": m32, "lsh_map_32": lsh, "above_lsh": above, "map_64": m64}
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["map_32", "lsh_map_32", "above_lsh", "map_64"])


def format_floor(floor: pd.DataFrame) -> pd.DataFrame:
    """The quality-floor table for the page: display names, readable headers, "—"."""
    from hashlib_core.tables import format_numbers

    out = format_numbers(floor.rename(index=display_name))
    return out.rename(columns={"map_32": "mAP, 32 bits", "lsh_map_32": "LSH mAP, 32 bits",
                               "above_lsh": "above LSH", "map_64": "mAP, 64 bits"})


def quality_text(floor: pd.DataFrame) -> str:
    """Sentences on the quality floor (what is met, what is not, what is missing)."""
    if floor.empty:
        return "No deep method has a run at this scale yet, so the quality floor is unchecked."
    out = []
    known = floor[floor.above_lsh.notna()]
    below = [display_name(m) for m, r in known.iterrows() if not r.above_lsh]
    if len(known):
        lsh = known.lsh_map_32.iloc[0]
        if below:
            out.append(f"At 32 bits {len(known) - len(below)} of {len(known)} deep methods "
                       f"beat LSH on GIST (mAP {lsh:.3f}); below it: {', '.join(below)}.")
        else:
            out.append(f"At 32 bits all {len(known)} deep methods with a run beat LSH on "
                       f"GIST (mAP {lsh:.3f}).")
    else:
        out.append("LSH at 32 bits has no run yet, so the comparison with it is open.")
    m64 = floor.map_64.dropna()
    if len(m64):
        best = m64.idxmax()
        verdict = "meets" if m64.max() >= 0.5 else "misses"
        out.append(f"The strongest deep method at 64 bits is {display_name(best)} with mAP "
                   f"{m64.max():.3f}, which {verdict} the floor of 0.5.")
    return " ".join(out)


def headline(results: pd.DataFrame, reported: pd.DataFrame, *, protocol: str,
             bits: tuple[int, ...] = (16, 32, 64)) -> pd.DataFrame:
    """SHNet minus CSQ (mAP), reported and reproduced (mean over seeds), per code length."""
    comp = comparison(results, reported, dataset="cifar10", protocol=protocol, metric="map",
                      methods=["shnet", "csq"], bits=list(bits), source="shnet_table2")
    c = comp.set_index(["method", "n_bits"])
    rows = []
    for b in bits:
        s, q = c.loc[("shnet", b)], c.loc[("csq", b)]
        rows.append({"n_bits": b, "reported_gap": s.reported - q.reported,
                     "reproduced_gap": s["mean"] - q["mean"],
                     "shnet_seeds": int(s.n_seeds), "csq_seeds": int(q.n_seeds),
                     "shnet_std": s["std"], "csq_std": q["std"]})
    return pd.DataFrame(rows)


def headline_text(gaps: pd.DataFrame) -> str:
    """Sentences on the SHNet-vs-CSQ gap (the SHNet paper's headline comparison)."""
    out = []
    for r in gaps.itertuples():
        if np.isnan(r.reproduced_gap):
            out.append(f"* {r.n_bits} bits: the paper reports SHNet {r.reported_gap:+.3f} over "
                       f"CSQ; the runs needed here (SHNet and CSQ) are not both stored yet.")
            continue
        noise = np.nanmax([r.shnet_std, r.csq_std, 0.0])
        within = abs(r.reproduced_gap) <= 2 * noise if noise > 0 else None
        note = ("" if within is None else
                " — within two standard deviations of the seeds, so not distinguishable"
                if within else " — larger than two standard deviations of the seeds")
        out.append(f"* {r.n_bits} bits: paper {r.reported_gap:+.3f}, here "
                   f"{r.reproduced_gap:+.3f} (SHNet {r.shnet_seeds} seeds, CSQ "
                   f"{r.csq_seeds} seeds){note}.")
    return "\n".join(out)
