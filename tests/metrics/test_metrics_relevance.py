"""metrics.relevance: which database items share a label with a query, against a brute
force over pairs, for class labels and for multi-hot labels wider than one 64-bit word."""

from __future__ import annotations

import numpy as np
import pytest

from hashlib_core.metrics.relevance import Relevance


def _brute(q_labels: np.ndarray, db_labels: np.ndarray) -> np.ndarray:
    if q_labels.ndim == 1:
        return q_labels[:, None] == db_labels[None, :]
    return np.array([[bool(np.any(q & d)) for d in db_labels] for q in q_labels])


@pytest.mark.parametrize("width", [None, 5, 70])
def test_relevance_matches_pairs(width):
    rng = np.random.default_rng(width or 0)
    if width is None:
        q, db = rng.integers(0, 4, 9), rng.integers(0, 5, 23)
    else:
        q, db = rng.random((9, width)) < 0.1, rng.random((23, width)) < 0.1
    want = _brute(q, db)
    rel = Relevance(q, db)
    assert np.array_equal(rel.chunk(0, 9), want)
    assert np.array_equal(rel.chunk(3, 7), want[3:7])
    assert np.array_equal(rel.counts(), want.sum(axis=1))
    rows = list(rel.pattern_rows())
    assert len(rows) == rel.n_patterns
    for i in range(9):  # every query's relevance is that of its label pattern
        assert np.array_equal(rows[rel.pattern_of[i]], want[i])


def test_relevance_refuses_mixed_label_kinds():
    with pytest.raises(ValueError, match="must both be 1-D classes or both 2-D multi-hot"):
        Relevance(np.zeros(3, np.int64), np.zeros((4, 2), bool))
    with pytest.raises(ValueError, match="different label widths"):
        Relevance(np.zeros((3, 2), bool), np.zeros((4, 3), bool))
