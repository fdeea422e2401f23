"""Base classes shared by every hashing method.

Two kinds of method live in one registry:

* ``kind = "deep"``: a :class:`DeepHashMethod` is an ``nn.Module`` that owns its network
  (backbone + hash head, or more), its loss and any state it trains besides weights
  (memory banks, hash centres, directly optimised database codes). The engine
  (:mod:`hashlib_core.engine`) drives it through the hooks below and never needs to
  know which method it trains.
* ``kind = "shallow"``: a :class:`ShallowHashMethod` is scikit-learn style:
  ``fit(features, labels)`` then ``encode(features)``.

Conventions (STYLE.md): ``n_bits``, ``n_classes``; ``codes`` in {-1,+1};
``labels`` inside methods are always float multi-hot tensors of shape (n, n_classes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

BackboneFactory = Callable[[], tuple[nn.Module, int]]
"""Called with no argument, returns a fresh ``(backbone, feature_dim)``."""


def _check_sizes(name: str, n_bits: int, n_classes: int) -> None:
    if not isinstance(n_bits, (int, np.integer)) or isinstance(n_bits, bool) or n_bits <= 0:
        raise ValueError(f"{name}: n_bits must be a positive integer, got {n_bits!r}")
    if not isinstance(n_classes, (int, np.integer)) or isinstance(n_classes, bool) or n_classes <= 0:
        raise ValueError(f"{name}: n_classes must be a positive integer, got {n_classes!r}")


class _HyperParameters:
    """Mixin: paper defaults in ``defaults``, overridable by keyword, unknown keys refused."""

    name: ClassVar[str] = "?"
    defaults: ClassVar[dict[str, Any]] = {}
    #: names of hyper-parameters that are reconstructions (not stated by the source paper)
    reconstructed: ClassVar[tuple[str, ...]] = ()
    #: the method's result revision, raised when a change of its code changes the codes a
    #: seeded run gives; stored runs of an earlier revision are made again (the runner)
    #: and left out of the book until then (:mod:`hashlib_core.results.revisions`)
    revision: ClassVar[int] = 1
    #: what the latest revision changed, for the runner's "rerun" line and the pages
    revision_note: ClassVar[str] = ""

    def _set_hparams(self, overrides: dict[str, Any]) -> None:
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown hyper-parameter(s) {unknown}; "
                f"known: {sorted(self.defaults)}"
            )
        self.hparams: dict[str, Any] = {**self.defaults, **overrides}


class DeepHashMethod(_HyperParameters, nn.Module):
    """A deep hashing method: network, loss and training hooks.

    Subclasses set ``name``, ``citation``, ``defaults`` and implement :meth:`loss`;
    they override the other hooks only where their paper's procedure needs it.

    The engine calls, in order::

        method.build(make_backbone)              # once
        method.setup(train_labels, generator)    # once, before training (targets, centres, V)
        for epoch in range(n_epochs):
            idx = method.epoch_indices(epoch, n_train, generator)  # None = all training items
            method.begin_epoch(epoch, n_epochs)
            for images, labels, index in batches(idx):
                out = method(images)             # relaxed codes u, shape (batch, n_bits)
                loss = method.loss(out, labels, index)
                loss.backward(); optimiser.step()
            method.end_epoch(epoch)
        codes = method.encode_query(images)      # {-1,+1}, shape (n, n_bits)
        codes = method.encode_database(images)
        v = method.train_database_codes()        # asymmetric methods: learned codes of the
                                                 # training items (used in the database)

    Everything a method must keep across a checkpoint is a parameter or a registered
    buffer, so ``state_dict()`` captures it and resume gives the same result.
    """

    kind: ClassVar[str] = "deep"
    citation: ClassVar[str] = ""
    #: True when database codes of training items are optimised directly (ADSH, DSAH, ...)
    asymmetric: ClassVar[bool] = False
    #: buffers of shape (n_train, ...) written row by row at the batch's ``index`` (memory
    #: banks). Under DistributedDataParallel each rank writes only the rows of its shard;
    #: the engine merges them across ranks before :meth:`end_epoch` reads them.
    bank_buffers: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every subclass's ``loss`` first runs :meth:`check_batch` (clear errors for bad
        shapes, e.g. labels wider than ``n_classes``), whatever the subclass checks itself."""
        super().__init_subclass__(**kwargs)
        inner = cls.__dict__.get("loss")
        if inner is None or getattr(inner, "_checks_batch", False):
            return

        @functools.wraps(inner)
        def loss(self, u, labels, index):
            self.check_batch(u, labels, index)
            return inner(self, u, labels, index)

        loss._checks_batch = True  # type: ignore[attr-defined]
        cls.loss = loss  # type: ignore[method-assign]

    def check_batch(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``u`` is (B, n_bits), ``labels`` (B, n_classes), ``index`` (B,).

        Labels must be the float multi-hot matrix the engine passes (integer class
        vectors are converted by the engine's datasets, not here).
        """
        if not isinstance(labels, torch.Tensor) or labels.dim() != 2 or labels.shape[1] != self.n_classes:
            shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ValueError(f"{self.name}: labels must have shape (batch, n_classes={self.n_classes}), got {shape}")
        b = labels.shape[0]
        if isinstance(u, torch.Tensor) and (u.dim() != 2 or u.shape != (b, self.n_bits)):
            raise ValueError(f"{self.name}: u must have shape ({b}, n_bits={self.n_bits}), got {tuple(u.shape)}")
        if not isinstance(index, torch.Tensor) or index.shape != (b,):
            shape = tuple(index.shape) if isinstance(index, torch.Tensor) else type(index).__name__
            raise ValueError(f"{self.name}: index must have shape ({b},), got {shape}")

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        nn.Module.__init__(self)
        _check_sizes(self.name, n_bits, n_classes)
        self.n_bits = int(n_bits)
        self.n_classes = int(n_classes)
        self._set_hparams(overrides)

    # ---- network -------------------------------------------------------------------
    def build(self, make_backbone: BackboneFactory) -> None:
        """Create the network. Default: one backbone + FC/tanh hash head."""
        from hashlib_core.models.heads import HashHead

        self.backbone, feature_dim = make_backbone()
        self.head = HashHead(feature_dim, self.n_bits)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Relaxed codes ``u`` of shape (batch, n_bits) used by :meth:`loss`."""
        return self.head(self.backbone(images))

    @torch.no_grad()
    def encode_query(self, images: torch.Tensor) -> torch.Tensor:
        """Binary codes in {-1,+1} of shape (batch, n_bits) for query images."""
        return binarize(self(images))

    @torch.no_grad()
    def encode_database(self, images: torch.Tensor) -> torch.Tensor:
        """Binary codes in {-1,+1} for database images (a second network may override)."""
        return self.encode_query(images)

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups; default: every trainable parameter at ``lr``."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]

    # ---- training hooks --------------------------------------------------------------
    def setup(self, train_labels: torch.Tensor, generator: torch.Generator) -> None:
        """Called once before training with all training labels, shape (n_train, n_classes)."""

    def epoch_indices(
        self, epoch: int, n_train: int, generator: torch.Generator
    ) -> torch.Tensor | None:
        """Training items of this epoch (indices into the training set); None = all."""
        return None

    def begin_epoch(self, epoch: int, n_epochs: int) -> None:
        """Schedules (HashNet's continuation, ...)."""

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Scalar loss of a batch: ``u`` (batch, n_bits), ``labels`` (batch, n_classes)
        float multi-hot, ``index`` (batch,) int64 positions in the training set."""
        raise NotImplementedError

    def end_epoch(self, epoch: int) -> None:
        """Closed-form steps after an epoch (ADSH's database-code update, ...)."""

    def train_database_codes(self) -> torch.Tensor | None:
        """Learned {-1,+1} codes of the training items, (n_train, n_bits); None if symmetric."""
        return None


class ShallowHashMethod(_HyperParameters):
    """A shallow method on fixed features (GIST-512 or deep features), scikit-learn style."""

    kind: ClassVar[str] = "shallow"
    citation: ClassVar[str] = ""
    supervised: ClassVar[bool] = False

    def __init__(self, n_bits: int, n_classes: int = 1, *, seed: int = 0, **overrides: Any):
        _check_sizes(self.name, n_bits, n_classes)
        self.n_bits = int(n_bits)
        self.n_classes = int(n_classes)
        self.seed = int(seed)
        self._set_hparams(overrides)

    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> ShallowHashMethod:
        raise NotImplementedError

    def encode(self, features: np.ndarray) -> np.ndarray:
        """Codes in {-1,+1}, int8 array of shape (n, n_bits)."""
        raise NotImplementedError


def binarize(u: torch.Tensor) -> torch.Tensor:
    """sign(u) with sign(0) = +1, so every code is in {-1,+1}."""
    return torch.where(u >= 0, torch.ones_like(u), -torch.ones_like(u))
