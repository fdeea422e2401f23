"""What a grid plans, holds and costs: the runs and seeds stored of those planned, the
stored runs' machine time (:func:`~hashlib_core.report.run_list.run_seconds`), and the
machine time of the whole grid."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashlib_core.report.names import display_name
from hashlib_core.runner.grids import DEEP, GridCell


def count_runs(results: pd.DataFrame, cells: list[GridCell]) -> tuple[int, int]:
    """(number of ``cells`` that have a record in ``results``, number of ``cells``)."""
    if results.empty:
        return 0, len(cells)
    have = {(r.protocol, r.method, int(r.n_bits), int(r.seed),
             r.variant if isinstance(r.variant, str) else None)
            for r in results.itertuples()}
    n = sum((c.protocol, c.method, c.n_bits, c.seed, c.variant) in have for c in cells)
    return n, len(cells)


def stored_text(results: pd.DataFrame, cells: list[GridCell], *, scale: str) -> str:
    """The discussion's opening count: the grid's runs made with the current code, the
    runs read, and the stored runs left out until the grid makes them again (made before
    a change to their method's code: :func:`hashlib_core.results.stale_sentences`, each
    named)."""
    from hashlib_core.results import stale_sentences

    have, total = count_runs(results, cells)
    stale = results.attrs.get("stale_records") or []
    protocols = ", ".join(sorted(set(results.protocol))) if len(results) else "none"
    text = (f"Scale `{scale}`: **{have} of the {total} runs** planned for this scale have "
            f"been made with the current code ({len(results)} run{'s' * (len(results) != 1)} "
            f"read in all, on "
            f"protocol(s) {protocols}")
    if not stale:
        return text + ")."
    return (text + f"; {len(stale)} more stored run{'s are' if len(stale) > 1 else ' is'} "
            "left out of every page, and not counted here). "
            + " ".join(stale_sentences(stale)))


def seeds_per_method(results: pd.DataFrame, cells) -> pd.DataFrame:
    """Seeds per method of a grid's main runs (default variant), planned and stored.

    Returns
    -------
    pandas.DataFrame
        One row per (protocol, method, n_bits): ``planned`` (seeds in the grid) and
        ``stored`` (of those, the ones with a record in ``results``).
    """
    have = set()
    if len(results):
        have = {(r.protocol, r.method, int(r.n_bits), int(r.seed))
                for r in results.itertuples()
                if not isinstance(r.variant, str)}
    rows: dict[tuple, dict[str, int]] = {}
    for c in cells:
        if c.kind != "main":
            continue
        row = rows.setdefault((c.protocol, c.method, c.n_bits), {"planned": 0, "stored": 0})
        row["planned"] += 1
        row["stored"] += (c.protocol, c.method, c.n_bits, c.seed) in have
    out = pd.DataFrame([{"protocol": p, "method": m, "n_bits": b, **v}
                        for (p, m, b), v in rows.items()],
                       columns=["protocol", "method", "n_bits", "planned", "stored"])
    return out


_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def seeds_text(results: pd.DataFrame, cells, *, methods=None) -> str:
    """Sentences: how many seeds each method's main runs get in the grid, and how many of
    them are stored, grouped by protocol and code lengths (computed from the grid and the
    records, never typed). ``methods``: only these (default: all)."""
    table = seeds_per_method(results, cells)
    if methods is not None:
        table = table[table.method.isin(list(methods))]
    if table.empty:
        return "The grid of this scale plans no main run of these methods."
    parts = []
    for protocol, sub in table.groupby("protocol", sort=False):
        groups: dict[tuple, list[str]] = {}
        stored: dict[tuple, list[int]] = {}
        for m, g in sub.groupby("method", sort=False):
            sig = tuple((int(n), tuple(sorted(int(b) for b in gg.n_bits)))
                        for n, gg in sorted(g.groupby("planned"), key=lambda x: -x[0]))
            groups.setdefault(sig, []).append(display_name(m))
            acc = stored.setdefault(sig, [0, 0])
            acc[0] += int(g.stored.sum())
            acc[1] += int(g.planned.sum())
        for sig, names in sorted(groups.items(), key=lambda kv: -kv[0][0][0]):
            how = " and ".join(
                f"{_NUMBER_WORDS.get(n, str(n))} seed{'s' * (n > 1)} at "
                f"{'/'.join(str(b) for b in bits)} bits" for n, bits in sig)
            have, total = stored[sig]
            parts.append(f"{', '.join(names)} on `{protocol}`: {how} ({have} of {total} "
                         "runs stored)")
    return "Seeds per method in this scale's grid (main runs): " + "; ".join(parts) + "."


def grid_cost(results: pd.DataFrame, *, protocol: str | None = None) -> pd.DataFrame:
    """Machine time of the stored runs of ``protocol`` (None: every protocol), per method
    (minutes), each run's as :func:`~hashlib_core.report.run_list.run_seconds` defines it
    (the total of the record's timings, else its wall time: the run list's definition). A
    run copied from its tuning winner has no time of its own and is not counted (the
    winner is).

    Returns
    -------
    pandas.DataFrame
        Index: methods (display names), ordered by total; columns ``runs``,
        ``median_min``, ``max_min``, ``total_min``.
    """
    from hashlib_core.report.run_list import run_seconds

    cols = ["runs", "median_min", "max_min", "total_min"]
    if results.empty:
        return pd.DataFrame(columns=cols)
    sel = results.assign(run_s=run_seconds(results))
    sel = sel[sel.run_s.notna()]
    if protocol is not None:
        sel = sel[sel.protocol == protocol]
    if sel.empty:
        return pd.DataFrame(columns=cols)
    g = sel.groupby("method").run_s
    out = pd.DataFrame({"runs": g.size(), "median_min": g.median() / 60,
                        "max_min": g.max() / 60, "total_min": g.sum() / 60})
    out = out.sort_values("total_min", ascending=False)
    return out.rename(index=display_name)


#: what a run's machine time is, for the pages (:func:`~hashlib_core.report.run_list.run_seconds`)
RUN_TIME = ("the total of the timings its record holds (training, validation, encoding the "
            "database and evaluation, every session of a resumed run), as on the run list")


def cost_text(cost: pd.DataFrame) -> str:
    """One sentence on the stored runs' machine time, from :func:`grid_cost`, saying what
    a run's time is."""
    if cost.empty:
        return "No run with a recorded time is stored."
    runs = int(cost.runs.sum())
    total = cost.total_min.sum()
    return (f"{runs} stored runs with a time of their own, {total / runs:.1f} min per run "
            f"on average; the longest single run took {cost.max_min.max():.1f} min "
            f"({cost.max_min.idxmax()}). A run's time is {RUN_TIME}.")


def grid_time(results: pd.DataFrame, cells, *, scale: str) -> dict:
    """The machine time of a whole grid (``cells``, :func:`hashlib_core.runner.grids.grid`): the
    stored runs' machine time (:func:`~hashlib_core.report.run_list.run_seconds`), and an
    estimate for the cells without a record, each at the median of the stored runs of its
    method and protocol (else of its protocol's deep or shallow runs, else of all). A cell that will be copied from its tuning winner (the
    tuned main cell at the tuning length and seed) costs nothing.

    Returns
    -------
    dict
        ``stored`` (cells with a record), ``stored_hours``, ``copied`` (stored runs copied
        from a tuning winner), ``left`` (cells without a record), ``left_hours``
        (estimate), ``total_hours``, ``cells``.
    """
    from hashlib_core.report.run_list import run_seconds
    from hashlib_core.runner import grids

    have = {}
    if not results.empty:
        results = results.assign(run_s=run_seconds(results))
        for r in results.itertuples():
            variant = r.variant if isinstance(r.variant, str) else None
            have[(r.protocol, r.method, int(r.n_bits), int(r.seed), variant)] = r.run_s
    timed = results[results.run_s.notna()] if not results.empty else results
    overall = float(timed.run_s.median()) if len(timed) else float("nan")

    def median(cell) -> float:
        if not len(timed):
            return float("nan")
        same = timed[(timed.protocol == cell.protocol) & (timed.method == cell.method)]
        if len(same):
            return float(same.run_s.median())
        family = list(DEEP) if cell.method in DEEP else list(grids.SHALLOW)
        kin = timed[(timed.protocol == cell.protocol) & timed.method.isin(family)]
        return float(kin.run_s.median()) if len(kin) else overall

    stored_s = left_s = 0.0
    stored = copied = left = 0
    for cell in cells:
        key = (cell.protocol, cell.method, cell.n_bits, cell.seed, cell.variant)
        if key in have:
            stored += 1
            if pd.isna(have[key]):
                copied += 1
            else:
                stored_s += float(have[key])
            continue
        left += 1
        if not grids.is_tuning_twin(cell, scale):
            left_s += median(cell)
    return {"cells": len(cells), "stored": stored, "stored_hours": stored_s / 3600,
            "copied": copied, "left": left, "left_hours": left_s / 3600,
            "total_hours": (stored_s + left_s) / 3600}


def grid_time_text(t: dict, *, scale: str) -> str:
    """Sentences on :func:`grid_time`: what the grid has cost and what it will."""
    copied = (f" ({t['copied']} of them copied from their method's tuning winner, the same "
              "run, at no cost)" if t["copied"] else "")
    text = (f"The `{scale}` grid has {t['cells']} runs. The {t['stored']} stored{copied} "
            f"took {t['stored_hours']:.1f} hours of machine time (one core per run).")
    if t["left"]:
        if np.isnan(t["left_hours"]):
            return text + f" {t['left']} runs are not made yet; no stored run gives their cost."
        text += (f" The {t['left']} runs not made yet would take about {t['left_hours']:.1f} "
                 f"hours more (each at the median of its method's stored runs), about "
                 f"{t['total_hours']:.1f} hours for the whole grid.")
    return text
