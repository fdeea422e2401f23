"""Metrics read torch tensors, also ones that require grad (issue 16, case 8): the values
are the same as for the NumPy arrays, and bad tensors still get the metrics' ValueError."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hashlib_core import metrics as M


def _data():
    rng = np.random.default_rng(0)
    q = np.where(rng.random((12, 16)) > 0.5, 1.0, -1.0).astype(np.float32)
    d = np.where(rng.random((40, 16)) > 0.5, 1.0, -1.0).astype(np.float32)
    ql = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 12)]
    dl = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 40)]
    return q, d, ql, dl


PAIRED = [
    lambda q, d, ql, dl: M.mean_average_precision(q, d, ql, dl, topk=10),
    lambda q, d, ql, dl: M.average_precision(q, d, ql, dl),
    lambda q, d, ql, dl: M.precision_at_n(q, d, ql, dl, n=[5, 10]),
    lambda q, d, ql, dl: M.precision_within_radius(q, d, ql, dl, radius=2),
    lambda q, d, ql, dl: M.recall_within_radius(q, d, ql, dl, radius=2),
    lambda q, d, ql, dl: M.precision_recall_curve(q, d, ql, dl),
    lambda q, d, ql, dl: M.hamming_distance(q, d),
    lambda q, d, ql, dl: M.bit_correlation(q),
    lambda q, d, ql, dl: M.mean_absolute_correlation(d),
    lambda q, d, ql, dl: M.bit_balance(d),
    lambda q, d, ql, dl: M.pack_codes(q),
]


@pytest.mark.parametrize("metric", PAIRED)
def test_tensors_that_require_grad_give_the_numpy_values(metric):
    arrays = _data()
    tensors = [torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays]
    expected = metric(*arrays)
    got = metric(*tensors)
    for e, g in zip(np.atleast_1d(np.asarray(expected, dtype=object)),
                    np.atleast_1d(np.asarray(got, dtype=object))):
        np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(e, dtype=float))


def test_a_bad_tensor_is_still_a_value_error():
    q, d, ql, dl = _data()
    bad = torch.from_numpy(q * 0.5).requires_grad_(True)
    with pytest.raises(ValueError, match=r"query_codes must be binary .* found 0.5"):
        M.mean_average_precision(bad, d, ql, dl)
    with pytest.raises(ValueError, match="codes must be 2-D"):
        M.bit_balance(torch.ones(5, requires_grad=True))
