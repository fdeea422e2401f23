"""The chunked search engine behind every ranking metric.

For a chunk of queries the engine computes, on packed codes, the Hamming distance ``D``
and the relevance ``R`` (shares a label) to every database item, and from them

* the **ranked relevance** of the top ``L`` items under the order (distance, database
  index): the ranks (1-based) of the relevant items among them;
* the **distance histograms** ``hist_all[q, d]`` (items at distance ``d``) and
  ``hist_rel[q, d]`` (relevant items at distance ``d``).

Ranking without a per-query argsort. The order (distance, index) is a counting sort on
small integers, so it is done for a whole chunk at once by sorting one 32-bit key per
pair, ``key = D << 24 | index << 1 | R``: the index makes every key distinct, so a plain
(unstable, SIMD) sort of each row gives exactly the stable order of ``D``, and the
relevance bit travels with the key, so no gather is needed afterwards. The distance is
written by the popcount straight into the top byte of the key. When only the top ``L``
items are needed (mAP@K, P@N), the rows are first cut at the distance of the L-th item
and only the candidates up to that distance are sorted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hashlib_core.metrics._checks import (
    Relevance,
    as_bits,
    as_labels,
    check_chunk_size,
    check_pair,
)
from hashlib_core.metrics.hamming import (
    distance_dtype,
    distances_into,
    pack_words,
    query_chunks,
)

_LITTLE = np.little_endian


@dataclass
class ChunkStats:
    """What the engine knows about queries ``start:stop``.

    ``rel_rows``/``rel_ranks`` (m,) int64: for each relevant item among the top ``top``
    of a query, the query's row in the chunk and its 1-based rank; sorted by (row, rank).
    ``hist_all``/``hist_rel`` (c, n_bits + 1) int64 or None. ``n_rel`` (c,) int64: relevant
    items of each query in the whole database.
    """

    start: int
    stop: int
    top: int
    rel_rows: np.ndarray | None
    rel_ranks: np.ndarray | None
    hist_all: np.ndarray | None
    hist_rel: np.ndarray | None
    n_rel: np.ndarray

    @property
    def size(self) -> int:
        return self.stop - self.start

    def relevant_in_top(self, k: int) -> np.ndarray:
        """Relevant items among the top ``k <= top`` of each query, shape (c,)."""
        keep = self.rel_ranks <= k
        return np.bincount(self.rel_rows[keep], minlength=self.size)


class Search:
    """Validated, packed inputs of one retrieval evaluation."""

    def __init__(
        self,
        query_codes: Any,
        db_codes: Any,
        query_labels: Any,
        db_labels: Any,
        *,
        chunk_size: int | None = None,
    ) -> None:
        q_bits = as_bits(query_codes, "query_codes")
        db_bits = as_bits(db_codes, "db_codes")
        self.n_bits = check_pair(q_bits, db_bits)
        self.n_queries, self.n_db = len(q_bits), len(db_bits)
        q_labels = as_labels(query_labels, self.n_queries, "query_labels")
        db_labels = as_labels(db_labels, self.n_db, "db_labels")
        self.relevance = Relevance(q_labels, db_labels)
        self.chunk_size = check_chunk_size(chunk_size)
        self.q_words = pack_words(q_bits)
        self.db_words = pack_words(db_bits)
        self.n_rel = self.relevance.counts()
        self._fast_key = self.n_bits <= 255 and self.n_db < 2**23
        self._idx2 = np.arange(self.n_db, dtype=np.uint32 if self._fast_key else np.uint64) << 1

    # ---- the chunk loop -------------------------------------------------------------
    def chunks(self, *, top: int = 0, hist: bool = False):
        """Yield :class:`ChunkStats`; ``top`` = items to rank (0: none), ``hist``: histograms."""
        full = top > 0 and 8 * top >= self.n_db
        per_pair = 14 if full else 10 + (24 if top > 0 else 0)
        for s, e in query_chunks(self.n_queries, self.n_db, per_pair, self.chunk_size):
            rel = self.relevance.chunk(s, e)
            if full:
                yield self._full_chunk(s, e, rel, top, hist)
            else:
                yield self._cut_chunk(s, e, rel, top, hist)

    def _distances(self, s: int, e: int) -> np.ndarray:
        out = np.empty((e - s, self.n_db), dtype=distance_dtype(self.n_bits))
        distances_into(self.q_words[s:e], self.db_words, out)
        return out

    def _full_chunk(self, s: int, e: int, rel: np.ndarray, top: int, hist: bool) -> ChunkStats:
        c, n = e - s, self.n_db
        if self._fast_key:
            key = np.empty((c, n), dtype=np.uint32)
            np.bitwise_or(self._idx2[None, :], rel, out=key)
            as_bytes = key.view(np.uint8).reshape(c, n, 4)
            distances_into(self.q_words[s:e], self.db_words, as_bytes[:, :, 3 if _LITTLE else 0])
            shift = 24
            key.sort(axis=1)
            rel_sorted = np.empty((c, n), dtype=bool)
            np.bitwise_and(as_bytes[:, :, 0 if _LITTLE else 3], 1, out=rel_sorted.view(np.uint8))
        else:
            dist = self._distances(s, e)
            key = dist.astype(np.uint64) << np.uint64(40)
            key |= self._idx2[None, :]
            key |= rel
            shift = 40
            key.sort(axis=1)
            rel_sorted = (key & np.uint64(1)).astype(bool)
        flat = np.flatnonzero(rel_sorted)
        rows = np.repeat(np.arange(c), np.count_nonzero(rel_sorted, axis=1))
        ranks = flat - rows * n + 1
        h_all = h_rel = None
        if hist:
            h_all, h_rel = self._hist_from_sorted(key, shift, flat)
        if top < n:
            keep = ranks <= top
            rows, ranks = rows[keep], ranks[keep]
        return ChunkStats(s, e, top, rows, ranks, h_all, h_rel, self.n_rel[s:e])

    def _hist_from_sorted(self, key: np.ndarray, shift: int, flat: np.ndarray):
        """Histograms from sorted keys: cumulative counts by binary search on each row."""
        c, n = key.shape
        bounds = np.arange(1, self.n_bits + 2, dtype=key.dtype) << key.dtype.type(shift)
        cum_all = np.empty((c, self.n_bits + 1), dtype=np.int64)
        for i in range(c):
            cum_all[i] = np.searchsorted(key[i], bounds)
        # relevant items ranked before each boundary = their count in the flat position list
        row_base = np.arange(c, dtype=np.int64)[:, None] * n
        cum_rel = np.searchsorted(flat, row_base + cum_all) - np.searchsorted(flat, row_base)
        return _uncumulate(cum_all), _uncumulate(cum_rel)

    def _cut_chunk(self, s: int, e: int, rel: np.ndarray, top: int, hist: bool) -> ChunkStats:
        c, n, n_bits = e - s, self.n_db, self.n_bits
        dist = self._distances(s, e)
        h_all = h_rel = None
        if hist or top > 0:
            h_all, h_rel = histograms(dist, rel, n_bits)
        rows = ranks = None
        if top > 0:
            # distance of the top-th item of each row: every item up to it is a candidate
            cut = np.argmax(np.cumsum(h_all, axis=1) >= top, axis=1)
            cand_rows, cand_cols = np.nonzero(dist <= cut[:, None].astype(dist.dtype))
            cand_d = dist[cand_rows, cand_cols].astype(np.uint64)
            idx_bits = max(1, int(n - 1).bit_length()) + 1
            d_bits = max(1, n_bits.bit_length())
            if c.bit_length() + d_bits + idx_bits > 64:
                raise ValueError(f"chunk too large for 64-bit keys: {c} queries x {n} items")
            key = cand_rows.astype(np.uint64) << np.uint64(d_bits + idx_bits)
            key |= cand_d << np.uint64(idx_bits)
            key |= cand_cols.astype(np.uint64) << np.uint64(1)
            key |= rel[cand_rows, cand_cols]
            key.sort()
            per_row = np.bincount(cand_rows, minlength=c)
            starts = np.concatenate(([0], np.cumsum(per_row)[:-1]))
            pick = (starts[:, None] + np.arange(top)[None, :]).ravel()
            rel_top = (key[pick] & np.uint64(1)).astype(bool).reshape(c, top)
            flat = np.flatnonzero(rel_top)
            rows, ranks = np.divmod(flat, top)
            ranks += 1
        return ChunkStats(s, e, top, rows, ranks, h_all, h_rel, self.n_rel[s:e])


def histograms(dist: np.ndarray, rel: np.ndarray, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(c, n_bits + 1) counts of all and of relevant items at each distance."""
    c = dist.shape[0]
    width = 2 * (n_bits + 1)
    code_dtype = np.uint8 if width <= 256 else np.uint16
    code = dist.astype(code_dtype, copy=True)
    code <<= 1
    code |= rel
    h_all = np.empty((c, n_bits + 1), dtype=np.int64)
    h_rel = np.empty((c, n_bits + 1), dtype=np.int64)
    for i in range(c):
        counts = np.bincount(code[i], minlength=width)
        h_rel[i] = counts[1::2]
        h_all[i] = counts[0::2] + counts[1::2]
    return h_all, h_rel


def _uncumulate(cum: np.ndarray) -> np.ndarray:
    out = cum.copy()
    out[:, 1:] -= cum[:, :-1]
    return out


# ---- harmonic numbers, accurate to a few ulps --------------------------------------------
_HARMONIC = np.zeros(1)
_BLOCK = 1024


def harmonic(n_max: int) -> np.ndarray:
    """``H[i] = sum_{k=1}^{i} 1/k`` for ``i = 0..n_max`` (float64, error ~1e-15)."""
    global _HARMONIC
    if len(_HARMONIC) <= n_max:
        size = max(n_max + 1, 2 * len(_HARMONIC))
        inv = np.zeros(size)
        inv[1:] = 1.0 / np.arange(1, size)
        n_blocks = -(-size // _BLOCK)
        padded = np.zeros(n_blocks * _BLOCK)
        padded[:size] = inv
        blocks = padded.reshape(n_blocks, _BLOCK)
        # exact block totals (fsum), exact-ish running offsets, short local cumsums
        totals = [math.fsum(b) for b in blocks]
        offsets = np.array([math.fsum(totals[:i]) for i in range(n_blocks)])
        _HARMONIC = (offsets[:, None] + np.cumsum(blocks, axis=1)).ravel()[:size]
    return _HARMONIC[: n_max + 1]
