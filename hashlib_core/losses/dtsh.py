r"""DTSH's triplet likelihood loss with a margin, plus the quantisation loss.

Wang, Shi and Kitani, "Deep Supervised Hashing with Triplet Labels", ACCV 2016.
For a triplet (q, p, n) (p shares a label with q, n does not) and
:math:`\Theta_{ij} = \tfrac12 u_i^\top u_j`, the probability of the triplet label is
:math:`\sigma(\Theta_{qp} - \Theta_{qn} - \alpha)`, so its negative log-likelihood is

.. math::

    \ell_{qpn} = -\left(\Theta_{qp} - \Theta_{qn} - \alpha
                 - \log\left(1 + e^{\Theta_{qp} - \Theta_{qn} - \alpha}\right)\right)
               = \operatorname{softplus}\left(-(\Theta_{qp} - \Theta_{qn} - \alpha)\right),

and the loss is

.. math::

    L = \frac{1}{|T|} \sum_{(q,p,n) \in T} \ell_{qpn}
      + \lambda \frac{1}{B} \sum_{i=1}^{B} \lVert b_i - u_i \rVert_2^2,
    \qquad b_i = \operatorname{sign}(u_i),

where T is the set of all valid triplets within the mini-batch (q != p). The sign is
a constant for the gradient (as in the paper's derivation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hashlib_core.losses.base import HashLoss, Similarity
from hashlib_core.losses.dnnh import valid_triplet_mask


class DTSHLoss(HashLoss):
    """Triplet negative log-likelihood with margin ``alpha`` plus ``lam * ||b - u||^2``.

    Parameters
    ----------
    n_bits : int
        Code length K.
    alpha : float or None
        Margin; None means K / 2 (the official code's value).
    lam : float
        Weight of the quantisation term (mean over the batch of ``||b_i - u_i||^2``).
    similarity : callable, optional
        ``similarity(labels_a, labels_b)``; default: share at least one label.

    Examples
    --------
    >>> loss = DTSHLoss(2, alpha=0.0, lam=0.0)
    >>> u = torch.tensor([[1.0, 1.0], [1.0, 1.0], [-1.0, -1.0]])
    >>> round(float(loss(u, torch.tensor([0, 0, 1]))), 4)  # Theta_qp - Theta_qn = 2
    0.1269
    """

    def __init__(
        self,
        n_bits: int,
        *,
        alpha: float | None = None,
        lam: float = 100.0 / 22500.0,
        similarity: Similarity | None = None,
    ) -> None:
        super().__init__(n_bits, similarity=similarity)
        self.alpha = float(n_bits) / 2.0 if alpha is None else float(alpha)
        self.lam = float(lam)

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        sim = self.similarity(labels, labels)
        theta = 0.5 * (u @ u.T)
        mask = valid_triplet_mask(sim)
        b = torch.where(u.detach() >= 0, 1.0, -1.0).to(u.dtype)
        quant = (b - u).pow(2).sum(1).mean()
        if not mask.any():
            return self.lam * quant
        # margin[q, p, n] = Theta_qp - Theta_qn - alpha
        margin = theta.unsqueeze(2) - theta.unsqueeze(1) - self.alpha
        return F.softplus(-margin[mask]).mean() + self.lam * quant
