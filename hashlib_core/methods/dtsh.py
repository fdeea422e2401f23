r"""DTSH: deep supervised hashing with triplet labels.

Wang, Shi and Kitani, "Deep Supervised Hashing with Triplet Labels", ACCV 2016.

Network: backbone + fully connected hash layer with **linear** outputs u (as DPSH,
on which DTSH builds; the official code's last layer has no activation). With
:math:`\Theta_{ij} = \tfrac12 u_i^\top u_j` the loss
(:class:`hashlib_core.losses.dtsh.DTSHLoss`) is the negative log-likelihood of the
triplet labels with margin :math:`\alpha` plus the quantisation loss,

.. math::

    \frac{1}{|T|} \sum_{(q,p,n) \in T}
        -\left(\Theta_{qp} - \Theta_{qn} - \alpha
        - \log\left(1 + e^{\Theta_{qp} - \Theta_{qn} - \alpha}\right)\right)
    + \lambda \frac{1}{B} \sum_i \lVert b_i - u_i \rVert^2, \qquad b = \operatorname{sign}(u),

T being all valid triplets within the mini-batch. Codes: :math:`\operatorname{sign}(u)`.

Reconstructed / our choices:

* ``alpha = None`` means K / 2: the official code (``DTSH.m``) passes
  ``codelens / 2`` as the margin;
* ``lam = 100 / 22500``: the official code weighs the quantisation term with
  eta = 100 against a *sum* over the 22,500 triplets it samples per query
  (50 positives x 50 negatives x 9 other classes); the loss here *averages* over
  triplets, so the same balance is lambda = 100 / 22500 per item;
* triplets are all valid in-batch triplets (the official code samples triplets
  against a memory of the outputs of the whole training set).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.dtsh import DTSHLoss
from hashlib_core.methods import register
from hashlib_core.methods.base import BackboneFactory, DeepHashMethod


@register
class DTSH(DeepHashMethod):
    """DTSH: triplet likelihood with margin plus quantisation, linear hash outputs.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels.
    **overrides
        ``alpha`` (margin; None = K/2), ``lam`` (quantisation weight).
    """

    name = "dtsh"
    citation = (
        "X. Wang, Y. Shi, K. M. Kitani. Deep Supervised Hashing with Triplet Labels. ACCV 2016."
    )
    defaults: ClassVar[dict[str, Any]] = {"alpha": None, "lam": 100.0 / 22500.0}
    reconstructed: ClassVar[tuple[str, ...]] = ("lam",)

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        alpha = None if hp["alpha"] is None else float(hp["alpha"])
        self.criterion = DTSHLoss(n_bits, alpha=alpha, lam=float(hp["lam"]))

    def build(self, make_backbone: BackboneFactory) -> None:
        from hashlib_core.models.heads import HashHead

        self.backbone, feature_dim = make_backbone()
        self.head = HashHead(feature_dim, self.n_bits, activation="identity")

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.criterion(u, labels)
