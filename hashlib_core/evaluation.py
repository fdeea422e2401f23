"""One call that computes every number and curve the book reports for a set of codes.

:func:`evaluate` makes a single chunked pass over the queries (packed-bit Hamming
distances, one ranking, distance histograms) and derives all metrics of
:mod:`hashlib_core.metrics` from it, with the same conventions. Its result is what the
engine stores for a run and what the book's tables and figures read.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hashlib_core.metrics._checks import (
    DENOMINATOR_OPTIONS,
    EMPTY_OPTIONS,
    as_bits,
    check_option,
    check_topk,
    mean_over_queries,
)
from hashlib_core.metrics._engine import Search
from hashlib_core.metrics.bits import bit_balance, bit_correlation, code_health
from hashlib_core.metrics.radius import radius_curves
from hashlib_core.metrics.ranking import (
    ap_expected,
    ap_index,
    check_cutoffs,
    relevant_in_top,
)
from hashlib_core.metrics.redundancy import code_redundancy

__all__ = ["DEFAULT_PN_CUTOFFS", "EvalResult", "evaluate"]

#: P@N cut-offs: 1, 5, 10, 20, ..., 1000, then 1500, 2000, ..., 5000 (those <= n_db are used)
DEFAULT_PN_CUTOFFS = np.unique(
    np.concatenate([[1, 5], np.arange(10, 1001, 10), np.arange(1500, 5001, 500)])
).astype(np.int64)
#: "precision of the top 5,000 returned" (DSAH's table)
TOP_PRECISION_N = 5000


@dataclass
class EvalResult:
    """Scalars, curves and the conventions behind them (see :func:`evaluate`).

    ``scalars`` (floats):

    * ``map``: mAP@topk (mAP@ALL when ``topk`` is None), ties by index;
    * ``map_all``: mAP@ALL, always computed (the ranking is complete anyway: one full
      sort of the database per query, a few seconds at ImageNet-100 scale);
    * ``map_expected``: mAP@topk with ``ties="expected"`` (tie-aware, exact
      expectation over all orders of tied items); ``map - map_expected`` shows how
      much the tie convention moves the number;
    * ``precision_top5000``: precision of the top 5,000 items (DSAH's "precision of the
      top 5,000"); with fewer than 5,000 database items, of the whole database
      (``info["top_precision_n"]`` says which N was used);
    * ``precision_r{radius}``: mean over queries of the precision of the items within
      Hamming radius ``radius`` (a query that returns nothing counts 0);
    * ``recall_r{radius}``: mean over queries of the recall within that radius;
    * ``mac``: mean absolute Pearson correlation between bits of the database codes
      (pairs k < l); ``bit_balance``: mean over bits of ``|mean of the bit|`` ({-1,+1}),
      0 = perfectly balanced. Both NaN for a database of one code.
    * code health of the database codes (:func:`hashlib_core.metrics.code_health`):
      ``distinct_bits`` (different columns up to sign; *every constant bit together
      counts as one*), ``distinct_codes`` and ``constant_bits`` (the *fraction* of
      constant bits; names kept for the records the book already reads);
    * redundancy of the database codes (:func:`hashlib_core.metrics.code_redundancy`):
      ``n_constant_bits`` (constant bits, each counted), ``varying_bits``,
      ``mac_varying`` (mAC over the varying bits only), ``dup_groups`` (groups of
      varying bits with ``|r| >= 0.9``), ``redundant_bits`` (varying bits - groups),
      ``effective_bits`` (principal components explaining 99% of the variance);
    * ``query_<name>``: every code-health and redundancy value above, and ``mac`` and
      ``bit_balance``, of the query codes (present with at least 2 queries). ``mac_varying`` is NaN with
      fewer than 2 varying bits.

    ``curves`` (float64 arrays unless said):

    * ``pr_radius`` (n_bits + 1,) int64, ``pr_precision``, ``pr_recall``: Hamming-ball
      lookup at radius 0..n_bits, pairs pooled over queries (``average="micro"`` of
      :func:`hashlib_core.metrics.precision_recall_curve`; precision 0 where nothing is
      returned);
    * ``pn_n`` (n_cutoffs,) int64 and ``pn_precision``: mean P@N, ties by index;
    * ``bit_correlation`` (n_bits, n_bits): Pearson correlation of the database bits;
    * ``per_query_map`` and ``per_query_precision_top5000`` (n_queries,): the value of
      each query behind ``map`` and ``precision_top5000`` (NaN for a query left out
      by ``empty="skip"``), for intervals paired over queries.

    ``info``: sizes, the conventions used, the effective ``topk``, the number of
    queries without relevant items.
    """

    scalars: dict[str, float]
    curves: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)


def evaluate(
    query_codes: Any,
    db_codes: Any,
    query_labels: Any,
    db_labels: Any,
    *,
    topk: int | None = None,
    pn_cutoffs: Any = None,
    radius: int = 2,
    empty: str = "zero",
    denominator: str = "retrieved",
    chunk_size: int | None = None,
) -> EvalResult:
    r"""Every retrieval metric of the book for one set of query and database codes.

    Relevant = shares at least one label. Ranking metrics order equal Hamming distances
    by database index (``ties="index"`` of :mod:`hashlib_core.metrics`), except
    ``map_expected``. A query with no relevant database item is handled by ``empty``
    for every metric at once, with one warning giving the count.

    Parameters
    ----------
    query_codes : array-like of shape (n_queries, n_bits)
        Values in {-1,+1} (or {0,1}, bool).
    db_codes : array-like of shape (n_db, n_bits)
    query_labels : array-like of shape (n_queries,) or (n_queries, n_classes)
        Integer classes or multi-hot {0,1}.
    db_labels : array-like of shape (n_db,) or (n_db, n_classes)
    topk : int, optional
        The mAP cut-off of the protocol (None = mAP@ALL). A value above ``n_db`` is
        clipped to ``n_db`` with a warning (recorded in ``info["topk"]``).
    pn_cutoffs : array-like of int, optional
        Cut-offs of the P@N curve; default :data:`DEFAULT_PN_CUTOFFS` (1, 5, 10, 20,
        ..., 1000, 1500, ..., 5000). Cut-offs above ``n_db`` are dropped.
    radius : int
        Hamming radius of ``precision_r{radius}`` / ``recall_r{radius}``.
    empty : {"zero", "skip"}
        Queries without relevant items count as 0 or are left out of every mean.
    denominator : {"retrieved", "all"}
        Normaliser of AP@K (see :func:`hashlib_core.metrics.average_precision`).
    chunk_size : int, optional
        Queries per chunk of work (memory bound); automatic by default.

    Returns
    -------
    EvalResult
        ``scalars``, ``curves`` and ``info``: every field is described in
        :class:`EvalResult`.

    Examples
    --------
    >>> q = [[1, 1, 1, 1], [-1, -1, -1, -1]]
    >>> db = [[1, 1, 1, 1], [1, 1, 1, -1], [-1, -1, -1, -1], [-1, -1, 1, -1]]
    >>> res = evaluate(q, db, [0, 1], [0, 0, 1, 1], pn_cutoffs=[1, 2, 4])
    >>> res.scalars["map"], res.scalars["precision_top5000"], res.info["top_precision_n"]
    (1.0, 0.5, 4)
    >>> res.curves["pn_precision"]
    array([1. , 1. , 0.5])
    """
    empty = check_option(empty, "empty", EMPTY_OPTIONS)
    denominator = check_option(denominator, "denominator", DENOMINATOR_OPTIONS)
    search = Search(query_codes, db_codes, query_labels, db_labels, chunk_size=chunk_size)
    topk, k, cutoffs = _checked_cutoffs(search, topk, pn_cutoffs, radius)
    top_n = min(TOP_PRECISION_N, search.n_db)
    ranked = _rank(search, k, cutoffs, top_n, denominator)
    keep, n_empty = _kept_queries(search, empty)
    db_bits = as_bits(db_codes, "db_codes")
    q_bits = as_bits(query_codes, "query_codes")
    corr = _bit_correlation(db_bits)
    scalars = {**_retrieval_scalars(ranked, search.n_rel, keep, radius),
               **_code_scalars(db_bits, q_bits, corr)}
    curves = _curves(ranked, search, keep, cutoffs, corr, empty)
    info = {"n_queries": search.n_queries, "n_db": search.n_db, "n_bits": search.n_bits,
            "topk": None if topk is None else k, "top_precision_n": top_n,
            "radius": int(radius), "ties": "index (map_expected: expected)", "empty": empty,
            "denominator": denominator, "pr_average": "micro", "n_empty_queries": n_empty,
            "n_constant_bits": int(np.sum(db_bits.min(axis=0) == db_bits.max(axis=0)))}
    return EvalResult(scalars, curves, info)


def _checked_cutoffs(search: Search, topk: Any, pn_cutoffs: Any,
                     radius: Any) -> tuple[Any, int, np.ndarray]:
    """Check ``radius``; clip ``topk`` to the database (warning); the mAP cut-off ``k``
    and the P@N cut-offs used. Returns (topk as clipped, k, cutoffs)."""
    n_db, n_bits = search.n_db, search.n_bits
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)):
        raise ValueError(f"radius must be an integer, got {radius!r}")
    if not 0 <= radius <= n_bits:
        raise ValueError(f"radius must be in 0..n_bits={n_bits}, got {radius}")
    if topk is not None and not isinstance(topk, bool) and isinstance(topk, (int, np.integer)):
        if topk > n_db:
            warnings.warn(
                f"topk={topk} exceeds the database size n_db={n_db}; clipped to {n_db}",
                RuntimeWarning,
                stacklevel=3,
            )
            topk = n_db
    k = check_topk(topk, n_db)
    cutoffs = DEFAULT_PN_CUTOFFS if pn_cutoffs is None else np.atleast_1d(np.asarray(pn_cutoffs))
    if pn_cutoffs is None:
        cutoffs = cutoffs[cutoffs <= n_db]
    return topk, k, check_cutoffs(cutoffs, n_db)


@dataclass
class _Ranked:
    """Per-query values of the single ranking pass of :func:`evaluate`."""

    ap_all: np.ndarray  # AP@ALL, ties by index
    ap_k: np.ndarray  # AP@k, ties by index
    ap_exp: np.ndarray  # AP@k, expected over orders of tied items
    pn: np.ndarray  # (n_queries, n_cutoffs) P@N
    top_prec: np.ndarray  # precision of the top N (TOP_PRECISION_N or n_db)
    cum_all: np.ndarray  # (n_queries, n_bits + 1) items within each radius
    cum_rel: np.ndarray  # relevant items within each radius


def _rank(search: Search, k: int, cutoffs: np.ndarray, top_n: int,
          denominator: str) -> _Ranked:
    """One chunked pass over the queries: full ranking and distance histograms."""
    n_q, n_db, n_bits = search.n_queries, search.n_db, search.n_bits
    cum_all = np.empty((n_q, n_bits + 1), dtype=np.int64)
    out = _Ranked(np.empty(n_q), np.empty(n_q), np.empty(n_q),
                  np.empty((n_q, len(cutoffs))), np.empty(n_q), cum_all,
                  np.empty_like(cum_all))

    def per_chunk(ch):
        return (
            ap_index(ch, n_db, denominator),
            ap_index(ch, k, denominator),
            ap_expected(ch.hist_all, ch.hist_rel, k, denominator),
            relevant_in_top(ch, cutoffs) / cutoffs,
            relevant_in_top(ch, np.array([top_n]))[:, 0] / top_n,
            np.cumsum(ch.hist_all, axis=1),
            np.cumsum(ch.hist_rel, axis=1),
        )

    arrays = (out.ap_all, out.ap_k, out.ap_exp, out.pn, out.top_prec, out.cum_all, out.cum_rel)
    for s, e, values in search.map_chunks(per_chunk, top=n_db, hist=True):
        for array, value in zip(arrays, values):
            array[s:e] = value
    return out


def _kept_queries(search: Search, empty: str) -> tuple[np.ndarray, int]:
    """Which queries enter the means (all, or those with a relevant item when
    ``empty="skip"``), and how many have none (one warning giving the count)."""
    n_q = search.n_queries
    is_empty = search.n_rel == 0
    n_empty = int(is_empty.sum())
    if n_empty:
        action = "counted as 0" if empty == "zero" else "left out of every mean"
        warnings.warn(
            f"{n_empty} of {n_q} queries have no relevant item in the database; "
            f"they are {action} (empty={empty!r})",
            RuntimeWarning,
            stacklevel=3,
        )
    keep = ~is_empty if empty == "skip" else np.ones(n_q, dtype=bool)
    return keep, n_empty


def _mean(values: np.ndarray, keep: np.ndarray) -> Any:
    """Mean over the kept queries (rows)."""
    v = np.where(keep[:, None] if values.ndim == 2 else keep, values, np.nan)
    return mean_over_queries(v)


def _bit_correlation(db_bits: np.ndarray) -> np.ndarray:
    """Pearson correlation of the database bits (NaN for a database of one code)."""
    if len(db_bits) >= 2:
        return bit_correlation(db_bits)  # warns when bits are constant (their correlation 0)
    n_bits = db_bits.shape[1]
    return np.full((n_bits, n_bits), np.nan)  # no statistics of one code


def _retrieval_scalars(ranked: _Ranked, n_rel: np.ndarray, keep: np.ndarray,
                       radius: int) -> dict[str, float]:
    """mAP (three conventions), precision of the top N, precision and recall within
    Hamming radius ``radius``: means over the kept queries."""
    ret, good = ranked.cum_all[:, radius], ranked.cum_rel[:, radius]
    with np.errstate(invalid="ignore", divide="ignore"):
        prec_r = np.where(ret > 0, good / np.maximum(ret, 1), 0.0)
        rec_r = np.where(n_rel > 0, good / np.maximum(n_rel, 1), 0.0)
    return {
        "map": float(_mean(ranked.ap_k, keep)),
        "map_all": float(_mean(ranked.ap_all, keep)),
        "map_expected": float(_mean(ranked.ap_exp, keep)),
        "precision_top5000": float(_mean(ranked.top_prec, keep)),
        f"precision_r{radius}": float(_mean(prec_r, keep)),
        f"recall_r{radius}": float(_mean(rec_r, keep)),
    }


def _code_scalars(db_bits: np.ndarray, q_bits: np.ndarray,
                  corr: np.ndarray) -> dict[str, float]:
    """Statistics of the codes themselves: mAC and bit balance of the database codes, and
    the code health and redundancy of the database and of the query codes."""
    n_db, n_bits, n_q = len(db_bits), db_bits.shape[1], len(q_bits)
    scalars = {
        # = mean_absolute_correlation(db_codes), from the matrix already computed
        "mac": float(np.abs(corr[np.triu_indices(n_bits, 1)]).mean()) if n_bits > 1 else np.nan,
        "bit_balance": bit_balance(db_bits) if n_db >= 2 else np.nan,
    }
    # code health (distinct bits up to sign, distinct codes, constant bits) of the database
    # codes, and all of it for the query codes (the network's own output for every method)
    if n_db >= 2 and n_bits >= 2:
        health = code_health(db_bits)
        scalars.update({k: health[k] for k in ("distinct_bits", "distinct_codes", "constant_bits")})
    if n_q >= 2 and n_bits >= 2:
        scalars.update({f"query_{k}": v for k, v in code_health(q_bits).items()})
    # redundancy (issue 24): constant bits each counted, varying bits, mAC over the varying
    # bits, near-duplicate groups, effective bits; of the database and of the query codes
    if n_db >= 2:
        scalars.update(code_redundancy(db_bits))
    if n_q >= 2:
        scalars.update({f"query_{k}": v for k, v in code_redundancy(q_bits).items()})
    return scalars


def _curves(ranked: _Ranked, search: Search, keep: np.ndarray, cutoffs: np.ndarray,
            corr: np.ndarray, empty: str) -> dict[str, np.ndarray]:
    """The precision-recall curve over radii, the P@N curve, the bit correlation matrix
    and the per-query values behind ``map`` and ``precision_top5000``."""
    pr_precision, pr_recall = radius_curves(ranked.cum_all, ranked.cum_rel, search.n_rel,
                                            "micro", empty)
    return {
        "pr_radius": np.arange(search.n_bits + 1, dtype=np.int64),
        "pr_precision": pr_precision,
        "pr_recall": pr_recall,
        "pn_n": cutoffs,
        "pn_precision": np.asarray(_mean(ranked.pn, keep), dtype=np.float64),
        "bit_correlation": corr,
        # per-query values behind map and precision_top5000 (NaN for a skipped query):
        # what a paired bootstrap over queries needs (hashlib_core.report.claims)
        "per_query_map": np.where(keep, ranked.ap_k, np.nan),
        "per_query_precision_top5000": np.where(keep, ranked.top_prec, np.nan),
    }
