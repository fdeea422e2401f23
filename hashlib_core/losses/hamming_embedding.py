r"""DHEH's Hamming-embedding loss: a contrastive loss on the relaxed Hamming distance.

Reconstruction of the loss of DHEH (deep Hamming embedding hashing, seed 002); the
source states only that a "Hamming embedding loss" preserves the similarity between
the original data. Everything below the name is reconstructed (see
``hashlib_core.methods.dheh`` and the book page of DHEH):

.. math::

    d_{ij} = \tfrac12 (K - u_i^\top u_j), \qquad
    \ell_{ij} = \frac{s_{ij}\, d_{ij}^2 + (1 - s_{ij}) \max(0, m - d_{ij})^2}{K},

    L = \frac{2}{B(B-1)} \sum_{i<j} \ell_{ij}
        + \eta\, \frac{1}{BK} \sum_{i,k} (|u_{ik}| - 1)^2 .

``d_ij`` equals the Hamming distance when ``u`` is binary. The pair term is averaged
over the ``B(B-1)/2`` unordered pairs of the batch (the same value as the mean over
ordered pairs ``i != j``, since ``l_ij = l_ji``); a pair never meets itself.
"""

from __future__ import annotations

import torch

from hashlib_core.losses.base import HashLoss, Similarity


def relaxed_hamming_distance(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``d_ij = (K - u_i . v_j) / 2``, shape (n_u, n_v); the Hamming distance on {-1,+1}."""
    return 0.5 * (u.shape[1] - u @ v.T)


def quantization_penalty(u: torch.Tensor) -> torch.Tensor:
    """``mean((|u| - 1)^2)`` over all entries of ``u`` (batch, n_bits): 0 iff ``u`` is binary."""
    return ((u.abs() - 1.0) ** 2).mean()


def upper_pair_mean(values: torch.Tensor) -> torch.Tensor:
    """Mean of a square (B, B) matrix over its strictly upper triangle (the pairs i < j).

    Raises
    ------
    ValueError
        If the matrix is not square or has fewer than two rows (no pair).
    """
    if values.dim() != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"expected a square (B, B) matrix, got shape {tuple(values.shape)}")
    n = values.shape[0]
    if n < 2:
        raise ValueError(f"a pairwise loss needs a batch of at least 2 items, got {n}")
    i, j = torch.triu_indices(n, n, offset=1, device=values.device)
    return values[i, j].mean()


class HammingEmbeddingLoss(HashLoss):
    """Contrastive loss on the relaxed Hamming distance plus a quantisation term (DHEH).

    Parameters
    ----------
    n_bits : int
        Code length K.
    margin : float or None
        Margin ``m`` of dissimilar pairs in Hamming units; None means ``K / 2``.
    eta : float
        Weight of the quantisation term ``mean((|u| - 1)^2)``; 0 gives the pair term only.
    similarity : callable, optional
        ``similarity(labels_a, labels_b)`` -> (n_a, n_b) in [0, 1]; default: share a label.

    Examples
    --------
    >>> import torch
    >>> loss = HammingEmbeddingLoss(4, eta=0.0)
    >>> u = torch.tensor([[1.0, 1, 1, 1], [1, 1, 1, 1], [-1, -1, -1, -1]])
    >>> labels = torch.tensor([0, 0, 1])
    >>> float(loss(u, labels))  # equal codes for equal labels, far codes otherwise
    0.0
    """

    def __init__(
        self,
        n_bits: int,
        *,
        margin: float | None = None,
        eta: float = 0.1,
        similarity: Similarity | None = None,
    ) -> None:
        super().__init__(n_bits, similarity=similarity)
        self.margin = float(n_bits) / 2.0 if margin is None else float(margin)
        if self.margin <= 0:
            raise ValueError(f"margin must be positive, got {margin!r}")
        if eta < 0:
            raise ValueError(f"eta must be non-negative, got {eta!r}")
        self.eta = float(eta)

    def pair_term(self, u: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Mean over pairs i < j of ``l_ij`` for codes ``u`` (B, K) and similarity ``s`` (B, B)."""
        d = relaxed_hamming_distance(u, u)
        hinge = torch.clamp(self.margin - d, min=0.0)
        per_pair = (s * d**2 + (1.0 - s) * hinge**2) / self.n_bits
        return upper_pair_mean(per_pair)

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        s = self.similarity(labels, labels).to(u.dtype)
        loss = self.pair_term(u, s)
        if self.eta:
            loss = loss + self.eta * quantization_penalty(u)
        return loss
