"""mAP / AP / P@N against brute force: many ties, both tie conventions, every option."""

from __future__ import annotations

import doctest
import warnings

import numpy as np
import pytest
import test_metrics_reference as ref
from sklearn.metrics import average_precision_score

import hashlib_core.metrics as metrics_pkg
from hashlib_core.metrics import (
    average_precision,
    bits,
    hamming,
    mean_average_precision,
    precision_at_n,
    radius,
    ranking,
)


def random_problem(seed, n_q, n_db, n_bits, n_classes, multi=False):
    rng = np.random.default_rng(seed)
    q = rng.choice([-1, 1], size=(n_q, n_bits))
    db = rng.choice([-1, 1], size=(n_db, n_bits))
    if multi:
        ql = (rng.random((n_q, n_classes)) < 0.3).astype(np.uint8)
        dl = (rng.random((n_db, n_classes)) < 0.3).astype(np.uint8)
        dl[0] = 1  # every query has a relevant item unless its own labels are empty
        ql[ql.sum(axis=1) == 0, 0] = 1
    else:
        ql = rng.integers(0, n_classes, n_q)
        dl = rng.integers(0, n_classes, n_db)
        dl[:n_classes] = np.arange(n_classes)
    return q, db, ql, dl


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("denominator", ["retrieved", "all"])
def test_ap_index_ties_matches_brute_force(multi, denominator):
    # 5 bits over 60 items: every distance bucket holds many ties
    q, db, ql, dl = random_problem(1, 12, 60, 5, 3, multi)
    for topk in (None, 1, 4, 7, 8, 30, 60):  # 4 and 7 take the cut path, 8.. the full sort
        for chunk_size in (None, 5):
            got = average_precision(
                q, db, ql, dl, topk=topk, denominator=denominator, chunk_size=chunk_size
            )
            want = ref.average_precision(q, db, ql, dl, topk=topk, denominator=denominator)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=f"topk={topk}")


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("denominator", ["retrieved", "all"])
def test_ap_expected_ties_matches_all_permutations(multi, denominator):
    # 7 items, 2 bits: buckets of up to 7 tied items, averaged over every order
    for seed in range(4):
        q, db, ql, dl = random_problem(10 + seed, 3, 7, 2, 2, multi)
        for topk in (None, 1, 2, 3, 5, 7):
            got = average_precision(
                q, db, ql, dl, topk=topk, ties="expected", denominator=denominator
            )
            want = ref.average_precision(
                q, db, ql, dl, topk=topk, ties="expected", denominator=denominator
            )
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=f"topk={topk}")


def test_expected_differs_from_index_when_ties_matter():
    q, db, ql, dl = random_problem(3, 20, 50, 3, 3)
    by_index = average_precision(q, db, ql, dl)
    expected = average_precision(q, db, ql, dl, ties="expected")
    assert np.abs(by_index - expected).max() > 1e-3


@pytest.mark.parametrize("ties", ["index", "expected"])
def test_precision_at_n_matches_brute_force(ties):
    n_db = 7 if ties == "expected" else 60
    q, db, ql, dl = random_problem(5, 6, n_db, 3, 3)
    cutoffs = [1, 2, 3, 5, n_db] if ties == "expected" else [1, 2, 5, 9, 33, 60]
    got = precision_at_n(q, db, ql, dl, n=cutoffs, ties=ties)
    want = ref.precision_at_n(q, db, ql, dl, n=cutoffs, ties=ties)
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got.shape == (len(cutoffs),)
    single = precision_at_n(q, db, ql, dl, n=5, ties=ties)
    assert single.shape == (1,) and np.isclose(single[0], got[cutoffs.index(5)])


def test_sklearn_average_precision_on_tie_free_rankings():
    rng = np.random.default_rng(7)
    n_bits, n_db = 40, 30
    for _ in range(5):
        query = rng.choice([-1, 1], size=n_bits)
        flips = rng.permutation(n_db)  # item j differs from the query in flips[j] bits
        order = rng.permutation(n_bits)
        db = np.tile(query, (n_db, 1))
        for j in range(n_db):
            db[j, order[: flips[j]]] *= -1
        labels = rng.integers(0, 2, n_db)
        labels[:2] = [0, 1]
        ours = average_precision(query[None, :], db, [0], labels)[0]
        theirs = average_precision_score(labels == 0, -flips)
        assert np.isclose(ours, theirs, rtol=0, atol=1e-12)
        # no ties: the expected-ties value is the same number
        assert np.isclose(
            average_precision(query[None, :], db, [0], labels, ties="expected")[0], ours
        )


def test_wide_codes_and_many_classes_take_the_general_paths():
    # 300 bits: uint16 distances and 64-bit sort keys; 70 classes: two label words
    q, db, ql, dl = random_problem(9, 5, 40, 300, 70, multi=True)
    np.testing.assert_allclose(
        average_precision(q, db, ql, dl), ref.average_precision(q, db, ql, dl), atol=1e-12
    )
    np.testing.assert_allclose(
        average_precision(q, db, ql, dl, topk=3),
        ref.average_precision(q, db, ql, dl, topk=3),
        atol=1e-12,
    )


def test_empty_queries_zero_or_skip_with_a_counted_warning():
    q, db, _, _ = random_problem(2, 4, 20, 6, 2)
    ql = np.array([0, 1, 5, 6])  # classes 5 and 6 are absent from the database
    dl = np.array([0, 1] * 10)
    with pytest.warns(RuntimeWarning, match="2 of 4 queries have no relevant item"):
        zero = average_precision(q, db, ql, dl, empty="zero")
    with pytest.warns(RuntimeWarning, match="2 of 4"):
        skip = average_precision(q, db, ql, dl, empty="skip")
    assert zero[2] == zero[3] == 0.0 and np.isnan(skip[2:]).all()
    np.testing.assert_array_equal(zero[:2], skip[:2])
    with pytest.warns(RuntimeWarning):
        assert np.isclose(mean_average_precision(q, db, ql, dl, empty="skip"), zero[:2].mean())
    with pytest.warns(RuntimeWarning):
        assert np.isclose(mean_average_precision(q, db, ql, dl), zero.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when every query has a relevant item
        average_precision(q[:2], db, ql[:2], dl)


def test_relevant_in_database_but_not_in_top_k_scores_zero():
    q = [[1, 1, 1, 1]]
    db = [[1, 1, 1, 1], [1, 1, 1, -1], [-1, -1, -1, -1]]
    assert average_precision(q, db, [0], [1, 1, 0], topk=2)[0] == 0.0
    assert average_precision(q, db, [0], [1, 1, 0], topk=2, denominator="all")[0] == 0.0
    assert average_precision(q, db, [0], [1, 1, 0], topk=2, ties="expected")[0] == 0.0


def test_denominator_all_divides_by_every_relevant_item():
    q = [[1, 1, 1]]
    db = [[1, 1, 1], [1, 1, -1], [1, -1, -1], [-1, -1, -1]]
    labels = [0, 1, 0, 0]
    # top 2: rel, irr -> 1/1; retrieved: /1, all: /3
    assert average_precision(q, db, [0], labels, topk=2)[0] == 1.0
    assert np.isclose(average_precision(q, db, [0], labels, topk=2, denominator="all")[0], 1 / 3)


def test_doctests_of_every_metrics_module():
    for module in (hamming, ranking, radius, bits):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_results_do_not_depend_on_threads_or_chunks():
    q, db, ql, dl = random_problem(21, 40, 300, 8, 4)
    reference = average_precision(q, db, ql, dl, chunk_size=40)
    try:
        for threads in (1, 3):
            metrics_pkg.set_num_threads(threads)
            assert metrics_pkg.get_num_threads() == threads
            for chunk_size in (1, 7, None):
                for topk in (None, 20):
                    got = average_precision(q, db, ql, dl, topk=topk, chunk_size=chunk_size)
                    want = reference if topk is None else average_precision(q, db, ql, dl, topk=20)
                    np.testing.assert_array_equal(got, want)
    finally:
        metrics_pkg.set_num_threads(None)
    with pytest.raises(ValueError, match="positive integer or None, got 0"):
        metrics_pkg.set_num_threads(0)


def test_harmonic_numbers_are_accurate():
    import math

    from hashlib_core.metrics._engine import harmonic

    h = harmonic(20_000)
    assert h[0] == 0.0 and h[1] == 1.0
    exact = math.fsum(1 / k for k in range(5001, 20_001))
    assert abs((h[20_000] - h[5000]) - exact) < 1e-14


# database sizes around multiples of 256 and n_bits around 127 (limits of 16-bit keys
# d << 9 | index << 1 | relevant), where an exact ranking can go wrong at a boundary
@pytest.mark.parametrize("n_db", [1, 255, 256, 257, 511, 513, 1000])
@pytest.mark.parametrize("n_bits", [3, 64, 126, 127, 128, 255])
def test_ap_is_bit_identical_to_the_stable_argsort_loop(n_db, n_bits):
    q, db, ql, dl = ref.tied_problem(n_db * 1000 + n_bits, 7, n_db, n_bits, 3)
    want = ref.stable_argsort_ap(q, db, ql, dl)
    with pytest.warns(RuntimeWarning, match="no relevant item"):
        got = average_precision(q, db, ql, dl)
    np.testing.assert_array_equal(got, want)
    assert got[-1] == 0.0
    for chunk_size in (1, 3):
        with pytest.warns(RuntimeWarning):
            np.testing.assert_array_equal(
                average_precision(q, db, ql, dl, chunk_size=chunk_size), want
            )
    if n_db > 2:
        k = n_db // 3
        with pytest.warns(RuntimeWarning):
            np.testing.assert_array_equal(
                average_precision(q, db, ql, dl, topk=k), ref.stable_argsort_ap(q, db, ql, dl, k)
            )


def test_precision_at_n_with_an_empty_query():
    """A query without relevant items: P@N 0 ("zero") or left out ("skip"), per cut-off
    (the cut-offs outnumbering the queries once broke the empty mask's orientation)."""
    q = [[1, 1], [1, 1]]
    db = [[1, 1], [-1, -1], [1, -1], [1, 1]]
    with pytest.warns(RuntimeWarning, match="1 of 2 queries"):
        zero = precision_at_n(q, db, [0, 5], [0, 1, 1, 0], n=[1, 2, 3, 4])
    with pytest.warns(RuntimeWarning, match="1 of 2 queries"):
        skip = precision_at_n(q, db, [0, 5], [0, 1, 1, 0], n=[1, 2, 3, 4], empty="skip")
    np.testing.assert_allclose(skip, [1.0, 1.0, 2 / 3, 0.5])
    np.testing.assert_allclose(zero, skip / 2)
