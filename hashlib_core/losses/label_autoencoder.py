r"""DSAH's label auto-encoder loss: reconstruction + pairwise code similarity + quantisation.

Reconstruction (see ``hashlib_core.methods.dsah``); the source (seed 003) names the
label auto-encoder but not its loss. For a batch of B label vectors :math:`y_i`,
codes :math:`l_i \in (-1,1)^K` and reconstruction logits :math:`z_i`:

.. math::

    L_{\mathrm{LAE}} = \frac{1}{BC}\sum_{i,c} \mathrm{BCE}(\sigma(z_{ic}), y_{ic})
      + \alpha\, \frac{2}{B(B-1)} \sum_{i<j} \Bigl(\frac{l_i^\top l_j - K S_{ij}}{K}\Bigr)^2
      + \beta\, \frac{1}{BK}\sum_{i,k} (|l_{ik}| - 1)^2,

with ADSH's soft targets :math:`S_{ij} = s_{ij}(1 + r) - r \in \{1, -r\}` (``s_ij`` = 1
when i and j share a label, r = #similar / #dissimilar pairs of the batch; 0 when all
pairs are similar). The pairwise term is the :math:`(l_i^\top l_j - K S_{ij})^2` of the
reconstruction, divided by :math:`K^2` so that ``alpha`` does not depend on K.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hashlib_core.losses.base import Similarity, label_similarity
from hashlib_core.losses.hamming_embedding import quantization_penalty, upper_pair_mean


class LabelAutoEncoderLoss(nn.Module):
    """BCE reconstruction + ``alpha`` x pairwise code similarity + ``beta`` x quantisation.

    Parameters
    ----------
    n_bits : int
        Code length K.
    alpha : float
        Weight of the pairwise term ``((l_i . l_j - K S_ij) / K)^2`` (mean over i < j).
    beta : float
        Weight of the quantisation term ``mean((|l| - 1)^2)``.
    similarity : callable, optional
        ``similarity(labels_a, labels_b)`` -> (n_a, n_b) in [0, 1]; default: share a label.
    """

    def __init__(
        self,
        n_bits: int,
        *,
        alpha: float = 1.0,
        beta: float = 0.1,
        similarity: Similarity | None = None,
    ) -> None:
        super().__init__()
        if n_bits <= 0:
            raise ValueError(f"n_bits must be positive, got {n_bits}")
        if alpha < 0 or beta < 0:
            raise ValueError(f"alpha and beta must be non-negative, got {alpha!r}, {beta!r}")
        self.n_bits = int(n_bits)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.similarity = similarity or label_similarity

    def forward(
        self, codes: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Scalar loss of codes (B, K), reconstruction logits (B, C) and labels (B, C)."""
        if codes.dim() != 2 or codes.shape[1] != self.n_bits:
            raise ValueError(f"codes must have shape (batch, {self.n_bits}), got {tuple(codes.shape)}")
        if logits.shape != labels.shape or labels.shape[0] != codes.shape[0]:
            raise ValueError(
                f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} must both be "
                f"(batch={codes.shape[0]}, n_classes)"
            )
        labels = labels.to(logits.dtype)
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        if self.alpha:
            # ADSH's soft targets (1 similar, -r dissimilar, r = #similar / #dissimilar
            # pairs of the batch), as in DSAH's network loss and code step
            share = self.similarity(labels, labels).to(codes.dtype)
            n_dis = (1.0 - share).sum()
            r = share.sum() / n_dis if n_dis > 0 else share.new_zeros(())
            s = share * (1.0 + r) - r
            pair = ((codes @ codes.T - self.n_bits * s) / self.n_bits) ** 2
            loss = loss + self.alpha * upper_pair_mean(pair)
        if self.beta:
            loss = loss + self.beta * quantization_penalty(codes)
        return loss
