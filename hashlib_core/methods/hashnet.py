r"""HashNet: deep learning to hash by continuation.

Cao, Long, Wang and Yu, "HashNet: Deep Learning to Hash by Continuation", ICCV 2017.
Official code: github.com/thuml/HashNet (``pytorch/src``).

Network: backbone + FC hash layer with a scaled tanh whose scale grows during training
(continuation towards sign):

.. math::

    h = \tanh(\beta z), \qquad z = W^\top\phi(x) + v, \qquad
    \beta_t = \beta_0\,(1 + \gamma t)^{p},

:math:`\beta_0 = 1`, :math:`\gamma = 0.005`, :math:`p = 0.5`, t updated every 200
iterations (the official hash layer's schedule, ``step_size = 200``), over the official
run of T = 10,000 iterations, so :math:`\beta` ends at :math:`\sqrt{51} \approx 7.14`.
A run of another length follows the same schedule in proportion: t is the fraction of
the run's training items seen so far times T (``schedule_iterations``), so every run
ends at the paper's final :math:`\beta` (``schedule_iterations=None`` counts this run's
own iterations instead, as the official code). Codes :math:`\operatorname{sign}(z)`.

Loss (:class:`hashlib_core.losses.hashnet.HashNetLoss`): class-balanced pairwise
cross-entropy on :math:`\theta_{ij} = \alpha h_i^\top h_j`, :math:`\alpha = 10/K`, over
the ordered pairs i != j of the mini-batch (the official code pairs two independent
batches; here one batch is paired with itself).

Hyper-parameters: ``alpha`` (None = 10/K), ``beta0`` (1), ``gamma`` (0.005), ``power``
(0.5), ``step_size`` (200), ``schedule_iterations`` (10,000), ``weighting``
("balanced"), ``head_lr_mult`` (1; the paper's 10 is for fine-tuning: the new hash
layer learns 10 times faster than the pre-trained layers below it. Every layer here
starts from scratch, where that purpose is gone, and under Adam the tenfold rate
saturates :math:`\tanh(\beta z)` within the first epoch: at the cpu scale, 3 epochs,
32 bits, the first epoch's loss is 2.32 with 10, above the 2 log 2 = 1.39 of all-zero
outputs, and 1.43 with 1; validation mAP 0.17 against 0.23. Pass ``head_lr_mult=10``
with a pre-trained backbone.)
"""

from __future__ import annotations

import math
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
        ``alpha``, ``beta0``, ``gamma``, ``power``, ``step_size``, ``schedule_iterations``,
        ``weighting``, ``head_lr_mult``.

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
        "step_size": 200,
        "schedule_iterations": 10000,
        "weighting": "balanced",
        "head_lr_mult": 1.0,
    }
    reconstructed: ClassVar[tuple[str, ...]] = ("head_lr_mult",)

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        alpha = None if hp["alpha"] is None else float(hp["alpha"])
        self.criterion = HashNetLoss(n_bits, alpha=alpha, weighting=str(hp["weighting"]))
        for key in ("step_size", "schedule_iterations"):
            value = hp[key]
            if value is not None and (not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(f"hashnet: {key} must be a positive number, got {value!r}")
        #: training iterations so far, and training items seen so far (this process)
        self.register_buffer("iteration", torch.zeros((), dtype=torch.int64))
        self.register_buffer("items_seen", torch.zeros((), dtype=torch.int64))
        #: training items per epoch (set by setup) and epochs of the run (by begin_epoch)
        self.register_buffer("n_train", torch.zeros((), dtype=torch.int64))
        self.register_buffer("n_epochs", torch.zeros((), dtype=torch.int64))

    def build(self, make_backbone) -> None:
        from hashlib_core.models.heads import HashHead

        self.backbone, feature_dim = make_backbone()
        self.head = HashHead(feature_dim, self.n_bits, activation="identity")

    def setup(self, train_labels: torch.Tensor, generator: torch.Generator) -> None:
        self.n_train.fill_(int(train_labels.shape[0]))

    def begin_epoch(self, epoch: int, n_epochs: int) -> None:
        self.n_epochs.fill_(int(n_epochs))

    def progress(self) -> float | None:
        """Fraction of the run's training items seen so far (None before setup/begin_epoch).

        Under DistributedDataParallel each process sees ``ceil(n_train / world_size)``
        items per epoch.
        """
        n_train, n_epochs = int(self.n_train), int(self.n_epochs)
        if n_train <= 0 or n_epochs <= 0:
            return None
        world = 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            world = torch.distributed.get_world_size()
        per_epoch = math.ceil(n_train / world)
        return min(1.0, int(self.items_seen) / (per_epoch * n_epochs))

    def schedule_time(self) -> int:
        """The official schedule's iteration t: this run's progress mapped onto T
        iterations (or this run's own iterations), rounded down to a multiple of the step."""
        hp = self.hparams
        total = hp["schedule_iterations"]
        progress = self.progress()
        if total is None or progress is None:
            t = float(self.iteration)
        else:
            t = progress * float(total)
        step = float(hp["step_size"])
        return int(math.floor(t / step + 1e-9) * step)

    def beta(self) -> float:
        """Current tanh scale :math:`\\beta_0 (1 + \\gamma t)^p`."""
        hp = self.hparams
        t = float(self.schedule_time())
        return float(hp["beta0"]) * (1.0 + float(hp["gamma"]) * t) ** float(hp["power"])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.training:  # as the official layer: the iteration is counted, then the scale read
            self.iteration += 1
            self.items_seen += int(images.shape[0])
        return torch.tanh(self.beta() * self.head(self.backbone(images)))

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        mult = float(self.hparams["head_lr_mult"])
        head = [p for p in self.head.parameters() if p.requires_grad]
        ids = {id(p) for p in head}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in ids]
        return [{"params": rest, "lr": lr}, {"params": head, "lr": lr * mult}]

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return self.criterion(u, labels)
