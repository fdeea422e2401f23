"""LSH: random Gaussian projections (sign random projections).

M. S. Charikar, "Similarity estimation techniques from rounding algorithms", STOC 2002;
as a hashing baseline in the form used by the hashing literature (e.g. Gong and
Lazebnik, ITQ, CVPR 2011): centre the features, project on ``n_bits`` random directions
drawn from a standard Gaussian, and take the sign:

    h(x) = sign(W^T (x - mu)),   W_{jk} ~ N(0, 1) i.i.d.,   mu = training mean.

No hyper-parameter; data-independent except for the mean.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from hashlib_core.methods import ShallowHashMethod, register
from hashlib_core.methods._shallow_utils import (
    check_features,
    check_fitted,
    check_labels,
    sign_codes,
)


@register
class LSH(ShallowHashMethod):
    """Locality-sensitive hashing by random Gaussian projections of centred features.

    Parameters
    ----------
    n_bits : int
        Code length.
    n_classes : int
        Number of classes (labels are accepted and ignored).
    seed : int, keyword-only
        Seeds the projection matrix.
    """

    name: ClassVar[str] = "lsh"
    citation: ClassVar[str] = (
        "M. S. Charikar. Similarity estimation techniques from rounding algorithms. STOC 2002."
    )
    supervised: ClassVar[bool] = False
    defaults: ClassVar[dict] = {}

    mean_: np.ndarray | None = None
    projection_: np.ndarray | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> LSH:
        """Draw the projections; ``features`` of shape (n, d); ``labels`` ignored."""
        x = check_features(self.name, features)
        check_labels(self.name, labels, x.shape[0], self.n_classes, required=False)
        rng = np.random.default_rng(self.seed)
        self.mean_ = x.mean(axis=0)
        self.projection_ = rng.standard_normal((x.shape[1], self.n_bits))
        return self

    def encode(self, features: np.ndarray) -> np.ndarray:
        """Codes in {-1,+1}, int8 of shape (n, n_bits)."""
        check_fitted(self, "projection_")
        x = check_features(self.name, features, n_dims=self.mean_.shape[0])
        return sign_codes((x - self.mean_) @ self.projection_)
