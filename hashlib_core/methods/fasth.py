"""FastH: two-step supervised hashing with boosted decision trees.

G. Lin, C. Shen, Q. Shi, A. van den Hengel and D. Suter, "Fast supervised hashing with
decision trees for high-dimensional data", CVPR 2014 (called FATH in some tables).

The KSH-type loss on pairs, with ``S in {-1,+1}`` (+1: a shared label) and
``r = n_bits``::

    min_Z sum_{i,j} (r s_ij - z_i^T z_j)^2,   z_i = sign(h(x_i)) in {-1,+1}^r,

is optimised bit by bit in two steps. Bit k sees the residual
``R = r S - sum_{t<k} h_t h_t^T`` of the *hash-function outputs* ``h_t`` of the bits
already learned, so that later bits correct their errors.

* Step 1, binary code inference: ``max_{z in {-1,+1}^n} z^T R z``. The paper solves this
  binary quadratic problem with GraphCut on sub-modular blocks. Simplified here
  (documented): spectral initialisation ``z = sign(v)``, ``v`` the top eigenvector of
  ``R`` (Lanczos), then single-variable block search (iterated conditional modes:
  flip ``z_i`` whenever ``-4 z_i sum_{j != i} R_ij z_j > 0``), which increases
  ``z^T R z`` monotonically to a local optimum under single flips (a block of size 1 in
  the paper's block search).
* Step 2, hash function learning: a boosted ensemble of depth-4 decision trees trained
  to predict ``z`` from ``x``; ``h_k(x) = sign(f_k(x))``. The paper uses AdaBoost;
  here scikit-learn's histogram gradient boosting (logistic loss) with depth-4 trees,
  which trains the same kind of model much faster.

Hyper-parameters: tree depth 4 (paper); ``n_trees`` = 200 boosting iterations per bit
and ``learning_rate`` = 0.1 (reconstructed); ``n_train_max`` = 5000 items for the
pairwise loss (reconstructed: a dense S is n x n for multi-label data); up to
``icm_sweeps`` = 10 sweeps of single-flip search (reconstructed).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse.linalg
from threadpoolctl import threadpool_limits

from hashlib_core.methods import ShallowHashMethod, register
from hashlib_core.methods._shallow_utils import (
    PairResidual,
    check_features,
    check_fitted,
    check_labels,
    sign_codes,
    subsample,
)


def infer_bit(
    res: PairResidual, rng: np.random.Generator, *, sweeps: int
) -> tuple[np.ndarray, float]:
    """Approximately maximise ``z^T R z`` over ``z in {-1,+1}^n``.

    Returns
    -------
    z : ndarray of shape (n,), float64 in {-1,+1}
    value : float
        ``z^T R z``.
    """
    n = res.n
    op = scipy.sparse.linalg.LinearOperator((n, n), matvec=res.matvec, dtype=np.float64)
    v0 = rng.standard_normal(n)
    _, vec = scipy.sparse.linalg.eigsh(op, k=1, which="LA", v0=v0, tol=1e-6)
    z = np.where(vec[:, 0] >= 0, 1.0, -1.0)
    g = res.matvec(z)
    d = res.diag()
    for _ in range(sweeps):
        gain = -4.0 * z * (g - d * z)
        cand = np.flatnonzero(gain > 1e-9)
        if cand.size == 0:
            break
        for i in cand[np.argsort(-gain[cand], kind="stable")]:
            if -4.0 * z[i] * (g[i] - d[i] * z[i]) > 1e-9:
                g -= 2.0 * z[i] * res.column(i)
                z[i] = -z[i]
    return z, float(z @ g)


class _Constant:
    """A 'classifier' for a bit whose inferred codes are all equal."""

    def __init__(self, value: float) -> None:
        self.value = value

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return np.full(x.shape[0], self.value)


@register
class FastH(ShallowHashMethod):
    """FastH: bit-wise code inference, then boosted depth-4 trees per bit.

    Hyper-parameters (``defaults``): ``n_trees`` = 200, ``max_depth`` = 4,
    ``learning_rate`` = 0.1, ``n_train_max`` = 5000, ``icm_sweeps`` = 10.
    """

    name: ClassVar[str] = "fasth"
    citation: ClassVar[str] = (
        "G. Lin, C. Shen, Q. Shi, A. van den Hengel and D. Suter. Fast supervised hashing "
        "with decision trees for high-dimensional data. CVPR 2014."
    )
    supervised: ClassVar[bool] = True
    defaults: ClassVar[dict] = {
        "n_trees": 200,
        "max_depth": 4,
        "learning_rate": 0.1,
        "n_train_max": 5000,
        "icm_sweeps": 10,
    }
    reconstructed: ClassVar[tuple[str, ...]] = (
        "n_trees",
        "learning_rate",
        "n_train_max",
        "icm_sweeps",
    )

    trees_: list | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> FastH:
        """Learn ``n_bits`` boosted-tree hash functions.

        Parameters
        ----------
        features : array-like of shape (n, d)
        labels : array-like of shape (n,) int or (n, n_classes) multi-hot
            ``n_train_max`` items (seeded draw) enter the pairwise loss.
        """
        x = check_features(self.name, features)
        y = check_labels(self.name, labels, x.shape[0], self.n_classes, required=True)
        hp = self.hparams
        rng = np.random.default_rng(self.seed)
        idx = subsample(x.shape[0], hp["n_train_max"], rng)
        x, y = x[idx].astype(np.float32), y[idx]
        res = PairResidual(y, scale=self.n_bits)
        self.n_dims_ = x.shape[1]
        self.trees_ = []
        self.inferred_objective_ = []  # z_k^T R_{k-1} z_k of the inferred bit
        self.fit_agreement_ = []  # fraction of training items where h_k(x) = z_k
        # one BLAS / OpenMP thread: the products are small, and OpenMP workers that
        # spin-wait on a busy 2-core machine slow the tree growing down many times
        with threadpool_limits(limits=1):
            for _ in range(self.n_bits):
                self._fit_bit(x, res, rng)
        return self

    def _fit_bit(self, x: np.ndarray, res: PairResidual, rng: np.random.Generator) -> None:
        """Step 1 (inference) and step 2 (boosted trees) for the next bit."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        hp = self.hparams
        z, value = infer_bit(res, rng, sweeps=int(hp["icm_sweeps"]))
        if np.all(z == z[0]):
            clf = _Constant(z[0])
        else:
            clf = HistGradientBoostingClassifier(
                max_depth=int(hp["max_depth"]),
                max_leaf_nodes=2 ** int(hp["max_depth"]),
                max_iter=int(hp["n_trees"]),
                learning_rate=float(hp["learning_rate"]),
                early_stopping=False,
                random_state=int(rng.integers(2**31 - 1)),
            ).fit(x, z.astype(np.int8))
        h = sign_codes(clf.decision_function(x)).astype(np.float64)
        res.add_bit(h)
        self.trees_.append(clf)
        self.inferred_objective_.append(value)
        self.fit_agreement_.append(float((h == z).mean()))

    def encode(self, features: np.ndarray) -> np.ndarray:
        """Codes in {-1,+1}, int8 of shape (n, n_bits).

        One OpenMP thread, as in :meth:`fit`: each item's prediction is computed alone, so
        the codes are the same bits with any number of threads, and on a busy 2-core
        machine one thread encoded about twice as fast (x2.2 to x2.5 beside the grid's two
        workers, ``benchmarks/bench_fasth_encode.py``).
        """
        check_fitted(self, "trees_")
        x = check_features(self.name, features, n_dims=self.n_dims_).astype(np.float32)
        with threadpool_limits(limits=1):
            return np.column_stack([sign_codes(t.decision_function(x)) for t in self.trees_])
