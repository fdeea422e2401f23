r"""CSQ's central similarity loss: binary cross-entropy to the hash centre + quantisation.

Yuan, Wang, Zhang, Tay, Jie, Liu and Feng, "Central Similarity Quantization for
Efficient Image and Video Retrieval", CVPR 2020.

Each class k has a hash centre :math:`c_k \in \{-1,+1\}^K` (:func:`hash_centers`). An
item's centre :math:`c` is its class centre, or for multi-label items the bit-wise
majority vote of its label centres (ties broken by a fixed random centre
:math:`r \in \{-1,+1\}^K`, as the official code). With :math:`h = (u + 1)/2` and
:math:`t = (c + 1)/2` in [0, 1], the loss of a batch of B relaxed codes is

.. math::

    L = -\frac{1}{BK}\sum_{i=1}^{B}\sum_{k=1}^{K}
          \left[t_{ik}\log h_{ik} + (1 - t_{ik})\log(1 - h_{ik})\right]
        + \lambda \frac{1}{BK}\sum_{i,k}\left(|u_{ik}| - 1\right)^2 ,

both terms means over the batch's code entries, as the official code
(``BCELoss`` and ``mean``); :math:`\log` is clamped at -100 as ``BCELoss`` does.

Numerics (our change; the official code has the defect): the BCE term is evaluated in
float64. With :math:`u = \tanh(z)` in float32, the official composition
``BCELoss(0.5 * (u + 1), t)`` rounds :math:`h = (u+1)/2` to exactly 1 when
:math:`u = 1 - 2^{-24}` (:math:`z \approx 8.4`-9.0); ``BCELoss``'s backward then divides by
its floor :math:`h(1-h) \ge 10^{-12}` instead of :math:`2^{-25}`, and an output of the wrong
sign there gets a gradient :math:`\partial L/\partial z` of about :math:`6 \cdot 10^4/(BK)`
instead of the paper's :math:`2(h - t)/(BK) \le 2/(BK)`. One such entry inflates Adam's
second moment of the hash layer about 25-fold, which decays over ~1000 steps, so the run
learns slowly to the end (cifar10-i, cpu scale, 16 bits: seeds 1 and 3, mAP 0.40 and
0.44 against 0.55, their codes still at the right centres:
``scripts/diagnose_centres.py``). In float64, :math:`(u+1)/2` is exact
for every float32 :math:`u`, and the gradient is the paper's wherever :math:`|u| < 1`. The
value changes only at those entries (:math:`25 \log 2` instead of the clamp's 100). Where
float32 :math:`\tanh` is exactly :math:`\pm 1` the value is the clamp's and the gradient
through ``tanh`` is 0, as in the official code.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg import hadamard

from hashlib_core.losses.base import HashLoss


def _is_power_of_two(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def hash_centers(
    n_classes: int,
    n_bits: int,
    *,
    generator: torch.Generator | None = None,
    method: str = "auto",
    max_tries: int = 2000,
) -> torch.Tensor:
    """Hash centres of CSQ, one per class, in {-1,+1}; shape (n_classes, n_bits).

    Parameters
    ----------
    n_classes, n_bits : int
    generator : torch.Generator, optional
        Source of the Bernoulli draws (seeded for reproducible centres).
    method : {"auto", "hadamard", "bernoulli"}
        ``"hadamard"``: the first ``n_classes`` rows of :math:`[H_K; -H_K]`, pairwise
        Hamming distance K/2 (or K between a row and its negation); needs K a power of
        two and ``n_classes <= 2K``. ``"bernoulli"``: each bit +-1 with probability 1/2,
        drawn greedily so that every centre lies at Hamming distance at least ``d`` from
        the earlier ones, starting from d = K/2 and lowering d when ``max_tries`` draws
        fail (the paper asks for centres "far enough" apart; the threshold schedule is
        ours). ``"auto"`` (default): Hadamard when possible, as the official code.

    Returns
    -------
    torch.Tensor of shape (n_classes, n_bits), float32

    Examples
    --------
    >>> c = hash_centers(4, 8)
    >>> int(((c[0] != c[1]).sum()))
    4
    """
    if n_classes <= 0 or n_bits <= 0:
        raise ValueError(f"hash_centers: n_classes and n_bits must be positive, got {n_classes}, {n_bits}")
    if method not in ("auto", "hadamard", "bernoulli"):
        raise ValueError(f"hash_centers: method must be auto, hadamard or bernoulli, got {method!r}")
    can_hadamard = _is_power_of_two(n_bits) and n_classes <= 2 * n_bits
    if method == "hadamard" and not can_hadamard:
        raise ValueError(
            f"hash_centers: Hadamard centres need n_bits a power of two and n_classes <= "
            f"2 * n_bits, got n_bits={n_bits}, n_classes={n_classes}"
        )
    if method in ("auto", "hadamard") and can_hadamard:
        h = hadamard(n_bits).astype(np.float32)
        return torch.from_numpy(np.concatenate([h, -h])[:n_classes].copy())
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    # numpy for the many small draws (no thread pool); seeded from the torch generator
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=gen)))
    centers = np.zeros((0, n_bits), dtype=np.float32)
    min_dist = n_bits // 2
    block = 256  # candidates drawn and checked at once
    while centers.shape[0] < n_classes:
        for _ in range(max(1, max_tries // block)):
            cands = rng.integers(0, 2, size=(block, n_bits)).astype(np.float32) * 2 - 1
            if centers.shape[0]:
                dist = (cands[:, None, :] != centers[None, :, :]).sum(-1).min(1)
                ok = np.flatnonzero(dist >= min_dist)
            else:
                ok = np.zeros(1, dtype=np.int64)
            if ok.size:
                centers = np.concatenate([centers, cands[ok[:1]]])
                break
        else:
            min_dist -= 1
    return torch.from_numpy(centers)


def majority_centers(
    labels: torch.Tensor, centers: torch.Tensor, tie_breaker: torch.Tensor
) -> torch.Tensor:
    """Per-item centres: the bit-wise majority vote of the centres of the item's labels.

    Parameters
    ----------
    labels : (n, n_classes) float multi-hot
    centers : (n_classes, n_bits) in {-1,+1}
    tie_breaker : (n_bits,) in {-1,+1}
        Bits where the vote is tied (or the item has no label) take this value.

    Returns
    -------
    torch.Tensor of shape (n, n_bits) in {-1,+1}; for one-hot labels, the class centre.
    """
    votes = labels.to(centers.dtype) @ centers
    out = torch.sign(votes)
    return torch.where(out == 0, tie_breaker.to(out.dtype).expand_as(out), out)


class CSQLoss(HashLoss):
    """BCE between ``(u+1)/2`` and the item's centre ``(c+1)/2``, plus ``lam`` quantisation.

    Parameters
    ----------
    n_bits : int
        Code length K.
    centers : torch.Tensor of shape (n_classes, K)
        Hash centres in {-1,+1} (:func:`hash_centers`).
    tie_breaker : torch.Tensor of shape (K,), optional
        Bits used where a multi-label vote ties; default all +1.
    lam : float
        Weight lambda of the quantisation term (official: 1e-4).

    Examples
    --------
    >>> c = hash_centers(2, 4)
    >>> loss = CSQLoss(4, centers=c, lam=0.0)
    >>> u = 0.999 * c  # at the centres
    >>> bool(loss(u, torch.tensor([0, 1])) < 0.01)
    True
    """

    def __init__(
        self,
        n_bits: int,
        *,
        centers: torch.Tensor,
        tie_breaker: torch.Tensor | None = None,
        lam: float = 1e-4,
    ) -> None:
        super().__init__(n_bits)
        if centers.dim() != 2 or centers.shape[1] != n_bits:
            raise ValueError(f"centers must have shape (n_classes, {n_bits}), got {tuple(centers.shape)}")
        self.register_buffer("centers", centers.float().clone())
        tb = torch.ones(n_bits) if tie_breaker is None else tie_breaker.float().clone()
        if tb.shape != (n_bits,):
            raise ValueError(f"tie_breaker must have shape ({n_bits},), got {tuple(tb.shape)}")
        self.register_buffer("tie_breaker", tb)
        self.lam = float(lam)

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if labels.shape[1] != self.centers.shape[0]:
            raise ValueError(
                f"labels have width {labels.shape[1]}, but there are {self.centers.shape[0]} centres"
            )
        c = majority_centers(labels, self.centers.to(u.dtype), self.tie_breaker.to(u.dtype))
        # BCELoss as the official code (log clamped at -100, a finite gradient where tanh
        # saturates), but in float64: (u + 1) / 2 is then exact for every float32 u, so an
        # output one ulp below 1 does not round to h = 1, where BCELoss's backward would
        # divide by its 1e-12 floor (a gradient ~3e4 times the paper's; module docstring)
        u64 = u.double()
        center = F.binary_cross_entropy((u64 + 1) / 2, (c.double() + 1) / 2).to(u.dtype)
        quant = (u.abs() - 1).pow(2).mean()
        return center + self.lam * quant


__all__ = ["CSQLoss", "hash_centers", "majority_centers"]
