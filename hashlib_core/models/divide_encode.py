r"""DNNH's divide-and-encode module and its piece-wise threshold function.

Lai, Pan, Liu and Yan, "Simultaneous Feature Learning and Hash Coding with Deep Neural
Networks", CVPR 2015, section 3.2.

The backbone feature :math:`x \in \mathbb{R}^D` is divided into K slices
:math:`x^{(1)}, \dots, x^{(K)}`; slice k alone is encoded into bit k by its own fully
connected unit and a sigmoid, so that the bits are computed from disjoint parts of the
feature (the paper's argument: less redundancy between bits than one FC layer that
sees the whole feature):

.. math::

    s_k = \sigma\!\left(w_k^\top x^{(k)} + b_k\right), \qquad k = 1, \dots, K.

During training each :math:`s_k` goes through the piece-wise threshold function

.. math::

    g(s) = \begin{cases} 0, & s < 0.5 - \epsilon \\
                         s, & 0.5 - \epsilon \le s \le 0.5 + \epsilon \\
                         1, & s > 0.5 + \epsilon \end{cases}

which pushes the outputs to {0, 1}; its gradient is 1 inside the band and 0 outside
(autograd of the formula). At test time the code is ``s > 0.5``.

The paper's sub-network ends in a feature whose length is a multiple of K; for a
backbone whose feature length D is not, the slices are contiguous and of near-equal
length (``torch.tensor_split``: the first ``D mod K`` slices have one more entry).
"""

from __future__ import annotations

import torch
from torch import nn


def piecewise_threshold(s: torch.Tensor, epsilon: float) -> torch.Tensor:
    """DNNH's g(s): 0 below ``0.5 - epsilon``, 1 above ``0.5 + epsilon``, identity between.

    Parameters
    ----------
    s : torch.Tensor
        Sigmoid outputs in [0, 1], any shape.
    epsilon : float
        Half-width of the band kept as is; 0 <= epsilon <= 0.5.

    Examples
    --------
    >>> piecewise_threshold(torch.tensor([0.1, 0.45, 0.55, 0.9]), 0.1)
    tensor([0.0000, 0.4500, 0.5500, 1.0000])
    """
    if not 0.0 <= epsilon <= 0.5:
        raise ValueError(f"epsilon must lie in [0, 0.5], got {epsilon}")
    low = s < 0.5 - epsilon
    high = s > 0.5 + epsilon
    out = torch.where(high, torch.ones_like(s), s)
    return torch.where(low, torch.zeros_like(s), out)


class DivideAndEncode(nn.Module):
    """Divide a feature into K slices and encode slice k into bit k (sigmoid unit).

    Parameters
    ----------
    in_features : int
        Feature length D of the backbone; must be at least ``n_bits``.
    n_bits : int
        Code length K (number of slices).
    epsilon : float
        Band of the piece-wise threshold function used in training mode.

    Shapes: input (batch, D) -> output (batch, K) in [0, 1].
    """

    def __init__(self, in_features: int, n_bits: int, *, epsilon: float = 0.1) -> None:
        super().__init__()
        if n_bits <= 0 or in_features < n_bits:
            raise ValueError(
                f"divide-and-encode needs 0 < n_bits <= in_features, got n_bits={n_bits}, "
                f"in_features={in_features}"
            )
        if not 0.0 <= epsilon <= 0.5:
            raise ValueError(f"epsilon must lie in [0, 0.5], got {epsilon}")
        self.in_features = int(in_features)
        self.n_bits = int(n_bits)
        self.epsilon = float(epsilon)
        sizes = [len(t) for t in torch.tensor_split(torch.arange(in_features), n_bits)]
        self.slice_sizes: list[int] = sizes
        # one weight vector per slice, stored padded in a (K, max_size) matrix with a mask,
        # so that the K tiny FC units run as one batched operation
        width = max(sizes)
        mask = torch.zeros(n_bits, width)
        for k, size in enumerate(sizes):
            mask[k, :size] = 1.0
        self.register_buffer("mask", mask, persistent=False)
        bound = 1.0 / torch.tensor(sizes, dtype=torch.float32).sqrt().unsqueeze(1)
        self.weight = nn.Parameter((torch.rand(n_bits, width) * 2 - 1) * bound * mask)
        self.bias = nn.Parameter((torch.rand(n_bits) * 2 - 1) * bound.squeeze(1))
        starts = torch.tensor([0, *sizes[:-1]]).cumsum(0)
        # gather index (K, width) into the feature; padded positions point at 0 (masked)
        index = starts.unsqueeze(1) + torch.arange(width).unsqueeze(0)
        self.register_buffer("index", torch.where(mask > 0, index, 0), persistent=False)

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        """``w_k . x^(k) + b_k`` for every bit, shape (batch, K)."""
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"expected features of shape (batch, {self.in_features}), got {tuple(x.shape)}"
            )
        slices = x[:, self.index]  # (batch, K, width)
        return (slices * (self.weight * self.mask)).sum(-1) + self.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.pre_activation(x))
        if self.training:
            s = piecewise_threshold(s, self.epsilon)
        return s
