r"""CSQ: central similarity quantisation.

Yuan, Wang, Zhang, Tay, Jie, Liu and Feng, "Central Similarity Quantization for
Efficient Image and Video Retrieval", CVPR 2020.
Official code: github.com/yuanli2333/Hadamard-Matrix-for-hashing.

Network: backbone + FC hash layer with tanh, :math:`u = \tanh(W\phi + b)`; codes
:math:`b = \operatorname{sign}(u)`.

Hash centres (:func:`hashlib_core.losses.csq.hash_centers`): the rows of
:math:`[H_K; -H_K]` (Hadamard matrix) when K is a power of two and there are at most
2K classes, otherwise Bernoulli(1/2) centres drawn far apart. A multi-label item's
centre is the bit-wise majority vote of its label centres (ties: a fixed random
centre). Loss (:class:`hashlib_core.losses.csq.CSQLoss`), with :math:`h = (u+1)/2`,
:math:`t = (c+1)/2`:

.. math::

    L = \frac{1}{BK}\sum_{i,k} \mathrm{BCE}(h_{ik}, t_{ik})
        + \lambda\,\frac{1}{BK}\sum_{i,k}\left(|u_{ik}| - 1\right)^2,
    \qquad \lambda = 10^{-4}.

The BCE term is evaluated in float64 (:mod:`hashlib_core.losses.csq`): the official
float32 ``BCELoss(0.5 * (u + 1), ...)`` gives an output one ulp below 1 with the wrong sign
a gradient ~3e4 times the paper's, which stalls some runs (Adam's second moment).

Hyper-parameters: ``lam`` (1e-4, as DeepHash-pytorch's CSQ; the official repository's
command-line default is 0.05 together with an extra pairwise term that the paper does not
define as part of CSQ), ``centers`` ("auto", "hadamard", "bernoulli"), ``center_seed``
(seeds the Bernoulli centres and the tie-breaking centre; our choice, so that centres do
not change with the run's seed).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.csq import CSQLoss, hash_centers
from hashlib_core.methods import register
from hashlib_core.methods.base import DeepHashMethod


@register
class CSQ(DeepHashMethod):
    """CSQ: BCE to per-class Hadamard/Bernoulli hash centres plus quantisation.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels (one centre per class).
    **overrides
        ``lam`` (1e-4), ``centers`` ("auto"), ``center_seed`` (0).

    Examples
    --------
    >>> m = CSQ(16, 10)
    >>> tuple(m.criterion.centers.shape)
    (10, 16)
    """

    name = "csq"
    citation = (
        "L. Yuan, T. Wang, X. Zhang, F. E. H. Tay, Z. Jie, W. Liu, J. Feng. Central "
        "Similarity Quantization for Efficient Image and Video Retrieval. CVPR 2020."
    )
    defaults: ClassVar[dict[str, Any]] = {"lam": 1e-4, "centers": "auto", "center_seed": 0}
    reconstructed: ClassVar[tuple[str, ...]] = ("center_seed",)
    revision = 2
    revision_note = ("CSQ's BCE term in float64: in float32 an output next to ±1 of the "
                     "wrong sign got about 3e4 times the paper's gradient")

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        gen = torch.Generator().manual_seed(int(hp["center_seed"]))
        centers = hash_centers(n_classes, n_bits, generator=gen, method=str(hp["centers"]))
        tie = torch.randint(0, 2, (n_bits,), generator=gen).float() * 2 - 1
        self.criterion = CSQLoss(n_bits, centers=centers, tie_breaker=tie, lam=float(hp["lam"]))

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.criterion(u, labels)
