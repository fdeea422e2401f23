"""Properties every metric must have, and every bad input refused with a clear ValueError."""

from __future__ import annotations

import numpy as np
import pytest

from hashlib_core.metrics import (
    average_precision,
    bit_balance,
    bit_correlation,
    hamming_distance,
    mean_absolute_correlation,
    mean_average_precision,
    pack_codes,
    precision_at_n,
    precision_recall_curve,
    precision_within_radius,
    recall_within_radius,
)

#: every retrieval metric, as name -> f(q, db, ql, dl) returning a float or an array
RETRIEVAL = {
    "ap_index": lambda *a: average_precision(*a),
    "ap_expected": lambda *a: average_precision(*a, ties="expected"),
    "map_top5_retrieved": lambda *a: mean_average_precision(*a, topk=5),
    "map_top5_all_expected": lambda *a: mean_average_precision(
        *a, topk=5, ties="expected", denominator="all"
    ),
    "map_top20_expected": lambda *a: mean_average_precision(*a, topk=20, ties="expected"),
    "p_at_n_index": lambda *a: precision_at_n(*a, n=[1, 3, 10, 40]),
    "p_at_n_expected": lambda *a: precision_at_n(*a, n=[1, 3, 10, 40], ties="expected"),
    "pr_micro": lambda *a: np.concatenate(precision_recall_curve(*a)[:2]),
    "pr_macro": lambda *a: np.concatenate(precision_recall_curve(*a, average="macro")[:2]),
    "precision_r2": lambda *a: precision_within_radius(*a, radius=2),
    "recall_r1": lambda *a: recall_within_radius(*a, radius=1),
}
CODE_STATS = {
    "bit_correlation": bit_correlation,
    "mac": mean_absolute_correlation,
    "bit_balance": bit_balance,
}


def problem(multi, seed=0):
    rng = np.random.default_rng(seed)
    n_bits = 6
    q = rng.choice([-1, 1], size=(15, n_bits))
    db = rng.choice([-1, 1], size=(40, n_bits))
    if multi:
        ql = (rng.random((15, 5)) < 0.4).astype(np.int64)
        dl = (rng.random((40, 5)) < 0.4).astype(np.int64)
        ql[:, 0] = 1
        dl[:3, 0] = 1
    else:
        ql, dl = rng.integers(0, 4, 15), rng.integers(0, 4, 40)
        dl[:4] = np.arange(4)
    return q, db, ql, dl


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("name", sorted(RETRIEVAL))
def test_query_order_and_bit_flip_invariance(name, multi):
    q, db, ql, dl = problem(multi)
    metric = RETRIEVAL[name]
    base = np.asarray(metric(q, db, ql, dl))
    perm = np.random.default_rng(1).permutation(len(q))
    permuted = np.asarray(metric(q[perm], db, ql[perm], dl))
    if name.startswith("ap_"):  # per-query values follow the queries
        np.testing.assert_allclose(permuted, base[perm], atol=1e-12)
    else:
        np.testing.assert_allclose(permuted, base, atol=1e-12)
    flipped = np.asarray(metric(-q, -db, ql, dl))
    np.testing.assert_allclose(flipped, base, atol=1e-12)
    as_01 = np.asarray(metric(q > 0, (db > 0).astype(np.uint8), ql, dl))
    np.testing.assert_allclose(as_01, base, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CODE_STATS))
def test_code_statistics_are_flip_and_order_invariant(name):
    _, db, _, _ = problem(False)
    base = np.asarray(CODE_STATS[name](db))
    np.testing.assert_allclose(np.asarray(CODE_STATS[name](db[::-1])), base, atol=1e-12)
    if name == "bit_balance":
        np.testing.assert_allclose(bit_balance(-db), base, atol=1e-12)
    else:
        np.testing.assert_allclose(np.asarray(CODE_STATS[name](-db)), base, atol=1e-12)


def perfect_problem():
    """Every item carries its class prototype: relevant items at distance 0, others far."""
    rng = np.random.default_rng(3)
    prototypes = np.array([[1] * 8 + [-1] * 8, [-1] * 8 + [1] * 8, [1, -1] * 8, [-1, 1] * 8])
    dl = np.repeat(np.arange(4), 10)
    ql = rng.integers(0, 4, 12)
    return prototypes[ql], prototypes[dl], ql, dl


def test_perfect_codes_score_one_everywhere():
    q, db, ql, dl = perfect_problem()
    for ties in ("index", "expected"):
        for topk in (None, 1, 5, 10, 40):
            for denominator in ("retrieved", "all"):
                if denominator == "all" and topk is not None and topk < 10:
                    continue  # divides by the 10 relevant items: topk/10 at best
                value = mean_average_precision(
                    q, db, ql, dl, topk=topk, ties=ties, denominator=denominator
                )
                assert value == pytest.approx(1.0, abs=1e-12), (ties, topk, denominator)
        np.testing.assert_allclose(precision_at_n(q, db, ql, dl, n=[1, 5, 10], ties=ties), 1.0)
    assert precision_within_radius(q, db, ql, dl, radius=0) == 1.0
    assert recall_within_radius(q, db, ql, dl, radius=0) == 1.0
    p, r, _ = precision_recall_curve(q, db, ql, dl)
    assert p[0] == 1.0 and r[0] == 1.0
    assert mean_absolute_correlation(np.array([[1, 1], [-1, -1], [1, 1]])) == pytest.approx(1.0)


@pytest.mark.parametrize("multi", [False, True])
def test_topk_none_equals_topk_n_db(multi):
    q, db, ql, dl = problem(multi)
    for ties in ("index", "expected"):
        for denominator in ("retrieved", "all"):
            a = average_precision(q, db, ql, dl, ties=ties, denominator=denominator)
            b = average_precision(q, db, ql, dl, topk=len(db), ties=ties, denominator=denominator)
            np.testing.assert_allclose(a, b, atol=1e-12)


def test_metrics_stay_in_unit_interval_and_p_at_n_is_consistent():
    q, db, ql, dl = problem(False, seed=5)
    ap = average_precision(q, db, ql, dl)
    assert np.all((ap >= 0) & (ap <= 1))
    # P@n_db = fraction of relevant items in the database, averaged over queries
    p_all = precision_at_n(q, db, ql, dl, n=len(db))[0]
    want = np.mean([(dl == c).mean() for c in ql])
    assert p_all == pytest.approx(want, abs=1e-12)


# ---- bad input ---------------------------------------------------------------------------
Q, DB, QL, DL = problem(False)
BAD_CALLS = [
    (
        "different n_bits",
        lambda: mean_average_precision(Q, DB[:, :5], QL, DL),
        r"n_bits.*\(15, 6\) vs \(40, 5\)",
    ),
    ("1-D codes", lambda: hamming_distance(Q[0], DB), r"2-D.*\(6,\)"),
    ("3-D codes", lambda: pack_codes(Q[None]), r"2-D.*\(1, 15, 6\)"),
    (
        "empty query codes",
        lambda: mean_average_precision(Q[:0], DB, QL[:0], DL),
        r"empty.*\(0, 6\)",
    ),
    ("empty db codes", lambda: hamming_distance(Q, np.zeros((3, 0))), r"empty.*\(3, 0\)"),
    ("value 2", lambda: hamming_distance(np.where(Q > 0, 2, -1), DB), r"binary.*found 2"),
    ("value 0.5", lambda: mean_average_precision(Q * 0.5, DB, QL, DL), r"binary.*0\.5"),
    ("nan", lambda: hamming_distance(np.full((2, 6), np.nan), DB), r"binary.*nan"),
    (
        "mixed -1 and 0",
        lambda: hamming_distance(np.array([[-1, 0, 1]]), np.array([[1, 1, 1]])),
        "mixes -1 and 0",
    ),
    ("string codes", lambda: pack_codes(np.array([["a", "b"]])), "numeric or bool"),
    (
        "label rows",
        lambda: mean_average_precision(Q, DB, QL[:3], DL),
        r"query_labels has 3 rows.*15",
    ),
    (
        "db label rows",
        lambda: mean_average_precision(Q, DB, QL, DL[:-1]),
        r"db_labels has 39 rows.*40",
    ),
    (
        "label width",
        lambda: mean_average_precision(Q, DB, np.eye(4)[QL], np.eye(5)[DL]),
        r"label widths.*\(15, 4\) vs \(40, 5\)",
    ),
    (
        "label kinds",
        lambda: mean_average_precision(Q, DB, QL, np.eye(4)[DL]),
        r"both be 1-D.*\(15,\) and \(40, 4\)",
    ),
    (
        "multi-hot value",
        lambda: mean_average_precision(Q, DB, np.eye(4)[QL] * 2, np.eye(4)[DL]),
        r"0/1, found 2",
    ),
    (
        "fractional class",
        lambda: mean_average_precision(Q, DB, QL + 0.5, DL),
        "integers, found 0.5",
    ),
    ("3-D labels", lambda: mean_average_precision(Q, DB, QL[:, None, None], DL), r"\(15, 1, 1\)"),
    ("bool 1-D labels", lambda: mean_average_precision(Q, DB, QL > 0, DL > 0), "integer classes"),
    ("topk 0", lambda: mean_average_precision(Q, DB, QL, DL, topk=0), "topk must be >= 1, got 0"),
    (
        "topk too big",
        lambda: mean_average_precision(Q, DB, QL, DL, topk=41),
        "topk=41 exceeds.*n_db=40",
    ),
    (
        "topk float",
        lambda: mean_average_precision(Q, DB, QL, DL, topk=5.0),
        "topk must be a positive integer",
    ),
    (
        "topk bool",
        lambda: mean_average_precision(Q, DB, QL, DL, topk=True),
        "topk must be a positive integer",
    ),
    (
        "ties",
        lambda: mean_average_precision(Q, DB, QL, DL, ties="random"),
        "ties must be one of.*'random'",
    ),
    (
        "empty option",
        lambda: mean_average_precision(Q, DB, QL, DL, empty="drop"),
        "empty must be one of",
    ),
    (
        "denominator",
        lambda: mean_average_precision(Q, DB, QL, DL, denominator="k"),
        "denominator must be one of",
    ),
    (
        "average",
        lambda: precision_recall_curve(Q, DB, QL, DL, average="weighted"),
        "average must be one of",
    ),
    (
        "radius",
        lambda: precision_within_radius(Q, DB, QL, DL, radius=7),
        r"radius must be in 0..n_bits=6, got 7",
    ),
    (
        "negative radius",
        lambda: recall_within_radius(Q, DB, QL, DL, radius=-1),
        "radius must be in",
    ),
    ("cut-off 0", lambda: precision_at_n(Q, DB, QL, DL, n=[0, 5]), r"1..n_db=40"),
    ("cut-off too big", lambda: precision_at_n(Q, DB, QL, DL, n=100), r"max 100"),
    ("float cut-off", lambda: precision_at_n(Q, DB, QL, DL, n=[1.5]), "integers"),
    (
        "chunk size",
        lambda: mean_average_precision(Q, DB, QL, DL, chunk_size=0),
        "chunk_size must be >= 1",
    ),
    ("one code", lambda: bit_balance(Q[:1]), r"at least 2 codes.*\(1, 6\)"),
    ("one bit", lambda: mean_absolute_correlation(Q[:, :1]), "at least 2 bits"),
]


@pytest.mark.parametrize("case", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_value_error_quoting_it(case):
    _, call, pattern = case
    with pytest.raises(ValueError, match=pattern):
        call()
