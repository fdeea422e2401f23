"""Input validation shared by the metrics: codes -> bits, labels -> classes or multi-hot.

Every public metric funnels its inputs through :func:`as_bits` and :func:`as_labels`;
bad input raises :class:`ValueError` quoting the shape or the offending value. Which
database items are relevant to a query: :mod:`hashlib_core.metrics.relevance`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

EMPTY_OPTIONS = ("zero", "skip")
TIES_OPTIONS = ("index", "expected")
DENOMINATOR_OPTIONS = ("retrieved", "all")


def as_array(x: Any) -> np.ndarray:
    """A NumPy view of array-like input; torch tensors are detached and moved to the CPU
    first (a tensor that requires grad is read as its values: metrics are not
    differentiable)."""
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def as_bits(codes: Any, name: str = "codes") -> np.ndarray:
    """Binary codes as a C-contiguous uint8 {0,1} array of shape (n, n_bits).

    Accepted values: {-1,+1} (the house convention, ``+1 -> 1``), {0,1} or bool. A mix of
    -1 and 0 (e.g. ``np.sign`` output with zeros) is refused: it is not a binary code.
    """
    arr = as_array(codes)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, n_bits), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}")
    if arr.dtype == bool:
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be numeric or bool, got dtype {arr.dtype}")
    bad_mask = (arr != 1) & (arr != 0) & (arr != -1)
    if bad_mask.any():
        where = tuple(int(i) for i in np.argwhere(bad_mask)[0])
        raise ValueError(
            f"{name} must be binary ({{-1,+1}}, {{0,1}} or bool); "
            f"found {arr[where].item()!r} at index {where} (shape {arr.shape})"
        )
    if (arr == 0).any() and (arr == -1).any():
        raise ValueError(
            f"{name} mixes -1 and 0 (shape {arr.shape}): use {{-1,+1}} or {{0,1}}, "
            "not np.sign output with zeros"
        )
    return np.ascontiguousarray(arr > 0, dtype=np.uint8)


def check_pair(query_bits: np.ndarray, db_bits: np.ndarray) -> int:
    """Both code sets have the same number of bits; returns n_bits."""
    if query_bits.shape[1] != db_bits.shape[1]:
        raise ValueError(
            f"query_codes and db_codes have different n_bits: {query_bits.shape} vs {db_bits.shape}"
        )
    return int(query_bits.shape[1])


def as_labels(labels: Any, n: int, name: str) -> np.ndarray:
    """Labels as 1-D int64 classes or 2-D bool multi-hot, checked against ``n`` rows."""
    arr = as_array(labels)
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D integer classes or 2-D multi-hot (n, n_classes), "
            f"got shape {arr.shape}"
        )
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} rows but the codes have {n}: {arr.shape}")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} has no label column: shape {arr.shape}")
    if arr.dtype == bool:
        if arr.ndim == 1:
            raise ValueError(f"{name}: 1-D labels must be integer classes, got dtype bool")
        return np.ascontiguousarray(arr)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 1:
        as_int = arr.astype(np.int64)
        if np.issubdtype(arr.dtype, np.floating) and not np.array_equal(as_int, arr):
            bad = int(np.flatnonzero(as_int != arr)[0])
            raise ValueError(
                f"{name}: class labels must be integers, found {arr[bad].item()!r} at {bad}"
            )
        return as_int
    bad_mask = (arr != 0) & (arr != 1)
    if bad_mask.any():
        where = tuple(int(i) for i in np.argwhere(bad_mask)[0])
        raise ValueError(
            f"{name}: multi-hot labels must be 0/1, found {arr[where].item()!r} at index {where}"
        )
    return np.ascontiguousarray(arr != 0)


def check_option(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def check_topk(topk: Any, n_db: int) -> int:
    """``None`` -> n_db (mAP@ALL); otherwise an integer in [1, n_db]."""
    if topk is None:
        return n_db
    if isinstance(topk, bool) or not isinstance(topk, (int, np.integer)):
        raise ValueError(f"topk must be a positive integer or None, got {topk!r}")
    if topk < 1:
        raise ValueError(f"topk must be >= 1, got {topk}")
    if topk > n_db:
        raise ValueError(f"topk={topk} exceeds the database size n_db={n_db}")
    return int(topk)


def check_chunk_size(chunk_size: Any) -> int | None:
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    return int(chunk_size)


def apply_empty(per_query: np.ndarray, n_relevant: np.ndarray, empty: str, what: str) -> np.ndarray:
    """Apply the empty-query convention to per-query values; warns with the count.

    ``"zero"`` sets the value of a query without any relevant database item to 0,
    ``"skip"`` sets it to NaN (left out of the mean by :func:`mean_over_queries`).
    """
    is_empty = n_relevant == 0
    n_empty = int(is_empty.sum())
    if n_empty:
        action = "counted as 0" if empty == "zero" else "left out of the mean (NaN)"
        warnings.warn(
            f"{n_empty} of {len(n_relevant)} queries have no relevant item in the database; "
            f"their {what} is {action} (empty={empty!r})",
            RuntimeWarning,
            stacklevel=3,
        )
        per_query = per_query.copy()
        per_query[is_empty] = 0.0 if empty == "zero" else np.nan
    return per_query


def mean_over_queries(per_query: np.ndarray, axis: int = 0) -> Any:
    """Mean ignoring NaN rows (skipped queries); NaN only when every query was skipped."""
    kept = ~np.isnan(per_query)
    n = kept.sum(axis=axis)
    total = np.where(kept, per_query, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)
