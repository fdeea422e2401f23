"""Base class of the hashing losses: shape checks, label conversion, similarity.

A loss is a small ``nn.Module``: ``loss(u, labels)`` returns a scalar tensor.
Subclasses implement :meth:`HashLoss.compute` on validated inputs. What is shared
is injected, not flagged: the pairwise similarity is the ``similarity=`` argument,
by default "share at least one label", so every loss works for single- and
multi-label data alike.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Similarity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def to_multi_hot(labels: torch.Tensor, n_classes: int | None = None) -> torch.Tensor:
    """Integer class labels (n,) -> float multi-hot (n, n_classes); 2-D input is passed through.

    Raises
    ------
    ValueError
        If a class index is negative or not below ``n_classes``, or the input is not 1-D/2-D.
    """
    if labels.dim() == 2:
        if n_classes is not None and labels.shape[1] != n_classes:
            raise ValueError(
                f"labels have width {labels.shape[1]}, expected n_classes={n_classes}"
            )
        return labels.float()
    if labels.dim() != 1:
        raise ValueError(f"labels must be 1-D class indices or 2-D multi-hot, got shape {tuple(labels.shape)}")
    labels = labels.long()
    if n_classes is None:
        n_classes = int(labels.max().item()) + 1 if labels.numel() else 1
    if labels.numel() and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"class labels must lie in [0, {n_classes}), got min {int(labels.min())}, "
            f"max {int(labels.max())}"
        )
    return torch.nn.functional.one_hot(labels, n_classes).float()


def label_similarity(labels_a: torch.Tensor, labels_b: torch.Tensor) -> torch.Tensor:
    """s_ij = 1 when items i and j share at least one label, else 0; shape (n_a, n_b)."""
    return (labels_a.float() @ labels_b.float().T > 0).float()


def cosine_label_similarity(labels_a: torch.Tensor, labels_b: torch.Tensor) -> torch.Tensor:
    """s_ij = cos(y_i, y_j) in [0, 1] (equals ``label_similarity`` for single-label data)."""
    a = torch.nn.functional.normalize(labels_a.float(), dim=1)
    b = torch.nn.functional.normalize(labels_b.float(), dim=1)
    return a @ b.T


class HashLoss(nn.Module):
    """Base: ``forward(u, labels)`` validates and converts, then calls ``compute``.

    Parameters
    ----------
    n_bits : int
        Code length K; ``u`` must have shape (batch, K).
    similarity : callable, optional
        ``similarity(labels_a, labels_b) -> (n_a, n_b)`` tensor; default
        :func:`label_similarity` (share at least one label).
    """

    def __init__(self, n_bits: int, *, similarity: Similarity | None = None) -> None:
        super().__init__()
        if n_bits <= 0:
            raise ValueError(f"n_bits must be positive, got {n_bits}")
        self.n_bits = int(n_bits)
        self.similarity = similarity or label_similarity

    def forward(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if u.dim() != 2 or u.shape[1] != self.n_bits:
            raise ValueError(f"u must have shape (batch, {self.n_bits}), got {tuple(u.shape)}")
        labels = to_multi_hot(labels)
        if labels.shape[0] != u.shape[0]:
            raise ValueError(
                f"u has {u.shape[0]} rows but labels have {labels.shape[0]}"
            )
        return self.compute(u, labels.to(u.dtype))

    def compute(self, u: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
