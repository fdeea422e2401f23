"""Packing, Hamming distances, radius lookup metrics and bit statistics vs brute force."""

from __future__ import annotations

import numpy as np
import pytest
import test_metrics_reference as ref

from hashlib_core.metrics import (
    bit_balance,
    bit_correlation,
    hamming_distance,
    mean_absolute_correlation,
    pack_codes,
    precision_recall_curve,
    precision_within_radius,
    recall_within_radius,
)


@pytest.mark.parametrize("n_bits", [1, 7, 8, 63, 64, 65, 130, 300])
def test_hamming_distance_matches_brute_force(n_bits):
    rng = np.random.default_rng(n_bits)
    q = rng.choice([-1, 1], size=(9, n_bits))
    db = rng.choice([-1, 1], size=(23, n_bits))
    got = hamming_distance(q, db)
    np.testing.assert_array_equal(got, ref.distances(q, db))
    assert got.dtype == (np.uint8 if n_bits <= 255 else np.uint16)
    # {0,1} and bool inputs give the same distances; chunking does not matter
    np.testing.assert_array_equal(hamming_distance(q > 0, (db > 0).astype(np.uint8)), got)
    np.testing.assert_array_equal(hamming_distance(q, db, chunk_size=2), got)
    # for {-1,+1} codes d = (n_bits - <q, x>) / 2
    np.testing.assert_array_equal(got, (n_bits - q @ db.T) // 2)


def test_pack_codes_is_packbits_of_positive_bits():
    rng = np.random.default_rng(0)
    codes = rng.choice([-1.0, 1.0], size=(5, 21))
    packed = pack_codes(codes)
    assert packed.dtype == np.uint8 and packed.shape == (5, 3)
    np.testing.assert_array_equal(packed, np.packbits(codes > 0, axis=1))
    np.testing.assert_array_equal(
        np.unpackbits(packed, axis=1, count=21), (codes > 0).astype(np.uint8)
    )


def lookup_problem(seed, multi=False):
    rng = np.random.default_rng(seed)
    q = rng.choice([-1, 1], size=(10, 6))
    db = rng.choice([-1, 1], size=(50, 6))
    if multi:
        ql = (rng.random((10, 4)) < 0.4).astype(int)
        dl = (rng.random((50, 4)) < 0.4).astype(int)
        ql[:, 0] = 1
        dl[0] = 1
        return q, db, ql, dl
    return q, db, rng.integers(0, 3, 10), rng.integers(0, 3, 50)


@pytest.mark.parametrize("multi", [False, True])
def test_precision_recall_curve_micro_and_macro_match_brute_force(multi):
    q, db, ql, dl = lookup_problem(1, multi)
    ret, good, n_rel = ref.radius_counts(q, db, ql, dl)
    p, r, radii = precision_recall_curve(q, db, ql, dl)
    np.testing.assert_array_equal(radii, np.arange(7))
    sum_ret, sum_good = ret.sum(axis=0), good.sum(axis=0)
    want_p = np.where(sum_ret > 0, sum_good / np.maximum(sum_ret, 1), 0.0)
    np.testing.assert_allclose(p, want_p, atol=1e-12)
    np.testing.assert_allclose(r, sum_good / n_rel.sum(), atol=1e-12)
    assert r[-1] == 1.0 and np.all(np.diff(r) >= 0)
    pm, rm, _ = precision_recall_curve(q, db, ql, dl, average="macro")
    per_q_p = np.where(ret > 0, good / np.maximum(ret, 1), 0.0)
    np.testing.assert_allclose(pm, per_q_p.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(rm, (good / n_rel[:, None]).mean(axis=0), atol=1e-12)


@pytest.mark.parametrize("radius_", [0, 1, 2, 6])
def test_radius_precision_and_recall_match_brute_force(radius_):
    q, db, ql, dl = lookup_problem(2)
    ret, good, n_rel = ref.radius_counts(q, db, ql, dl)
    want_p = np.mean([g / t if t else 0.0 for g, t in zip(good[:, radius_], ret[:, radius_])])
    want_r = np.mean(good[:, radius_] / n_rel)
    assert np.isclose(precision_within_radius(q, db, ql, dl, radius=radius_), want_p, atol=1e-12)
    assert np.isclose(recall_within_radius(q, db, ql, dl, radius=radius_), want_r, atol=1e-12)


def test_query_with_nothing_returned_counts_as_precision_zero():
    q = [[1, 1, 1, 1], [-1, -1, -1, -1]]
    db = [[1, 1, 1, 1], [1, 1, 1, -1]]
    # query 0 returns both items (one relevant), query 1 returns nothing within radius 2
    assert precision_within_radius(q, db, [0, 0], [0, 1], radius=2) == pytest.approx(0.25)
    assert recall_within_radius(q, db, [0, 0], [0, 1], radius=2) == pytest.approx(0.5)


def test_empty_queries_in_lookup_metrics():
    q = [[1, 1], [1, -1]]
    db = [[1, 1], [1, -1], [-1, -1]]
    with pytest.warns(RuntimeWarning, match="1 of 2"):
        assert recall_within_radius(q, db, [0, 9], [0, 1, 0], radius=0, empty="skip") == 0.5
    with pytest.warns(RuntimeWarning, match="1 of 2"):
        assert recall_within_radius(q, db, [0, 9], [0, 1, 0], radius=0) == 0.25
    with pytest.warns(RuntimeWarning, match="1 of 2"):
        _, r, _ = precision_recall_curve(q, db, [0, 9], [0, 1, 0], average="macro", empty="skip")
    np.testing.assert_allclose(r, [0.5, 0.5, 1.0])


def test_bit_correlation_and_mac_match_corrcoef():
    rng = np.random.default_rng(4)
    base = rng.choice([-1, 1], size=(200, 6))
    base[:, 1] = base[:, 0] * np.where(rng.random(200) < 0.1, -1, 1)  # strongly correlated pair
    corr = bit_correlation(base)
    np.testing.assert_allclose(corr, ref.correlation(base), atol=1e-12)
    np.testing.assert_allclose(corr, np.corrcoef(base.T), atol=1e-12)
    upper = np.abs(ref.correlation(base)[np.triu_indices(6, 1)])
    assert mean_absolute_correlation(base) == pytest.approx(upper.mean(), abs=1e-12)
    assert corr[0, 1] > 0.7


def test_constant_bit_has_zero_correlation_and_warns():
    codes = np.array([[1, 1, -1], [1, -1, 1], [1, 1, 1], [1, -1, -1]])
    with pytest.warns(RuntimeWarning, match="1 of 3 bits are constant"):
        corr = bit_correlation(codes)
    np.testing.assert_array_equal(corr[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(corr, ref.correlation(codes), atol=1e-12)


def test_bit_balance():
    assert bit_balance([[1, -1], [-1, 1]]) == 0.0
    assert bit_balance([[1, -1], [1, -1]]) == 1.0
    rng = np.random.default_rng(0)
    codes = rng.choice([-1, 1], size=(300, 16))
    assert bit_balance(codes) == pytest.approx(np.abs(codes.mean(axis=0)).mean())
