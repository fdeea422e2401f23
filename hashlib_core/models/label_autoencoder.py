r"""DSAH's label auto-encoder (LAE): a label vector -> a K-bit relaxed code -> the label vector.

Reconstruction (see ``hashlib_core.methods.dsah``): the source (seed 003) names a
"label auto-encoder" whose codes guide the image network; its layers are not given.

.. math::

    l = \tanh(W_2\, \mathrm{ReLU}(W_1 y + b_1) + b_2) \in (-1,1)^K, \qquad
    \hat y = \sigma(W_4\, \mathrm{ReLU}(W_3 l + b_3) + b_4) \in (0,1)^C .

The decoder returns logits (:math:`\sigma` is applied inside the binary cross-entropy).
"""

from __future__ import annotations

import torch
from torch import nn


class LabelAutoEncoder(nn.Module):
    """Encoder ``C -> hidden -> K (tanh)`` and decoder ``K -> hidden -> C (logits)``.

    Parameters
    ----------
    n_classes : int
        Width C of the multi-hot label vectors.
    n_bits : int
        Code length K.
    hidden : int
        Width of the hidden layer of the encoder and of the decoder (512).
    """

    def __init__(self, n_classes: int, n_bits: int, *, hidden: int = 512) -> None:
        super().__init__()
        if n_classes <= 0 or n_bits <= 0 or hidden <= 0:
            raise ValueError(
                f"n_classes, n_bits and hidden must be positive, got {n_classes}, {n_bits}, {hidden}"
            )
        self.n_classes = int(n_classes)
        self.n_bits = int(n_bits)
        self.encoder = nn.Sequential(
            nn.Linear(n_classes, hidden), nn.ReLU(), nn.Linear(hidden, n_bits), nn.Tanh()
        )
        self.decoder = nn.Sequential(nn.Linear(n_bits, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        """Relaxed label codes ``l`` (n, n_bits) of multi-hot labels (n, n_classes)."""
        if labels.dim() != 2 or labels.shape[1] != self.n_classes:
            raise ValueError(
                f"labels must have shape (n, {self.n_classes}), got {tuple(labels.shape)}"
            )
        return self.encoder(labels.to(self.encoder[0].weight.dtype))

    def forward(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(l, logits)``: codes (n, n_bits) and reconstruction logits (n, n_classes)."""
        codes = self.encode(labels)
        return codes, self.decoder(codes)
