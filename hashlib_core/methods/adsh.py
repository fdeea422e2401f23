r"""ADSH: asymmetric deep supervised hashing.

Jiang and Li, "Asymmetric Deep Supervised Hashing", AAAI 2018.

Query points are encoded by the network, :math:`u_i = \tanh(F(x_i;\Theta))`; the codes
:math:`V \in \{-1,+1\}^{n \times K}` of **all** n training (database) points are
optimised directly. Objective (:mod:`hashlib_core.losses.adsh`), with the official
code's soft targets :math:`S_{ij} \in \{1, -r\}` (:func:`~hashlib_core.losses.adsh.soft_similarity`,
r = #similar / #dissimilar pairs between the sample and the training set, computed at
each outer iteration) and a sample :math:`\Omega` of m training points:

.. math::

    \min_{\Theta, V} \sum_{i \in \Omega} \sum_{j=1}^{n}
        \left(u_i^\top v_j - K S_{ij}\right)^2
      + \gamma \sum_{i \in \Omega} \lVert v_i - u_i \rVert_2^2 .

Alternating optimisation, one **outer iteration per engine epoch**:

1. :meth:`ADSH.epoch_indices` draws :math:`\Omega` (m = ``min(num_samples, n)``
   points, seeded) and returns it ``inner_epochs`` times, each pass in a fresh random
   order: the engine's epoch is then ADSH's "T_in epochs over the sampled points";
2. :meth:`ADSH.loss`: the network step, V fixed; it writes the latest output of each
   sampled item into a memory ``u_bank``;
3. :meth:`ADSH.end_epoch`: V updated bit by bit in closed form from the outputs U of
   :math:`\Omega` (:func:`~hashlib_core.losses.adsh.adsh_update_codes`).

:meth:`ADSH.train_database_codes` returns V: the database codes of the training items
are the learned ones, the queries (and database items outside the training set) are
encoded by the network. The paper's setting: gamma = 200, m = 2,000, T_in = 3, 50 outer
iterations (so 50 engine epochs), batch 64.

Our choices: V starts from random signs drawn with the run's generator (the official
PyTorch code starts from zeros; both are fine for the first code step, which
overwrites V); ``num_samples`` is capped at the number of training items (the small
protocols have fewer than 2,000).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from hashlib_core.losses.adsh import (
    adsh_network_loss,
    adsh_update_codes,
    similarity_ratio,
    soft_similarity,
)
from hashlib_core.methods import register
from hashlib_core.methods._state import SizedBuffers
from hashlib_core.methods.base import DeepHashMethod


@register
class ADSH(SizedBuffers, DeepHashMethod):
    """ADSH: network for queries, directly optimised codes V for the training set.

    Parameters
    ----------
    n_bits : int
        Code length K.
    n_classes : int
        Width of the multi-hot labels.
    **overrides
        ``gamma`` (200), ``num_samples`` (2000), ``inner_epochs`` (3).
    """

    name = "adsh"
    asymmetric = True
    citation = "Q.-Y. Jiang, W.-J. Li. Asymmetric Deep Supervised Hashing. AAAI 2018."
    defaults: ClassVar[dict[str, Any]] = {"gamma": 200.0, "num_samples": 2000, "inner_epochs": 3}
    reconstructed: ClassVar[tuple[str, ...]] = ()
    bank_buffers: ClassVar[tuple[str, ...]] = ("u_bank",)

    def __init__(self, n_bits: int, n_classes: int, **overrides: Any) -> None:
        super().__init__(n_bits, n_classes, **overrides)
        hp = self.hparams
        if int(hp["num_samples"]) <= 0 or int(hp["inner_epochs"]) <= 0:
            raise ValueError(
                f"adsh: num_samples and inner_epochs must be positive, got "
                f"{hp['num_samples']} and {hp['inner_epochs']}"
            )
        self.register_buffer("train_labels", torch.zeros(0, n_classes))
        self.register_buffer("codes", torch.zeros(0, n_bits))  # V, (n_train, K)
        self.register_buffer("u_bank", torch.zeros(0, n_bits))  # latest u of each item
        self.register_buffer("omega", torch.zeros(0, dtype=torch.long))  # sampled points
        # r of the soft similarity over (omega x training set), set at each outer iteration
        self.register_buffer("sim_ratio", torch.zeros(()))

    def setup(self, train_labels: torch.Tensor, generator: torch.Generator) -> None:
        """Store the training labels; V from random signs, u_bank at 0."""
        device = self._device()
        n = train_labels.shape[0]
        self.train_labels = train_labels.detach().float().to(device)
        signs = torch.randint(0, 2, (n, self.n_bits), generator=generator).float() * 2 - 1
        self.codes = signs.to(device)
        self.u_bank = torch.zeros(n, self.n_bits, device=device)
        self.omega = torch.zeros(0, dtype=torch.long, device=device)

    def epoch_indices(
        self, epoch: int, n_train: int, generator: torch.Generator
    ) -> torch.Tensor | None:
        """The sampled points of this outer iteration, ``inner_epochs`` passes in a row."""
        m = min(int(self.hparams["num_samples"]), int(n_train))
        omega = torch.randperm(n_train, generator=generator)[:m]
        self.omega = omega.to(self.omega.device)
        self.sim_ratio.fill_(self._sample_ratio(self.train_labels[self.omega]))
        passes = [
            omega[torch.randperm(m, generator=generator)]
            for _ in range(int(self.hparams["inner_epochs"]))
        ]
        return torch.cat(passes)

    def similarity(self, labels_a: torch.Tensor, labels_b: torch.Tensor) -> torch.Tensor:
        """The soft targets S with this outer iteration's ratio r (computed on the fly
        before the first sample is drawn, e.g. when ``loss`` is called directly)."""
        r = float(self.sim_ratio)
        return soft_similarity(labels_a, labels_b, ratio=r if r > 0 else None)

    def train_similarity(self, labels: torch.Tensor) -> torch.Tensor:
        """S between ``labels`` and the whole training set: :meth:`similarity`, bit for bit.

        A row of S depends only on the item's label vector, and a single-label dataset
        has a handful of them (CIFAR-10: 10). The rows of each distinct label vector are
        made once per outer iteration (:class:`_TargetRows`) and gathered, instead of a
        (batch x n) product and three passes over it at every step: the same
        floating-point operations on the same values, so the same S."""
        r = float(self.sim_ratio)
        rows = self._target_rows()
        if r > 0 and rows is not None:
            s = rows.targets(labels, r)
            if s is not None:
                return s
        return self.similarity(labels, self.train_labels.to(labels))

    def _target_rows(self) -> _TargetRows | None:
        t = self.train_labels  # in-place changes (load_state_dict) bump its _version
        key = (t.data_ptr(), tuple(t.shape), t._version)
        if getattr(self, "_rows_key", None) != key:
            self._rows_key = key
            self._rows = _TargetRows.of(self.train_labels)
        return self._rows

    def _sample_ratio(self, sample_labels: torch.Tensor) -> float:
        """r of the sample against the training set (:func:`similarity_ratio`, from the
        per-pattern counts of :class:`_TargetRows` when there are few label vectors)."""
        rows = self._target_rows()
        ratio = rows.ratio(sample_labels) if rows is not None else None
        return similarity_ratio(sample_labels, self.train_labels) if ratio is None else ratio

    def _check_ready(self) -> None:
        if self.codes.shape[0] == 0:
            raise ValueError("adsh: loss() called before setup() (no database codes V yet)")

    def loss(self, u: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        self._check_ready()
        if index.shape != (u.shape[0],):
            raise ValueError(
                f"adsh: index must have shape ({u.shape[0]},), got {tuple(index.shape)}"
            )
        idx = index.to(self.codes.device)
        s = self.train_similarity(labels.to(u.dtype))
        v = self.codes.to(u)
        if self.training:
            self.u_bank[idx] = u.detach().to(self.u_bank)
        return adsh_network_loss(
            u, s.to(u), v, v[idx.to(v.device)], gamma=float(self.hparams["gamma"])
        )

    @torch.no_grad()
    def end_epoch(self, epoch: int) -> None:
        """The code step: V updated bit by bit in closed form from U of the sampled points."""
        if self.omega.numel() == 0 or self.codes.shape[0] == 0:
            return
        u = self.u_bank[self.omega]
        s = self.train_similarity(self.train_labels[self.omega])
        self.codes = adsh_update_codes(
            self.codes, u, s, self.omega, gamma=float(self.hparams["gamma"])
        ).to(self.codes)

    def train_database_codes(self) -> torch.Tensor | None:
        """V: the learned {-1,+1} codes of the training items, (n_train, K)."""
        if self.codes.shape[0] == 0:
            return None
        return self.codes.clone()


class _TargetRows:
    """The rows of ADSH's soft targets S, one per distinct label vector of the training
    set, to gather instead of recomputing (:meth:`ADSH.train_similarity`).

    Made only for 0/1 labels with at most :attr:`MAX_PATTERNS` distinct vectors (a
    multi-label set with thousands of label combinations keeps the direct product)."""

    MAX_PATTERNS = 64

    def __init__(self, patterns: torch.Tensor, share: torch.Tensor) -> None:
        self.patterns = patterns  # (P, C) distinct label vectors
        self.share = share  # (P, n) bool: pattern p shares a label with item j
        self.counts = share.sum(dim=1)  # (P,) int64: items sharing a label
        self._made: dict[tuple[torch.dtype, float], torch.Tensor] = {}

    @classmethod
    def of(cls, train_labels: torch.Tensor) -> _TargetRows | None:
        if train_labels.numel() == 0 or not bool(((train_labels == 0) | (train_labels == 1)).all()):
            return None
        patterns = torch.unique(train_labels, dim=0)
        if patterns.shape[0] > cls.MAX_PATTERNS:
            return None
        dtype = train_labels.dtype if train_labels.is_floating_point() else torch.float32
        share = patterns.to(dtype) @ train_labels.to(dtype).T > 0
        return cls(patterns, share)

    def index(self, labels: torch.Tensor) -> torch.Tensor | None:
        """The pattern of each row of ``labels``; None when a row is none of them."""
        same = (labels[:, None, :] == self.patterns[None].to(labels)).all(dim=2)
        if not bool(same.any(dim=1).all()):
            return None
        return same.to(torch.int8).argmax(dim=1)

    def targets(self, labels: torch.Tensor, ratio: float) -> torch.Tensor | None:
        """S of ``labels`` against the training set, as :func:`soft_similarity` makes it
        (``share * (1 + r) - r`` in the labels' dtype), or None (a label vector unseen)."""
        idx = self.index(labels)
        if idx is None:
            return None
        dtype = labels.dtype if labels.is_floating_point() else torch.float32
        key = (dtype, ratio)
        if key not in self._made:
            self._made = {key: self.share.to(dtype) * (1.0 + ratio) - ratio}
        return self._made[key][idx.to(self.share.device)]

    def ratio(self, labels: torch.Tensor) -> float | None:
        """:func:`similarity_ratio` of ``labels`` against the training set, from counts."""
        idx = self.index(labels)
        if idx is None:
            return None
        n_sim = int(self.counts[idx.to(self.counts.device)].sum())
        n_dis = labels.shape[0] * self.share.shape[1] - n_sim
        if n_dis == 0:
            raise ValueError(
                f"similarity_ratio: all {labels.shape[0] * self.share.shape[1]} pairs share "
                "a label; ADSH's soft similarity needs dissimilar pairs")
        return n_sim / n_dis
