"""How far the reproduced results agree with the papers: the methods' ranking per code
length (Kendall's tau) and the SHNet-vs-CSQ headline gap (the claims page,
:mod:`hashlib_core.report.claims`, adds intervals and verdicts). Each function returns a
DataFrame; :func:`ranking_text` and :func:`headline_text` turn them into sentences."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from hashlib_core.report.comparison import comparison
from hashlib_core.report.names import display_name


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


def _seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


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
                   f"{r.reproduced_gap:+.3f} (SHNet {_seeds(r.shnet_seeds)}, CSQ "
                   f"{_seeds(r.csq_seeds)}){note}.")
    return "\n".join(out)
