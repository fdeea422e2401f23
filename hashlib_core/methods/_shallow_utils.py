"""Helpers shared by the shallow methods: input checks, labels, PCA, RBF anchor features.

Not a method module (the leading underscore keeps the registry from importing it).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits


def check_features(name: str, features: np.ndarray, *, n_dims: int | None = None) -> np.ndarray:
    """Validate a feature matrix and return it as float64, shape (n, d).

    Raises ``ValueError`` for a wrong rank, no rows, a dimension different from
    ``n_dims`` (the one seen in ``fit``), or non-finite values (with their count and the
    first position).
    """
    x = np.asarray(features)
    if x.ndim != 2:
        raise ValueError(f"{name}: features must have shape (n, d), got {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name}: features are empty, shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"{name}: features must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        rows = np.unique(np.nonzero(bad)[0])
        raise ValueError(
            f"{name}: features hold {int(bad.sum())} non-finite values (NaN/inf) in "
            f"{rows.size} rows; first at row {row}, column {col} ({x[row, col]})"
        )
    if n_dims is not None and x.shape[1] != n_dims:
        raise ValueError(
            f"{name}: features have {x.shape[1]} dimensions but the method was fitted on {n_dims}"
        )
    return x


def check_labels(
    name: str, labels: np.ndarray | None, n: int, n_classes: int, *, required: bool
) -> np.ndarray | None:
    """Labels as float multi-hot of shape (n, n_classes), from 1-D int or 2-D multi-hot."""
    if labels is None:
        if required:
            raise ValueError(
                f"{name} is supervised: fit(features, labels) needs labels "
                f"(1-D int of shape ({n},) or multi-hot of shape ({n}, {n_classes}))"
            )
        return None
    y = np.asarray(labels)
    if y.shape[0:1] != (n,):
        raise ValueError(
            f"{name}: {y.shape[0] if y.ndim else 0} labels for {n} feature rows "
            f"(labels shape {y.shape})"
        )
    if y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{name}: 1-D labels must be integers, got dtype {y.dtype}")
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(
                f"{name}: labels range over [{y.min()}, {y.max()}] but n_classes={n_classes}"
            )
        out = np.zeros((n, n_classes), dtype=np.float64)
        out[np.arange(n), y] = 1.0
        return out
    if y.ndim == 2:
        if y.shape[1] != n_classes:
            raise ValueError(
                f"{name}: multi-hot labels have {y.shape[1]} columns, n_classes={n_classes}"
            )
        yf = y.astype(np.float64)
        if not np.isin(yf, (0.0, 1.0)).all():
            raise ValueError(f"{name}: multi-hot labels must hold only 0 and 1")
        return yf
    raise ValueError(f"{name}: labels must be 1-D or 2-D, got shape {y.shape}")


def check_fitted(method, attr: str) -> None:
    if getattr(method, attr, None) is None:
        raise ValueError(f"{method.name}: encode() called before fit()")


def pairwise_similarity(labels: np.ndarray) -> np.ndarray:
    """S in {-1,+1}: +1 when two items share at least one label; shape (n, n)."""
    return np.where(labels @ labels.T > 0, 1.0, -1.0)


def pca(name: str, x_centred: np.ndarray, n_components: int) -> np.ndarray:
    """Top ``n_components`` principal directions of centred data, shape (d, n_components).

    Raises ``ValueError`` when more components than dimensions are asked for.
    """
    d = x_centred.shape[1]
    if n_components > d:
        raise ValueError(
            f"{name}: n_bits={n_components} is larger than the feature dimension {d}; "
            f"this method projects on n_bits principal components (PCA), so n_bits <= {d}"
        )
    with threadpool_limits(limits=1, user_api="blas"):  # robust on a busy machine
        cov = x_centred.T @ x_centred / max(x_centred.shape[0] - 1, 1)
        vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:n_components]
    vecs = vecs[:, order]
    # fix the sign of each direction (largest |entry| positive) for determinism
    signs = np.sign(vecs[np.abs(vecs).argmax(axis=0), np.arange(n_components)])
    return vecs * np.where(signs == 0, 1.0, signs)


def sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (len(a), len(b)), clipped at 0."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def choose_anchors(
    name: str, x: np.ndarray, n_anchors: int, rng: np.random.Generator
) -> np.ndarray:
    """``n_anchors`` training rows drawn at random without replacement."""
    if n_anchors > x.shape[0]:
        raise ValueError(f"{name}: n_anchors={n_anchors} exceeds the {x.shape[0]} training items")
    return x[np.sort(rng.choice(x.shape[0], size=n_anchors, replace=False))]


def sign_codes(v: np.ndarray) -> np.ndarray:
    """sign(v) with sign(0) = +1, as int8 in {-1,+1}."""
    return np.where(v >= 0, 1, -1).astype(np.int8)


def subsample(n: int, n_max: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``min(n, n_max)`` items drawn without replacement (all if None)."""
    if n_max is None or n_max >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=n_max, replace=False))


class PairResidual:
    """The residual ``R = r S - H H^T`` of KSH / FastH's greedy bit-wise optimisation.

    ``S`` in {-1,+1} is the pairwise label similarity of ``n`` items (+1: at least one
    shared label), ``r`` the code length, ``H`` (n, k) the bits fixed so far. With
    single labels (at most one per item) ``S = 2 Y Y^T - 1`` is low-rank and ``R`` is never formed
    (products cost O(n (n_classes + k))); with multi-label data ``S`` is dense (n, n).
    """

    def __init__(self, labels: np.ndarray, scale: float) -> None:
        self.labels = labels
        self.scale = float(scale)
        self.one_hot = bool((labels.sum(axis=1) <= 1).all())  # then Y Y^T is 0/1
        self.dense = None if self.one_hot else pairwise_similarity(labels)
        self.bits = np.zeros((labels.shape[0], 0))

    @property
    def n(self) -> int:
        return self.labels.shape[0]

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """``R v`` for v of shape (n,) or (n, p)."""
        if self.one_hot:
            sv = 2.0 * self.labels @ (self.labels.T @ v) - v.sum(axis=0)
        else:
            sv = self.dense @ v
        return self.scale * sv - self.bits @ (self.bits.T @ v)

    def column(self, i: int) -> np.ndarray:
        """Column ``R[:, i]``, shape (n,)."""
        if self.one_hot:
            s = 2.0 * (self.labels @ self.labels[i]) - 1.0
        else:
            s = self.dense[:, i]
        return self.scale * s - self.bits @ self.bits[i]

    def diag(self) -> np.ndarray:
        """Diagonal of ``R``, shape (n,)."""
        return self.scale - (self.bits**2).sum(axis=1)

    def quad(self, h: np.ndarray) -> float:
        """``h^T R h``."""
        return float(h @ self.matvec(h))

    def add_bit(self, h: np.ndarray) -> None:
        """Fix a bit ``h`` in {-1,+1}^n: ``R <- R - h h^T``."""
        self.bits = np.column_stack([self.bits, h.astype(np.float64)])


def rbf_anchor_features(x: np.ndarray, anchors: np.ndarray, sigma: float) -> np.ndarray:
    """``exp(-||x - a_j||^2 / (2 sigma^2))``, shape (n, n_anchors)."""
    return np.exp(-sq_dists(x, anchors) / (2.0 * sigma**2))


def mean_anchor_distance(x: np.ndarray, anchors: np.ndarray) -> float:
    """Mean Euclidean distance from the rows of ``x`` to the anchors (the RBF width)."""
    return float(np.sqrt(sq_dists(x, anchors)).mean())
