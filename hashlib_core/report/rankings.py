"""The papers' rankings of the methods, checked against ours: Kendall's τ between the
values a paper printed and the runs' values, per code length, with a bootstrap interval.

Each ranked table of :data:`RANKINGS` (the SHNet paper's Table 2, the DSAH paper's Table 1)
is compared over the methods that have both a printed value and runs
(:func:`rank_agreement`). The interval resamples the methods and draws each method's value
from its seeds (a t distribution with their standard error); a method with a single run
takes the protocol's robust pooled seed spread (:func:`pooled_seed_std`). The verdict
follows :func:`hashlib_core.report.claims.verdict`: supported when the interval lies above 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import kendalltau

from hashlib_core.report import intervals
from hashlib_core.report.claims import LEVEL, Run, _reported, _runs_of, verdict
from hashlib_core.report.names import display_name
from hashlib_core.runner.grids import (
    ADSH_PROTOCOL_METHODS,
    BOOK_PROTOCOLS,
    DSAH_BITS,
    DSAH_TABLE,
    SHALLOW,
    SHNET_TABLE,
)

#: bootstrap replicates of a ranking's interval
N_BOOT = 2000
#: the papers' rankings: (source, metric, methods, code lengths)
RANKINGS: tuple[tuple[str, str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("shnet_table2", "map", SHNET_TABLE, (16, 32, 64)),
    ("dsah_table1", "precision_top5000", DSAH_TABLE, DSAH_BITS),
)


def pooled_seed_std(runs: list[Run], protocol: str, metric: str) -> tuple[float, float]:
    """A robust seed-to-seed standard deviation of ``metric`` over the (method, length)
    groups of ``protocol`` with two or more seeds
    (:func:`hashlib_core.report.intervals.robust_pooled_sd`: median-based, so one collapsed seed
    does not widen every interval); returns (sd, degrees of freedom), (NaN, 0) without
    such groups. Only the rankings use it, for methods with a single run."""
    groups: dict[tuple[str, int], list[float]] = {}
    for r in runs:
        if r.key["protocol"] == protocol:
            groups.setdefault((r.key["method"], int(r.key["n_bits"])), []).append(
                r.value(metric))
    return intervals.robust_pooled_sd([np.array(v) for v in groups.values()])


def _method_draws(runs: list[Run], metric: str, pooled: tuple[float, float],
                  rng: np.random.Generator, n_boot: int) -> tuple[float, np.ndarray, bool]:
    """A method's mean and ``n_boot`` draws of it: mean + SE * t(df), SE from its own seeds,
    or the robust pooled spread for a single run. The bool: whether a spread was known."""
    vals = np.array([r.value(metric) for r in runs], dtype=float)
    mean = float(vals.mean())
    if len(vals) >= 2:
        se, df = vals.std(ddof=1) / np.sqrt(len(vals)), len(vals) - 1
    elif np.isfinite(pooled[0]) and pooled[1] > 0:
        se, df = pooled[0], pooled[1]
    else:
        return mean, np.full(n_boot, mean), False
    return mean, mean + se * stats.t.rvs(df, size=n_boot, random_state=rng), True


def rank_agreement(runs: list[Run], reported: pd.DataFrame, *, scale: str, source: str,
                   metric: str, methods: tuple[str, ...], bits: tuple[int, ...],
                   protocols: dict[str, str] | None = None, seed: int = 0,
                   n_boot: int = N_BOOT) -> pd.DataFrame:
    """Kendall's τ between the paper's and our values of the methods that have both, per
    code length, with a 95% bootstrap interval (methods resampled; each method's value
    drawn from its mean with its seeds' standard error and a t distribution, or, for a
    single run, the protocol's robust pooled seed spread) and a verdict (supported: the
    interval is above 0). ``protocols`` maps a method to the protocol its runs come from
    (default: the scale's CIFAR-10 protocol). ``tau_deep`` is τ over the deep methods only
    (pairs of a deep and a shallow method agree at any scale).

    Returns
    -------
    pandas.DataFrame
        Columns ``source, n_bits, protocol, n_methods, tau, low, high, tau_deep, basis,
        verdict, paper_order, our_order, n_runs, commits``.
    """
    book = BOOK_PROTOCOLS[scale]["cifar10"]
    protocols = protocols or {}
    rows = []
    for n_bits in bits:
        rng = np.random.default_rng([seed, n_bits, 7])
        have = {}
        for m in methods:
            p = _reported(reported, source, m, metric, n_bits)
            g = _runs_of(runs, protocols.get(m, book), m, n_bits)
            if np.isfinite(p) and g:
                have[m] = (p, g)
        if not have:
            continue
        names = list(have)
        paper = np.array([have[m][0] for m in names])
        draws = [_method_draws(have[m][1], metric,
                               pooled_seed_std(runs, protocols.get(m, book), metric),
                               rng, n_boot) for m in names]
        ours = np.array([d[0] for d in draws])
        spread = all(d[2] for d in draws)
        tau = float(kendalltau(paper, ours).statistic) if len(names) >= 3 else float("nan")
        deep = [i for i, m in enumerate(names) if m not in SHALLOW]
        tau_deep = (float(kendalltau(paper[deep], ours[deep]).statistic)
                    if len(deep) >= 3 else float("nan"))
        low = high = float("nan")
        basis = "none"
        if len(names) >= 3:
            reps = np.stack([d[1] for d in draws])  # (n_methods, n_boot)
            pick = rng.integers(0, len(names), size=(n_boot, len(names)))
            taus = np.full(n_boot, np.nan)
            for b in range(n_boot):
                p, o = paper[pick[b]], reps[pick[b], b]
                if np.ptp(p) > 0 and np.ptp(o) > 0:
                    taus[b] = kendalltau(p, o).statistic
            tail = 100 * (1 - LEVEL) / 2
            low, high = (float(x) for x in np.nanpercentile(taus, [tail, 100 - tail]))
            basis = "methods" + (", seeds" if spread else "")
        all_runs = [r for m in names for r in have[m][1]]
        used = sorted({protocols.get(m, book) for m in names})
        rows.append({
            "source": source, "n_bits": n_bits, "protocol": " and ".join(used),
            "n_methods": len(names), "tau": tau, "low": low, "high": high,
            "tau_deep": tau_deep, "basis": basis,
            "verdict": verdict(low, high, randomness=spread),
            "paper_order": " > ".join(display_name(names[i]) for i in np.argsort(-paper,
                                                                                 kind="stable")),
            "our_order": " > ".join(display_name(names[i]) for i in np.argsort(-ours,
                                                                               kind="stable")),
            "n_runs": len(all_runs), "commits": tuple(sorted({r.commit for r in all_runs})),
        })
    return pd.DataFrame(rows, columns=["source", "n_bits", "protocol", "n_methods", "tau",
                                       "low", "high", "tau_deep", "basis", "verdict",
                                       "paper_order", "our_order", "n_runs", "commits"])


def ranking_protocols(runs: list[Run], source: str, scale: str) -> dict[str, str]:
    """The protocol each method of a ranked table is read from: the DSAH table's
    asymmetric methods (DSAH, ADSH) under ADSH's protocol where they have runs there (as
    the DSAH paper runs them), every other method on the scale's CIFAR-10 protocol."""
    if source != "dsah_table1":
        return {}
    have = {r.key["method"] for r in runs if r.key["protocol"] == "cifar10-adsh"}
    return {m: "cifar10-adsh" for m in ADSH_PROTOCOL_METHODS if m in have}


def rankings(runs: list[Run], reported: pd.DataFrame, *, scale: str, seed: int = 0,
             n_boot: int = N_BOOT) -> pd.DataFrame:
    """:func:`rank_agreement` for each ranked table of :data:`RANKINGS`, one frame."""
    frames = [rank_agreement(runs, reported, scale=scale, source=s, metric=m, methods=ms,
                             bits=b, seed=seed, n_boot=n_boot,
                             protocols=ranking_protocols(runs, s, scale))
              for s, m, ms, b in RANKINGS]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else rank_agreement(
        [], reported, scale=scale, source="", metric="map", methods=(), bits=())


__all__ = ["N_BOOT", "RANKINGS", "pooled_seed_std", "rank_agreement", "ranking_protocols",
           "rankings"]
