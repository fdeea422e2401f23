r"""DAPH: deep asymmetric pairwise hashing (a query network and a database network).

Shen, Gao, Liu, Yang and Shen, "Deep Asymmetric Pairwise Hashing", ACM Multimedia 2017
(the project's issue lists it as IJCAI 2017; the paper we follow appeared at ACM MM).

Two networks of the same architecture (``build`` calls the backbone factory twice):
the query stream :math:`u = \tanh(F(x; \Theta_1))` and the database stream
:math:`z = \tanh(G(x; \Theta_2))`, with binary codes B (query) and H (database) of the
training items. The similarity of a pair is carried by the **asymmetric** inner
product :math:`\theta_{ij} = \tfrac12 u_i^\top z_j`; the objective
(:func:`hashlib_core.losses.daph.daph_loss`) adds the quantisation of u to B and of z
to H, the decorrelation of the bits (:math:`\tfrac1B u^\top u \approx I`) and their
balance (:math:`u^\top \mathbf 1 \approx 0`), for both streams, and couples the two
codes by :math:`\gamma\lVert B - H\rVert^2`.

Alternating optimisation: the networks with the codes fixed, then the codes with the
networks fixed (``alternate`` sets how the two networks share the mini-batches):

* ``"batch"`` (default): every mini-batch updates both networks, each against the other
  stream's output of that batch as a constant (:math:`\partial\mathcal L/\partial\Theta_1`
  at fixed :math:`\Theta_2` and vice versa, taken at the same point: a simultaneous
  block step; the sequential order within a batch would need a second forward pass,
  which the engine's one step per batch does not have);
* ``"step"``: mini-batches alternate, the first of each epoch updates the query network
  (the database stream is a constant and its own terms are left out), the next the
  database network, and so on;
* ``"epoch"``: even engine epochs update the query network, odd ones the database network;
* after each epoch, the code step (:func:`~hashlib_core.losses.daph.daph_update_codes`)
  from the outputs of every training item (two memories written by :meth:`DAPH.loss`):
  the joint minimiser over B and H of
  :math:`\alpha(\lVert U - B\rVert^2 + \lVert Z - H\rVert^2) + \gamma\lVert B - H\rVert^2`,
  i.e. :math:`B = H = \operatorname{sign}(U + Z)` for :math:`\gamma \ge \alpha`.

Why not DeepHash-pytorch's block-wise code step (B, then H) and epoch alternation: with
``alpha = gamma`` and tanh outputs the block-wise step returns B = H = the previous H, so
the codes never left the signs of the untrained database network. Why the paper's
objective divided by n^2 rather than DeepHash-pytorch's per-term normalisations: see
:mod:`hashlib_core.losses.daph`. The derivations and the measurements behind each choice
are on the book's DAPH page (``book/methods/daph.md``).

Outside the training schedule (before any :meth:`~DAPH.begin_epoch`) a step updates both
networks jointly. ``forward`` keeps the database stream's output of the batch for
:meth:`DAPH.loss`; in eval mode, or called on codes alone (no such output), the loss
uses the memory of the database stream's latest outputs as constants. Queries are
encoded by the query network, the database by the database network
(:meth:`DAPH.encode_database`).

Reconstructed
-------------
The paper's text was not available to us; the structure of the objective and of the
alternation follows the paper's description as summarised in the project's METHODS.md
and DeepHash-pytorch's DAPH; every weight is a hyper-parameter.

* the normalisation: the paper's objective (sums over the training set) divided by n^2,
  so that the likelihood is a pair mean; then the quantisation weighs ``alpha / n`` per
  item and the balance is ``beta`` times the squared batch mean of each bit, summed
  over the bits; the decorrelation keeps DeepHash-pytorch's form (a mean over the K^2
  entries of the batch's second moments minus I);
* ``alpha = 10``, ``gamma = 10``, ``lam = 0.01``: DeepHash-pytorch's values, read as
  weights of the paper's objective; ``gamma >= alpha`` gives one code per item, B = H;
* ``beta = 1/8``: the smallest balance weight at which the label-blind move of the two
  streams (u + a, z - a on every image) does not lower the objective near the start, for
  any share p of similar pairs (it gains about (1 - 2p)/4 |a|^2 of likelihood and costs
  2 beta |a|^2 of balance). DeepHash-pytorch's 0.01 in this normalisation left offsets
  half the size of the outputs (measured, ``scripts/daph_probe.py``);
* the likelihood form of the asymmetric pairwise term (DPSH-style, on 1/2 u.z);
* ``alternate = "batch"``: how the two networks share the mini-batches (above;
  DeepHash-pytorch runs one pass per network per epoch, the engine one pass per epoch);
* the code step is the joint minimiser over B and H (DeepHash-pytorch: B, then H);
* the quantisation terms start after the first epoch, with codes from the networks' own
  outputs (DeepHash-pytorch starts from random codes).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.base import label_similarity
from hashlib_core.losses.daph import daph_loss, daph_update_codes
from hashlib_core.methods import register
from hashlib_core.methods._state import SizedBuffers
from hashlib_core.methods.base import BackboneFactory, DeepHashMethod, binarize

_PHASES = {0: "both", 1: "query", 2: "database"}
_SCHEDULES = ("batch", "step", "epoch")


@register
class DAPH(SizedBuffers, DeepHashMethod):
    """DAPH: query and database networks trained alternately with an asymmetric loss.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels.
    **overrides
        ``alpha``, ``gamma``, ``lam``, ``beta``, ``alternate`` (``"batch"``, ``"step"`` or
        ``"epoch"``).
    """

    name = "daph"
    citation = (
        "F. Shen, X. Gao, L. Liu, Y. Yang, H. T. Shen. Deep Asymmetric Pairwise Hashing. "
        "ACM Multimedia 2017."
    )
    defaults: ClassVar[dict[str, Any]] = {
        "alpha": 10.0,
        "gamma": 10.0,
        "lam": 0.01,
        "beta": 0.125,
        "alternate": "batch",
    }
    reconstructed: ClassVar[tuple[str, ...]] = ("alpha", "gamma", "lam", "beta", "alternate")
    bank_buffers: ClassVar[tuple[str, ...]] = ("u_bank", "z_bank")

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        if self.hparams["alternate"] not in _SCHEDULES:
            raise ValueError(
                f"daph: alternate must be one of {_SCHEDULES}, got {self.hparams['alternate']!r}"
            )
        for name in ("alpha", "gamma", "lam", "beta"):
            if float(self.hparams[name]) < 0:
                raise ValueError(f"daph: {name} must be >= 0, got {self.hparams[name]}")
        for name in ("u_bank", "z_bank", "codes_b", "codes_h"):
            self.register_buffer(name, torch.zeros(0, n_bits))
        self.register_buffer("codes_ready", torch.zeros((), dtype=torch.bool))
        self.register_buffer("phase", torch.zeros((), dtype=torch.long))
        self._z: torch.Tensor | None = None

    def build(self, make_backbone: BackboneFactory) -> None:
        """Two networks of the same architecture: query (``backbone``, ``head``) and database."""
        from hashlib_core.models.heads import HashHead

        self.backbone, feature_dim = make_backbone()
        self.head = HashHead(feature_dim, self.n_bits, activation="tanh")
        self.db_backbone, db_dim = make_backbone()
        self.db_head = HashHead(db_dim, self.n_bits, activation="tanh")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Query-stream output u; in training mode also runs the database stream (kept for loss)."""
        if self.training:
            self._z = self.db_head(self.db_backbone(images))
        return self.head(self.backbone(images))

    @torch.no_grad()
    def encode_database(self, images: torch.Tensor) -> torch.Tensor:
        """Codes in {-1,+1} of the database network."""
        return binarize(self.db_head(self.db_backbone(images)))

    def setup(self, train_labels: torch.Tensor, generator: torch.Generator) -> None:
        device = self._device()
        n = train_labels.shape[0]
        for name in ("u_bank", "z_bank", "codes_b", "codes_h"):
            setattr(self, name, torch.zeros(n, self.n_bits, device=device))
        self.codes_ready = torch.zeros((), dtype=torch.bool, device=device)
        self.phase = torch.zeros((), dtype=torch.long, device=device)

    def begin_epoch(self, epoch: int, n_epochs: int) -> None:
        schedule = self.hparams["alternate"]
        if schedule == "batch":
            self.phase.fill_(0)
        elif schedule == "step":
            self.phase.fill_(1)  # the epoch's first mini-batch updates the query network
        else:
            self.phase.fill_(1 if epoch % 2 == 0 else 2)

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if self.u_bank.shape[0] == 0:
            raise ValueError("daph: loss() called before setup()")
        idx = index.to(self.u_bank.device)
        z = self._z if self.training else None
        if z is None or z.shape != u.shape:
            # no database-stream output of this batch (eval mode, or loss called on codes
            # alone): the memory of the database stream's latest outputs, as constants
            z = self.z_bank[idx]
        z = z.to(u.dtype)
        if self.training:
            self.u_bank[idx] = u.detach().to(self.u_bank)
            self.z_bank[idx] = z.detach().to(self.z_bank)
        hp = self.hparams
        ready = bool(self.codes_ready)
        stream = _PHASES[int(self.phase)]
        if self.training and hp["alternate"] == "step" and stream != "both":
            self.phase.fill_(3 - int(self.phase))  # the next mini-batch, the other network
        return daph_loss(
            u,
            z,
            label_similarity(labels, labels).to(u),
            b=self.codes_b[idx].to(u) if ready else None,
            h=self.codes_h[idx].to(u) if ready else None,
            alpha=float(hp["alpha"]),
            lam=float(hp["lam"]),
            beta=float(hp["beta"]),
            n_items=self.u_bank.shape[0],
            stream=stream,
        )

    @torch.no_grad()
    def end_epoch(self, epoch: int) -> None:
        """The code step: B and H, jointly, in closed form from the memories of U and Z."""
        if self.u_bank.shape[0] == 0:
            return
        self.codes_b, self.codes_h = daph_update_codes(
            self.u_bank,
            self.z_bank,
            alpha=float(self.hparams["alpha"]),
            gamma=float(self.hparams["gamma"]),
        )
        self.codes_ready.fill_(True)
