r"""DNNH: simultaneous feature learning and hash coding (triplet ranking, divide-and-encode).

Lai, Pan, Liu and Yan, "Simultaneous Feature Learning and Hash Coding with Deep Neural
Networks", CVPR 2015.

Network: backbone feature :math:`x` -> divide-and-encode module
(:class:`hashlib_core.models.divide_encode.DivideAndEncode`): slice k of x alone gives
bit k through one sigmoid unit, :math:`s_k = \sigma(w_k^\top x^{(k)} + b_k)`; in
training the piece-wise threshold function g (0 below 0.5 - eps, 1 above 0.5 + eps,
identity between) is applied to each :math:`s_k`. Loss: the triplet ranking hinge
(:class:`hashlib_core.losses.dnnh.TripletRankingLoss`)

.. math::

    \ell = \max\left(0, 1 - \left(\lVert u_q - u_- \rVert^2 - \lVert u_q - u_+ \rVert^2\right)\right),

averaged over all valid triplets within the mini-batch. Binary code: bit k is +1 when
:math:`s_k > 0.5`, else -1 (the paper's {0,1} code mapped to {-1,+1}).

Reconstructed / our choices:

* ``epsilon = 0.1``: the band of the piece-wise threshold function;
* ``threshold_gradient = "straight_through"``: the paper does not say how the gradient
  passes g, and no code of the paper is public. The derivative of the formula
  (``"exact"``: 1 inside the band, 0 outside) stops every bit whose output leaves
  [0.5 - eps, 0.5 + eps]: from scratch most outputs leave the band within the first
  iterations and those bits never change again (mean |bit mean| 0.90 at 64 bits in the
  earlier cpu runs). The straight-through estimate keeps g's output (binary outside the
  band) and passes the gradient of the loss to the sigmoid unchanged, so bits can still
  move;
* triplets are all valid in-batch triplets (q, p, n) with s_qp = 1, s_qn = 0 (the paper
  samples triplets from the training set);
* the slices are contiguous, of near-equal length when the backbone's feature length
  is not a multiple of K (the paper's sub-network produces a multiple of K).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.dnnh import TripletRankingLoss
from hashlib_core.methods import register
from hashlib_core.methods.base import BackboneFactory, DeepHashMethod
from hashlib_core.models.divide_encode import DivideAndEncode, piecewise_threshold


@register
class DNNH(DeepHashMethod):
    """DNNH: divide-and-encode sigmoid bits trained with the triplet ranking hinge loss.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels.
    **overrides
        ``margin`` (paper: 1), ``epsilon`` (threshold band), ``threshold_gradient``
        ("straight_through" or "exact"), ``encoder`` ("divide_encode", the paper's
        module, or "fc": one fully connected layer that gives every bit the whole
        feature, a diagnosis of the module, not the paper's method).
    """

    name = "dnnh"
    citation = (
        "H. Lai, Y. Pan, Y. Liu, S. Yan. Simultaneous Feature Learning and Hash Coding "
        "with Deep Neural Networks. CVPR 2015."
    )
    defaults: ClassVar[dict[str, Any]] = {
        "margin": 1.0,
        "epsilon": 0.1,
        "threshold_gradient": "straight_through",
        "encoder": "divide_encode",
    }
    reconstructed: ClassVar[tuple[str, ...]] = ("epsilon", "threshold_gradient")

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        if self.hparams["threshold_gradient"] not in ("straight_through", "exact"):
            raise ValueError(
                "dnnh: threshold_gradient must be 'straight_through' or 'exact', got "
                f"{self.hparams['threshold_gradient']!r}"
            )
        if self.hparams["encoder"] not in ("divide_encode", "fc"):
            raise ValueError(
                f"dnnh: encoder must be 'divide_encode' or 'fc', got {self.hparams['encoder']!r}"
            )
        self.criterion = TripletRankingLoss(n_bits, margin=float(self.hparams["margin"]))

    def build(self, make_backbone: BackboneFactory) -> None:
        self.backbone, feature_dim = make_backbone()
        if self.hparams["encoder"] == "fc":  # diagnosis only: every bit sees all of x
            self.head = torch.nn.Linear(feature_dim, self.n_bits)
        else:
            self.head = DivideAndEncode(
                feature_dim, self.n_bits, epsilon=float(self.hparams["epsilon"])
            )

    def _pre_activation(self, images: torch.Tensor) -> torch.Tensor:
        features = self.backbone(images)
        if isinstance(self.head, DivideAndEncode):
            return self.head.pre_activation(features)
        return self.head(features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Training: g(s) (straight-through or exact gradient); evaluation: s."""
        s = torch.sigmoid(self._pre_activation(images))
        if not self.training:
            return s
        g = piecewise_threshold(s, float(self.hparams["epsilon"]))
        if self.hparams["threshold_gradient"] == "exact":
            return g
        return s + (g - s).detach()  # value g(s), gradient of s

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.criterion(u, labels)

    @torch.no_grad()
    def encode_query(self, images: torch.Tensor) -> torch.Tensor:
        """Codes in {-1,+1}: +1 where the sigmoid output exceeds 0.5."""
        s = torch.sigmoid(self._pre_activation(images))
        return torch.where(s > 0.5, torch.ones_like(s), -torch.ones_like(s))
