r"""DSAH: deep semantic asymmetric hashing (a label auto-encoder guiding an asymmetric network).

Citation (seed 003): "Deep Semantic Asymmetric Hashing" (DSAH), conference poster;
CIFAR-10, MS-COCO and NUS-WIDE; compared with KSH, SDH, ITQ, FATH (FastH), DNNH,
HashNet, DAPH and ADSH; reports mAP, top-5K precision and the mean absolute
correlation between bits at 32 bits.

What the source states: "Use a label auto-encoder (LAE) and some proper constrains
between LAE and the asymmetric image hashing network (ImgNet) to guide the training
process of ImgNet to learn more discriminative binary codes at semantic level", learned
by "alternating optimization: use back-propagation algorithm to update the parameters;
directly optimize the binary codes of database points."

Equations implemented (the reconstruction: ADSH plus a label auto-encoder).

1. LAE (``hashlib_core.models.label_autoencoder``), pre-trained in :meth:`DSAH.setup` on
   the training labels, then frozen; :math:`l_i = \mathrm{enc}(y_i) \in (-1,1)^K`:

   .. math::

       L_{\mathrm{LAE}} = \mathrm{BCE}(\mathrm{dec}(l_i), y_i)
         + \alpha \operatorname{mean}_{i<j} \bigl((l_i^\top l_j - K S_{ij})/K\bigr)^2
         + \beta \operatorname{mean}(|l| - 1)^2, \qquad S_{ij} \in \{1, -r\}.

2. ImgNet on sampled query points :math:`\Omega` (``u_i = tanh(W phi_i + b)``) against the
   database codes :math:`V \in \{-1,+1\}^{n \times K}` of all n training items, V fixed:

   .. math::

       L = \frac{1}{n|B|}\sum_{i \in B} \Bigl[\sum_{j} (u_i^\top v_j - K S_{ij})^2
           + \gamma \lVert v_i - u_i\rVert^2 + \mu \lVert u_i - l_i \rVert^2 \Bigr].

3. V with the network fixed, bit by bit in closed form (ADSH's update with an added
   target-code term, ``hashlib_core.losses.adsh.adsh_update_codes``):

   .. math::

       \min_V \lVert U V^\top - K S\rVert_F^2 + \gamma \lVert V_\Omega - U\rVert_F^2
              + \nu \lVert V - \operatorname{sign}(L)\rVert_F^2 .

The outer loop is ADSH's (``hashlib_core.methods.adsh``, of which :class:`DSAH` is a
subclass): one outer iteration per engine epoch, :math:`\Omega` (``num_samples`` points,
at most the training set) is drawn and passed ``inner_epochs`` times, then V is updated
from the codes U the network last produced for :math:`\Omega`. The codes of the
training items in the database are V (``train_database_codes``); other images are
encoded by the network.

Reconstructed
-------------
Nothing below is stated by the source (a poster: the architecture figure and the loss
are not legible); each is a hyper-parameter with this default:

* the overall form "ADSH plus a label auto-encoder": ADSH's asymmetric loss and
  closed-form database-code update, with the LAE constraints mu ||u_i - l_i||^2 on the
  network and nu ||v_j - sign(l_j)||^2 on the database codes;
* ``gamma = 200``, ``num_samples = 2000``, ``inner_epochs = 3``: ADSH's published
  defaults (Jiang & Li, AAAI 2018), adopted for DSAH (ADSH runs 50 outer iterations,
  i.e. 50 epochs of the engine);
* ``mu = 200`` and ``nu = 200``: the LAE constraints weigh as much as ADSH's coupling
  term gamma (our choice: the LAE code pulls as hard as the database code);
* the LAE: ``lae_hidden = 512`` units in one hidden layer (ReLU) of the encoder and of the
  decoder, tanh codes, sigmoid outputs;
* the LAE loss: BCE reconstruction + ``alpha = 1.0`` x the pairwise term
  ((l_i.l_j - K S_ij) / K)^2 (mean over pairs i < j; divided by K^2 so that alpha does
  not depend on K) + ``beta = 0.1`` x mean((|l| - 1)^2);
* LAE pre-training: ``lae_steps = 500`` Adam steps, ``lae_lr = 1e-3``,
  ``lae_batch_size = 64`` labels drawn with replacement; the LAE is frozen afterwards
  (measured on CIFAR-10 and NUS-WIDE-21 labels at 32 bits: the loss and the agreement
  of the binary label codes within and across classes change little from 500 to 1000
  steps; on a CPU the steps run on one thread: a 512-unit MLP gains nothing from more);
* ``init_codes = "lae"``: V starts at sign(l) (``"random"``: ADSH's random signs);
* S_ij: ADSH's soft targets (1 for items that share a label, -r otherwise, r = #similar /
  #dissimilar pairs), in the network loss, the code step and the LAE's pairwise term
  alike (the hard -1 made the codes of ten classes collapse onto a few bits: 11
  distinct bits of 32 in the first cpu grid).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.adsh import adsh_update_codes
from hashlib_core.losses.dsah import label_code_penalty
from hashlib_core.losses.label_autoencoder import LabelAutoEncoderLoss
from hashlib_core.methods import register
from hashlib_core.methods.adsh import ADSH
from hashlib_core.methods.base import BackboneFactory, binarize
from hashlib_core.models.label_autoencoder import LabelAutoEncoder


@register
class DSAH(ADSH):
    """Deep semantic asymmetric hashing: ADSH guided by a pre-trained label auto-encoder.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Number of classes (width of the multi-hot labels).
    **overrides
        Hyper-parameters, see ``defaults`` and the module docstring.
    """

    name = "dsah"
    citation = (
        "Deep semantic asymmetric hashing (DSAH), poster; CIFAR-10, MS-COCO, NUS-WIDE "
        "(seed 003 of this project)"
    )
    asymmetric = True
    defaults: ClassVar[dict[str, Any]] = {
        **ADSH.defaults,  # gamma 200, num_samples 2000, inner_epochs 3
        "mu": 200.0,
        "nu": 200.0,
        "alpha": 1.0,
        "beta": 0.1,
        "lae_hidden": 512,
        "lae_steps": 500,
        "lae_lr": 1e-3,
        "lae_batch_size": 64,
        "init_codes": "lae",
    }
    reconstructed: ClassVar[tuple[str, ...]] = tuple(defaults)

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        for key in ("lae_hidden", "lae_batch_size"):
            if int(hp[key]) < 1:
                raise ValueError(f"dsah: {key} must be a positive integer, got {hp[key]!r}")
        if int(hp["lae_steps"]) < 0:
            raise ValueError(f"dsah: lae_steps must be >= 0, got {hp['lae_steps']!r}")
        if hp["init_codes"] not in ("lae", "random"):
            raise ValueError(f"dsah: init_codes must be 'lae' or 'random', got {hp['init_codes']!r}")
        if hp["mu"] < 0 or hp["nu"] < 0:
            raise ValueError(f"dsah: mu and nu must be non-negative, got {hp['mu']!r}, {hp['nu']!r}")
        self.lae_criterion = LabelAutoEncoderLoss(n_bits, alpha=hp["alpha"], beta=hp["beta"])
        self.register_buffer("label_codes", torch.zeros(0, n_bits))  # l of the training items
        self.lae_history: list[float] = []

    # ---- network ---------------------------------------------------------------------
    def build(self, make_backbone: BackboneFactory) -> None:
        """ImgNet (backbone + FC/tanh hash layer) and the LAE (frozen outside pre-training)."""
        super().build(make_backbone)
        self.lae = LabelAutoEncoder(self.n_classes, self.n_bits, hidden=int(self.hparams["lae_hidden"]))
        self.lae.to(self._device())
        self.lae.requires_grad_(False)

    # ---- the label auto-encoder ------------------------------------------------------
    def lae_objective(self, labels: torch.Tensor) -> torch.Tensor:
        """The LAE loss on labels (n, n_classes), all pairs at once (no gradient)."""
        with torch.no_grad():
            labels = labels.float().to(self._device())
            codes, logits = self.lae(labels)
            return self.lae_criterion(codes, logits, labels)

    def pretrain_lae(self, labels: torch.Tensor, generator: torch.Generator) -> list[float]:
        """Pre-train the LAE on ``labels`` (n, n_classes); returns the loss of every step."""
        hp = self.hparams
        labels = labels.float().to(self._device())
        n = labels.shape[0]
        batch = min(int(hp["lae_batch_size"]), n)
        if batch < 2:
            raise ValueError(f"dsah: the LAE needs at least 2 training labels, got {n}")
        self.lae.requires_grad_(True)
        self.lae.train()
        opt = torch.optim.Adam(self.lae.parameters(), lr=float(hp["lae_lr"]))
        history = []
        threads = torch.get_num_threads()
        if labels.device.type == "cpu":
            torch.set_num_threads(1)  # tiny matrices: thread synchronisation costs more than it gains
        try:
            with torch.enable_grad():
                for _ in range(int(hp["lae_steps"])):
                    idx = torch.randint(n, (batch,), generator=generator)
                    y = labels[idx.to(labels.device)]
                    codes, logits = self.lae(y)
                    loss = self.lae_criterion(codes, logits, y)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    history.append(loss.detach())
        finally:
            torch.set_num_threads(threads)
            self.lae.requires_grad_(False)
            self.lae.eval()
        return [float(v) for v in history]

    # ---- training hooks --------------------------------------------------------------
    def setup(self, train_labels: torch.Tensor, generator: torch.Generator) -> None:
        """ADSH's setup, then pre-train the LAE, store its codes L and start V at sign(L)."""
        if train_labels.dim() != 2 or train_labels.shape[1] != self.n_classes:
            raise ValueError(
                f"dsah: train_labels must have shape (n_train, {self.n_classes}), "
                f"got {tuple(train_labels.shape)}"
            )
        super().setup(train_labels, generator)  # labels, random V, u_bank
        self.lae_history = self.pretrain_lae(self.train_labels, generator)
        with torch.no_grad():
            self.label_codes = self.lae.encode(self.train_labels)
        if self.hparams["init_codes"] == "lae":
            self.codes = binarize(self.label_codes)

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """ADSH's network loss + ``mu * ||u_i - l_i||^2 / (n * batch)``."""
        base = super().loss(u, labels, index)
        l_batch = self.label_codes[index.to(self.label_codes.device)]
        return base + label_code_penalty(
            u, l_batch, n_database=self.codes.shape[0], mu=float(self.hparams["mu"])
        )

    @torch.no_grad()
    def end_epoch(self, epoch: int) -> None:
        """The code step: ADSH's closed-form update with the target term nu ||V - sign(L)||^2."""
        if self.omega.numel() == 0 or self.codes.shape[0] == 0:
            return
        s = self.train_similarity(self.train_labels[self.omega])
        self.codes = adsh_update_codes(
            self.codes,
            self.u_bank[self.omega],
            s,
            self.omega,
            gamma=float(self.hparams["gamma"]),
            target_codes=binarize(self.label_codes),
            nu=float(self.hparams["nu"]),
        ).to(self.codes)
