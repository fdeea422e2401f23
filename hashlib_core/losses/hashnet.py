r"""HashNet's weighted pairwise cross-entropy (weighted maximum likelihood).

Cao, Long, Wang and Yu, "HashNet: Deep Learning to Hash by Continuation", ICCV 2017.

For relaxed codes :math:`h_i \in (-1,1)^K` and :math:`\theta_{ij} = \alpha\,h_i^\top h_j`
(the official code's ``sigmoid_param`` :math:`\alpha = 10/K`), the loss over the set P of
ordered pairs :math:`i \ne j` of a mini-batch is

.. math::

    L = \frac{1}{|P|}\sum_{(i,j)\in P} w_{ij}
          \left(\log(1 + e^{\theta_{ij}}) - s_{ij}\theta_{ij}\right),
    \qquad
    w_{ij} = \begin{cases} |P| / |P_1| & s_{ij} = 1 \\ |P| / |P_0| & s_{ij} = 0 \end{cases}

with :math:`P_1`, :math:`P_0` the similar and dissimilar pairs (the paper's class-balance
weights :math:`w_{ij} = |S|/|S_1|` and :math:`|S|/|S_0|`, estimated on the batch's pairs
as DeepHash-pytorch does; ``weighting="none"`` sets every weight to 1). For multi-label
data with a soft similarity the paper multiplies by a continuous similarity; with the
default "share a label" similarity :math:`s_{ij} \in \{0, 1\}`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hashlib_core.losses.base import HashLoss, Similarity


class HashNetLoss(HashLoss):
    """Class-balanced pairwise cross-entropy on ``alpha * h_i . h_j`` over pairs i != j.

    Parameters
    ----------
    n_bits : int
        Code length K.
    alpha : float or None
        Scale of the inner product; None = 10 / K (official code).
    weighting : {"balanced", "none"}
        Class-balance weights of the paper, or uniform weights.
    similarity : callable, optional
        ``similarity(labels_a, labels_b)``; default: share at least one label.

    Examples
    --------
    >>> loss = HashNetLoss(2, alpha=1.0, weighting="none")
    >>> u = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    >>> round(float(loss(u, torch.tensor([0, 1]))), 4)  # theta = -2, s = 0
    0.1269
    """

    def __init__(
        self,
        n_bits: int,
        *,
        alpha: float | None = None,
        weighting: str = "balanced",
        similarity: Similarity | None = None,
    ) -> None:
        super().__init__(n_bits, similarity=similarity)
        if weighting not in ("balanced", "none"):
            raise ValueError(f"weighting must be 'balanced' or 'none', got {weighting!r}")
        self.alpha = 10.0 / n_bits if alpha is None else float(alpha)
        self.weighting = weighting

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n = u.shape[0]
        if n < 2:
            raise ValueError(f"HashNetLoss needs at least 2 items in a batch, got {n}")
        s = self.similarity(labels, labels).to(u.dtype)
        theta = self.alpha * (u @ u.T)
        per_pair = F.softplus(theta) - s * theta
        off = ~torch.eye(n, dtype=torch.bool, device=u.device)
        per_pair, s = per_pair[off], s[off]
        if self.weighting == "none":
            return per_pair.mean()
        pos = s > 0
        n_pairs = per_pair.numel()
        n_pos = int(pos.sum())
        n_neg = n_pairs - n_pos
        w = torch.where(pos, torch.full_like(s, n_pairs / max(n_pos, 1)),
                        torch.full_like(s, n_pairs / max(n_neg, 1)))  # fmt: skip
        return (w * per_pair).sum() / n_pairs
