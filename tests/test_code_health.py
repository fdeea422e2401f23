"""Redundancy measures on hand-built codes (issue 24), their place in every evaluation,
the backfill of the records, and the report side (tables, text, the alternative)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hashlib_core.metrics import (
    code_health,
    code_redundancy,
    constant_bit_mask,
    duplicate_groups,
    effective_bits,
    mean_absolute_correlation,
    pack_codes,
)


def _independent(n_codes: int, n_bits: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n_codes, n_bits)) < 0.5, 1, -1).astype(np.int8)


# --------------------------------------------------------------------------- metrics
@pytest.mark.parametrize("n_bits", [16, 32, 64])
def test_independent_bits_give_n(n_bits):
    # tolerance stated in effective_bits: n or n - 1 for n_bits / n_codes <= 0.064
    for seed in range(3):
        got = effective_bits(_independent(1000, n_bits, seed))
        assert n_bits - 1 <= got <= n_bits
    assert effective_bits(_independent(20_000, n_bits)) == n_bits


@pytest.mark.parametrize("n_bits", [16, 32, 64])
def test_a_duplicated_half_gives_half(n_bits):
    half = _independent(1000, n_bits // 2)
    codes = np.hstack([half, half])
    r = code_redundancy(codes)
    assert r["effective_bits"] == n_bits // 2
    assert r["dup_groups"] == n_bits // 2 and r["redundant_bits"] == n_bits // 2
    # an inverted copy is as redundant as a copy
    assert effective_bits(np.hstack([half, -half])) == n_bits // 2
    # the old measure counts exact copies too, but not near ones (below)
    assert code_health(codes)["distinct_bits"] == n_bits // 2


def test_constant_codes_give_zero():
    codes = np.ones((50, 32), dtype=np.int8)
    codes[:, 5] = -1
    r = code_redundancy(codes)
    assert r["effective_bits"] == 0 and effective_bits(codes) == 0
    assert r["n_constant_bits"] == 32 and r["varying_bits"] == 0
    assert r["dup_groups"] == 0 and r["redundant_bits"] == 0
    assert np.isnan(r["mac_varying"])
    assert duplicate_groups(codes) == []
    assert constant_bit_mask(codes).all()


def test_constant_bits_are_each_counted_and_left_out_of_the_mac():
    rng = np.random.default_rng(1)
    base = _independent(1000, 5, seed=1)
    varying = np.hstack([base, base * np.where(rng.random((1000, 5)) < 0.2, -1, 1)])
    codes = np.hstack([varying, np.ones((1000, 22), dtype=np.int8)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        old_mac = mean_absolute_correlation(codes)
    want = mean_absolute_correlation(varying)
    r = code_redundancy(codes)
    assert r["n_constant_bits"] == 22 and r["varying_bits"] == 10
    assert r["mac_varying"] == pytest.approx(want, abs=1e-12)
    # the old mAC dilutes the 10 varying bits among 496 pairs, 451 of them with a dead bit
    assert old_mac < 0.1 * want
    # the old count lumps the 22 constant bits into one distinct bit
    assert code_health(codes)["distinct_bits"] == 11
    assert r["effective_bits"] == effective_bits(varying) == 10


def test_near_duplicates_with_a_few_flipped_entries_are_grouped():
    base = _independent(1000, 8, seed=2)
    copy = base.copy()
    rng = np.random.default_rng(3)
    for j in range(8):  # flip 5 entries of each copy
        copy[rng.choice(1000, 5, replace=False), j] *= -1
    codes = np.hstack([base, copy])
    groups = duplicate_groups(codes)
    assert sorted(g.tolist() for g in groups) == [[j, j + 8] for j in range(8)]
    r = code_redundancy(codes)
    assert r["dup_groups"] == 8 and r["redundant_bits"] == 8
    assert r["effective_bits"] == 8
    # exact-copy counting sees 16 distinct bits where 8 carry the information
    assert code_health(codes)["distinct_bits"] == 16
    # a chain a~b~c is one group; a stricter threshold splits near-copies apart
    assert len(duplicate_groups(codes, threshold=1.0)) == 16


def test_packed_codes_and_bad_input():
    codes = np.hstack([_independent(200, 12), np.ones((200, 2), dtype=np.int8)])
    packed = pack_codes(codes)
    assert code_redundancy(packed, n_bits=14) == pytest.approx(code_redundancy(codes), nan_ok=True)
    assert constant_bit_mask(packed, n_bits=14).tolist() == [False] * 12 + [True] * 2
    with pytest.raises(ValueError, match=r"packed shape \(200, 2\) does not hold n_bits=17"):
        code_redundancy(packed, n_bits=17)
    with pytest.raises(ValueError, match="threshold must be in"):
        duplicate_groups(codes, threshold=0)
    with pytest.raises(ValueError, match="variance must be in"):
        effective_bits(codes, variance=1.5)
    with pytest.raises(ValueError, match="at least 2 codes"):
        code_redundancy(codes[:1])


def test_hadamard_centres_repeat_every_16_columns():
    """The cause of issue 24: the first 10 rows of a Sylvester Hadamard matrix of order 32
    or 64 give codes with 16 effective bits, column 0 constant, bit j = bit j + 16."""
    from hashlib_core.losses.csq import hash_centers

    for n_bits in (32, 64):
        centres = hash_centers(10, n_bits, method="hadamard").numpy()
        r = code_redundancy(centres)
        assert r["dup_groups"] == 15 and r["n_constant_bits"] == n_bits // 16
        assert (centres[:, :16] == centres[:, 16:32]).all()
        assert effective_bits(centres) <= 9  # 10 points span at most 9 directions
