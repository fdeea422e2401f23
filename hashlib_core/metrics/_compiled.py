"""The compiled ranking kernel: a counting sort per query, when numba is installed.

The order (distance, database index) is a counting sort on small integers, which numpy
cannot express without sorting. With numba (an optional dependency: ``pip install
numba``, pinned in the lock file) one pass per query computes the Hamming distances on
packed words (hardware popcount) and the distance histogram; a prefix sum gives the
first rank of every distance; a second pass in database order hands out ranks, so items
with equal distance keep their index order (exactly ``np.argsort(kind="stable")``); a
last pass over the query's relevant items, in index order, writes each one's rank at
its place among the relevant ranks, which therefore come out sorted. O(n_db) per query
and no comparison sort.

Without numba, or with ``HASHLIB_METRICS_BACKEND=numpy``, the engine keeps its numpy
path (one SIMD sort of integer keys per query); both give the same integers, which the
tests check.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import numpy as np

BACKENDS = ("auto", "numba", "numpy")


def backend() -> str:
    """``"numba"`` when the compiled kernel serves the ranking, else ``"numpy"``.

    ``HASHLIB_METRICS_BACKEND``: ``auto`` (default: numba if importable), ``numba``
    (an error without it) or ``numpy``.
    """
    want = os.environ.get("HASHLIB_METRICS_BACKEND", "auto").strip().lower() or "auto"
    if want not in BACKENDS:
        raise ValueError(
            f"HASHLIB_METRICS_BACKEND must be one of {', '.join(BACKENDS)}, got {want!r}"
        )
    if want == "numpy":
        return "numpy"
    if _kernel() is None:
        if want == "numba":
            raise ValueError("HASHLIB_METRICS_BACKEND=numba, but numba cannot be imported "
                             "(pip install numba)")
        return "numpy"
    return "numba"


@cache
def _kernel() -> Any:
    """The jitted kernel, or None without numba (compiled once, cached on disk)."""
    try:
        from llvmlite import ir
        from numba import njit, types
        from numba.extending import intrinsic
    except ImportError:
        return None

    @intrinsic
    def popcount(typingctx, x):  # noqa: ARG001 - numba's intrinsic signature
        sig = types.uint64(types.uint64)

        def codegen(context, builder, signature, args):  # noqa: ARG001
            fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
            return builder.call(fn, args)

        return sig, codegen

    @njit(cache=True, nogil=True)
    def ranked(q_words, db_words, rel_idx, rel_ptr, pattern, rel_pos, prec, hist_all,
               hist_rel, dist):
        c = q_words.shape[0]
        n, n_words = db_words.shape
        n_bins = hist_all.shape[1]
        first = np.empty(n_bins, np.int64)
        first_rel = np.empty(n_bins, np.int64)
        rank = np.empty(n, np.int32)  # rank within the row (0-based)
        w = 0
        for i in range(c):
            h_all = hist_all[i]
            h_rel = hist_rel[i]
            h_all[:] = 0
            h_rel[:] = 0
            for j in range(n):
                d = 0
                for k in range(n_words):
                    d += popcount(q_words[i, k] ^ db_words[j, k])
                dist[j] = d
                h_all[d] += 1
            lo, hi = rel_ptr[pattern[i]], rel_ptr[pattern[i] + 1]
            for t in range(lo, hi):
                h_rel[dist[rel_idx[t]]] += 1
            s = 0
            r = 0
            for b in range(n_bins):
                first[b] = s
                first_rel[b] = w + r
                s += h_all[b]
                r += h_rel[b]
            for j in range(n):  # database order: ties keep their index order
                d = dist[j]
                rank[j] = first[d]
                first[d] += 1
            row = np.int64(i) * n
            for t in range(lo, hi):  # relevant items, index order: ranks land sorted
                j = rel_idx[t]
                d = dist[j]
                slot = first_rel[d]
                rel_pos[slot] = rank[j] + row  # flat position in (c, n)
                # precision at this relevant item: (its place among them) / (its rank)
                prec[slot] = np.float64(slot - w + 1) / np.float64(rank[j] + 1)
                first_rel[d] += 1
            w += r

    return ranked


def ranked_chunk(q_words: np.ndarray, db_words: np.ndarray, rel_idx: np.ndarray,
                 rel_ptr: np.ndarray, pattern: np.ndarray, n_bits: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ranked relevance and histograms of a chunk of c queries.

    ``rel_idx[rel_ptr[p]:rel_ptr[p + 1]]`` are the relevant database indices (ascending)
    of label pattern p; query i has pattern ``pattern[i]``.

    Returns
    -------
    rel_pos : (m,) int64
        Flat positions, in a (c, n_db) array of ranked items, of the relevant items of
        every query, row by row and ascending within a row.
    rel_starts : (c + 1,) int64
        Row i owns ``rel_pos[rel_starts[i]:rel_starts[i + 1]]``.
    prec : (m,) float64
        The precision ``t / rank_t`` at each of those relevant items (t = 1, 2, ...).
    hist_all, hist_rel : (c, n_bits + 1) int64
        Items and relevant items at each distance.
    """
    c = len(q_words)
    per_query = np.diff(rel_ptr)[pattern]
    rel_starts = np.zeros(c + 1, dtype=np.int64)
    np.cumsum(per_query, out=rel_starts[1:])
    rel_pos = np.empty(int(rel_starts[-1]), dtype=np.int64)
    prec = np.empty(len(rel_pos), dtype=np.float64)
    hist_all = np.empty((c, n_bits + 1), dtype=np.int64)
    hist_rel = np.empty((c, n_bits + 1), dtype=np.int64)
    dist = np.empty(len(db_words), dtype=np.uint8 if n_bits <= 255 else np.uint16)
    _kernel()(np.ascontiguousarray(q_words), db_words, rel_idx, rel_ptr,
              np.ascontiguousarray(pattern, dtype=np.int64), rel_pos, prec, hist_all, hist_rel,
              dist)
    return rel_pos, rel_starts, prec, hist_all, hist_rel
