r"""DHN: deep hashing network (pairwise cross-entropy + pairwise quantisation).

Zhu, Long, Wang and Cao, "Deep Hashing Network for Efficient Similarity Retrieval",
AAAI 2016.

Network: backbone + fully connected hash layer with tanh, :math:`u = \tanh(W\phi + b)`.
Loss (:class:`hashlib_core.losses.dhn.DHNLoss`), on the pairs i != j of a mini-batch:

.. math::

    \frac{1}{|P|} \sum_{(i,j) \in P}
        \left(\log(1 + e^{\theta_{ij}}) - s_{ij}\theta_{ij}\right)
    + \lambda \frac{1}{BK} \sum_{i,k} \log\cosh(|u_{ik}| - 1),
    \qquad \theta_{ij} = \alpha\, u_i^\top u_j .

Codes: :math:`\operatorname{sign}(u)`.

Reconstructed / our choices:

* ``alpha = 0.5``: the inner product is halved (:math:`\tfrac12 u_i^\top u_j`, the
  scaling of DPSH and DeepHash-pytorch's DHN); the paper writes the plain inner product;
* ``lam = 0.1``: the paper selects lambda by cross-validation; 0.1 is DeepHash-pytorch's
  weight, here applied to the paper's log-cosh form, with both terms as means;
* pairs are formed within each mini-batch.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.dhn import DHNLoss
from hashlib_core.methods import register
from hashlib_core.methods.base import DeepHashMethod


@register
class DHN(DeepHashMethod):
    """DHN: pairwise cross-entropy on ``alpha u_i . u_j`` plus the log-cosh quantisation.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels.
    **overrides
        ``alpha`` (inner-product scale), ``lam`` (quantisation weight).
    """

    name = "dhn"
    citation = (
        "H. Zhu, M. Long, J. Wang, Y. Cao. Deep Hashing Network for Efficient Similarity "
        "Retrieval. AAAI 2016."
    )
    defaults: ClassVar[dict[str, Any]] = {"alpha": 0.5, "lam": 0.1}
    reconstructed: ClassVar[tuple[str, ...]] = ("alpha", "lam")

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        self.criterion = DHNLoss(n_bits, alpha=float(hp["alpha"]), lam=float(hp["lam"]))

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.criterion(u, labels)
