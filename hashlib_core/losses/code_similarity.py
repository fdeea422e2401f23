r"""CSDH's code-similarity loss: inner products of codes regress the label similarity.

Reconstruction of the loss of CSDH (code-similarity-based deep hashing, seed 001),
whose abstract states only that the loss "takes the label similarities, as well as
the Hamming embedding distances, into consideration". Reconstructed (see
``hashlib_core.methods.csdh`` and the book page of CSDH):

.. math::

    c_{ij} = \frac{u_i^\top u_j}{K}, \qquad
    L = \frac{2}{B(B-1)} \sum_{i<j} \bigl(c_{ij} - (2 s_{ij} - 1)\bigr)^2
        + \beta\, L_{\mathrm{HE}} + \eta\, \frac{1}{BK}\sum_{i,k} (|u_{ik}| - 1)^2,

with ``L_HE`` the pair term of :class:`~hashlib_core.losses.hamming_embedding.HammingEmbeddingLoss`
(DHEH's contrastive term on the relaxed Hamming distance, margin ``m``) computed with
the same similarity ``s_ij`` in [0, 1] (default: cosine of the label vectors).
"""

from __future__ import annotations

import torch

from hashlib_core.losses.base import HashLoss, Similarity, cosine_label_similarity
from hashlib_core.losses.hamming_embedding import (
    HammingEmbeddingLoss,
    quantization_penalty,
    upper_pair_mean,
)


class CodeSimilarityLoss(HashLoss):
    """Code-similarity term + ``beta`` x Hamming-embedding term + ``eta`` x quantisation (CSDH).

    Parameters
    ----------
    n_bits : int
        Code length K.
    beta : float
        Weight of DHEH's Hamming-embedding (contrastive) pair term.
    margin : float or None
        Margin of the Hamming-embedding term in Hamming units; None means ``K / 2``.
    eta : float
        Weight of the quantisation term ``mean((|u| - 1)^2)``.
    similarity : callable, optional
        ``similarity(labels_a, labels_b)`` -> (n_a, n_b) in [0, 1]; default: cosine of
        the label vectors (equal to "share a label" on single-label data).

    Examples
    --------
    >>> import torch
    >>> loss = CodeSimilarityLoss(2, beta=0.0, eta=0.0)
    >>> u = torch.tensor([[1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    >>> float(loss(u, torch.tensor([3, 3, 5])))
    0.0
    """

    def __init__(
        self,
        n_bits: int,
        *,
        beta: float = 1.0,
        margin: float | None = None,
        eta: float = 0.1,
        similarity: Similarity | None = None,
    ) -> None:
        super().__init__(n_bits, similarity=similarity or cosine_label_similarity)
        if beta < 0 or eta < 0:
            raise ValueError(f"beta and eta must be non-negative, got beta={beta!r}, eta={eta!r}")
        self.beta = float(beta)
        self.eta = float(eta)
        # DHEH's term, reused as is (quantisation is added once, here).
        self.hamming = HammingEmbeddingLoss(n_bits, margin=margin, eta=0.0, similarity=self.similarity)

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        s = self.similarity(labels, labels).to(u.dtype)
        c = (u @ u.T) / self.n_bits
        loss = upper_pair_mean((c - (2.0 * s - 1.0)) ** 2)
        if self.beta:
            loss = loss + self.beta * self.hamming.pair_term(u, s)
        if self.eta:
            loss = loss + self.eta * quantization_penalty(u)
        return loss
