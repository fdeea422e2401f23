"""SH: spectral hashing.

Y. Weiss, A. Torralba and R. Fergus, "Spectral hashing", NIPS 2008.

Following the paper (and its reference code): project the centred data on the top
``k = n_bits`` principal directions; assume each projection ``y_j`` uniform on
``[a_j, b_j]`` (the training range); the one-dimensional Laplacian eigenfunctions and
eigenvalues on that interval are

    Phi_{j,m}(y) = sin(pi/2 + m pi / (b_j - a_j) * (y - a_j)),
    lambda_{j,m} = 1 - exp(-eps^2 / 2 * (m pi / (b_j - a_j))^2),   m = 1, 2, ...

so the eigenvalues rank by ``(m / (b_j - a_j))^2``. SH keeps the ``n_bits`` pairs (j, m)
with the smallest ``m / (b_j - a_j)`` (never the constant m = 0) and thresholds each
eigenfunction at zero: bit = sign(Phi_{j,m}(y_j)).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hashlib_core.methods import ShallowHashMethod, register
from hashlib_core.methods._shallow_utils import (
    check_features,
    check_fitted,
    check_labels,
    pca,
    sign_codes,
)


@register
class SH(ShallowHashMethod):
    """Spectral hashing: PCA, then analytical eigenfunctions of a uniform distribution.

    No hyper-parameter (the kernel width ``eps`` only orders the eigenvalues, and the
    order does not depend on it). ``n_bits`` must not exceed the feature dimension.
    """

    name: ClassVar[str] = "sh"
    citation: ClassVar[str] = "Y. Weiss, A. Torralba and R. Fergus. Spectral hashing. NIPS 2008."
    supervised: ClassVar[bool] = False
    defaults: ClassVar[dict] = {}

    mean_: np.ndarray | None = None
    pcs_: np.ndarray | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> SH:
        """Learn PCA, the ranges and the chosen modes; ``features`` of shape (n, d)."""
        x = check_features(self.name, features)
        check_labels(self.name, labels, x.shape[0], self.n_classes, required=False)
        self.mean_ = x.mean(axis=0)
        self.pcs_ = pca(self.name, x - self.mean_, self.n_bits)
        y = (x - self.mean_) @ self.pcs_
        eps = np.finfo(np.float64).eps
        self.low_ = y.min(axis=0) - eps
        span = y.max(axis=0) + eps - self.low_
        # candidate modes: m = 1 .. ceil((n_bits + 1) * span_j / max span) - 1 on axis j
        max_mode = np.ceil((self.n_bits + 1) * span / span.max()).astype(int)
        cand = [(m / span[j], j, m) for j in range(self.n_bits) for m in range(1, max_mode[j])]
        cand.sort(key=lambda t: (t[0], t[1]))
        chosen = cand[: self.n_bits]
        self.axes_ = np.array([j for _, j, _ in chosen])
        self.omegas_ = np.array([m * np.pi / span[j] for _, j, m in chosen])
        return self

    def encode(self, features: np.ndarray) -> np.ndarray:
        """Codes in {-1,+1}, int8 of shape (n, n_bits)."""
        check_fitted(self, "pcs_")
        x = check_features(self.name, features, n_dims=self.mean_.shape[0])
        y = (x - self.mean_) @ self.pcs_ - self.low_
        return sign_codes(np.sin(np.pi / 2 + y[:, self.axes_] * self.omegas_))
