r"""DCH: deep Cauchy hashing for Hamming space retrieval.

Cao, Long, Liu and Wang, "Deep Cauchy Hashing for Hamming Space Retrieval", CVPR 2018.

Network: backbone + fully connected hash layer with tanh, :math:`u = \tanh(W\phi + b)`.
Loss (:class:`hashlib_core.losses.dch.DCHLoss`): with
:math:`d_{ij} = \tfrac K2 (1 - \cos(u_i, u_j))` and the class-balance weights
:math:`w_{ij}` (|P|/|P_1| for similar, |P|/|P_0| for dissimilar pairs of the batch),

.. math::

    \frac{1}{|P|}\sum_{(i,j) \in P} w_{ij}
      \left(s_{ij}\log\frac{d_{ij}}{\gamma} + \log\left(1 + \frac{\gamma}{d_{ij}}\right)\right)
    + \lambda \frac1B \sum_i \log\left(1 + \frac{d(|u_i|, \mathbf 1)}{\gamma}\right),

:math:`\gamma = 20`. Codes: :math:`\operatorname{sign}(u)`.

Reconstructed / our choices:

* ``lam = 0.1``: the weight of the Cauchy quantisation loss (DeepHash-pytorch's value;
  the paper tunes lambda on validation data);
* the balance weights and the pairs are those of the mini-batch (pairs i != j).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.dch import DCHLoss
from hashlib_core.methods import register
from hashlib_core.methods.base import DeepHashMethod


@register
class DCH(DeepHashMethod):
    """DCH: weighted Cauchy cross-entropy plus Cauchy quantisation loss.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels.
    **overrides
        ``gamma`` (Cauchy scale, paper: 20), ``lam`` (quantisation weight).
    """

    name = "dch"
    citation = (
        "Y. Cao, M. Long, B. Liu, J. Wang. Deep Cauchy Hashing for Hamming Space "
        "Retrieval. CVPR 2018."
    )
    defaults: ClassVar[dict[str, Any]] = {"gamma": 20.0, "lam": 0.1}
    reconstructed: ClassVar[tuple[str, ...]] = ("lam",)

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        self.criterion = DCHLoss(n_bits, gamma=float(hp["gamma"]), lam=float(hp["lam"]))

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.criterion(u, labels)
