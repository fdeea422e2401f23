r"""DHEH: deep Hamming embedding hashing.

Citation (seed 002): "Deep Hamming Embedding Based Hashing for Image Retrieval",
journal article in Chinese with an English abstract; evaluated on CIFAR-10 and NUS-WIDE
against SH, ITQ, KSH, SDH, FastH, CNNH, DPSH, DTSH, DSDH, DHN and DQN.

What the source states: "A hidden layer is inserted at the end of the deep
convolutional neural network and then hash codes are obtained by the activation of
each unit of the layer. According to the characteristics of hash codes, hamming
embedding loss is proposed to preserve the similarity between the original data
better." It "performs better with short encoding length".

Equations implemented (backbone feature :math:`\phi`, batch of B items, K bits):

.. math::

    u = \tanh(W\phi + b) \in (-1, 1)^K, \qquad d_{ij} = \tfrac12 (K - u_i^\top u_j),

    L = \frac{2}{B(B-1)} \sum_{i<j}
        \frac{s_{ij} d_{ij}^2 + (1 - s_{ij}) \max(0, m - d_{ij})^2}{K}
        + \eta\, \frac{1}{BK} \sum_{i,k} (|u_{ik}| - 1)^2,

and the code :math:`b = \operatorname{sign}(u)`; see
:class:`hashlib_core.losses.hamming_embedding.HammingEmbeddingLoss`.

Reconstructed
-------------
Not stated by the legible source; each is a hyper-parameter with this default:

* the activation of the hidden (hash) layer is tanh (the source says only
  "activation"): it keeps u in (-1, 1), so that d_ij is a relaxed Hamming distance
  (fixed, not an argument: the loss is defined on (-1, 1)-valued codes);
* the form of the "Hamming embedding loss": a contrastive loss on the relaxed Hamming
  distance d_ij (squared distance for similar pairs, squared hinge below a margin for
  dissimilar pairs), each divided by K, averaged over the unordered pairs i < j of a batch;
* ``margin = None`` (meaning K / 2): the margin of dissimilar pairs, in Hamming units;
* ``eta = 0.1``: the weight of the quantisation term mean((|u| - 1)^2);
* ``similarity = "share_label"``: s_ij = 1 when two items share a label, else 0
  (``"cosine"``: the cosine of the label vectors, CSDH's choice for multi-label data);
* pairs are formed within each mini-batch (no memory of past codes).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.base import cosine_label_similarity, label_similarity
from hashlib_core.losses.hamming_embedding import HammingEmbeddingLoss
from hashlib_core.methods import register
from hashlib_core.methods.base import DeepHashMethod

SIMILARITIES = {"share_label": label_similarity, "cosine": cosine_label_similarity}


def similarity_from_name(method: str, name: str):
    """The label-similarity function called ``name`` ("share_label" or "cosine")."""
    if name not in SIMILARITIES:
        raise ValueError(f"{method}: similarity must be one of {sorted(SIMILARITIES)}, got {name!r}")
    return SIMILARITIES[name]


@register
class DHEH(DeepHashMethod):
    """Deep Hamming embedding hashing: FC + tanh hash layer, Hamming-embedding loss.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Number of classes (width of the multi-hot labels).
    **overrides
        Hyper-parameters, see ``defaults`` (every one is reconstructed, see the module
        docstring): ``margin`` (None = K/2), ``eta``, ``similarity``.
    """

    name = "dheh"
    citation = (
        "Deep Hamming embedding based hashing for image retrieval "
        "(journal article, CIFAR-10 and NUS-WIDE; seed 002 of this project)"
    )
    defaults: ClassVar[dict[str, Any]] = {
        "margin": None,
        "eta": 0.1,
        "similarity": "share_label",
    }
    reconstructed: ClassVar[tuple[str, ...]] = ("margin", "eta", "similarity")

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        self.criterion = HammingEmbeddingLoss(
            n_bits,
            margin=hp["margin"],
            eta=hp["eta"],
            similarity=similarity_from_name(self.name, hp["similarity"]),
        )

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.criterion(u, labels)
