r"""DNNH's triplet ranking hinge loss on relaxed codes in [0, 1].

Lai, Pan, Liu and Yan, "Simultaneous Feature Learning and Hash Coding with Deep Neural
Networks", CVPR 2015, eq. (1)-(2). For a query I, an image I+ more similar to it
than I- (here: I+ shares a label with I, I- does not) and the network outputs
:math:`F(\cdot) \in [0, 1]^K`:

.. math::

    \ell(I, I^+, I^-) = \max\left(0,\; m - \left(\lVert F(I) - F(I^-)\rVert_2^2
                                       - \lVert F(I) - F(I^+)\rVert_2^2\right)\right),

with margin m = 1 (one bit of difference once the outputs are binary). The paper
draws triplets from the training set; here they are **all valid triplets within the
mini-batch**: every ordered (q, p, n) with q != p, s_qp = 1 and s_qn = 0, and the loss
is their mean (0 for a batch without any valid triplet).
"""

from __future__ import annotations

import torch

from hashlib_core.losses.base import HashLoss, Similarity


def valid_triplet_mask(sim: torch.Tensor) -> torch.Tensor:
    """Boolean (B, B, B) mask of the triplets (q, p, n): q != p, s_qp > 0, s_qn == 0.

    ``sim`` is a (B, B) similarity matrix; a positive is any pair with s > 0 (so the
    "share at least one label" rule for multi-label data), a negative one with s == 0.
    """
    n = sim.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=sim.device)
    pos = (sim > 0) & ~eye
    neg = sim <= 0
    return pos.unsqueeze(2) & neg.unsqueeze(1)


class TripletRankingLoss(HashLoss):
    """DNNH's triplet ranking hinge loss, averaged over the valid in-batch triplets.

    Parameters
    ----------
    n_bits : int
        Code length K.
    margin : float
        The hinge margin m (the paper's 1).
    similarity : callable, optional
        ``similarity(labels_a, labels_b)``; default: share at least one label.

    Examples
    --------
    >>> loss = TripletRankingLoss(2)
    >>> u = torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    >>> float(loss(u, torch.tensor([0, 0, 1])))  # distances 2 apart: margin 1 met
    0.0
    """

    def __init__(self, n_bits: int, *, margin: float = 1.0, similarity: Similarity | None = None):
        super().__init__(n_bits, similarity=similarity)
        self.margin = float(margin)

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        sim = self.similarity(labels, labels)
        d = squared_distances(u)
        mask = valid_triplet_mask(sim)
        if not mask.any():
            return u.sum() * 0.0
        # hinge[q, p, n] = max(0, m - (d[q, n] - d[q, p]))
        hinge = (self.margin - d.unsqueeze(1) + d.unsqueeze(2)).clamp(min=0)
        return hinge[mask].mean()


def squared_distances(u: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances ``||u_i - u_j||^2``, shape (B, B) (smooth everywhere)."""
    diff = u.unsqueeze(1) - u.unsqueeze(0)
    return (diff * diff).sum(-1)
