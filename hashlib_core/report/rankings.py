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


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's τ-b between ``x`` and ``y`` along their last axis, batched over the
    others (scipy's ``kendalltau``, which takes one pair at a time); NaN where one side is
    constant. Each pair is counted twice in the sums, which cancels in the ratio.

    >>> float(kendall_tau_b(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4])))
    0.6666666666666666
    >>> kendall_tau_b(np.array([[1.0, 2, 2], [1, 1, 1]]), np.array([[3.0, 2, 1]] * 2))
    array([-0.81649658,         nan])
    """
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    num = (sx * sy).sum((-2, -1))
    den = np.sqrt((sx * sx).sum((-2, -1)) * (sy * sy).sum((-2, -1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _tau_interval(paper: np.ndarray, reps: np.ndarray,
                  rng: np.random.Generator) -> tuple[float, float]:
    """The percentile interval of τ at :data:`LEVEL`: ``reps`` (n_methods, n_boot) holds
    each method's drawn values; replicate b resamples the methods with replacement and
    pairs the paper's values with the methods' b-th draws."""
    n, n_boot = reps.shape
    pick = rng.integers(0, n, size=(n_boot, n))
    taus = kendall_tau_b(paper[pick], reps[pick, np.arange(n_boot)[:, None]])
    tail = 100 * (1 - LEVEL) / 2
    if np.isnan(taus).all():
        return float("nan"), float("nan")
    low, high = np.nanpercentile(taus, [tail, 100 - tail])
    return float(low), float(high)


def rank_agreement(runs: list[Run], reported: pd.DataFrame, *, scale: str, source: str,
                   metric: str, methods: tuple[str, ...], bits: tuple[int, ...],
                   protocols: dict[str, str] | None = None, seed: int = 0,
                   n_boot: int = N_BOOT) -> pd.DataFrame:
    """Kendall's τ between the paper's and our values of the methods that have both, per
    code length, with a 95% bootstrap interval (methods resampled; each method's value
    drawn from its mean with its seeds' standard error and a t distribution, or, for a
    single run, the protocol's robust pooled seed spread) and a verdict (supported: the
    interval is above 0). ``protocols`` maps a method to the protocol its runs come from
    (default: the scale's CIFAR-10 protocol). ``tau_deep`` is τ over the deep methods only:
    pairs of a deep and a shallow method agree at any scale, so where a table has shallow
    methods the verdict uses the deep methods' τ (``judged_on``; :func:`ranking_coverage`
    measures why: over every method, "deep above shallow" alone is called supported).

    Returns
    -------
    pandas.DataFrame
        Columns ``source, n_bits, protocol, n_methods, tau, low, high, tau_deep, deep_low,
        deep_high, judged_on, basis, verdict, paper_order, our_order, n_runs, commits``
        (``deep_low`` and ``deep_high``: τ_deep's interval, when the table has shallow
        methods too; ``judged_on``: "deep methods" then, else "every method").
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
        deep_low = deep_high = float("nan")
        if len(names) >= 3:
            low, high = _tau_interval(paper, np.stack([d[1] for d in draws]), rng)
            basis = "methods" + (", seeds" if spread else "")
        if len(deep) >= 3 and len(deep) < len(names):  # drawn after: τ's interval unchanged
            deep_low, deep_high = _tau_interval(paper[deep],
                                                np.stack([draws[i][1] for i in deep]), rng)
        all_runs = [r for m in names for r in have[m][1]]
        used = sorted({protocols.get(m, book) for m in names})
        deep_only = len(deep) < len(names)  # shallow methods too: judged on the deep ones
        judged = (deep_low, deep_high) if deep_only else (low, high)
        rows.append({
            "source": source, "n_bits": n_bits, "protocol": " and ".join(used),
            "n_methods": len(names), "tau": tau, "low": low, "high": high,
            "tau_deep": tau_deep, "deep_low": deep_low, "deep_high": deep_high,
            "judged_on": "deep methods" if deep_only else "every method",
            "basis": basis,
            "verdict": verdict(*judged, randomness=spread),
            "paper_order": " > ".join(display_name(names[i]) for i in np.argsort(-paper,
                                                                                 kind="stable")),
            "our_order": " > ".join(display_name(names[i]) for i in np.argsort(-ours,
                                                                               kind="stable")),
            "n_runs": len(all_runs), "commits": tuple(sorted({r.commit for r in all_runs})),
        })
    return pd.DataFrame(rows, columns=["source", "n_bits", "protocol", "n_methods", "tau",
                                       "low", "high", "tau_deep", "deep_low", "deep_high",
                                       "judged_on", "basis", "verdict",
                                       "paper_order", "our_order", "n_runs", "commits"])


def ranking_coverage(runs: list[Run], reported: pd.DataFrame, *, scale: str,
                     n_sims: int = 1000, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The coverage of :func:`rank_agreement`'s interval, measured by simulation for each
    ranked table and code length, with the stored runs' own means, spreads and seed counts,
    over the methods the verdict uses (the deep ones where the table has shallow ones).

    Each simulated claim draws every method's runs afresh (its true mean: the stored mean;
    its seed spread: its own sample standard deviation, or the protocol's robust pooled
    spread for a single run; as many seeds as it has) and builds the interval as the page
    does. ``coverage``: the share of intervals holding the true τ (the paper's values
    against the true means). ``false_support``: the share that lie above 0 when the true
    means are the same values dealt to the methods in an order unrelated to the paper's
    (the permutation with τ closest to 0 from below, ``null_tau``): how often the page
    would call such a ranking supported at that length. ``group_support``: the share of
    intervals over every method above 0 when every deep method keeps a deep method's value
    and every shallow one a shallow one's, in orders unrelated to the paper's within each
    group (``group_tau``, the τ of that arrangement over every method; NaN for a table of
    deep methods only): how often τ over every method would call a ranking supported that
    agrees with the paper in "deep above shallow" alone, the reason the verdict uses the
    deep methods.

    Returns
    -------
    pandas.DataFrame
        Columns ``source, n_bits, n_methods, tau, coverage, null_tau, false_support,
        group_tau, group_support``.
    """
    book = BOOK_PROTOCOLS[scale]["cifar10"]
    rows = []
    for source, metric, methods, bits in RANKINGS:
        protocols = ranking_protocols(runs, source, scale)
        for n_bits in bits:
            table = _table_spreads(runs, reported, source, metric, methods, n_bits,
                                   protocols, book)
            if table is None:
                continue
            paper, means, sds, ns, pooled, shallow = table
            # the verdict's methods: the deep ones where the table has shallow ones
            judged = [i for i, s in enumerate(shallow) if not s or not any(shallow)]
            if len(judged) < 3:
                continue
            paper_a, mu = np.array(paper), np.array(means)
            rng = np.random.default_rng([seed, n_bits, len(rows)])
            grouped = _grouped_order(paper_a, mu, np.array(shallow), rng)
            every = (paper_a, mu, sds, ns, pooled)
            paper_a, mu = paper_a[judged], mu[judged]
            sds, ns, pooled = ([x[i] for i in judged] for x in (sds, ns, pooled))
            null = _unrelated_order(paper_a, mu, rng)
            out = {"source": source, "n_bits": n_bits, "n_methods": len(judged),
                   "tau": float(kendall_tau_b(paper_a, mu)),
                   "null_tau": float(kendall_tau_b(paper_a, null)),
                   "group_tau": (float(kendall_tau_b(every[0], grouped))
                                 if grouped is not None else float("nan"))}
            hits = above = group = 0
            for _ in range(n_sims):
                lo, hi = _simulated_interval(paper_a, mu, sds, ns, pooled, rng, n_boot)
                hits += lo - 1e-12 <= out["tau"] <= hi + 1e-12
                lo, _ = _simulated_interval(paper_a, null, sds, ns, pooled, rng, n_boot)
                above += lo > 0
                if grouped is not None:  # over every method, as before the rule
                    lo, _ = _simulated_interval(every[0], grouped, *every[2:], rng, n_boot)
                    group += lo > 0
            rows.append(out | {"coverage": hits / n_sims, "false_support": above / n_sims,
                               "group_support": (group / n_sims if grouped is not None
                                                 else float("nan"))})
    return pd.DataFrame(rows, columns=["source", "n_bits", "n_methods", "tau", "coverage",
                                       "null_tau", "false_support", "group_tau",
                                       "group_support"])


def _table_spreads(runs: list[Run], reported: pd.DataFrame, source: str, metric: str,
                   methods, n_bits: int, protocols: dict[str, str], book: str):
    """For :func:`ranking_coverage`: the paper's values, our means, seed spreads (own, or
    the protocol's pooled one for a single run), seed counts, pooled spreads and shallow
    flags of the table's methods that have both values; None when a single run has no
    pooled spread (no interval to measure)."""
    cols: tuple[list, ...] = ([], [], [], [], [], [])
    for m in methods:
        p = _reported(reported, source, m, metric, n_bits)
        g = _runs_of(runs, protocols.get(m, book), m, n_bits)
        if not (np.isfinite(p) and g):
            continue
        vals = np.array([r.value(metric) for r in g], dtype=float)
        pool = pooled_seed_std(runs, protocols.get(m, book), metric)
        sd = vals.std(ddof=1) if len(vals) >= 2 else pool[0]
        if not np.isfinite(sd):
            return None
        for col, v in zip(cols, (p, vals.mean(), sd, len(vals), pool, m in SHALLOW)):
            col.append(v)
    return cols


def ranking_coverage_text(cov: pd.DataFrame, n_sims: int) -> str:
    """The sentences on :func:`ranking_coverage` for the ranking table's caption; "" when
    nothing was measured."""
    if cov.empty:
        return ""

    def span(col: str, fmt: str) -> str:
        lo, hi = cov[col].min(), cov[col].max()
        return f"{lo:{fmt}}" + ("" if lo == hi else f" to {hi:{fmt}}")

    def every(col: str) -> str:
        return " at every length" if cov[col].nunique() == 1 and len(cov) > 1 else ""

    wide = (" (it is conservative: it resamples the methods as well as the seeds)"
            if cov.coverage.min() > 1 - (1 - LEVEL) / 2 else "")
    text = (f" The verdict's interval was measured when this page was built: for each "
            f"table and code length, {n_sims:,} simulated rankings with the stored runs' "
            f"means, seed spreads and numbers of seeds. It held the true τ in "
            f"{span('coverage', '.1%')} of them{every('coverage')}{wide}. With the same "
            f"values dealt to the methods in an order unrelated to the paper's (true τ "
            f"{span('null_tau', '+.2f')}), it lay above 0, a false \"supported\", in "
            f"{span('false_support', '.1%')} of them{every('false_support')}.")
    sub = cov[np.isfinite(cov.group_support)] if "group_support" in cov else cov.iloc[:0]
    if len(sub):
        text += (f" Why the deep methods: with the deep methods' values kept above the "
                 f"shallow ones' but dealt within each group in an order unrelated to the "
                 f"paper's (true τ over every method {sub.group_tau.min():+.2f} to "
                 f"{sub.group_tau.max():+.2f}), the interval over every method lay above 0 in "
                 f"{sub.group_support.min():.1%} to {sub.group_support.max():.1%} of them: "
                 "over every method the verdict cannot tell the paper's order from \"deep "
                 "above shallow\", which holds at any scale. (Earlier versions of this book "
                 "judged the DSAH table over every method; this measurement changed the rule.)")
    return text


def _unrelated_order(paper: np.ndarray, means: np.ndarray, rng: np.random.Generator,
                     tries: int = 2000) -> np.ndarray:
    """The values ``means`` dealt to the methods in the order, among ``tries`` random
    permutations, whose τ against the paper's values is closest to 0 from below."""
    perms = np.argsort(rng.random((tries, len(means))), axis=1)
    taus = kendall_tau_b(np.broadcast_to(paper, perms.shape), means[perms])
    score = np.where(taus <= 0, -taus, np.inf)
    return means[perms[int(np.argmin(score))]]


def _grouped_order(paper: np.ndarray, means: np.ndarray, shallow: np.ndarray,
                   rng: np.random.Generator, tries: int = 2000) -> np.ndarray | None:
    """``means`` dealt again within each group, deep among deep and shallow among
    shallow, each group in the order (:func:`_unrelated_order`) whose τ against the paper
    within the group is closest to 0 from below. None unless the table has both groups
    (and 3 deep methods), or when its deep methods are not all above its shallow ones in
    our values (then "deep above shallow" is not what the values show)."""
    deep = np.flatnonzero(~shallow)
    flat = np.flatnonzero(shallow)
    if len(deep) < 3 or not len(flat) or means[deep].min() <= means[flat].max():
        return None
    out = means.copy()
    for group in (deep, flat):
        if len(group) >= 2:
            out[group] = _unrelated_order(paper[group], means[group], rng, tries)
    return out


def _simulated_interval(paper: np.ndarray, mu: np.ndarray, sds: list[float], ns: list[int],
                        pooled: list[tuple[float, float]], rng: np.random.Generator,
                        n_boot: int) -> tuple[float, float]:
    """One simulated claim: fresh runs of each method, then :func:`rank_agreement`'s
    draws (own standard error and t, or the pooled spread for a single run) and interval."""
    reps = np.empty((len(mu), n_boot))
    for i, (m, sd, n, pool) in enumerate(zip(mu, sds, ns, pooled)):
        vals = m + sd * rng.standard_normal(n)
        if n >= 2:
            se, df = vals.std(ddof=1) / np.sqrt(n), n - 1
        else:
            se, df = pool
        reps[i] = vals.mean() + se * rng.standard_t(df, size=n_boot)
    return _tau_interval(paper, reps, rng)


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


__all__ = ["N_BOOT", "RANKINGS", "kendall_tau_b", "pooled_seed_std", "rank_agreement",
           "ranking_coverage", "ranking_coverage_text", "ranking_protocols", "rankings"]
