"""SDH: supervised discrete hashing.

F. Shen, C. Shen, W. Liu and H. T. Shen, "Supervised discrete hashing", CVPR 2015.

Codes ``B in {-1,+1}^{n x L}`` of the training items are learned directly (no
relaxation) so that a linear classifier ``W`` predicts the labels ``Y`` (n x C) from
them, while a hash function ``F(x) = phi(x) P`` fits them::

    min_{B, W, P}  ||Y - B W||_F^2 + lambda ||W||_F^2 + nu ||B - phi(X) P||_F^2

with ``phi(x) = [exp(-||x - a_j||^2 / (2 sigma^2))]_{j=1..m}`` on ``m`` random training
anchors (plus a constant 1). Alternating, from random ``B``, for ``n_iter`` rounds:

* G-step: ``W = (B^T B + lambda I)^{-1} B^T Y``;
* F-step: ``P = (phi^T phi + delta I)^{-1} phi^T B``;
* B-step: with ``Q = Y W^T + nu phi P`` the problem is
  ``min_B ||B W||^2 - 2 tr(B^T Q)``, solved bit by bit by discrete cyclic coordinate
  descent (DCC): ``b_l = sign(q_l - B_{-l} W_{-l} w_l^T)`` (``w_l`` the l-th row of ``W``,
  ``B_{-l}, W_{-l}`` without bit l), sweeping the bits up to ``dcc_sweeps`` times until
  the codes stop changing.

A last F-step fits ``P`` to the final codes; new items get ``sign(phi(x) P)``.

Hyper-parameters: m = 1000 anchors, nu = 1e-5, lambda = 1, 5 outer iterations (the
paper). Reconstructed: ``delta`` = 0.01 (a small ridge; the paper writes plain least
squares), up to 10 DCC sweeps per B-step, the RBF width ``sigma`` = mean distance of
training items to the anchors, the constant feature.
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
    choose_anchors,
    mean_anchor_distance,
    rbf_anchor_features,
    sign_codes,
    subsample,
)


def dcc_update(b: np.ndarray, w: np.ndarray, q: np.ndarray, *, sweeps: int) -> np.ndarray:
    """Discrete cyclic coordinate descent on ``min_B ||B W||^2 - 2 tr(B^T Q)``.

    Parameters
    ----------
    b : ndarray of shape (n, L), values in {-1,+1}
        Starting codes (not modified).
    w : ndarray of shape (L, C)
    q : ndarray of shape (n, L)
    sweeps : int, keyword-only
        Maximum passes over the L bits; stops early when a pass changes nothing.

    Returns
    -------
    ndarray of shape (n, L), float64 in {-1,+1}
    """
    b = b.astype(np.float64, copy=True)
    gram = w @ w.T  # (L, L)
    for _ in range(sweeps):
        changed = 0
        for bit in range(b.shape[1]):
            # B_{-l} W_{-l} w_l^T = B gram[:, l] - b_l gram[l, l]
            rest = b @ gram[:, bit] - b[:, bit] * gram[bit, bit]
            new = np.where(q[:, bit] - rest >= 0, 1.0, -1.0)
            changed += int((new != b[:, bit]).sum())
            b[:, bit] = new
        if changed == 0:
            break
    return b


@register
class SDH(ShallowHashMethod):
    """Supervised discrete hashing (RBF anchor features, DCC code updates).

    Hyper-parameters (``defaults``): ``n_anchors`` = 1000, ``nu`` = 1e-5, ``lam`` = 1,
    ``n_iter`` = 5, ``dcc_sweeps`` = 10, ``delta`` = 0.01, ``sigma`` = None (mean
    item-anchor distance), ``n_train_max`` = None (all training items).
    """

    name: ClassVar[str] = "sdh"
    citation: ClassVar[str] = (
        "F. Shen, C. Shen, W. Liu and H. T. Shen. Supervised discrete hashing. CVPR 2015."
    )
    supervised: ClassVar[bool] = True
    defaults: ClassVar[dict] = {
        "n_anchors": 1000,
        "nu": 1e-5,
        "lam": 1.0,
        "n_iter": 5,
        "dcc_sweeps": 10,
        "delta": 0.01,
        "sigma": None,
        "n_train_max": None,
    }
    reconstructed: ClassVar[tuple[str, ...]] = ("dcc_sweeps", "delta", "sigma")

    projection_: np.ndarray | None = None

    def _phi(self, x: np.ndarray) -> np.ndarray:
        k = rbf_anchor_features(x, self.anchors_, self.sigma_)
        return np.column_stack([k, np.ones(x.shape[0])])

    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> SDH:
        """Learn codes, classifier and hash function.

        Parameters
        ----------
        features : array-like of shape (n, d)
        labels : array-like of shape (n,) int or (n, n_classes) multi-hot
        """
        x = check_features(self.name, features)
        y = check_labels(self.name, labels, x.shape[0], self.n_classes, required=True)
        hp = self.hparams
        rng = np.random.default_rng(self.seed)
        idx = subsample(x.shape[0], hp["n_train_max"], rng)
        x, y = x[idx], y[idx]
        self.anchors_ = choose_anchors(self.name, x, int(hp["n_anchors"]), rng)
        self.sigma_ = float(hp["sigma"]) if hp["sigma"] else mean_anchor_distance(x, self.anchors_)
        phi = self._phi(x)
        # (phi^T phi + delta I)^{-1} phi^T, computed once: the F-step is then one product
        solve_p = np.linalg.solve(phi.T @ phi + float(hp["delta"]) * np.eye(phi.shape[1]), phi.T)
        nu, lam = float(hp["nu"]), float(hp["lam"])
        b = np.where(rng.standard_normal((x.shape[0], self.n_bits)) >= 0, 1.0, -1.0)
        self.objective_ = []
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(int(hp["n_iter"])):
                w = np.linalg.solve(b.T @ b + lam * np.eye(self.n_bits), b.T @ y)  # G-step
                p = solve_p @ b  # F-step
                f = phi @ p
                b = dcc_update(b, w, y @ w.T + nu * f, sweeps=int(hp["dcc_sweeps"]))  # B-step
                self.objective_.append(
                    float(((y - b @ w) ** 2).sum() + lam * (w**2).sum() + nu * ((b - f) ** 2).sum())
                )
        self.classifier_ = np.linalg.solve(b.T @ b + lam * np.eye(self.n_bits), b.T @ y)
        self.projection_ = solve_p @ b
        self.train_codes_ = b.astype(np.int8)
        return self

    def encode(self, features: np.ndarray) -> np.ndarray:
        """Codes in {-1,+1}, int8 of shape (n, n_bits)."""
        check_fitted(self, "projection_")
        x = check_features(self.name, features, n_dims=self.anchors_.shape[1])
        return sign_codes(self._phi(x) @ self.projection_)
