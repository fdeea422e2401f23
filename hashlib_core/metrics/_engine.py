"""The chunked search engine behind every ranking metric.

For a chunk of queries the engine computes, on packed codes, the Hamming distance ``D``
and the relevance ``R`` (shares a label) to every database item, and from them

* the **ranked relevance** of the top ``L`` items under the order (distance, database
  index): the ranks (1-based) of the relevant items among them;
* the **distance histograms** ``hist_all[q, d]`` (items at distance ``d``) and
  ``hist_rel[q, d]`` (relevant items at distance ``d``).

Ranking without a per-query argsort. The order (distance, index) is a counting sort on
small integers; it is done by sorting one integer key per pair,
``key = D << 24 | index << 1 | R`` (64-bit with a 40-bit shift beyond 255 bits or 2**23
items): the index makes every key distinct, so a plain (unstable, SIMD) sort of each row
gives exactly the stable order of ``D``, and the relevance bit travels with the key, so
no gather is needed afterwards (the relevant ranks are the positions of odd keys). The
``index << 1 | R`` rows depend only on a query's label pattern, so for single-label data
they are built once per class. When only the top ``L < n_db / 2`` items are needed
(mAP@K, P@N), an O(n) partition (``np.partition``) picks the L smallest keys and only
those are sorted. Small chunks (about 2**18 pairs) keep every pass in cache; chunks run
on a few threads (numpy releases the GIL in these passes).

With numba installed, the ranking is instead the counting sort of
:mod:`hashlib_core.metrics._compiled` (O(n_db) per query, distances, histograms and the
sorted ranks of the relevant items in three passes); ``HASHLIB_METRICS_BACKEND=numpy``
keeps the numpy path. Both give the same integers.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from hashlib_core.metrics import _compiled
from hashlib_core.metrics._checks import (
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
from hashlib_core.metrics.relevance import Relevance

_LITTLE = np.little_endian
T = TypeVar("T")
_NUM_THREADS: int | None = None


def get_num_threads() -> int:
    """Threads the metrics use: :func:`set_num_threads`, else ``HASHLIB_METRICS_THREADS``,
    else ``min(4, os.cpu_count())``."""
    if _NUM_THREADS is not None:
        return _NUM_THREADS
    env = os.environ.get("HASHLIB_METRICS_THREADS")
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"HASHLIB_METRICS_THREADS must be an integer, got {env!r}") from None
        if value < 1:
            raise ValueError(f"HASHLIB_METRICS_THREADS must be >= 1, got {value}")
        return value
    return max(1, min(4, os.cpu_count() or 1))


def set_num_threads(n: int | None) -> None:
    """Set the number of threads of the metrics (None: back to the default)."""
    global _NUM_THREADS
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"the number of threads must be a positive integer or None, got {n!r}")
    with _LOCK:
        _NUM_THREADS = None if n is None else int(n)


_LOCK = threading.Lock()
#: largest table of per-label-pattern key rows kept (bytes)
_KEY_TABLE_BYTES = 64 * 2**20


@dataclass
class ChunkStats:
    """What the engine knows about queries ``start:stop`` (c = stop - start of them).

    The ranked relevance (ties by index) of the top ``top`` items of every query is kept
    as the flat positions ``rel_pos`` (m,) int64 of the relevant items in a (c, width)
    ranked array, row by row: row i owns ``rel_pos[rel_starts[i]:rel_starts[i + 1]]``
    (use :meth:`ranks`). ``hist_all``/``hist_rel`` (c, n_bits + 1) int64 or None: items
    and relevant items at each distance. ``n_rel`` (c,) int64: relevant items of each
    query in the whole database.
    """

    start: int
    stop: int
    top: int
    width: int
    rel_pos: np.ndarray | None
    rel_starts: np.ndarray | None
    hist_all: np.ndarray | None
    hist_rel: np.ndarray | None
    n_rel: np.ndarray
    prec: np.ndarray | None = None  # t / rank_t per entry of rel_pos, when already known

    @property
    def size(self) -> int:
        return self.stop - self.start

    def precisions(self, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The precision ``t / rank_t`` at each relevant item t = 1, 2, ... of every row's
        top k, flat (float64), and where each row's begin ((size + 1,) int64)."""
        k = self.top if k is None else min(k, self.top)
        if self.prec is not None and k >= self.width:
            return self.prec, self.rel_starts
        counts = np.diff(self.rel_starts)
        rows = np.repeat(np.arange(self.size, dtype=np.int64), counts)
        ranks = self.rel_pos - (rows * self.width - 1)
        prec = self.prec
        if prec is None:
            t = np.arange(1, len(ranks) + 1, dtype=np.int64) - np.repeat(self.rel_starts[:-1], counts)
            prec = t / ranks
        if k >= self.width:
            return prec, self.rel_starts
        keep = ranks <= k  # ranks ascend within a row: the kept items are a prefix of it
        starts = np.zeros(self.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[keep], minlength=self.size), out=starts[1:])
        return prec[keep], starts

    def ranks(self, i: int, k: int | None = None) -> np.ndarray:
        """1-based ranks (ascending, int64) of the relevant items among row i's top k."""
        k = self.top if k is None else min(k, self.top)
        r = self.rel_pos[self.rel_starts[i] : self.rel_starts[i + 1]] - (i * self.width - 1)
        return r if k >= self.width else r[: np.searchsorted(r, k, side="right")]


def _ranked(rel_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the True entries of a (c, width) bool array, and row starts."""
    pos = np.flatnonzero(rel_sorted)
    starts = np.zeros(len(rel_sorted) + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(rel_sorted, axis=1), out=starts[1:])
    return pos, starts


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
        self._key_table: np.ndarray | None = None  # built on first use, see _or_base_keys
        self._compiled = _compiled.backend() == "numba"
        self._rel_table: tuple[np.ndarray, np.ndarray] | None = None  # see _relevant_index

    # ---- the chunk loop -------------------------------------------------------------
    def map_chunks(
        self, fn: Callable[[ChunkStats], T], *, top: int = 0, hist: bool = False
    ) -> Iterator[tuple[int, int, T]]:
        """Yield ``(start, stop, fn(stats))`` for consecutive query chunks, in order.

        ``top``: how many items to rank per query (0: none); ``hist``: compute the distance
        histograms. Chunks run on :func:`get_num_threads` threads (numpy releases the GIL
        in the sorts and element-wise passes); at most two chunks per thread are in flight,
        so memory stays bounded.
        """
        full = top > 0 and 2 * top >= self.n_db  # else a partition is cheaper than a sort
        per_pair = 8 if self._compiled else 14 if full else 18
        bounds = list(query_chunks(self.n_queries, self.n_db, per_pair, self.chunk_size))

        def work(bound: tuple[int, int]) -> T:
            s, e = bound
            if self._compiled:
                stats = self._counted_chunk(s, e, top)
            elif full:
                stats = self._full_chunk(s, e, top, hist)
            else:
                stats = self._cut_chunk(s, e, top, hist)
            return fn(stats)

        n_threads = min(get_num_threads(), len(bounds))
        if n_threads <= 1:
            for bound in bounds:
                yield bound[0], bound[1], work(bound)
            return
        with ThreadPoolExecutor(n_threads) as pool:
            pending: deque = deque()
            for bound in bounds:
                pending.append((bound, pool.submit(work, bound)))
                if len(pending) >= 2 * n_threads:
                    (s, e), future = pending.popleft()
                    yield s, e, future.result()
            while pending:
                (s, e), future = pending.popleft()
                yield s, e, future.result()

    def _or_base_keys(self, key: np.ndarray, s: int, e: int) -> None:
        """``key |= index << 1 | relevant`` for queries s:e (key: (e - s, n_db)).

        Queries that share a label pattern (single-label: a class) share this row, so when
        the patterns are few their rows are built once and OR-ed in row by row (no
        relevance pass per chunk).
        """
        table_bytes = self.relevance.n_patterns * self.n_db * self._idx2.itemsize
        if self._key_table is None and table_bytes <= _KEY_TABLE_BYTES:
            with _LOCK:
                if self._key_table is None:
                    table = np.empty((self.relevance.n_patterns, self.n_db), self._idx2.dtype)
                    for p, rel in enumerate(self.relevance.pattern_rows()):
                        np.bitwise_or(self._idx2, rel, out=table[p])
                    self._key_table = table
        if self._key_table is not None:
            for i, p in enumerate(self.relevance.pattern_of[s:e]):
                np.bitwise_or(key[i], self._key_table[p], out=key[i])
        else:
            np.bitwise_or(key, self._idx2[None, :], out=key)
            np.bitwise_or(key, self.relevance.chunk(s, e), out=key)

    def _relevant_index(self, s: int, e: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rel_idx, rel_ptr, pattern)`` of queries s:e for the compiled kernel.

        The relevant database indices of each query label pattern, ascending, built once
        when they fit :data:`_KEY_TABLE_BYTES`; otherwise one row per query of the chunk.
        """
        rel = self.relevance
        if self._rel_table is None:
            first = np.unique(rel.pattern_of, return_index=True)[1]
            if int(self.n_rel[first].sum()) * 8 <= _KEY_TABLE_BYTES:
                with _LOCK:
                    if self._rel_table is None:
                        self._rel_table = _index_rows(rel.pattern_rows())
        if self._rel_table is not None:
            return (*self._rel_table, rel.pattern_of[s:e])
        return (*_index_rows(rel.chunk(s, e)), np.arange(e - s))

    def _counted_chunk(self, s: int, e: int, top: int) -> ChunkStats:
        """The compiled counting sort: every row ranked in full, histograms for free."""
        rel_idx, rel_ptr, pattern = self._relevant_index(s, e)
        pos, starts, prec, h_all, h_rel = _compiled.ranked_chunk(
            self.q_words[s:e], self.db_words, rel_idx, rel_ptr, pattern, self.n_bits)
        return ChunkStats(s, e, top or self.n_db, self.n_db, pos, starts, h_all, h_rel,
                          self.n_rel[s:e], prec)

    def _distances(self, s: int, e: int) -> np.ndarray:
        out = np.empty((e - s, self.n_db), dtype=distance_dtype(self.n_bits))
        distances_into(self.q_words[s:e], self.db_words, out)
        return out

    def _full_chunk(self, s: int, e: int, top: int, hist: bool) -> ChunkStats:
        c, n = e - s, self.n_db
        dist = self._distances(s, e)  # contiguous: the popcount is fastest there
        shift = 24 if self._fast_key else 40
        key = np.left_shift(dist, shift, dtype=self._idx2.dtype)
        self._or_base_keys(key, s, e)
        key.sort(axis=1)
        h_all = h_rel = None
        if hist:
            cum_all = self._cumulative_from_sorted(key, shift)
        rel_sorted = np.empty((c, n), dtype=bool)
        np.bitwise_and(key, 1, out=rel_sorted.view(np.uint8), casting="unsafe")
        pos, starts = _ranked(rel_sorted)
        if hist:
            # relevant items ranked before each boundary: count their positions below it
            row_base = np.arange(c, dtype=np.int64)[:, None] * n
            cum_rel = np.searchsorted(pos, row_base + cum_all) - starts[:-1, None]
            h_all, h_rel = _uncumulate(cum_all), _uncumulate(cum_rel)
        return ChunkStats(s, e, top, n, pos, starts, h_all, h_rel, self.n_rel[s:e])

    def _cumulative_from_sorted(self, key: np.ndarray, shift: int) -> np.ndarray:
        """(c, n_bits + 1) items within each distance, by binary search on sorted keys."""
        # the key of the first item at distance d + 1 (d < n_bits; the last count is n_db,
        # whose bound would overflow a 32-bit key at 255 bits)
        bounds = np.arange(1, self.n_bits + 1, dtype=key.dtype) << key.dtype.type(shift)
        cum_all = np.empty((len(key), self.n_bits + 1), dtype=np.int64)
        cum_all[:, -1] = key.shape[1]
        for i in range(len(key)):
            cum_all[i, :-1] = np.searchsorted(key[i], bounds)
        return cum_all

    def _cut_chunk(self, s: int, e: int, top: int, hist: bool) -> ChunkStats:
        """Histograms and/or the top ``top < n_db`` of each row: a partition, then a short sort."""
        c = e - s
        dist = self._distances(s, e)
        h_all = h_rel = None
        if hist:
            h_all, h_rel = histograms(dist, self.relevance.chunk(s, e), self.n_bits)
        if top == 0:
            return ChunkStats(s, e, 0, 0, None, None, h_all, h_rel, self.n_rel[s:e])
        key = np.left_shift(dist, 24 if self._fast_key else 40, dtype=self._idx2.dtype)
        del dist
        self._or_base_keys(key, s, e)
        best = np.partition(key, top - 1, axis=1)[:, :top]  # the top smallest keys, unordered
        best.sort(axis=1)
        rel_top = np.empty((c, top), dtype=bool)
        np.bitwise_and(best, 1, out=rel_top.view(np.uint8), casting="unsafe")
        pos, starts = _ranked(rel_top)
        return ChunkStats(s, e, top, top, pos, starts, h_all, h_rel, self.n_rel[s:e])


def _index_rows(rows) -> tuple[np.ndarray, np.ndarray]:
    """The True positions of bool rows, concatenated, and where each row's begin."""
    idx = [np.flatnonzero(r) for r in rows]
    ptr = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum([len(i) for i in idx], out=ptr[1:])
    flat = np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, dtype=np.int64)
    return flat, ptr


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
_HARMONIC_LOCK = threading.Lock()
_BLOCK = 1024


def harmonic(n_max: int) -> np.ndarray:
    """``H[i] = sum_{k=1}^{i} 1/k`` for ``i = 0..n_max`` (float64, error ~1e-15)."""
    global _HARMONIC
    with _HARMONIC_LOCK:  # chunks run on several threads
        if len(_HARMONIC) <= n_max:
            size = max(n_max + 1, 2 * len(_HARMONIC))
            inv = np.zeros(size)
            inv[1:] = 1.0 / np.arange(1, size)
            n_blocks = -(-size // _BLOCK)
            padded = np.zeros(n_blocks * _BLOCK)
            padded[:size] = inv
            blocks = padded.reshape(n_blocks, _BLOCK)
            # exact block totals (fsum), exact running offsets, short local cumsums
            totals = [math.fsum(b) for b in blocks]
            offsets = np.array([math.fsum(totals[:i]) for i in range(n_blocks)])
            _HARMONIC = (offsets[:, None] + np.cumsum(blocks, axis=1)).ravel()[:size]
        return _HARMONIC[: n_max + 1]
