"""The interval of a difference between two methods: seeds and queries, proven by simulation.

Two methods A and B, each trained with a few seeds and evaluated on the same query set.
Run ``(m, s)`` scores ``y[m, s, q]`` on query ``q``, modelled as

.. math::

    y_{msq} = \\mu_m + b_q + c_{mq} + e_{ms} + \\varepsilon_{msq}

with a query difficulty :math:`b_q` shared by the methods, a method-by-query effect
:math:`c_{mq}` (variance :math:`\\tau^2`), a seed effect :math:`e_{ms}` (variance
:math:`\\sigma_m^2`) and a run-by-query noise :math:`\\varepsilon_{msq}` (variance
:math:`\\eta_m^2`). The run's score is its mean over the ``Q`` queries; a method's score is
the mean of its ``n_m`` runs. The difference of the two means has variance

.. math::

    \\operatorname{Var}(\\bar y_A - \\bar y_B) = \\frac{S_A^2}{n_A} + \\frac{S_B^2}{n_B}
    + \\frac{2\\tau^2}{Q},

where :math:`S_m^2 = \\sigma_m^2 + \\eta_m^2/Q` is the variance of a run's score from seed
to seed (estimated by the sample variance of the runs) and :math:`2\\tau^2/Q` the share
of the chosen queries (estimated from the paired per-query differences of the seed means,
less the run noise already counted in :math:`S^2`). The interval is
:math:`d \\pm t_{\\nu, 0.975} \\mathrm{SE}` with Welch–Satterthwaite degrees of freedom:
with three or five seeds the t quantile, not the normal one, and never a resample of the
seeds (a percentile bootstrap of three seeds draws only 10 distinct means per method and
its interval is too narrow: :func:`coverage` measures it).

:func:`coverage` simulates pairs of *equal* methods with the variance components
estimated from stored runs (:func:`components`) and counts how often an interval covers
the true difference 0; tests/report/test_intervals.py requires 0.93-0.97 for
:func:`difference_interval` and shows the old bootstrap below it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A difference of means with its interval; NaN bounds when none can be drawn."""

    difference: float
    low: float
    high: float
    se: float
    df: float
    #: what the interval covers: "seeds and queries (paired)", "seeds", or "" (none)
    basis: str


def _seed_var(values: np.ndarray) -> float:
    return float(np.var(values, ddof=1)) if len(values) >= 2 else float("nan")


def query_component(a_per_query: np.ndarray, b_per_query: np.ndarray) -> float:
    """The variance the choice of queries adds to a difference of seed means:
    ``max(0, var_q(D_q) - eta_A^2/n_A - eta_B^2/n_B) / Q`` with ``D_q`` the paired
    per-query difference of the two methods' seed means and ``eta_m^2`` the run-by-query
    noise of method m (its per-query variance across seeds, averaged over queries; 0 with
    one run, which then counts the noise once more: conservative).

    Parameters
    ----------
    a_per_query, b_per_query : array of shape (n_runs, n_queries)
        Per-query values of each run (NaN for a query without a value).
    """
    a = np.asarray(a_per_query, dtype=float)
    b = np.asarray(b_per_query, dtype=float)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"per-query values must be (runs, queries) with one query count, "
                         f"got {a.shape} and {b.shape}")
    ok = np.isfinite(a).all(0) & np.isfinite(b).all(0)
    a, b = a[:, ok], b[:, ok]
    q = a.shape[1]
    if q < 2:
        return float("nan")
    d = a.mean(0) - b.mean(0)
    noise = sum(float(np.mean(np.var(x, axis=0, ddof=1))) / len(x) for x in (a, b)
                if len(x) >= 2)
    return max(0.0, float(np.var(d, ddof=1)) - noise) / q


def difference_interval(a: np.ndarray, b: np.ndarray, *, a_per_query: np.ndarray | None = None,
                        b_per_query: np.ndarray | None = None, level: float = LEVEL,
                        pooled: tuple[float, float] | None = None) -> Interval:
    """The mean of ``a`` minus the mean of ``b`` with a t interval over seeds and queries.

    Parameters
    ----------
    a, b : array-like of shape (n_runs,)
        Each run's score (one per seed).
    a_per_query, b_per_query : array of shape (n_runs, n_queries), optional
        The runs' per-query values on the same queries (paired); without them the
        interval covers the seeds only.
    pooled : (sd, df), optional
        A seed-to-seed spread to use for a method with a single run (the rankings only;
        a claim never borrows one): its variance enters with ``df`` degrees of freedom.

    Returns
    -------
    Interval
        NaN bounds when a side has one run and no ``pooled`` spread is given.

    Examples
    --------
    >>> iv = difference_interval([0.56, 0.57, 0.55], [0.55, 0.54, 0.56])
    >>> round(iv.difference, 3), round(iv.df, 1), iv.low < 0 < iv.high
    (0.01, 4.0, True)
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or not len(a) or not len(b):
        raise ValueError(f"difference_interval: a and b must be non-empty 1-D, got shapes "
                         f"{a.shape} and {b.shape}")
    diff = float(a.mean() - b.mean())
    parts: list[tuple[float, float]] = []  # (variance of the mean, degrees of freedom)
    for x in (a, b):
        if len(x) >= 2:
            parts.append((_seed_var(x) / len(x), len(x) - 1.0))
        elif pooled is not None and np.isfinite(pooled[0]) and pooled[1] > 0:
            parts.append((pooled[0] ** 2, float(pooled[1])))
        else:
            return Interval(diff, float("nan"), float("nan"), float("nan"), float("nan"), "")
    basis = "seeds"
    if a_per_query is not None and b_per_query is not None:
        vq = query_component(a_per_query, b_per_query)
        if np.isfinite(vq):
            parts.append((vq, float(np.asarray(a_per_query).shape[1] - 1)))
            basis = "seeds and queries (paired)"
    var = sum(v for v, _ in parts)
    se = float(np.sqrt(var))
    if var <= 0:
        return Interval(diff, diff, diff, 0.0, float("inf"), basis)
    df = var ** 2 / sum(v ** 2 / d for v, d in parts if v > 0)
    t = float(stats.t.ppf(0.5 + level / 2, df))
    return Interval(diff, diff - t * se, diff + t * se, se, float(df), basis)


def mean_interval(values, level: float = LEVEL) -> tuple[float, float, float]:
    """The mean of ``values`` (e.g. paired per-seed changes) with its one-sample t
    interval: ``(mean, low, high)``, NaN bounds under two values.

    >>> m, lo, hi = mean_interval([0.01, 0.02, 0.03])
    >>> round(m, 3), round(lo, 3), round(hi, 3)
    (0.02, -0.005, 0.045)
    """
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return (float(x.mean()) if len(x) else float("nan"), float("nan"), float("nan"))
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1)) * _seed_var(x) ** 0.5 / np.sqrt(len(x))
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def robust_pooled_sd(groups: list[np.ndarray]) -> tuple[float, float]:
    """A seed-to-seed standard deviation pooled over groups (a method at one length) with
    two or more runs, robust to one collapsed seed: the median of the groups' sample
    variances, divided by the median of chi-square/df at the groups' median degrees of
    freedom (so that it is unbiased for the median under normality). Returns (sd, df)
    with df the median degrees of freedom of a group; (NaN, 0) without such groups.

    Examples
    --------
    >>> sd, df = robust_pooled_sd([np.array([0.55, 0.56, 0.57])] * 4
    ...                           + [np.array([0.40, 0.55, 0.55])])
    >>> round(sd, 3), df
    (0.012, 2.0)
    """
    var, dof = [], []
    for g in groups:
        g = np.asarray(g, dtype=float)
        g = g[np.isfinite(g)]
        if len(g) >= 2:
            var.append(float(np.var(g, ddof=1)))
            dof.append(len(g) - 1)
    if not var:
        return float("nan"), 0.0
    df = float(np.median(dof))
    scale = float(stats.chi2.median(df) / df)
    return float(np.sqrt(np.median(var) / scale)), df


# --------------------------------------------------------------------------- simulation
@dataclass(frozen=True)
class Components:
    """Variance components of runs' per-query scores (see the module docstring)."""

    query_values: np.ndarray  # (Q,) per-query means: the query difficulties b_q
    sigma: float  # seed effect sd
    eta: float  # run-by-query noise sd
    tau: float  # method-by-query effect sd


def components(per_query: list[np.ndarray]) -> Components:
    """Estimate the components from the per-query values of methods (one array of shape
    (n_runs >= 2, Q) per method, the same queries): eta from the per-query spread across
    seeds, sigma from the spread of the run scores less eta^2/Q, tau from the paired
    per-query differences of the methods' seed means less the noise (floored at 0)."""
    mats = [np.asarray(p, dtype=float) for p in per_query]
    if not mats or any(m.ndim != 2 or m.shape[0] < 2 for m in mats):
        raise ValueError("components: every method needs (n_runs >= 2, Q) per-query values")
    q = mats[0].shape[1]
    eta2 = float(np.mean([np.mean(np.var(m, axis=0, ddof=1)) for m in mats]))
    run_var = float(np.mean([np.var(m.mean(1), ddof=1) for m in mats]))
    sigma2 = max(run_var - eta2 / q, 0.0)
    tau2 = 0.0
    if len(mats) >= 2:
        d = mats[0].mean(0) - mats[1].mean(0)
        noise = eta2 / mats[0].shape[0] + eta2 / mats[1].shape[0]
        tau2 = max(float(np.var(d, ddof=1)) - noise, 0.0) / 2
    values = np.mean([m.mean(0) for m in mats], axis=0)
    return Components(values, float(np.sqrt(sigma2)), float(np.sqrt(eta2)), float(np.sqrt(tau2)))


def simulate(comp: Components, n_a: int, n_b: int, n_claims: int, *,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-query values of ``n_claims`` pairs of equal methods: arrays (n_claims, n_a, Q)
    and (n_claims, n_b, Q). Each claim draws its queries from the stored ones (with
    replacement) and its own method-by-query, seed and noise effects."""
    q = len(comp.query_values)
    base = comp.query_values[rng.integers(0, q, size=(n_claims, q))]

    def method(n: int) -> np.ndarray:
        c = rng.normal(0.0, comp.tau, size=(n_claims, 1, q))
        e = rng.normal(0.0, comp.sigma, size=(n_claims, n, 1))
        eps = rng.normal(0.0, comp.eta, size=(n_claims, n, q))
        return base[:, None, :] + c + e + eps

    return method(n_a), method(n_b)


def coverage(interval_fn, comp: Components, *, n_a: int, n_b: int, n_claims: int = 1000,
             seed: int = 0) -> float:
    """The share of ``n_claims`` simulated claims of two equal methods whose interval
    covers 0. ``interval_fn(a_per_query, b_per_query) -> (low, high)`` takes one claim's
    per-query values, shapes (n_a, Q) and (n_b, Q)."""
    rng = np.random.default_rng(seed)
    a, b = simulate(comp, n_a, n_b, n_claims, rng=rng)
    hits = 0
    for i in range(n_claims):
        low, high = interval_fn(a[i], b[i])
        hits += bool(low <= 0.0 <= high)
    return hits / n_claims


def t_interval_fn(a_per_query: np.ndarray, b_per_query: np.ndarray) -> tuple[float, float]:
    """:func:`difference_interval` on one claim's per-query values (for :func:`coverage`)."""
    iv = difference_interval(a_per_query.mean(1), b_per_query.mean(1),
                             a_per_query=a_per_query, b_per_query=b_per_query)
    return iv.low, iv.high


def seed_bootstrap_fn(n_boot: int = 2000, seed: int = 0):
    """The interval the claims page used before issue 23, for :func:`coverage`: a
    percentile bootstrap that resamples each method's seeds with replacement (the query
    resample it added is left out: it widens the interval by the small query share only)."""
    rng = np.random.default_rng(seed)

    def fn(a_per_query: np.ndarray, b_per_query: np.ndarray) -> tuple[float, float]:
        a, b = a_per_query.mean(1), b_per_query.mean(1)
        ra = a[rng.integers(0, len(a), size=(n_boot, len(a)))].mean(1)
        rb = b[rng.integers(0, len(b), size=(n_boot, len(b)))].mean(1)
        lo, hi = np.percentile(ra - rb, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
        return float(lo), float(hi)

    return fn
