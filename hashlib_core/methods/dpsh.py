r"""DPSH: deep pairwise-supervised hashing.

Li, Wang and Kang, "Feature Learning based Deep Supervised Hashing with Pairwise
Labels", IJCAI 2016. Official code: github.com/jiangqy/DPSH-pytorch.

Network: backbone + fully connected hash layer with **linear** outputs
:math:`u_i = W^\top\phi(x_i) + v`; codes :math:`b_i = \operatorname{sign}(u_i)`.

Loss (:class:`hashlib_core.losses.dpsh.DPSHLoss`) of a mini-batch of B items against a
memory bank :math:`U \in \mathbb{R}^{n\times K}` holding the latest output of every
training item (the batch's rows are written first, as the official code):

.. math::

    L = \frac{1}{Bn}\sum_{i=1}^{B}\sum_{j=1}^{n}
          \left(\log(1 + e^{\Theta_{ij}}) - s_{ij}\Theta_{ij}\right)
        + \frac{\eta}{Bn}\sum_{i=1}^{B}\lVert b_i - u_i \rVert_2^2,
    \qquad \Theta_{ij} = \tfrac12 u_i^\top U_j,

gradients flowing through :math:`u_i` only (the bank is a constant). Bank rows of
items not yet seen are zero (:math:`\Theta = 0`), as the official code
(``pairs="bank"``).

``pairs="batch"`` (the default) pairs the batch with itself instead: the likelihood's
mean over the batch's pairs i != j of current outputs, plus
:math:`\tfrac{\eta}{n}\,\tfrac1B\sum_i \lVert b_i - u_i\rVert^2` (n training items: the
paper's balance between the two terms). The paper's gradient (its eq. 6) sums over all
training items j with their *current* outputs :math:`u_j`; the official code
approximates them by the bank, whose rows are up to one epoch old. Fine-tuning a
pre-trained network with small SGD steps, the outputs barely move in an epoch; trained
from scratch they do: measured on the cpu scale (Adam 1e-3), after one epoch the bank
differs from the network's current outputs by more than 100% (relative Frobenius norm)
and 41-48% of its signs disagree with them, the current outputs share a common offset
the bank does not show, and the loss stays above log 2. The batch's pairs are an
unbiased sample of the paper's sum with current outputs.

Hyper-parameters: ``eta`` = 10 (the official CIFAR-10 setting), ``pairs`` ("batch",
reconstructed; "bank": the official code).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.dpsh import DPSHLoss
from hashlib_core.methods import register
from hashlib_core.methods._state import SizedBuffers
from hashlib_core.methods.base import DeepHashMethod


@register
class DPSH(SizedBuffers, DeepHashMethod):
    """DPSH: pairwise likelihood against a memory bank of all training outputs.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels.
    **overrides
        ``eta`` (10), ``pairs`` ("batch" or "bank").
    """

    name = "dpsh"
    citation = (
        "W.-J. Li, S. Wang, W.-C. Kang. Feature Learning based Deep Supervised Hashing "
        "with Pairwise Labels. IJCAI 2016."
    )
    defaults: ClassVar[dict[str, Any]] = {"eta": 10.0, "pairs": "batch"}
    reconstructed: ClassVar[tuple[str, ...]] = ("pairs",)
    bank_buffers: ClassVar[tuple[str, ...]] = ("bank_u",)

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        if self.hparams["pairs"] not in ("batch", "bank"):
            raise ValueError(f"dpsh: pairs must be 'batch' or 'bank', got {self.hparams['pairs']!r}")
        self.criterion = DPSHLoss(n_bits, eta=float(self.hparams["eta"]))
        self.register_buffer("bank_u", torch.zeros(0, n_bits))
        self.register_buffer("bank_labels", torch.zeros(0, n_classes))

    def build(self, make_backbone) -> None:
        from hashlib_core.models.heads import HashHead

        self.backbone, feature_dim = make_backbone()
        self.head = HashHead(feature_dim, self.n_bits, activation="identity")

    def setup(self, train_labels: torch.Tensor, generator: torch.Generator) -> None:
        device = train_labels.device
        self.bank_u = torch.zeros(train_labels.shape[0], self.n_bits, device=device)
        self.bank_labels = train_labels.detach().float().clone()

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if self.bank_u.shape[0] == 0:
            raise ValueError("dpsh: setup(train_labels, generator) must run before loss()")
        if self.training:  # state changes only while training (gradcheck runs in eval mode)
            self.bank_u[index] = u.detach().to(self.bank_u.dtype)
        if self.hparams["pairs"] == "batch":
            self.criterion.n_train = int(self.bank_u.shape[0])
            return self.criterion(u, labels)
        return self.criterion(u, labels, self.bank_u.to(u.dtype), self.bank_labels)
