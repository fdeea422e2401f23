r"""DCH's weighted Cauchy cross-entropy loss plus its Cauchy quantisation loss.

Cao, Long, Liu and Wang, "Deep Cauchy Hashing for Hamming Space Retrieval", CVPR 2018.
The normalised (cosine) Hamming distance of two relaxed codes and the Cauchy
probability of similarity are (eq. 6, 4)

.. math::

    d(u_i, u_j) = \frac{K}{2}\left(1 - \cos(u_i, u_j)\right), \qquad
    \sigma(d) = \frac{\gamma}{\gamma + d},

so the weighted cross-entropy over the pairs of a mini-batch is (eq. 8)

.. math::

    L = \frac{1}{|P|} \sum_{(i,j) \in P} w_{ij}
        \left(s_{ij} \log\frac{d_{ij}}{\gamma} + \log\left(1 + \frac{\gamma}{d_{ij}}\right)\right),

with the class-balance weights of eq. 2, :math:`w_{ij} = |P| / |P_1|` for similar and
:math:`|P| / |P_0|` for dissimilar pairs (computed on the batch; all 1 when the batch
has only one kind of pair). The Cauchy quantisation loss (eq. 9) is

.. math::

    Q = \frac{1}{B} \sum_{i=1}^{B} \log\left(1 + \frac{d(|u_i|, \mathbf{1})}{\gamma}\right),

and the loss is :math:`L + \lambda Q`. P is the set of ordered pairs i != j (empty for a
batch of one item: then L = 0). The
cosine's denominator is clamped at 1e-6 (for an all-zero code), and ``d`` is clamped
below at 1e-6 so that ``log(d)`` stays finite for two parallel codes.
"""

from __future__ import annotations

import torch

from hashlib_core.losses.base import HashLoss, Similarity

EPS = 1e-6


def cosine_hamming_distance(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``K/2 (1 - cos(u_i, v_j))``, shape (n_u, n_v); the Hamming distance on {-1,+1}."""
    norms = u.norm(dim=1, keepdim=True) * v.norm(dim=1, keepdim=True).T
    cos = (u @ v.T) / norms.clamp(min=EPS)
    return 0.5 * u.shape[1] * (1.0 - cos)


def balance_weights(s: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """DCH eq. 2 on the pairs selected by ``mask``: |P|/|P_1| for s > 0, |P|/|P_0| else."""
    pos = (s > 0) & mask
    neg = (s <= 0) & mask
    n_all, n_pos, n_neg = (float(x.sum()) for x in (mask, pos, neg))
    if n_pos == 0 or n_neg == 0:
        return torch.ones_like(s)
    w = torch.full_like(s, n_all / n_neg)
    w[pos] = n_all / n_pos
    return w


class DCHLoss(HashLoss):
    """Weighted Cauchy cross-entropy plus ``lam`` times the Cauchy quantisation loss.

    Parameters
    ----------
    n_bits : int
        Code length K.
    gamma : float
        Scale of the Cauchy distribution (the paper's 20).
    lam : float
        Weight lambda of the quantisation loss.
    similarity : callable, optional
        ``similarity(labels_a, labels_b)``; default: share at least one label.

    Examples
    --------
    >>> loss = DCHLoss(4, lam=0.0)
    >>> u = torch.tensor([[1.0, 1, 1, 1], [1.0, 1, 1, -1]])
    >>> float(loss(u, torch.tensor([0, 0]))) > 0  # similar pair at distance 1
    True
    """

    def __init__(
        self,
        n_bits: int,
        *,
        gamma: float = 20.0,
        lam: float = 0.1,
        similarity: Similarity | None = None,
    ) -> None:
        super().__init__(n_bits, similarity=similarity)
        if gamma <= 0:
            raise ValueError(f"gamma must be positive, got {gamma}")
        self.gamma = float(gamma)
        self.lam = float(lam)

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n = u.shape[0]
        s = self.similarity(labels, labels).to(u.dtype)
        mask = ~torch.eye(n, dtype=torch.bool, device=u.device)
        w = balance_weights(s, mask)
        d = cosine_hamming_distance(u, u).clamp(min=EPS)
        pair = w * (s * torch.log(d / self.gamma) + torch.log1p(self.gamma / d))
        ones = torch.ones(1, u.shape[1], dtype=u.dtype, device=u.device)
        dq = cosine_hamming_distance(u.abs(), ones).squeeze(1)
        quant = torch.log1p(dq / self.gamma).mean()
        pair_term = pair[mask].mean() if n > 1 else 0.0 * pair.sum()  # no pair in a batch of 1
        return pair_term + self.lam * quant
