"""The two containers of a protocol (:class:`Split`, :class:`Protocol`) and seeded sampling.

All randomness of a protocol comes from one ``numpy.random.Generator`` seeded with the
protocol's seed (PCG64, stable across numpy versions for the calls used here:
``permutation``), consumed in a fixed order, so the same seed gives the same manifest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hashlib_core.data.cache import canonical_json, save_json, sha256_bytes


@dataclass(frozen=True, eq=False)
class Split:
    """One part of a protocol (train, val, query or database).

    Attributes
    ----------
    labels : ndarray of shape (n, n_classes), uint8
        Multi-hot labels (one-hot for single-label data).
    images : ndarray of shape (n, H, W, 3), uint8, or None
        Pixels, for in-memory datasets (CIFAR-10, MNIST as 3 identical channels).
    paths : list of str, or None
        Absolute image paths, for list-file datasets.
    indices : ndarray of shape (n,), int64
        Positions in the dataset's standard order (see the protocol's docstring).
    dataset : str
        Dataset name (``"cifar10"``, ``"mnist"``, ``"nuswide_21"``, ...): picks the
        normalisation constants in :func:`~hashlib_core.data.transforms.make_torch_dataset`.
    origins : list of str, or None
        ``"<list file> line <k>"`` for each item of a list-file dataset (error messages).
    """

    labels: np.ndarray
    images: np.ndarray | None
    paths: list[str] | None
    indices: np.ndarray
    dataset: str = ""
    origins: list[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.indices)
        if self.labels.ndim != 2 or self.labels.shape[0] != n or self.labels.dtype != np.uint8:
            raise ValueError(
                f"Split: labels must be uint8 (n={n}, n_classes), got "
                f"{self.labels.dtype} {self.labels.shape}"
            )
        if self.images is not None and (self.images.shape[0] != n or self.images.ndim != 4):
            raise ValueError(
                f"Split: images must have shape ({n}, H, W, 3), got {self.images.shape}"
            )
        if self.paths is not None and len(self.paths) != n:
            raise ValueError(f"Split: {len(self.paths)} paths for {n} items")
        if self.images is None and self.paths is None:
            raise ValueError("Split: needs images or paths")

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def n_classes(self) -> int:
        return int(self.labels.shape[1])


@dataclass(frozen=True, eq=False)
class Protocol:
    """A named, seeded retrieval protocol: train/val/query/database splits and a manifest.

    Attributes
    ----------
    name, dataset : str
    seed : int
    n_classes : int
    multi_label : bool
        True when some item carries more than one label.
    topk : int or None
        The papers' mAP cut-off: None = mAP@ALL (CIFAR-10, MNIST), 1000 (ImageNet-100),
        5000 (NUS-WIDE, MS-COCO).
    train, val, query, database : Split
        ``val`` is carved out of the training set (train excludes it); it is used as
        queries against ``train`` for model selection. ``query`` is never used for
        selection.
    train_in_database : ndarray of shape (n_train,), int64
        Position of each training item inside ``database``, -1 where absent.
    manifest : dict
        Everything needed to prove which images a run used (indices or paths of every
        split, source files and their sha256, policies and counts).
    manifest_sha256 : str
        SHA-256 of the canonical JSON of ``manifest``.
    """

    name: str
    dataset: str
    seed: int
    n_classes: int
    multi_label: bool
    topk: int | None
    train: Split
    val: Split
    query: Split
    database: Split
    train_in_database: np.ndarray
    manifest: dict[str, Any]
    manifest_sha256: str

    def write_manifest(self, path: str | os.PathLike) -> Path:
        """Write the manifest as JSON (atomically) and return the path.

        The file holds ``{"manifest": ..., "manifest_sha256": ...}``; the hash is over the
        canonical JSON of ``manifest`` (:func:`manifest_digest`), not over the file text.
        """
        return save_json(path, {"manifest": self.manifest, "manifest_sha256": self.manifest_sha256})

    def splits(self) -> dict[str, Split]:
        """The four splits by name."""
        return {
            "train": self.train,
            "val": self.val,
            "query": self.query,
            "database": self.database,
        }


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, ASCII) of a manifest."""
    return sha256_bytes(canonical_json(manifest))


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Integer labels (n,) -> uint8 one-hot (n, n_classes)."""
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1}, got [{labels.min()}, {labels.max()}]"
        )
    out = np.zeros((labels.size, n_classes), np.uint8)
    out[np.arange(labels.size), labels] = 1
    return out


def per_class_draw(
    labels: np.ndarray,
    counts: list[int],
    rng: np.random.Generator,
    *,
    pool: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Draw disjoint per-class samples: ``counts[k]`` items of every class, for each k.

    Parameters
    ----------
    labels : ndarray of shape (n,), int
        Class of each item of the dataset (standard order).
    counts : list of int
        Items per class of each requested sample (e.g. ``[100, 500]`` for queries, train).
    rng : numpy.random.Generator
    pool : ndarray of int, optional
        Restrict the draw to these indices (default: all).

    Returns
    -------
    list of ndarray of int64
        One sorted index array per entry of ``counts``, mutually disjoint.
    """
    labels = np.asarray(labels)
    pool = np.arange(labels.size) if pool is None else np.asarray(pool, dtype=np.int64)
    parts: list[list[np.ndarray]] = [[] for _ in counts]
    for c in np.unique(labels[pool]):
        members = pool[labels[pool] == c]
        need = sum(counts)
        if members.size < need:
            raise ValueError(
                f"class {c}: {members.size} items, the protocol needs {need} ({counts})"
            )
        shuffled = rng.permutation(members)
        start = 0
        for j, k in enumerate(counts):
            parts[j].append(shuffled[start : start + k])
            start += k
    return [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]


def carve_validation(
    labels: np.ndarray, fraction: float, rng: np.random.Generator, *, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Split positions 0..n-1 of a training set into (train, val), seeded.

    Parameters
    ----------
    labels : ndarray of shape (n, n_classes)
        Multi-hot labels of the training set.
    fraction : float in [0, 1)
        Share of the training set moved to validation.
    rng : numpy.random.Generator
    stratify : bool
        Single-label data: ``round(fraction * n_c)`` items of each class. Multi-label
        data: a plain seeded random ``round(fraction * n)`` (no exact stratification
        exists for label sets).

    Returns
    -------
    train, val : ndarray of int64
        Sorted positions into the training set.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {fraction}")
    n = labels.shape[0]
    if stratify:
        classes = labels.argmax(axis=1)
        val = []
        for c in np.unique(classes):
            members = np.flatnonzero(classes == c)
            val.append(rng.permutation(members)[: int(round(fraction * members.size))])
        val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    else:
        val_idx = np.sort(rng.permutation(n)[: int(round(fraction * n))])
    mask = np.ones(n, bool)
    mask[val_idx] = False
    return np.flatnonzero(mask).astype(np.int64), val_idx.astype(np.int64)


def positions_in(items: np.ndarray, container: np.ndarray) -> np.ndarray:
    """Position of each of ``items`` in ``container`` (both int arrays), -1 where absent."""
    container = np.asarray(container, dtype=np.int64)
    order = np.argsort(container, kind="stable")
    sorted_c = container[order]
    where = np.searchsorted(sorted_c, items)
    where = np.clip(where, 0, max(len(sorted_c) - 1, 0))
    found = (
        (len(sorted_c) > 0) & (sorted_c[where] == items)
        if len(sorted_c)
        else np.zeros(len(items), bool)
    )
    out = np.full(len(items), -1, np.int64)
    out[found] = order[where[found]]
    return out
