r"""CNNH: two-stage supervised hashing via image representation learning.

Xia, Pan, Lai, Liu and Yan, "Supervised Hashing for Image Retrieval via Image
Representation Learning", AAAI 2014.

Stage 1 (in :meth:`CNNH.setup`, no image is looked at): approximate codes
:math:`H = \operatorname{sign}(H^\star)` where :math:`H^\star` minimises
:math:`\lVert H H^\top - K S \rVert_F^2` over :math:`[-1,1]^{n \times K}`,
:math:`S_{ij} = \pm 1` (share a label or not), by random coordinate descent with Newton
steps (:func:`hashlib_core.losses.cnnh.cnnh_stage_one`).

Stage 2 (the training epochs): the network's relaxed outputs :math:`u_i = \tanh(W\phi_i + b)`
regress the approximate codes of their items,

.. math::

    L = \frac{1}{BK} \sum_{i=1}^{B} \lVert u_i - H_{\mathrm{index}(i)} \rVert_2^2
        \; \left[ + \mu \, \mathrm{BCE}(c_i, y_i) \right],

the bracket being CNNH+ (``predict_labels=True``): a second output layer
:math:`c_i = W_c \phi_i + b_c` predicts the class labels jointly, with weight
:math:`\mu`. Codes: :math:`\operatorname{sign}(u)`.

Reconstructed / our choices (each a hyper-parameter):

* ``stage1_sweeps = 10``, ``stage1_tol = 1e-4``: the number of coordinate-descent
  sweeps is not given by the paper; at most 10 (DeepHash-pytorch's T), stopping early
  when a sweep gains less than 0.01 %;
* the stage-2 loss is the squared error on tanh outputs (the paper fits the network to
  H; its exact output loss is not reproduced here); ``label_weight = 1.0`` and the
  binary cross-entropy form of CNNH+'s label term (one loss for single- and
  multi-label data);
* a Newton step that would not lower the stage-1 objective is skipped (monotone).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hashlib_core.losses.adsh import signed_similarity
from hashlib_core.losses.cnnh import cnnh_stage_one
from hashlib_core.methods import register
from hashlib_core.methods._state import SizedBuffers
from hashlib_core.methods.base import BackboneFactory, DeepHashMethod


@register
class CNNH(SizedBuffers, DeepHashMethod):
    """CNNH (and CNNH+ with ``predict_labels=True``): regress stage-1 approximate codes.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels.
    **overrides
        ``stage1_sweeps``, ``stage1_tol``, ``predict_labels``, ``label_weight``.
    """

    name = "cnnh"
    citation = (
        "R. Xia, Y. Pan, H. Lai, C. Liu, S. Yan. Supervised Hashing for Image Retrieval "
        "via Image Representation Learning. AAAI 2014."
    )
    defaults: ClassVar[dict[str, Any]] = {
        "stage1_sweeps": 10,
        "stage1_tol": 1e-4,
        "predict_labels": False,
        "label_weight": 1.0,
    }
    reconstructed: ClassVar[tuple[str, ...]] = ("stage1_sweeps", "stage1_tol", "label_weight")

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        if int(self.hparams["stage1_sweeps"]) < 0:
            raise ValueError(
                f"cnnh: stage1_sweeps must be >= 0, got {self.hparams['stage1_sweeps']}"
            )
        #: approximate codes of the training items, (n_train, K) in {-1,+1} after setup
        self.register_buffer("targets", torch.zeros(0, n_bits))
        self.stage1_history: list[float] = []
        self._logits: torch.Tensor | None = None

    def build(self, make_backbone: BackboneFactory) -> None:
        from hashlib_core.models.heads import HashHead

        self.backbone, feature_dim = make_backbone()
        self.head = HashHead(feature_dim, self.n_bits, activation="tanh")
        if self.hparams["predict_labels"]:
            self.classifier = nn.Linear(feature_dim, self.n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.backbone(images)
        if self.hparams["predict_labels"]:
            self._logits = self.classifier(features)
        return self.head(features)

    def setup(self, train_labels: torch.Tensor, generator: torch.Generator) -> None:
        """Stage 1: approximate codes of all training items from their labels."""
        labels = train_labels.detach().cpu().double()
        s = signed_similarity(labels, labels).numpy()
        seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        h, history = cnnh_stage_one(
            s,
            self.n_bits,
            sweeps=int(self.hparams["stage1_sweeps"]),
            tol=float(self.hparams["stage1_tol"]),
            rng=np.random.default_rng(seed),
        )
        self.stage1_history = history
        codes = torch.from_numpy(np.where(h >= 0, 1.0, -1.0)).float()
        self.targets = codes.to(self._device())

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if self.targets.shape[0] == 0:
            raise ValueError("cnnh: loss() called before setup() computed the stage-1 codes")
        if u.dim() != 2 or u.shape[1] != self.n_bits or index.shape != (u.shape[0],):
            raise ValueError(
                f"cnnh: expected u (batch, {self.n_bits}) and index (batch,), got "
                f"{tuple(u.shape)} and {tuple(index.shape)}"
            )
        target = self.targets[index.to(self.targets.device)].to(u)
        loss = (u - target).pow(2).mean()
        logits = self._logits
        if self.hparams["predict_labels"] and logits is not None and logits.shape[0] == u.shape[0]:
            loss = loss + float(self.hparams["label_weight"]) * F.binary_cross_entropy_with_logits(
                logits, labels.to(logits)
            )
            self._logits = None
        return loss
