"""The papers' rankings on the claims page: the rank-agreement table (Kendall's τ with its
interval over every method, and over the deep methods, on which a table with shallow
methods is judged), the orders behind it, and the sentences that go with them. The numbers come from :mod:`hashlib_core.report.rankings`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hashlib_core.report.claim_checks import interval_text
from hashlib_core.report.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from hashlib_core.report.markdown import format_value
from hashlib_core.report.names import display_name
from hashlib_core.report.provenance import runs_line


def ranking_verdict(rows: pd.DataFrame) -> str:
    """A ranked table's verdict: supported when every code length is, not supported when
    any is not, else inconclusive."""
    if rows.empty:
        return INCONCLUSIVE
    if (rows.verdict == NOT_SUPPORTED).any():
        return NOT_SUPPORTED
    return SUPPORTED if (rows.verdict == SUPPORTED).all() else INCONCLUSIVE


def ranking_table(ranks: pd.DataFrame) -> pd.DataFrame:
    """The rank agreement as strings: table, bits, methods, protocol, τ with interval, τ
    over the deep methods only, verdict (the orders are :func:`ranking_orders`: one table
    of both would not fit the page)."""
    from hashlib_core.report.reported import SOURCES

    cols = ["paper's table", "bits", "methods", "protocol",
            "Kendall τ, every method (95% interval)", "τ, deep methods (95% interval)",
            "verdict (judged on)"]
    def tau(value: float, low: float, high: float) -> str:
        mark = " †" if low == high else ""
        return f"{format_value(value, signed=True)} {interval_text(low, high)}{mark}"

    return pd.DataFrame([{
        "paper's table": SOURCES.get(r.source, r.source).split(" (")[0],
        "bits": str(r.n_bits), "methods": str(r.n_methods), "protocol": r.protocol,
        "Kendall τ, every method (95% interval)": tau(r.tau, r.low, r.high),
        "τ, deep methods (95% interval)": (
            tau(r.tau_deep, r.deep_low, r.deep_high)
            if np.isfinite(getattr(r, "deep_low", np.nan))
            else format_value(r.tau_deep, signed=True) + " (every method is deep)"),
        "verdict (judged on)": f"**{r.verdict}** ({getattr(r, 'judged_on', 'every method')})",
    } for r in ranks.itertuples()], columns=cols)


def zero_width_text(ranks: pd.DataFrame) -> str:
    """A sentence on the intervals of no width (marked † by :func:`ranking_table`), ""
    if none: every resample kept the paper's order, so the interval is one point."""
    lows = [ranks.low] + ([ranks.deep_low] if "deep_low" in ranks else [])
    highs = [ranks.high] + ([ranks.deep_high] if "deep_high" in ranks else [])
    if not any((lo == hi).any() for lo, hi in zip(lows, highs)):
        return ""
    return (" † An interval of no width: in every resample (of the methods and of each "
            "method's value from its seeds) the order was the same (the paper's at τ = +1, "
            "its reverse at τ = −1), so τ was the same each time. Few methods make τ coarse "
            "(over n methods it moves in steps of 4/(n(n − 1)): 0.2 for 5), and the "
            "simulation below measures how often such an interval misleads.")


def deep_only_text(ranks: pd.DataFrame) -> str:
    """A sentence naming the tables and lengths where τ over every method has an interval
    above 0 but τ over the deep methods (the verdict's) does not, "" if none."""
    from hashlib_core.report.reported import SOURCES

    if "deep_low" not in ranks:
        return ""
    weak = ranks[np.isfinite(ranks.deep_low) & (ranks.deep_low <= 0) & (ranks.low > 0)]
    if weak.empty:
        return ""
    parts = [f"{SOURCES.get(src, src).split(' (')[0]}, at "
             + _and([str(b) for b in sub.n_bits]) + " bits"
             for src, sub in weak.groupby("source", sort=False)]
    return (" Over every method the interval is above 0, but over the deep methods it is "
            "not, for " + "; ".join(parts) + ": at those lengths the agreement comes from "
            "the pairs of a deep and a shallow method.")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def ranking_orders(ranks: pd.DataFrame) -> pd.DataFrame:
    """The paper's order of the methods and ours, per ranked table and code length."""
    from hashlib_core.report.reported import SOURCES

    return pd.DataFrame([{
        "table, bits": f"{SOURCES.get(r.source, r.source).split(' (')[0]}, {r.n_bits}",
        "paper's order": r.paper_order, "our order": r.our_order,
    } for r in ranks.itertuples()], columns=["table, bits", "paper's order", "our order"])


def ranked_left_out(ranks: pd.DataFrame, remade: list[str]) -> str:
    """A sentence naming the ranked methods that have default runs left out until the grid
    makes them again (:func:`hashlib_core.results.store.stale_runs`), "" if none."""
    from hashlib_core.report.rankings import RANKINGS
    from hashlib_core.results.store import stale_runs

    ranked = {m for _, _, methods, _ in RANKINGS for m in methods}
    names = sorted({r["method"] for r in stale_runs(remade)
                    if r["variant"] is None and r["method"] in ranked})
    if not names:
        return ""
    return (" The values leave out the runs of " + ", ".join(display_name(m) for m in names)
            + " made before a change to their code (named at the top of this page); "
            "their means rest on the other seeds.")


def ranking_blocks(ranks: pd.DataFrame, *, first: int, out_dir: Path, page: str,
                    left_out: str = "", coverage: str = "", budget: str = "") -> list[str]:
    """Tables ``first`` and ``first + 1``: the rank agreement and the orders behind it
    (written as ``<page>_rankings.csv``), or a sentence when no ranked method has runs;
    ``left_out``: :func:`_ranked_left_out`."""
    from hashlib_core.report.markdown import markdown_table, write_csv

    name = f"{page}_rankings.csv"
    write_csv(ranks.assign(commits=[" ".join(c) for c in ranks.commits]), out_dir / name)
    if not len(ranks):
        return ["No method of the papers' ranked tables has a run at this scale, so "
                "the rankings are not tested."]
    return [
        f"**Table {first}. Do the papers' rankings hold?** {budget}Kendall's τ between "
        "the values the paper printed and ours, over the methods that have both (1 = "
        "the same order, 0 = unrelated, −1 = reversed); the interval resamples the "
        "methods and draws each method's value from its seeds (a t distribution with "
        "its standard error; a method with one run: the protocol's median-based seed "
        "spread). The DSAH table takes DSAH and ADSH from ADSH's protocol, as the DSAH "
        "paper does, and its other methods from protocol I (shown in the DSAH results "
        "tables). Pairs of a deep and a shallow method agree at any scale, so where a "
        "table has shallow methods the verdict uses τ over its deep methods, and τ over "
        "every method is context. Supported: the verdict's interval lies above "
        f"0 at every code length.{zero_width_text(ranks)}{deep_only_text(ranks)}"
        f"{coverage}{left_out} From "
        f"{runs_line(ranks)}: the runs of the methods and code lengths in the papers' "
        "ranked tables. "
        f"Download: [CSV]({name}).\n\n"
        + markdown_table(ranking_table(ranks)),
        f"**Table {first + 1}. The orders behind Table {first}**: the methods from "
        "the best value to the worst, as the paper printed them and as ours "
        "came out.\n\n" + markdown_table(ranking_orders(ranks)),
    ]


__all__ = ["deep_only_text", "ranked_left_out", "ranking_blocks",
           "ranking_orders", "ranking_table", "ranking_verdict", "zero_width_text"]
