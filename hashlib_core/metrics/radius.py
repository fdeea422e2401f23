"""Hash lookup metrics: what is returned within a Hamming radius.

A query returns every database item at Hamming distance ``<= radius`` (a hash lookup
table probed up to that radius); ties do not matter, the returned set is fixed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hashlib_core.metrics._checks import (
    EMPTY_OPTIONS,
    apply_empty,
    check_option,
    mean_over_queries,
)
from hashlib_core.metrics._engine import Search

__all__ = ["precision_recall_curve", "precision_within_radius", "recall_within_radius"]

AVERAGE_OPTIONS = ("micro", "macro")


def _cumulative_counts(search: Search) -> tuple[np.ndarray, np.ndarray]:
    """(n_queries, n_bits+1) items and relevant items within each radius 0..n_bits."""
    cum_all = np.empty((search.n_queries, search.n_bits + 1), dtype=np.int64)
    cum_rel = np.empty_like(cum_all)
    for s, e, (h_all, h_rel) in search.map_chunks(lambda ch: (ch.hist_all, ch.hist_rel), hist=True):
        np.cumsum(h_all, axis=1, out=cum_all[s:e])
        np.cumsum(h_rel, axis=1, out=cum_rel[s:e])
    return cum_all, cum_rel


def radius_curves(
    cum_all: np.ndarray, cum_rel: np.ndarray, n_rel: np.ndarray, average: str, empty: str
) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall by radius from the cumulative counts (see precision_recall_curve)."""
    keep = np.ones(len(n_rel), dtype=bool) if empty == "zero" else n_rel > 0
    if average == "micro":
        ret = cum_all[keep].sum(axis=0)
        good = cum_rel[keep].sum(axis=0)
        total = n_rel[keep].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(ret > 0, good / np.maximum(ret, 1), 0.0)
            recall = good / total if total > 0 else np.zeros(len(good))
        return precision.astype(np.float64), np.asarray(recall, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(cum_all > 0, cum_rel / np.maximum(cum_all, 1), 0.0)
        recall = np.where(n_rel[:, None] > 0, cum_rel / np.maximum(n_rel[:, None], 1), 0.0)
    if not keep.any():
        nan = np.full(cum_all.shape[1], np.nan)
        return nan, nan.copy()
    return precision[keep].mean(axis=0), recall[keep].mean(axis=0)


def precision_recall_curve(
    query_codes: Any,
    db_codes: Any,
    query_labels: Any,
    db_labels: Any,
    *,
    average: str = "micro",
    empty: str = "zero",
    chunk_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Precision and recall of Hamming-ball lookup at every radius 0..n_bits.

    With ``ret_q(r)`` the items within distance ``r`` of query q and ``rel_q`` its
    relevant items in the database:

    * ``average="micro"`` (default; the curve of the hashing literature's evaluation
      code, e.g. the ``recall_precision`` routine of the SH/ITQ MATLAB code): pairs are
      pooled over queries,
      :math:`P(r) = \sum_q |ret_q(r) \cap rel_q| / \sum_q |ret_q(r)|` and
      :math:`R(r) = \sum_q |ret_q(r) \cap rel_q| / \sum_q |rel_q|`;
    * ``average="macro"``: the mean over queries of the per-query precision and recall;
      a query that returns nothing at radius r has precision 0 there.

    A radius at which nothing at all is returned has precision 0. At ``r = n_bits``
    everything is returned: recall 1 and precision = the fraction of relevant pairs.

    Parameters
    ----------
    query_codes, db_codes, query_labels, db_labels
        As in :func:`hashlib_core.metrics.average_precision`.
    average : {"micro", "macro"}
        How queries are combined, see above.
    empty : {"zero", "skip"}
        Queries with no relevant database item are kept (their recall counts as 0 under
        ``"macro"``, they add nothing to the recall under ``"micro"``) or left out.
    chunk_size : int, optional
        Queries per chunk of work.

    Returns
    -------
    precision : ndarray of shape (n_bits + 1,), float64
    recall : ndarray of shape (n_bits + 1,), float64
        Non-decreasing in the radius.
    radii : ndarray of shape (n_bits + 1,), int64
        ``0, 1, ..., n_bits``.

    Examples
    --------
    >>> p, r, radii = precision_recall_curve([[1, 1]], [[1, 1], [1, -1], [-1, -1]], [0], [0, 0, 1])
    >>> p, r, radii
    (array([1.        , 1.        , 0.66666667]), array([0.5, 1. , 1. ]), array([0, 1, 2]))
    """
    average = check_option(average, "average", AVERAGE_OPTIONS)
    empty = check_option(empty, "empty", EMPTY_OPTIONS)
    search = Search(query_codes, db_codes, query_labels, db_labels, chunk_size=chunk_size)
    cum_all, cum_rel = _cumulative_counts(search)
    apply_empty(np.zeros(search.n_queries), search.n_rel, empty, "recall")
    precision, recall = radius_curves(cum_all, cum_rel, search.n_rel, average, empty)
    return precision, recall, np.arange(search.n_bits + 1, dtype=np.int64)


def _check_radius(radius: Any, n_bits: int) -> int:
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)):
        raise ValueError(f"radius must be an integer, got {radius!r}")
    if not 0 <= radius <= n_bits:
        raise ValueError(f"radius must be in 0..n_bits={n_bits}, got {radius}")
    return int(radius)


def _per_query_within(search: Search, radius: int) -> tuple[np.ndarray, np.ndarray]:
    cum_all, cum_rel = _cumulative_counts(search)
    return cum_all[:, radius], cum_rel[:, radius]


def precision_within_radius(
    query_codes: Any,
    db_codes: Any,
    query_labels: Any,
    db_labels: Any,
    *,
    radius: int = 2,
    empty: str = "zero",
    chunk_size: int | None = None,
) -> float:
    r"""Mean precision of the items returned within a Hamming radius (e.g. "precision@r=2").

    .. math::

        P_{\le r} = \frac{1}{|Q|} \sum_q \frac{|ret_q(r) \cap rel_q|}{|ret_q(r)|},
        \quad \text{a query with } ret_q(r) = \emptyset \text{ counts as precision 0}.

    Parameters
    ----------
    query_codes, db_codes, query_labels, db_labels
        As in :func:`hashlib_core.metrics.average_precision`.
    radius : int
        In ``0..n_bits``; items at distance ``<= radius`` are returned.
    empty : {"zero", "skip"}
        Queries with no relevant database item are kept (precision 0) or left out.
    chunk_size : int, optional
        Queries per chunk of work.

    Returns
    -------
    precision : float

    Examples
    --------
    >>> precision_within_radius([[1, 1, 1], [-1, -1, -1]], [[1, 1, -1], [1, -1, -1]],
    ...                         [0, 0], [0, 1], radius=1)
    0.5
    """
    empty = check_option(empty, "empty", EMPTY_OPTIONS)
    search = Search(query_codes, db_codes, query_labels, db_labels, chunk_size=chunk_size)
    radius = _check_radius(radius, search.n_bits)
    ret, good = _per_query_within(search, radius)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_query = np.where(ret > 0, good / np.maximum(ret, 1), 0.0)
    return float(mean_over_queries(apply_empty(per_query, search.n_rel, empty, "precision")))


def recall_within_radius(
    query_codes: Any,
    db_codes: Any,
    query_labels: Any,
    db_labels: Any,
    *,
    radius: int = 2,
    empty: str = "zero",
    chunk_size: int | None = None,
) -> float:
    r"""Mean recall of the items returned within a Hamming radius.

    .. math::

        R_{\le r} = \frac{1}{|Q|} \sum_q \frac{|ret_q(r) \cap rel_q|}{|rel_q|}

    A query with no relevant database item has recall 0 (``empty="zero"``) or is left
    out (``"skip"``); a warning gives their count.

    Parameters
    ----------
    query_codes, db_codes, query_labels, db_labels
        As in :func:`hashlib_core.metrics.average_precision`.
    radius : int
        In ``0..n_bits``.
    empty : {"zero", "skip"}
    chunk_size : int, optional

    Returns
    -------
    recall : float

    Examples
    --------
    >>> recall_within_radius([[1, 1, 1]], [[1, 1, -1], [-1, -1, -1], [1, 1, 1]],
    ...                      [0], [0, 0, 1], radius=1)
    0.5
    """
    empty = check_option(empty, "empty", EMPTY_OPTIONS)
    search = Search(query_codes, db_codes, query_labels, db_labels, chunk_size=chunk_size)
    radius = _check_radius(radius, search.n_bits)
    _, good = _per_query_within(search, radius)
    n_rel = search.n_rel
    with np.errstate(invalid="ignore", divide="ignore"):
        per_query = np.where(n_rel > 0, good / np.maximum(n_rel, 1), 0.0)
    return float(mean_over_queries(apply_empty(per_query, n_rel, empty, "recall")))
