"""evaluate(): one pass, the same numbers as the metric functions, on real label statistics."""

from __future__ import annotations

import doctest
import tracemalloc
import warnings

import numpy as np
import pytest

import hashlib_core.evaluation as evaluation
from hashlib_core.evaluation import DEFAULT_PN_CUTOFFS, EvalResult, evaluate
from hashlib_core.metrics import (
    CODE_HEALTH_KEYS,
    CODE_REDUNDANCY_KEYS,
    bit_balance,
    bit_correlation,
    code_health,
    code_redundancy,
    mean_absolute_correlation,
    mean_average_precision,
    precision_at_n,
    precision_recall_curve,
    precision_within_radius,
    recall_within_radius,
)


def noisy_prototype_codes(labels, protos, flip, rng):
    """Codes near the class prototypes ``protos`` (n_classes, n_bits); multi-hot labels
    take the sign of their summed prototypes; each bit flipped with probability ``flip``."""
    labels = np.asarray(labels)
    base = labels @ protos if labels.ndim == 2 else protos[labels]
    base = np.where(base + 0.01 * rng.standard_normal(base.shape) >= 0, 1, -1)
    return np.where(rng.random(base.shape) < flip, -base, base)


def prototypes(n_classes, n_bits, rng):
    return rng.choice([-1.0, 1.0], size=(n_classes, n_bits))


def check_against_metric_functions(res, q, db, ql, dl, topk, radius=2, empty="zero"):
    kw = {"empty": empty}
    assert res.scalars["map"] == pytest.approx(
        mean_average_precision(q, db, ql, dl, topk=topk, **kw), abs=1e-12
    )
    assert res.scalars["map_all"] == pytest.approx(
        mean_average_precision(q, db, ql, dl, **kw), abs=1e-12
    )
    assert res.scalars["map_expected"] == pytest.approx(
        mean_average_precision(q, db, ql, dl, topk=topk, ties="expected", **kw), abs=1e-12
    )
    top_n = min(5000, len(db))
    assert res.scalars["precision_top5000"] == pytest.approx(
        precision_at_n(q, db, ql, dl, n=top_n, **kw)[0], abs=1e-12
    )
    assert res.scalars[f"precision_r{radius}"] == pytest.approx(
        precision_within_radius(q, db, ql, dl, radius=radius, **kw), abs=1e-12
    )
    assert res.scalars[f"recall_r{radius}"] == pytest.approx(
        recall_within_radius(q, db, ql, dl, radius=radius, **kw), abs=1e-12
    )
    p, r, radii = precision_recall_curve(q, db, ql, dl, **kw)
    np.testing.assert_allclose(res.curves["pr_precision"], p, atol=1e-12)
    np.testing.assert_allclose(res.curves["pr_recall"], r, atol=1e-12)
    np.testing.assert_array_equal(res.curves["pr_radius"], radii)
    np.testing.assert_allclose(
        res.curves["pn_precision"],
        precision_at_n(q, db, ql, dl, n=res.curves["pn_n"], **kw),
        atol=1e-12,
    )
    assert res.scalars["mac"] == pytest.approx(mean_absolute_correlation(db), abs=1e-12)
    assert res.scalars["bit_balance"] == pytest.approx(bit_balance(db), abs=1e-12)
    np.testing.assert_allclose(res.curves["bit_correlation"], bit_correlation(db), atol=1e-12)


@pytest.mark.parametrize("topk", [None, 25])
def test_evaluate_equals_the_metric_functions_single_label(topk):
    rng = np.random.default_rng(0)
    ql, dl = rng.integers(0, 5, 40), rng.integers(0, 5, 300)
    protos = prototypes(5, 12, rng)
    q = noisy_prototype_codes(ql, protos, 0.2, rng)
    db = noisy_prototype_codes(dl, protos, 0.2, rng)
    res = evaluate(q, db, ql, dl, topk=topk, pn_cutoffs=[1, 10, 100, 300])
    assert isinstance(res, EvalResult)
    check_against_metric_functions(res, q, db, ql, dl, topk)
    assert 0.3 < res.scalars["map"] <= 1.0  # codes carry the classes: far above chance (0.2)
    assert res.info["topk"] == topk and res.info["top_precision_n"] == 300
    assert set(res.scalars) == {
        "map", "map_all", "map_expected", "precision_top5000", "precision_r2", "recall_r2",
        "mac", "bit_balance", "distinct_bits", "distinct_codes", "constant_bits",
        *(f"query_{k}" for k in CODE_HEALTH_KEYS),
        *CODE_REDUNDANCY_KEYS, *(f"query_{k}" for k in CODE_REDUNDANCY_KEYS),
    }  # fmt: skip
    assert all(isinstance(v, float) for v in res.scalars.values())
    # code health as code_health() computes it, of the database and of the query codes
    for prefix, codes in (("", db), ("query_", q)):
        health = code_health(codes)
        for k in ("distinct_bits", "distinct_codes", "constant_bits"):
            assert res.scalars[prefix + k] == health[k]
    assert res.scalars["query_mac"] == pytest.approx(mean_absolute_correlation(q))
    # redundancy (issue 24) as code_redundancy() computes it, database and query codes
    for prefix, codes in (("", db), ("query_", q)):
        for k, v in code_redundancy(codes).items():
            assert res.scalars[prefix + k] == pytest.approx(v, nan_ok=True)


def read_multi_hot(path, n):
    """The first n multi-hot rows of a hashing list file (``path l_1 ... l_C``)."""
    with open(path) as f:
        rows = [line.split()[1:] for _, line in zip(range(n), f)]
    return np.array(rows, dtype=np.uint8)


@pytest.mark.parametrize("empty", ["zero", "skip"])
def test_evaluate_on_real_nuswide_81_multi_hot_labels(shared_data, empty):
    # real NUS-WIDE label statistics, 81 concepts (two 64-bit label words)
    lists = shared_data / "hashing-lists" / "nuswide_81_m"
    ql = read_multi_hot(lists / "test.txt", 120)
    dl = read_multi_hot(lists / "train.txt", 2500)
    assert ql.shape[1] == 81
    rng = np.random.default_rng(1)
    protos = prototypes(81, 32, rng)
    q = noisy_prototype_codes(ql, protos, 0.15, rng)
    db = noisy_prototype_codes(dl, protos, 0.15, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # queries with no relevant item
        res = evaluate(q, db, ql, dl, topk=1000, empty=empty, pn_cutoffs=[1, 100, 1000, 2500])
        check_against_metric_functions(res, q, db, ql, dl, 1000, empty=empty)
    # a plain per-query stable-argsort mAP@1000 on the same codes
    rel = (ql.astype(int) @ dl.T.astype(int)) > 0
    dist = (32 - q @ db.T) // 2
    aps = []
    for i in range(len(q)):
        if empty == "skip" and not rel[i].any():
            continue
        hits = rel[i][np.argsort(dist[i], kind="stable")][:1000]
        prec = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
        aps.append(prec.mean() if hits.any() else 0.0)
    assert res.scalars["map"] == pytest.approx(np.mean(aps), abs=1e-12)
    assert res.info["n_empty_queries"] == int((~rel.any(axis=1)).sum())


def test_evaluate_on_real_cifar10_pixels_with_lsh(shared_data):
    # real CIFAR-10 images (exact pixels): random-hyperplane codes beat random codes
    z = np.load(shared_data / "cifar10-exact-subset" / "cifar10_exact_1017perbatch.npz")
    x_db = z["data_batch_1_x"].reshape(1017, -1).astype(np.float32)
    x_q = z["test_batch_x"][:200].reshape(200, -1).astype(np.float32)
    dl, ql = z["data_batch_1_y"].astype(int), z["test_batch_y"][:200].astype(int)
    mean = x_db.mean(axis=0)
    w = np.random.default_rng(0).standard_normal((x_db.shape[1], 64)).astype(np.float32)
    q, db = np.sign((x_q - mean) @ w), np.sign((x_db - mean) @ w)
    lsh = evaluate(q, db, ql, dl).scalars["map"]
    rng = np.random.default_rng(0)
    chance = evaluate(rng.choice([-1, 1], (200, 64)), rng.choice([-1, 1], (1017, 64)), ql, dl)
    assert lsh > chance.scalars["map"] + 0.01
    assert 0.05 < chance.scalars["map"] < 0.2


def test_small_database_clips_cutoffs_and_topk():
    rng = np.random.default_rng(2)
    q, db = rng.choice([-1, 1], (5, 8)), rng.choice([-1, 1], (30, 8))
    ql, dl = rng.integers(0, 2, 5), np.arange(30) % 2
    with pytest.warns(RuntimeWarning, match="topk=1000 exceeds the database size n_db=30"):
        res = evaluate(q, db, ql, dl, topk=1000)
    np.testing.assert_array_equal(res.curves["pn_n"], DEFAULT_PN_CUTOFFS[DEFAULT_PN_CUTOFFS <= 30])
    assert res.info["topk"] == 30 and res.scalars["map"] == res.scalars["map_all"]
    # the whole database: precision = fraction of relevant items
    assert res.scalars["precision_top5000"] == pytest.approx(0.5)
    assert res.curves["bit_correlation"].shape == (8, 8)
    assert res.curves["pr_precision"].shape == (9,)


def test_default_pn_grid():
    assert DEFAULT_PN_CUTOFFS[:4].tolist() == [1, 5, 10, 20]
    assert 1000 in DEFAULT_PN_CUTOFFS and DEFAULT_PN_CUTOFFS[-1] == 5000
    assert np.all(np.diff(DEFAULT_PN_CUTOFFS) > 0)


def test_radius_key_follows_radius_and_bad_options_raise():
    rng = np.random.default_rng(3)
    q, db = rng.choice([-1, 1], (4, 6)), rng.choice([-1, 1], (10, 6))
    ql, dl = np.zeros(4, int), np.arange(10) % 3
    res = evaluate(q, db, ql, dl, radius=0)
    assert "precision_r0" in res.scalars and "recall_r0" in res.scalars
    with pytest.raises(ValueError, match="radius must be in 0..n_bits=6, got 7"):
        evaluate(q, db, ql, dl, radius=7)
    with pytest.raises(ValueError, match="topk must be >= 1"):
        evaluate(q, db, ql, dl, topk=0)
    with pytest.raises(ValueError, match="empty must be one of"):
        evaluate(q, db, ql, dl, empty="never")
    with pytest.raises(ValueError, match=r"n_bits.*\(4, 6\) vs \(10, 5\)"):
        evaluate(q, db[:, :5], ql, dl)
    with pytest.raises(ValueError, match="every cut-off"):
        evaluate(q, db, ql, dl, pn_cutoffs=[5, 11])


def test_memory_stays_bounded_by_chunking():
    # 300 x 60,000 pairs: an int64 distance matrix alone would take 144 MB
    rng = np.random.default_rng(4)
    protos = prototypes(10, 64, rng)
    dl, ql = rng.integers(0, 10, 60_000), rng.integers(0, 10, 300)
    db = noisy_prototype_codes(dl, protos, 0.2, rng).astype(np.int8)
    q = noisy_prototype_codes(ql, protos, 0.2, rng).astype(np.int8)
    tracemalloc.start()
    try:
        map_all = mean_average_precision(q, db, ql, dl)
        map_1000 = mean_average_precision(q, db, ql, dl, topk=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert 0.5 < map_all < map_1000 <= 1.0  # near-prototype codes: the top is purest


def test_doctests():
    result = doctest.testmod(evaluation, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("n_bits", [255, 300])
def test_evaluate_wide_codes(n_bits):
    # 255 bits: the largest 32-bit keys; 300 bits: uint16 distances and 64-bit keys
    rng = np.random.default_rng(5)
    q, db = rng.choice([-1, 1], (6, n_bits)), rng.choice([-1, 1], (50, n_bits))
    ql, dl = rng.integers(0, 3, 6), rng.integers(0, 3, 50)
    res = evaluate(q, db, ql, dl, topk=10, pn_cutoffs=[1, 5, 50])
    check_against_metric_functions(res, q, db, ql, dl, 10)
    assert res.curves["pr_precision"].shape == (n_bits + 1,)
    assert res.curves["pr_recall"][-1] == 1.0


def test_evaluate_single_item_database():
    res = evaluate([[1, -1, 1]], [[1, 1, 1]], [0], [0])
    assert res.scalars["map"] == res.scalars["precision_top5000"] == 1.0
    assert res.scalars["precision_r2"] == 1.0 and res.scalars["recall_r2"] == 1.0
    assert np.isnan(res.scalars["mac"]) and np.isnan(res.scalars["bit_balance"])
    assert res.info["n_constant_bits"] == 3
    np.testing.assert_array_equal(res.curves["pn_n"], [1])
