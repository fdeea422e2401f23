"""The compiled counting sort (numba) gives exactly the numbers of the numpy path and of
a plain stable-argsort loop: ranks, AP, P@N, P-R curves and tie-aware AP."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import test_metrics_reference as ref

from hashlib_core.metrics import (
    _compiled,
    _engine,
    average_precision,
    precision_at_n,
    precision_recall_curve,
)

pytest.importorskip("numba")


def both(monkeypatch, fn, *args, **kwargs):
    """fn under the numba backend and under the numpy backend."""
    out = []
    for name in ("numba", "numpy"):
        monkeypatch.setenv("HASHLIB_METRICS_BACKEND", name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(fn(*args, **kwargs))
    return out


@pytest.mark.parametrize("n_bits", [3, 64, 65, 130, 255, 256])
@pytest.mark.parametrize("multi", [False, True])
def test_same_as_numpy_and_plain_loop(monkeypatch, n_bits, multi):
    q, db, ql, dl = ref.tied_problem(n_bits, 23, 517, n_bits, 5, multi=multi, flip=0.05)
    fast, slow = both(monkeypatch, average_precision, q, db, ql, dl)
    assert np.array_equal(fast, slow)
    assert np.array_equal(fast, ref.stable_argsort_ap(q, db, ql, dl))
    for kw in ({"topk": 100}, {"topk": 100, "denominator": "all"}, {"ties": "expected"},
               {"topk": 300, "ties": "expected"}):
        fast, slow = both(monkeypatch, average_precision, q, db, ql, dl, **kw)
        np.testing.assert_array_equal(fast, slow, err_msg=str(kw))
    fast, slow = both(monkeypatch, precision_at_n, q, db, ql, dl, n=[1, 10, 100, 517])
    np.testing.assert_array_equal(fast, slow)
    fast, slow = both(monkeypatch, precision_recall_curve, q, db, ql, dl)
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


def test_chunk_path_when_patterns_do_not_fit(monkeypatch):
    """Many multi-label patterns beyond the table budget: relevant indices per chunk."""
    monkeypatch.setattr(_engine, "_KEY_TABLE_BYTES", 64)
    q, db, ql, dl = ref.tied_problem(7, 40, 300, 32, 8, multi=True, flip=0.05)
    fast, slow = both(monkeypatch, average_precision, q, db, ql, dl, chunk_size=3)
    assert np.array_equal(fast, slow)
    assert np.array_equal(fast, ref.stable_argsort_ap(q, db, ql, dl))


def test_ranked_chunk_directly():
    """Ranks, row starts, precisions and histograms of one chunk, by hand."""
    from hashlib_core.metrics.hamming import pack_words

    q = np.array([[0, 0, 0, 0]], dtype=np.uint8)
    db = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=np.uint8)
    # distances 2, 0, 2, 1; stable order: 1, 3, 0, 2; relevant items 0 and 2
    pos, starts, prec, h_all, h_rel = _compiled.ranked_chunk(
        pack_words(q), pack_words(db), np.array([0, 2]), np.array([0, 2]), np.array([0]), 4)
    assert pos.tolist() == [2, 3] and starts.tolist() == [0, 2]
    assert prec.tolist() == [1 / 3, 2 / 4]
    assert h_all.tolist() == [[1, 1, 2, 0, 0]] and h_rel.tolist() == [[0, 0, 2, 0, 0]]


def test_backend_switch(monkeypatch):
    monkeypatch.setenv("HASHLIB_METRICS_BACKEND", "numpy")
    assert _compiled.backend() == "numpy"
    monkeypatch.setenv("HASHLIB_METRICS_BACKEND", "numba")
    assert _compiled.backend() == "numba"
    monkeypatch.setenv("HASHLIB_METRICS_BACKEND", "fortran")
    with pytest.raises(ValueError, match="HASHLIB_METRICS_BACKEND must be one of"):
        _compiled.backend()
