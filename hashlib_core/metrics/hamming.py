"""Packed binary codes and exact Hamming distances by popcount.

Codes are packed 8 bits per byte with :func:`numpy.packbits` (first bit in the most
significant position), padded with zero bits to whole 64-bit words, and compared with
``popcount(q XOR d)`` on uint64 words (:func:`numpy.bitwise_count`). Distances between
two codes of ``n_bits`` bits are integers in ``0..n_bits``; padding bits are zero on
both sides and never count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from hashlib_core.metrics._checks import as_bits, check_chunk_size, check_pair

#: upper bound on the working memory of one chunk of queries (bytes)
MEMORY_BUDGET = 256 * 2**20
#: query x database pairs per chunk by default: small enough to stay in cache (faster
#: than bigger chunks) and far below MEMORY_BUDGET
PAIRS_PER_CHUNK = 2**18
#: rows of the XOR buffer per popcount call (keeps the uint64 temporary in cache)
_XOR_ELEMENTS = 2**16


def pack_codes(codes: Any) -> np.ndarray:
    """Pack binary codes into bytes, 8 bits per byte.

    Parameters
    ----------
    codes : array-like of shape (n, n_bits)
        Values in {-1,+1} (``+1`` is bit 1), {0,1} or bool.

    Returns
    -------
    packed : ndarray of shape (n, ceil(n_bits / 8)), dtype uint8
        ``np.packbits(codes > 0, axis=1)``: bit ``k`` of a code is bit ``7 - k % 8`` of
        byte ``k // 8``; the last byte is padded with zero bits.

    Raises
    ------
    ValueError
        If ``codes`` is not 2-D, is empty or holds a value other than -1, 0, 1
        (or mixes -1 and 0).

    Examples
    --------
    >>> pack_codes([[1, -1, -1, 1, 1, 1, -1, -1, 1]])
    array([[156, 128]], dtype=uint8)
    """
    return np.packbits(as_bits(codes), axis=1)


def pack_words(bits: np.ndarray) -> np.ndarray:
    """(n, n_bits) {0,1} uint8 -> (n, ceil(n_bits / 64)) uint64 words, zero padded."""
    n, n_bits = bits.shape
    n_words = -(-n_bits // 64)
    packed = np.zeros((n, n_words * 8), dtype=np.uint8)
    packed[:, : -(-n_bits // 8)] = np.packbits(bits, axis=1)
    return packed.view(np.uint64)


def distance_dtype(n_bits: int) -> np.dtype:
    """uint8 up to 255 bits, uint16 above."""
    return np.dtype(np.uint8) if n_bits <= 255 else np.dtype(np.uint16)


def distances_into(query_words: np.ndarray, db_words: np.ndarray, out: np.ndarray) -> None:
    """Hamming distances of every query word row to every database row, written to ``out``.

    ``query_words`` (c, n_words) and ``db_words`` (n_db, n_words) uint64; ``out`` is a
    (c, n_db) unsigned integer array or view (it may be strided, e.g. one byte of a key).
    """
    c, n_words = query_words.shape
    n_db = db_words.shape[0]
    step = max(1, _XOR_ELEMENTS // max(1, n_db))
    xor = np.empty((min(step, c), n_db), dtype=np.uint64)
    count = np.empty((min(step, c), n_db), dtype=np.uint8) if n_words > 1 else None
    db_cols = [np.ascontiguousarray(db_words[:, w]) for w in range(n_words)]
    for s in range(0, c, step):
        e = min(c, s + step)
        buf = xor[: e - s]
        for w in range(n_words):
            np.bitwise_xor(query_words[s:e, w, None], db_cols[w][None, :], out=buf)
            if w == 0:
                np.bitwise_count(buf, out=out[s:e], casting="unsafe")
            else:
                np.bitwise_count(buf, out=count[: e - s])
                np.add(out[s:e], count[: e - s], out=out[s:e], casting="unsafe")


def query_chunks(
    n_queries: int, n_db: int, bytes_per_pair: int, chunk_size: int | None
) -> Iterator[tuple[int, int]]:
    """(start, stop) of query chunks; the automatic size is PAIRS_PER_CHUNK pairs."""
    if chunk_size is None:
        by_memory = MEMORY_BUDGET // max(1, bytes_per_pair * n_db)
        chunk_size = max(1, min(PAIRS_PER_CHUNK // max(1, n_db), by_memory))
    for s in range(0, n_queries, chunk_size):
        yield s, min(n_queries, s + chunk_size)


def hamming_distance(
    query_codes: Any, db_codes: Any, *, chunk_size: int | None = None
) -> np.ndarray:
    """Exact Hamming distances between two sets of binary codes.

    Parameters
    ----------
    query_codes : array-like of shape (n_queries, n_bits)
        Values in {-1,+1}, {0,1} or bool.
    db_codes : array-like of shape (n_db, n_bits)
        Same number of bits as ``query_codes``.
    chunk_size : int, optional
        Queries per chunk of work; by default about 2**18 query x database pairs.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_db), dtype uint8 (uint16 above 255 bits)
        ``d(q, x) = popcount(q XOR x)`` = number of differing bits, in ``0..n_bits``;
        for {-1,+1} codes this equals ``(n_bits - q @ x) / 2``. Unsigned: cast before
        subtracting.

    Raises
    ------
    ValueError
        On non-binary codes, empty arrays or different ``n_bits``.

    Examples
    --------
    >>> hamming_distance([[1, 1, -1, -1]], [[1, 1, -1, -1], [-1, 1, 1, -1], [-1, -1, 1, 1]])
    array([[0, 2, 4]], dtype=uint8)
    """
    q_bits = as_bits(query_codes, "query_codes")
    db_bits = as_bits(db_codes, "db_codes")
    n_bits = check_pair(q_bits, db_bits)
    chunk_size = check_chunk_size(chunk_size)
    q_words, db_words = pack_words(q_bits), pack_words(db_bits)
    out = np.empty((len(q_bits), len(db_bits)), dtype=distance_dtype(n_bits))
    for s, e in query_chunks(len(q_bits), len(db_bits), 9, chunk_size):
        distances_into(q_words[s:e], db_words, out[s:e])
    return out
