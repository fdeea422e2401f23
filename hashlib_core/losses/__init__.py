"""Losses, one per file; this module only re-exports (see STYLE.md)."""

from hashlib_core.losses.base import (
    HashLoss,
    cosine_label_similarity,
    label_similarity,
    to_multi_hot,
)

__all__ = ["HashLoss", "cosine_label_similarity", "label_similarity", "to_multi_hot"]
