r"""CSDH: code-similarity-based deep hashing.

Citation (seed 001): H. Liu, Z. Wu, M. Yin, D. Yu, X. Zhu and J. Lou, "An improved
deep hashing model for image retrieval with binary code similarities", published 2024
(open access; the project has its abstract only). Evaluated on CIFAR-10 and NUS-WIDE
against five shallow and six deep hashing methods.

What the source states (abstract): CSDH "extracts deep features from images ... using
a pre-trained deep convolutional neural network. Additionally, a hidden and fully
connected layer is attached at the end of the deep network to derive hash bits by
virtue of an activation function. To preserve the semantic consistency of images, a
loss function has been introduced. It takes the label similarities, as well as the
Hamming embedding distances, into consideration", so that codes "preserve semantic
similarity" and "have small Hamming distances between similar images". It reads as the
journal extension of DHEH (``hashlib_core.methods.dheh``).

Equations implemented (batch of B items, K bits, :math:`s_{ij} \in [0, 1]`):

.. math::

    u = \tanh(W\phi + b), \qquad c_{ij} = u_i^\top u_j / K, \qquad
    d_{ij} = \tfrac12 (K - u_i^\top u_j),

    L = \frac{2}{B(B-1)} \sum_{i<j} \bigl(c_{ij} - (2 s_{ij} - 1)\bigr)^2
      + \beta\, \frac{2}{B(B-1)} \sum_{i<j}
        \frac{s_{ij} d_{ij}^2 + (1 - s_{ij}) \max(0, m - d_{ij})^2}{K}
      + \eta\, \frac{1}{BK} \sum_{i,k} (|u_{ik}| - 1)^2,

with :math:`s_{ij} = y_i^\top y_j / (\lVert y_i\rVert \lVert y_j\rVert)` (cosine of the
label vectors); see :class:`hashlib_core.losses.code_similarity.CodeSimilarityLoss`.

Reconstructed
-------------
Not stated by the source (only its abstract is available); each is a hyper-parameter
with this default:

* the code-similarity term: squared error between the normalised inner product c_ij
  and the target 2 s_ij - 1 in [-1, 1], averaged over the pairs i < j of a batch;
* the Hamming-embedding term: DHEH's reconstructed contrastive loss on the relaxed
  Hamming distance, with weight ``beta = 1.0`` and ``margin = None`` (meaning K / 2);
* ``eta = 0.1``: weight of the quantisation term mean((|u| - 1)^2);
* ``similarity = "cosine"``: s_ij is the cosine of the label vectors (1 or 0 on
  single-label data; graded on multi-label data); ``"share_label"`` gives 0/1;
* the hidden hash layer's activation is tanh (the source says "an activation
  function"; fixed, not an argument: the loss is defined on (-1, 1)-valued codes);
* pairs are formed within each mini-batch.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.code_similarity import CodeSimilarityLoss
from hashlib_core.methods import register
from hashlib_core.methods.base import DeepHashMethod
from hashlib_core.methods.dheh import similarity_from_name


@register
class CSDH(DeepHashMethod):
    """Code-similarity deep hashing: FC + tanh hash layer, code-similarity + Hamming loss.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Number of classes (width of the multi-hot labels).
    **overrides
        Hyper-parameters, see ``defaults`` (every one is reconstructed, see the module
        docstring): ``beta``, ``margin`` (None = K/2), ``eta``, ``similarity``.
    """

    name = "csdh"
    citation = (
        "H. Liu, Z. Wu, M. Yin, D. Yu, X. Zhu, J. Lou. An improved deep hashing model for "
        "image retrieval with binary code similarities. 2024."
    )
    defaults: ClassVar[dict[str, Any]] = {
        "beta": 1.0,
        "margin": None,
        "eta": 0.1,
        "similarity": "cosine",
    }
    reconstructed: ClassVar[tuple[str, ...]] = (
        "beta",
        "margin",
        "eta",
        "similarity",
    )

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        self.criterion = CodeSimilarityLoss(
            n_bits,
            beta=hp["beta"],
            margin=hp["margin"],
            eta=hp["eta"],
            similarity=similarity_from_name(self.name, hp["similarity"]),
        )

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.criterion(u, labels)
