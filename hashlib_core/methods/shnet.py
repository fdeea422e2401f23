r"""SHNet: deep hashing with a serial hash layer and a code check, trained with CSQ's objective.

Citation (seed 000): "Deep Hashing Image Retrieval Based on Serial Code Check" (SHNet),
journal article in Chinese with an English abstract; ResNet50 backbone; CIFAR-10
(mAP@ALL), ImageNet-100 (mAP@1000), MS-COCO and NUS-WIDE (mAP@5000) at 16, 32 and 64
bits; compared with CNNH, DNNH, DHN, DTSH, HashNet, DCH and CSQ, following CSQ's
protocol.

What the source states (abstract): existing methods "output each bit of the hash code
in parallel" and ignore "the relevance between bits of the hash code in the coding
process and the redundancy of coding"; "in light of the principle of code check",
SHNet "designs the hash coding network layer structure as a serial mode and verifies
the first part of the serial hash codes in the process of generating hash codes". Its
(partly legible) implementation details: Adam with first-moment decay 0.9, batch-norm
momentum 0.1, batch size 64; the numbers 0.005 (probably weight decay) and 10 appear
without legible labels; the learning rate's exponent is illegible.

Equations implemented (``hashlib_core.models.serial_head.SerialHashHead``): with the
backbone feature :math:`\phi` and S segments of sizes :math:`K_1, \dots, K_S`,

.. math::

    s_1 = a = \tanh(\mathrm{BN}(W_1 \phi)) \in (-1,1)^{K_1}, \qquad
    s_t = \tanh(\mathrm{BN}(W_t [s_1; \dots; s_{t-1}])) \quad (t \ge 2),
    \qquad u = [s_1; \dots; s_S],

and CSQ's loss on the whole code (:class:`hashlib_core.losses.csq.CSQLoss`, the class
CSQ itself uses): with the item's hash centre :math:`c` (Hadamard rows; majority vote
for multi-label items), :math:`h = (u+1)/2`, :math:`t = (c+1)/2`,

.. math::

    L = \frac{1}{BK}\sum_{i,k} \mathrm{BCE}(h_{ik}, t_{ik})
        + \lambda \frac{1}{BK} \sum_{i,k} (|u_{ik}| - 1)^2 .

The check segments' share of the loss reaches :math:`W_1` through :math:`a`, so the
information bits are trained to be checkable. ``head="parallel"`` is CSQ's own head
(``tanh(W phi + b)``, no batch norm): SHNet with it *is* CSQ, the ablation baseline;
``n_segments=1`` is a parallel layer with batch norm (separates the effect of BN from
that of the serial structure).

Reconstructed
-------------
Not stated by the legible source; each is a hyper-parameter with this default:

* the form of the serial layer: an information segment from the feature, then check
  segments each computed from the previous segments only (like parity bits), each a
  ``Linear -> BatchNorm1d -> tanh`` block;
* ``n_segments = 2`` (one information and one check segment);
* ``info_fraction = 0.5``: the information segment has K1 = round(K / 2) bits;
* ``check_sees_features = False``: check segments do not see the backbone feature;
* the objective: CSQ's (SHNet compares itself with CSQ and follows its protocol), with
  CSQ's settings ``lam = 1e-4``, ``centers = "auto"`` (Hadamard when possible),
  ``center_seed = 0``.

From the source (not reconstructed): ``bn_momentum = 0.1``; ``head = "serial"``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hashlib_core.methods import register
from hashlib_core.methods.base import BackboneFactory
from hashlib_core.methods.csq import CSQ
from hashlib_core.models.serial_head import SerialHashHead, segment_sizes

HEADS = ("serial", "parallel")


@register
class SHNet(CSQ):
    """SHNet: serial hash layer (information + check segments) trained with CSQ's loss.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels (one hash centre per class).
    **overrides
        ``head`` ("serial" or "parallel"), ``n_segments`` (2), ``info_fraction`` (0.5),
        ``check_sees_features`` (False), ``bn_momentum`` (0.1), and CSQ's ``lam``,
        ``centers``, ``center_seed``.

    Examples
    --------
    >>> m = SHNet(16, 10)
    >>> m.segment_sizes
    [8, 8]
    """

    name = "shnet"
    citation = (
        "Deep hashing image retrieval based on serial code check (SHNet), journal article "
        "in Chinese (seed 000 of this project)"
    )
    defaults: ClassVar[dict[str, Any]] = {
        **CSQ.defaults,
        "head": "serial",
        "n_segments": 2,
        "info_fraction": 0.5,
        "check_sees_features": False,
        "bn_momentum": 0.1,
    }
    reconstructed: ClassVar[tuple[str, ...]] = (
        "lam",
        "centers",
        "center_seed",
        "n_segments",
        "info_fraction",
        "check_sees_features",
    )

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        if hp["head"] not in HEADS:
            raise ValueError(f"shnet: head must be one of {HEADS}, got {hp['head']!r}")
        n_seg = hp["n_segments"]
        if isinstance(n_seg, bool) or not isinstance(n_seg, int):
            raise ValueError(f"shnet: n_segments must be an integer, got {n_seg!r}")
        if not 0.0 < float(hp["bn_momentum"]) <= 1.0:
            raise ValueError(f"shnet: bn_momentum must lie in (0, 1], got {hp['bn_momentum']!r}")
        # validates n_segments / info_fraction against n_bits now, not at build time
        self.segment_sizes = (
            segment_sizes(n_bits, n_segments=n_seg, info_fraction=float(hp["info_fraction"]))
            if hp["head"] == "serial"
            else [n_bits]
        )

    def build(self, make_backbone: BackboneFactory) -> None:
        """Backbone + the serial hash layer (or CSQ's parallel head for ``head="parallel"``)."""
        hp = self.hparams
        if hp["head"] == "parallel":
            super().build(make_backbone)
            return
        self.backbone, feature_dim = make_backbone()
        self.head = SerialHashHead(
            feature_dim,
            self.n_bits,
            n_segments=int(hp["n_segments"]),
            info_fraction=float(hp["info_fraction"]),
            check_sees_features=bool(hp["check_sees_features"]),
            bn_momentum=float(hp["bn_momentum"]),
        )
