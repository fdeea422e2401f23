r"""DHN's pairwise cross-entropy loss plus its log-cosh quantisation loss.

Zhu, Long, Wang and Cao, "Deep Hashing Network for Efficient Similarity Retrieval",
AAAI 2016. With the inner product :math:`\theta_{ij} = \alpha\, u_i^\top u_j` of the
relaxed codes (the paper writes :math:`\langle z_i, z_j\rangle`; ``alpha = 1/2`` turns
it into :math:`\tfrac12 u_i^\top u_j`, as DPSH and DeepHash-pytorch), the negative
log-likelihood of the pairwise labels and the quantisation loss are

.. math::

    L = \frac{1}{|P|} \sum_{(i,j) \in P}
        \left(\log\left(1 + e^{\theta_{ij}}\right) - s_{ij}\,\theta_{ij}\right),
    \qquad
    Q = \frac{1}{BK} \sum_{i=1}^{B} \sum_{k=1}^{K} \log\cosh\left(|u_{ik}| - 1\right),

and the loss is :math:`L + \lambda Q`. P is the set of ordered pairs i != j of the
mini-batch (a batch of one item has no pair: that term is 0). The paper writes both terms as sums over the training set; here each is a
mean (over pairs, over code entries), so lambda weighs two per-unit averages (our
normalisation; DeepHash-pytorch normalises the same way). ``log(1 + e^x)`` is computed as ``softplus`` and ``log cosh(x)`` as
``|x| + log1p(exp(-2|x|)) - log 2`` (both exact, overflow-free).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hashlib_core.losses.base import HashLoss, Similarity


def log_cosh(x: torch.Tensor) -> torch.Tensor:
    """``log(cosh(x))`` without overflow for large ``|x|``."""
    a = x.abs()
    return a + torch.log1p(torch.exp(-2.0 * a)) - math.log(2.0)


def off_diagonal_mean(values: torch.Tensor) -> torch.Tensor:
    """Mean of a square (B, B) matrix over its off-diagonal entries (needs B >= 2)."""
    n = values.shape[0]
    if values.dim() != 2 or values.shape[1] != n or n < 2:
        raise ValueError(f"expected a square (B, B) matrix with B >= 2, got {tuple(values.shape)}")
    mask = ~torch.eye(n, dtype=torch.bool, device=values.device)
    return values[mask].mean()


class DHNLoss(HashLoss):
    """Pairwise cross-entropy on ``alpha * u_i . u_j`` plus ``lam`` times the log-cosh loss.

    Parameters
    ----------
    n_bits : int
        Code length K.
    alpha : float
        Scale of the inner product (1/2: the "<u_i,u_j>/2" form).
    lam : float
        Weight lambda of the quantisation loss Q.
    similarity : callable, optional
        ``similarity(labels_a, labels_b)``; default: share at least one label.

    Examples
    --------
    >>> loss = DHNLoss(2, lam=0.0)
    >>> u = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    >>> round(float(loss(u, torch.tensor([0, 1]))), 4)  # theta = -1, s = 0
    0.3133
    """

    def __init__(
        self,
        n_bits: int,
        *,
        alpha: float = 0.5,
        lam: float = 0.1,
        similarity: Similarity | None = None,
    ) -> None:
        super().__init__(n_bits, similarity=similarity)
        self.alpha = float(alpha)
        self.lam = float(lam)

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        s = self.similarity(labels, labels).to(u.dtype)
        theta = self.alpha * (u @ u.T)
        # a batch of one item has no pair: its pair term is 0 (the last batch of an epoch)
        pair = (
            off_diagonal_mean(F.softplus(theta) - s * theta)
            if u.shape[0] > 1
            else 0.0 * theta.sum()
        )
        quant = log_cosh(u.abs() - 1.0).mean()
        return pair + self.lam * quant
