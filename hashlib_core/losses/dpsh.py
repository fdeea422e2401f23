r"""DPSH's pairwise likelihood loss with its quantisation term.

Li, Wang and Kang, "Feature Learning based Deep Supervised Hashing with Pairwise
Labels", IJCAI 2016.

With linear network outputs :math:`u_i \in \mathbb{R}^K`, binary codes
:math:`b_i = \operatorname{sign}(u_i)` and :math:`\Theta_{ij} = \tfrac12 u_i^\top u_j`,
the paper minimises over the training set

.. math::

    J = -\sum_{s_{ij} \in S}\left(s_{ij}\Theta_{ij} - \log(1 + e^{\Theta_{ij}})\right)
        + \eta \sum_{i} \lVert b_i - u_i \rVert_2^2 .

A mini-batch of B items is paired with a bank of n codes (the memory of the latest
outputs of every training item, as the official code). Both terms are divided by
:math:`Bn`, as the official code does:

.. math::

    L = \frac{1}{Bn}\sum_{i=1}^{B}\sum_{j=1}^{n}
          \left(\log(1 + e^{\Theta_{ij}}) - s_{ij}\Theta_{ij}\right)
        + \frac{\eta}{Bn}\sum_{i=1}^{B}\lVert b_i - u_i \rVert_2^2 ,
    \qquad \Theta_{ij} = \tfrac12 u_i^\top U_j .

Without a bank the batch is paired with itself, over its ordered pairs i != j (P), with
the same balance between the two terms as the paper's sums over a training set of n
items (each item: n pair terms against one quantisation term of weight eta):

.. math::

    L = \frac{1}{|P|}\sum_{(i,j)\in P}
          \left(\log(1 + e^{\Theta_{ij}}) - s_{ij}\Theta_{ij}\right)
        + \frac{\eta}{n}\,\frac{1}{B}\sum_{i=1}^{B}\lVert b_i - u_i \rVert_2^2 ,
    \qquad \Theta_{ij} = \tfrac12 u_i^\top u_j ,

n being ``n_train`` (the batch size B when not given).

``log(1 + e^x)`` is computed as ``softplus`` (exact, overflow-free).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hashlib_core.losses.base import HashLoss, Similarity, to_multi_hot


class DPSHLoss(HashLoss):
    """Pairwise negative log-likelihood on ``u_i . U_j / 2`` plus ``eta`` quantisation.

    Parameters
    ----------
    n_bits : int
        Code length K.
    eta : float
        Weight of :math:`\\lVert b - u \\rVert^2` (the paper's CIFAR-10 value: 10).
    similarity : callable, optional
        ``similarity(labels_a, labels_b)``; default: share at least one label.

    Examples
    --------
    >>> loss = DPSHLoss(2, eta=0.0)
    >>> u = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> round(float(loss(u, torch.tensor([0, 1]))), 4)  # (2 softplus(2) - 4 + 2 log 2) / 4
    0.41
    """

    def __init__(
        self,
        n_bits: int,
        *,
        eta: float = 10.0,
        n_train: int | None = None,
        similarity: Similarity | None = None,
    ) -> None:
        super().__init__(n_bits, similarity=similarity)
        if n_train is not None and n_train <= 0:
            raise ValueError(f"n_train must be positive, got {n_train}")
        self.eta = float(eta)
        self.n_train = None if n_train is None else int(n_train)

    def forward(
        self,
        u: torch.Tensor,
        labels: torch.Tensor,
        bank_u: torch.Tensor | None = None,
        bank_labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Loss of a batch ``u`` (B, K) against a bank (n, K) (default: the batch)."""
        if bank_u is None:
            return super().forward(u, labels)
        if bank_labels is None:
            raise ValueError("bank_labels is required with bank_u")
        if bank_u.dim() != 2 or bank_u.shape[1] != self.n_bits:
            raise ValueError(f"bank_u must have shape (n, {self.n_bits}), got {tuple(bank_u.shape)}")
        bank_labels = to_multi_hot(bank_labels)
        if bank_labels.shape[0] != bank_u.shape[0]:
            raise ValueError(f"bank_u has {bank_u.shape[0]} rows but bank_labels {bank_labels.shape[0]}")
        if u.dim() != 2 or u.shape[1] != self.n_bits:
            raise ValueError(f"u must have shape (batch, {self.n_bits}), got {tuple(u.shape)}")
        labels = to_multi_hot(labels, bank_labels.shape[1])
        if labels.shape[0] != u.shape[0]:
            raise ValueError(f"u has {u.shape[0]} rows but labels have {labels.shape[0]}")
        return self._loss(u, labels.to(u.dtype), bank_u.to(u.dtype), bank_labels.to(u.dtype))

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The batch against itself: pairs i != j, current outputs on both sides."""
        n_items = u.shape[0]
        s = self.similarity(labels, labels).to(u.dtype)
        theta = 0.5 * (u @ u.T)
        per_pair = F.softplus(theta) - s * theta
        off = ~torch.eye(n_items, dtype=torch.bool, device=u.device)
        likelihood = per_pair[off].mean() if n_items > 1 else 0.0 * per_pair.sum()
        b = torch.where(u >= 0, torch.ones_like(u), -torch.ones_like(u)).detach()
        n = self.n_train if self.n_train is not None else n_items
        quant = (b - u).pow(2).sum(1).mean() / n
        return likelihood + self.eta * quant

    def _loss(self, u, labels, bank_u, bank_labels) -> torch.Tensor:
        s = self.similarity(labels, bank_labels).to(u.dtype)
        theta = 0.5 * (u @ bank_u.T)
        n_pairs = theta.numel()
        likelihood = (F.softplus(theta) - s * theta).sum() / n_pairs
        b = torch.where(u >= 0, torch.ones_like(u), -torch.ones_like(u)).detach()
        quant = (b - u).pow(2).sum() / n_pairs
        return likelihood + self.eta * quant
