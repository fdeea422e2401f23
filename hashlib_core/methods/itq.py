"""ITQ: iterative quantisation (PCA + an orthogonal rotation).

Y. Gong and S. Lazebnik, "Iterative quantization: a Procrustean approach to learning
binary codes", CVPR 2011 (and Gong et al., TPAMI 2013).

With ``V = (X - mu) W`` the projection on the top ``n_bits`` principal directions ``W``,
ITQ minimises the quantisation loss

    Q(B, R) = || B - V R ||_F^2,   B in {-1,+1}^{n x c},  R^T R = I,

alternating ``B = sign(V R)`` and the orthogonal Procrustes solution
``R = U Omega^T`` where ``V^T B = U S Omega^T`` (SVD), from a random orthogonal ``R``,
for 50 iterations (the paper's setting). Codes: ``sign((x - mu) W R)``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from hashlib_core.methods import ShallowHashMethod, register
from hashlib_core.methods._shallow_utils import (
    check_features,
    check_fitted,
    check_labels,
    pca,
    sign_codes,
)


@register
class ITQ(ShallowHashMethod):
    """Iterative quantisation: PCA to ``n_bits`` dimensions, then a learned rotation.

    Hyper-parameters (``defaults``): ``n_iter`` = 50 alternations (Gong and Lazebnik).
    ``n_bits`` must not exceed the feature dimension.
    """

    name: ClassVar[str] = "itq"
    citation: ClassVar[str] = (
        "Y. Gong and S. Lazebnik. Iterative quantization: a Procrustean approach to "
        "learning binary codes. CVPR 2011."
    )
    supervised: ClassVar[bool] = False
    defaults: ClassVar[dict] = {"n_iter": 50}

    mean_: np.ndarray | None = None
    projection_: np.ndarray | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> ITQ:
        """Learn PCA and the rotation on ``features`` of shape (n, d); ``labels`` ignored."""
        x = check_features(self.name, features)
        check_labels(self.name, labels, x.shape[0], self.n_classes, required=False)
        rng = np.random.default_rng(self.seed)
        self.mean_ = x.mean(axis=0)
        xc = x - self.mean_
        w = pca(self.name, xc, self.n_bits)
        v = xc @ w
        r, _ = np.linalg.qr(rng.standard_normal((self.n_bits, self.n_bits)))
        self.loss_history_ = []  # quantisation loss ||B - V R||_F^2 before each update
        with threadpool_limits(limits=1, user_api="blas"):  # small products: 1 thread is faster
            for _ in range(int(self.hparams["n_iter"])):
                b = np.where(v @ r >= 0, 1.0, -1.0)
                self.loss_history_.append(float(((b - v @ r) ** 2).sum()))
                u, _, omega_t = np.linalg.svd(v.T @ b)
                r = u @ omega_t
        self.rotation_ = r
        self.projection_ = w @ r
        return self

    def encode(self, features: np.ndarray) -> np.ndarray:
        """Codes in {-1,+1}, int8 of shape (n, n_bits)."""
        check_fitted(self, "projection_")
        x = check_features(self.name, features, n_dims=self.mean_.shape[0])
        return sign_codes((x - self.mean_) @ self.projection_)
