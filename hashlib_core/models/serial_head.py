r"""SHNet's serial hash layer: an information segment, then check segments computed from it.

Reconstruction of the hash layer of SHNet (seed 000; see ``hashlib_core.methods.shnet``).
The source states that the hash coding layer is "serial" instead of outputting every
bit in parallel, and that the first part of the code is "verified" while the code is
generated, using the relevance and redundancy between bits (the principle of a code
check). How the check is computed is not legible; the reconstruction, like parity bits
computed from the data bits:

.. math::

    a = s_1 = \tanh(\mathrm{BN}(W_1 \phi)) \in (-1,1)^{K_1}, \qquad
    s_t = \tanh(\mathrm{BN}(W_t [s_1; \dots; s_{t-1}])) \quad (t = 2, \dots, S),

    u = [s_1; s_2; \dots; s_S] \in (-1, 1)^K .

With ``check_sees_features=True`` every check segment also sees the backbone feature:
:math:`s_t = \tanh(\mathrm{BN}(W_t [s_1; \dots; s_{t-1}; \phi]))`. ``n_segments=1`` is
the parallel layer ``tanh(BN(W phi))`` (all K bits at once, with batch norm).
"""

from __future__ import annotations

import torch
from torch import nn


def segment_sizes(n_bits: int, *, n_segments: int, info_fraction: float) -> list[int]:
    """Bits per segment: ``K1 = round(K * info_fraction)`` information bits, then the
    remaining ``K - K1`` check bits split as evenly as possible (earlier segments get
    the extra bit) over ``n_segments - 1`` check segments.

    Raises
    ------
    ValueError
        If a segment would be empty, or ``info_fraction`` is not in (0, 1).

    Examples
    --------
    >>> segment_sizes(64, n_segments=2, info_fraction=0.5)
    [32, 32]
    >>> segment_sizes(12, n_segments=3, info_fraction=0.5)
    [6, 3, 3]
    """
    if not isinstance(n_segments, int) or n_segments < 1:
        raise ValueError(f"n_segments must be a positive integer, got {n_segments!r}")
    if n_segments == 1:
        return [int(n_bits)]
    if not 0.0 < info_fraction < 1.0:
        raise ValueError(f"info_fraction must lie in (0, 1), got {info_fraction!r}")
    k1 = int(round(n_bits * info_fraction))
    n_check = n_bits - k1
    if k1 < 1 or n_check < n_segments - 1:
        raise ValueError(
            f"cannot split {n_bits} bits into {k1} information bits and {n_segments - 1} "
            f"non-empty check segments (info_fraction={info_fraction})"
        )
    q, r = divmod(n_check, n_segments - 1)
    return [k1] + [q + (1 if t < r else 0) for t in range(n_segments - 1)]


class SerialHashHead(nn.Module):
    """Serial hash layer: segment t is ``tanh(BN(W_t [s_1..s_{t-1} (; phi)]))``.

    Parameters
    ----------
    in_features : int
        Backbone feature dimension (of ``phi``).
    n_bits : int
        Code length K (sum of the segment sizes).
    n_segments : int
        Number of segments S: 1 information segment + ``S - 1`` check segments
        (``S = 1``: a parallel layer with batch norm).
    info_fraction : float
        Fraction of the K bits in the information segment (``K1 = round(K * f)``).
    check_sees_features : bool
        If True, every check segment also receives ``phi``; if False (default) a check
        segment is a function of the previous segments only.
    bn_momentum : float
        Momentum of the batch-norm layers (0.1 in the source).

    Attributes
    ----------
    sizes : list of int
        Bits per segment, ``sum(sizes) == n_bits``.
    segments : nn.ModuleList
        One ``Linear -> BatchNorm1d -> Tanh`` block per segment.
    """

    def __init__(
        self,
        in_features: int,
        n_bits: int,
        *,
        n_segments: int = 2,
        info_fraction: float = 0.5,
        check_sees_features: bool = False,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        if in_features <= 0:
            raise ValueError(f"in_features must be positive, got {in_features}")
        self.sizes = segment_sizes(n_bits, n_segments=n_segments, info_fraction=info_fraction)
        self.in_features = int(in_features)
        self.n_bits = int(n_bits)
        self.check_sees_features = bool(check_sees_features)
        blocks = []
        seen = 0  # bits produced so far
        for t, k in enumerate(self.sizes):
            if t == 0:
                fan_in = self.in_features
            else:
                fan_in = seen + (self.in_features if self.check_sees_features else 0)
            blocks.append(
                nn.Sequential(
                    nn.Linear(fan_in, k),
                    nn.BatchNorm1d(k, momentum=bn_momentum),
                    nn.Tanh(),
                )
            )
            seen += k
        self.segments = nn.ModuleList(blocks)

    def forward_segments(self, features: torch.Tensor) -> list[torch.Tensor]:
        """The segments ``[s_1, ..., s_S]`` for features (batch, in_features); s_t is (batch, sizes[t])."""
        if features.dim() != 2 or features.shape[1] != self.in_features:
            raise ValueError(
                f"features must have shape (batch, {self.in_features}), got {tuple(features.shape)}"
            )
        out: list[torch.Tensor] = []
        for t, block in enumerate(self.segments):
            if t == 0:
                x = features
            else:
                x = torch.cat(out + ([features] if self.check_sees_features else []), dim=1)
            out.append(block(x))
        return out

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Relaxed code ``u = [s_1; ...; s_S]`` of shape (batch, n_bits)."""
        return torch.cat(self.forward_segments(features), dim=1)
