r"""Hamming ranking metrics: average precision (mAP, mAP@K) and precision at N.

Ranking. The database is ranked for each query by Hamming distance. Items at equal
distance are *tied*; two conventions are offered:

* ``ties="index"``: tied items are ordered by database index (a stable sort of the
  distances). Deterministic, and what ``np.argsort(dist, kind="stable")`` gives. For
  ``topk=K`` the top K items are chosen in this order too.
* ``ties="expected"``: the expectation of the metric over all orders of the tied items,
  each order equally likely (tie-aware measures, McSherry & Najork 2008). It depends
  only on the numbers of items and of relevant items at each distance, so it is
  computed in closed form per distance bucket, without sorting.

Relevance: a database item is relevant to a query when they share at least one label.

Average precision (:func:`average_precision`) of query q at cut-off K:

.. math::

    \mathrm{AP@K}(q) = \frac{1}{Z_q} \sum_{k=1}^{K} \mathrm{rel}_q(k)\,
    \frac{\sum_{i \le k} \mathrm{rel}_q(i)}{k}

where ``rel_q(k)`` is 1 when the item ranked k-th shares a label with query q, and
``Z_q`` is the number of relevant items in the top K (``denominator="retrieved"``,
the convention of most deep hashing code) or in the whole database
(``denominator="all"``). With ``topk=None`` (K = n_db, mAP@ALL) both are the
number of relevant items in the database.

Agreement with other code. ``ties="index"`` gives exactly the per-query values of the
usual loop (``np.argsort(dist, kind="stable")``, then cumulative precision), without the
loop: see :mod:`hashlib_core.metrics._engine`. (The widely copied ``CalcMap`` /
``CalcTopMap`` loops of DPSH, HashNet and DeepHash-pytorch compute this value with
``empty="zero"``, ``denominator="retrieved"``, when their argsort is stable.)
Toolkits differ in silent ways: numpy's default ``np.argsort`` (quicksort) orders
ties arbitrarily; some normalise AP@K by ``min(K, n_relevant)`` or, like
``denominator="all"``, by ``n_relevant``; scikit-learn's ``average_precision_score``
treats a tied group as one threshold, which is neither convention here (it agrees
with both when there is no tie).

The expected AP of a tied bucket (``ties="expected"``): with a tied bucket of ``n``
items, ``r`` of them relevant, after ``N`` items of which ``R`` are relevant, position
``N + k`` holds a relevant item with probability ``r / n`` and then
``(k - 1)(r - 1)/(n - 1)`` relevant items are expected before it in the bucket, so the
bucket adds

.. math::

    \frac{r}{n} \sum_{k=1}^{n} \frac{R + 1 + (k-1)\frac{r-1}{n-1}}{N + k}
    = \frac{r}{n}\Big[\big(R + 1 - c(N+1)\big)\big(H_{N+n} - H_N\big) + c\,n\Big],
    \quad c = \frac{r-1}{n-1},

with :math:`H_m` the harmonic numbers (McSherry & Najork 2008).

References: F. McSherry and M. Najork, "Computing information retrieval performance
measures efficiently in the presence of tied scores", ECIR 2008.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import hypergeom

from hashlib_core.metrics._checks import (
    DENOMINATOR_OPTIONS,
    EMPTY_OPTIONS,
    TIES_OPTIONS,
    apply_empty,
    check_option,
    check_topk,
    mean_over_queries,
)
from hashlib_core.metrics._engine import ChunkStats, Search, harmonic

__all__ = ["average_precision", "mean_average_precision", "precision_at_n"]


def average_precision(
    query_codes: Any,
    db_codes: Any,
    query_labels: Any,
    db_labels: Any,
    *,
    topk: int | None = None,
    ties: str = "index",
    empty: str = "zero",
    denominator: str = "retrieved",
    chunk_size: int | None = None,
) -> np.ndarray:
    r"""Average precision of every query under Hamming ranking (AP@K, K = ``topk``; the
    definition, how it agrees with other code, and the closed form of ``ties="expected"``
    (McSherry & Najork 2008): see the module docstring).

    Parameters
    ----------
    query_codes : array-like of shape (n_queries, n_bits)
        Binary codes in {-1,+1} (or {0,1}, bool).
    db_codes : array-like of shape (n_db, n_bits)
        Database codes, same ``n_bits``.
    query_labels : array-like of shape (n_queries,) or (n_queries, n_classes)
        Integer classes (1-D) or multi-hot {0,1} (2-D).
    db_labels : array-like of shape (n_db,) or (n_db, n_classes)
        Same kind and width as ``query_labels``.
    topk : int, optional
        Cut-off K in ``1..n_db``; None means the whole database (mAP@ALL).
    ties : {"index", "expected"}
        ``"index"``: tied items ordered by database index, which also decides which items
        make the top K. ``"expected"``: expectation over all orders of tied items; with
        ``topk`` and ``denominator="retrieved"`` the number of relevant items in the top
        K is itself random and the expectation of the ratio is taken exactly (the
        relevant count of the cut distance bucket is hypergeometric).
    empty : {"zero", "skip"}
        A query with no relevant item in the whole database gets AP 0 (``"zero"``) or NaN
        (``"skip"``, left out of :func:`mean_average_precision`); a warning gives their
        count. A query with relevant items in the database but none in its top K has
        AP@K = 0 under either setting.
    denominator : {"retrieved", "all"}
        ``Z_q`` of the definition. ``"all"`` divides by every relevant item in the database, so
        AP@K <= K / n_relevant when K is smaller than the number of relevant items.
    chunk_size : int, optional
        Queries per chunk of work (memory bound); automatic by default.

    Returns
    -------
    ap : ndarray of shape (n_queries,), float64
        AP of each query in ``[0, 1]`` (NaN for skipped queries).

    Raises
    ------
    ValueError
        Non-binary codes, different ``n_bits``, labels of the wrong shape, kind or
        width, empty arrays, ``topk`` outside ``1..n_db``, unknown option.

    See Also
    --------
    mean_average_precision : the mean of these values.

    Examples
    --------
    Two relevant items (labels 0) at distances 0 and 2, one irrelevant item at distance 2:

    >>> q = [[1, 1, 1, 1]]
    >>> db = [[1, 1, 1, 1], [1, 1, -1, -1], [-1, -1, 1, 1]]
    >>> average_precision(q, db, [0], [0, 1, 0])            # ranking 0, 1, 2
    array([0.83333333])
    >>> average_precision(q, db, [0], [0, 1, 0], ties="expected")  # mean of 5/6 and (1 + 1)/2
    array([0.91666667])
    """
    search = Search(query_codes, db_codes, query_labels, db_labels, chunk_size=chunk_size)
    ties = check_option(ties, "ties", TIES_OPTIONS)
    empty = check_option(empty, "empty", EMPTY_OPTIONS)
    denominator = check_option(denominator, "denominator", DENOMINATOR_OPTIONS)
    k = check_topk(topk, search.n_db)
    return apply_empty(_ap_per_query(search, k, ties, denominator), search.n_rel, empty, "AP")


def _ap_per_query(search: Search, k: int, ties: str, denominator: str) -> np.ndarray:
    """AP@k of every query of ``search``, in chunks, under the ``ties`` convention."""
    ap = np.empty(search.n_queries)
    if ties == "index":
        chunks = search.map_chunks(lambda ch: ap_index(ch, k, denominator), top=k)
    else:
        chunks = search.map_chunks(
            lambda ch: ap_expected(ch.hist_all, ch.hist_rel, k, denominator), hist=True
        )
    for s, e, values in chunks:
        ap[s:e] = values
    return ap


def mean_average_precision(
    query_codes: Any,
    db_codes: Any,
    query_labels: Any,
    db_labels: Any,
    *,
    topk: int | None = None,
    ties: str = "index",
    empty: str = "zero",
    denominator: str = "retrieved",
    chunk_size: int | None = None,
) -> float:
    """Mean over queries of :func:`average_precision` (mAP@K; mAP@ALL when ``topk=None``).

    Parameters and conventions are those of :func:`average_precision`; queries skipped
    with ``empty="skip"`` are left out of the mean (NaN if every query is skipped).

    Returns
    -------
    map : float
        In ``[0, 1]``.

    Examples
    --------
    >>> q = [[1, 1], [-1, -1]]
    >>> db = [[1, 1], [1, -1], [-1, -1]]
    >>> mean_average_precision(q, db, [0, 1], [0, 0, 1])
    1.0
    >>> mean_average_precision(q, db, [0, 1], [0, 0, 1], topk=1)
    1.0
    """
    ap = average_precision(
        query_codes,
        db_codes,
        query_labels,
        db_labels,
        topk=topk,
        ties=ties,
        empty=empty,
        denominator=denominator,
        chunk_size=chunk_size,
    )
    return float(mean_over_queries(ap))


def precision_at_n(
    query_codes: Any,
    db_codes: Any,
    query_labels: Any,
    db_labels: Any,
    *,
    n: Any,
    ties: str = "index",
    empty: str = "zero",
    chunk_size: int | None = None,
) -> np.ndarray:
    r"""Mean precision of the top N retrieved items, for each cut-off N (the P@N curve).

    .. math::

        \mathrm{P@N} = \frac{1}{|Q|} \sum_{q \in Q} \frac{1}{N} \sum_{k=1}^{N} \mathrm{rel}_q(k)

    Parameters
    ----------
    query_codes, db_codes, query_labels, db_labels
        As in :func:`average_precision`.
    n : int or array-like of int, shape (n_cutoffs,)
        Cut-offs, each in ``1..n_db``.
    ties : {"index", "expected"}
        Which N items are the top N among tied ones: the lowest database indices, or the
        expectation over all orders (the cut distance bucket contributes its fraction of
        relevant items).
    empty : {"zero", "skip"}
        Queries without any relevant database item have P@N = 0 and are kept
        (``"zero"``) or left out of the mean (``"skip"``); a warning gives their count.
    chunk_size : int, optional
        Queries per chunk of work.

    Returns
    -------
    precision : ndarray of shape (n_cutoffs,), float64
        Mean P@N at each cut-off, in the order given (a float array even for one ``n``).

    Examples
    --------
    >>> q = [[1, 1]]
    >>> db = [[1, 1], [-1, -1], [1, -1], [1, 1]]
    >>> precision_at_n(q, db, [0], [0, 1, 1, 0], n=[1, 2, 3, 4])
    array([1.        , 1.        , 0.66666667, 0.5       ])
    """
    search = Search(query_codes, db_codes, query_labels, db_labels, chunk_size=chunk_size)
    ties = check_option(ties, "ties", TIES_OPTIONS)
    empty = check_option(empty, "empty", EMPTY_OPTIONS)
    cutoffs = check_cutoffs(n, search.n_db)
    per_query = np.empty((search.n_queries, len(cutoffs)))
    if ties == "index":
        chunks = search.map_chunks(lambda ch: relevant_in_top(ch, cutoffs), top=int(cutoffs.max()))
    else:
        chunks = search.map_chunks(
            lambda ch: expected_relevant_in_top(ch.hist_all, ch.hist_rel, cutoffs), hist=True
        )
    for s, e, relevant in chunks:
        per_query[s:e] = relevant / cutoffs
    per_query = apply_empty(per_query, search.n_rel, empty, "P@N")  # (n_queries, n_cutoffs)
    return np.asarray(mean_over_queries(per_query, axis=0), dtype=np.float64)


# ---- building blocks (shared with hashlib_core.evaluation) --------------------------------
def check_cutoffs(n: Any, n_db: int) -> np.ndarray:
    """Cut-offs as a 1-D int64 array, each in 1..n_db."""
    arr = np.atleast_1d(np.asarray(n))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"n must be an int or a 1-D list of ints, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"n must hold integers, got dtype {arr.dtype}: {arr[:5]}")
    if arr.min() < 1 or arr.max() > n_db:
        raise ValueError(
            f"every cut-off n must be in 1..n_db={n_db}, got min {arr.min()}, max {arr.max()}"
        )
    return arr.astype(np.int64)


def relevant_in_top(ch: ChunkStats, cutoffs: np.ndarray) -> np.ndarray:
    """(c, n_cutoffs) relevant items among the top N (ties by index), N <= ch.top."""
    out = np.empty((ch.size, len(cutoffs)), dtype=np.int64)
    for i in range(ch.size):
        out[i] = np.searchsorted(ch.ranks(i), cutoffs, side="right")
    return out


def ap_index(ch: ChunkStats, k: int, denominator: str) -> np.ndarray:
    """AP@k (ties by index) of each query of a chunk from the ranks of its relevant items.

    Per query: ``mean(t / rank_t)`` over the relevant items t = 1, 2, ... of the top k
    (their precisions), rescaled to the ``"all"`` denominator when asked.
    """
    out = np.zeros(ch.size)
    prec, starts = ch.precisions(k)  # one division for the chunk; the mean per row, as
    for i in range(ch.size):         # np.mean(arange / ranks) of a plain loop computes it
        a, b = starts[i], starts[i + 1]
        if b > a:
            out[i] = prec[a:b].mean()
            if denominator == "all":
                out[i] *= (b - a) / ch.n_rel[i]
    return out


def _bucket_terms(h_all, h_rel, n_lt, r_lt, m):
    """Expected sum of precisions over the first ``m`` positions of each tied bucket.

    A bucket of ``n`` items, ``r`` of them relevant, after ``N`` items of which ``R`` are
    relevant: position ``N + k`` (k = 1..m) holds a relevant item with probability r/n,
    and then ``(k-1)(r-1)/(n-1)`` relevant items are expected before it in the bucket, so

        E = r/n * sum_{k=1}^{m} (R + 1 + (k-1) c) / (N + k),   c = (r-1)/(n-1)
          = r/n * [ (R + 1 - c (N + 1)) (H(N+m) - H(N)) + c m ]

    with H the harmonic numbers. Every argument is an int array of one shape.
    """
    harm = harmonic(int((n_lt + m).max()) if n_lt.size else 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(h_all > 1, (h_rel - 1) / np.maximum(h_all - 1, 1), 0.0)
        inner = (r_lt + 1 - c * (n_lt + 1)) * (harm[n_lt + m] - harm[n_lt]) + c * m
        return np.where((h_rel > 0) & (m > 0), h_rel / np.maximum(h_all, 1) * inner, 0.0)


def _exclusive_cumsum(h: np.ndarray) -> np.ndarray:
    out = np.zeros_like(h)
    np.cumsum(h[:, :-1], axis=1, out=out[:, 1:])
    return out


def ap_expected(h_all: np.ndarray, h_rel: np.ndarray, k: int, denominator: str) -> np.ndarray:
    """Tie-aware AP@k from the (c, n_bits+1) distance histograms, in closed form."""
    n_lt, r_lt = _exclusive_cumsum(h_all), _exclusive_cumsum(h_rel)
    m = np.clip(k - n_lt, 0, h_all)  # positions of each bucket inside the top k
    partial = (m > 0) & (m < h_all)  # at most one bucket per row: the cut bucket
    full = m == h_all
    s_full = np.where(full, _bucket_terms(h_all, h_rel, n_lt, r_lt, m), 0.0).sum(axis=1)
    n_rel = h_rel.sum(axis=1)
    if denominator == "all" or not partial.any():
        s_part = np.where(partial, _bucket_terms(h_all, h_rel, n_lt, r_lt, m), 0.0).sum(axis=1)
        z = n_rel if denominator == "all" else np.where(full, h_rel, 0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(z > 0, (s_full + s_part) / np.maximum(z, 1), 0.0)
    # "retrieved" with a cut bucket: E[S / X], X = relevant in the top k, hypergeometric
    r_full = np.where(full, h_rel, 0).sum(axis=1)
    has_cut = partial.any(axis=1)
    g = np.argmax(partial, axis=1)
    rows = np.arange(len(h_all))
    n_g, r_g, m_g = h_all[rows, g], h_rel[rows, g], m[rows, g]
    n_before, r_before = n_lt[rows, g], r_lt[rows, g]
    y = np.arange(int(np.where(has_cut, np.minimum(m_g, r_g), 0).max()) + 1)[None, :]
    pmf = hypergeom.pmf(y, n_g[:, None], r_g[:, None], m_g[:, None])
    pmf = np.where(has_cut[:, None], np.nan_to_num(pmf), y == 0)
    shape = (len(rows), y.shape[1])
    # a cut bucket seen as a bucket of m items with y relevant among them
    cut_terms = _bucket_terms(
        np.broadcast_to(m_g[:, None], shape),
        np.broadcast_to(y, shape),
        np.broadcast_to(n_before[:, None], shape),
        np.broadcast_to(r_before[:, None], shape),
        np.broadcast_to(m_g[:, None], shape),
    )
    x = r_full[:, None] + y
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(x > 0, (s_full[:, None] + cut_terms) / np.maximum(x, 1), 0.0)
    return (pmf * ratio).sum(axis=1)


def expected_relevant_in_top(
    h_all: np.ndarray, h_rel: np.ndarray, cutoffs: np.ndarray
) -> np.ndarray:
    """(c, n_cutoffs) expected relevant items among the top N over random tie orders."""
    cum_all = np.cumsum(h_all, axis=1)
    cum_rel = np.cumsum(h_rel, axis=1)
    out = np.empty((len(h_all), len(cutoffs)))
    for j, cut in enumerate(cutoffs):
        g = np.argmax(cum_all >= cut, axis=1)  # bucket holding the N-th item
        rows = np.arange(len(h_all))
        before_all = cum_all[rows, g] - h_all[rows, g]
        before_rel = cum_rel[rows, g] - h_rel[rows, g]
        out[:, j] = before_rel + (cut - before_all) * h_rel[rows, g] / h_all[rows, g]
    return out
