r"""HashNet: deep learning to hash by continuation.

Cao, Long, Wang and Yu, "HashNet: Deep Learning to Hash by Continuation", ICCV 2017.
Official code: github.com/thuml/HashNet (``pytorch/src``).

Network: backbone + FC hash layer with a scaled tanh whose scale grows during training
(continuation towards sign):

.. math::

    h = \tanh(\beta z), \qquad z = W^\top\phi(x) + v, \qquad
    \beta_t = \beta_0\,(1 + \gamma t)^{p},

t the number of training iterations so far, :math:`\beta_0 = 1`, :math:`\gamma = 0.005`,
:math:`p = 0.5` (the official ``AdaptiveHashLayer`` schedule); codes :math:`\operatorname{sign}(z)`.

Loss (:class:`hashlib_core.losses.hashnet.HashNetLoss`): class-balanced pairwise
cross-entropy on :math:`\theta_{ij} = \alpha h_i^\top h_j`, :math:`\alpha = 10/K`, over
the ordered pairs i != j of the mini-batch (the official code pairs two independent
batches; here one batch is paired with itself).

Hyper-parameters: ``alpha`` (None = 10/K), ``beta0`` (1), ``gamma`` (0.005), ``power``
(0.5), ``weighting`` ("balanced"), ``head_lr_mult`` (10: the paper trains the hash
layer with a learning rate 10 times that of the backbone).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.hashnet import HashNetLoss
from hashlib_core.methods import register
from hashlib_core.methods.base import DeepHashMethod


@register
class HashNet(DeepHashMethod):
    """HashNet: weighted pairwise cross-entropy, tanh(beta z) with beta grown by continuation.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels.
    **overrides
        ``alpha``, ``beta0``, ``gamma``, ``power``, ``weighting``, ``head_lr_mult``.

    Examples
    --------
    >>> m = HashNet(16, 10)
    >>> m.beta()  # before any training iteration
    1.0
    """

    name = "hashnet"
    citation = (
        "Z. Cao, M. Long, J. Wang, P. S. Yu. HashNet: Deep Learning to Hash by "
        "Continuation. ICCV 2017."
    )
    defaults: ClassVar[dict[str, Any]] = {
        "alpha": None,
        "beta0": 1.0,
        "gamma": 0.005,
        "power": 0.5,
        "weighting": "balanced",
        "head_lr_mult": 10.0,
    }

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        alpha = None if hp["alpha"] is None else float(hp["alpha"])
        self.criterion = HashNetLoss(n_bits, alpha=alpha, weighting=str(hp["weighting"]))
        self.register_buffer("iteration", torch.zeros((), dtype=torch.int64))

    def build(self, make_backbone) -> None:
        from hashlib_core.models.heads import HashHead

        self.backbone, feature_dim = make_backbone()
        self.head = HashHead(feature_dim, self.n_bits, activation="identity")

    def beta(self) -> float:
        """Current tanh scale :math:`\\beta_0 (1 + \\gamma t)^p`."""
        hp = self.hparams
        t = float(self.iteration)
        return float(hp["beta0"]) * (1.0 + float(hp["gamma"]) * t) ** float(hp["power"])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.beta() * self.head(self.backbone(images)))

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        mult = float(self.hparams["head_lr_mult"])
        head = [p for p in self.head.parameters() if p.requires_grad]
        ids = {id(p) for p in head}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in ids]
        return [{"params": rest, "lr": lr}, {"params": head, "lr": lr * mult}]

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.iteration += 1
        return self.criterion(u, labels)
