"""The interval of a difference (hashlib_core.report.intervals): its coverage, measured by
simulation with the stored runs' own seed and query variance (issue 23)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hashlib_core.report import intervals as iv

RESULTS = Path(__file__).resolve().parents[2] / "results" / "cpu" / "cifar10-i"


def _per_query(method: str, n_bits: int, seeds=(0, 1, 2)) -> np.ndarray:
    rows = []
    for s in seeds:
        rec = json.loads((RESULTS / method / f"{n_bits}b_seed{s}" / "record.json").read_text())
        rows.append(rec["curves"]["per_query_map"])
    return np.array(rows, dtype=float)


@pytest.fixture(scope="module")
def stored_components() -> iv.Components:
    if not (RESULTS / "csq" / "32b_seed2" / "record.json").is_file():
        pytest.skip("the committed cpu results are not in this checkout")
    return iv.components([_per_query("shnet", 32), _per_query("csq", 32)])


@pytest.mark.parametrize("n_seeds", [3, 5])
def test_t_interval_covers_95_percent_of_equal_method_claims(stored_components, n_seeds):
    """>= 1,000 simulated claims of two equal methods, with the seed, noise and
    method-by-query spreads of the stored SHNet and CSQ runs at 32 bits: the 95% interval
    covers the true difference 0 in 93-97% of them."""
    cov = iv.coverage(iv.t_interval_fn, stored_components, n_a=n_seeds, n_b=n_seeds,
                      n_claims=1000, seed=n_seeds)
    assert 0.93 <= cov <= 0.97, cov


def test_old_seed_bootstrap_undercovers(stored_components):
    """The percentile bootstrap of three seeds the claims page used before covers far less
    than 95%: the test above would fail for it."""
    cov = iv.coverage(iv.seed_bootstrap_fn(n_boot=1000), stored_components, n_a=3, n_b=3,
                      n_claims=1000, seed=3)
    assert cov < 0.90, cov


def test_interval_matches_welch_without_queries():
    a, b = np.array([0.55, 0.57, 0.56, 0.58, 0.54]), np.array([0.53, 0.55, 0.50])
    got = iv.difference_interval(a, b)
    from scipy import stats

    va, vb = a.var(ddof=1) / 5, b.var(ddof=1) / 3
    df = (va + vb) ** 2 / (va ** 2 / 4 + vb ** 2 / 2)
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert got.difference == pytest.approx(a.mean() - b.mean())
    assert (got.low, got.high) == pytest.approx((got.difference - half, got.difference + half))
    assert got.df == pytest.approx(df) and got.basis == "seeds"


def test_query_component_adds_method_by_query_variance_only():
    """Noise that differs per run is counted once (in the seed spread), a method-by-query
    effect shared by a method's runs is added: it widens the interval."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 500)
    noise = lambda: rng.normal(0, 0.1, (4, 500))  # noqa: E731
    a, b = base + noise(), base + noise()
    assert iv.query_component(a, b) == pytest.approx(0.0, abs=2e-6)
    shift = rng.normal(0, 0.2, 500)
    comp = iv.query_component(a + shift, b)
    assert comp == pytest.approx(0.2 ** 2 / 500, rel=0.25)
    wide = iv.difference_interval((a + shift).mean(1), b.mean(1), a_per_query=a + shift,
                                  b_per_query=b)
    narrow = iv.difference_interval((a + shift).mean(1), b.mean(1))
    assert wide.high - wide.low > narrow.high - narrow.low
    assert wide.basis == "seeds and queries (paired)"


def test_single_run_has_no_interval_unless_a_spread_is_given():
    one = iv.difference_interval([0.5], [0.4, 0.45, 0.41])
    assert np.isnan(one.low) and np.isnan(one.high) and one.basis == ""
    pooled = iv.difference_interval([0.5], [0.4, 0.45, 0.41], pooled=(0.01, 8))
    assert pooled.low < pooled.difference < pooled.high
    with pytest.raises(ValueError, match="shapes"):
        iv.difference_interval([], [0.4])


def test_robust_pooled_sd_ignores_one_collapsed_seed():
    """One collapsed seed (CSQ 16 bits seed 1: 0.400 vs 0.554 and 0.553) inflates the
    classic pooled spread; the median-based one stays near the others'."""
    groups = [np.array([0.55, 0.56, 0.57]) + k * 0.01 for k in range(6)]
    classic = np.sqrt(np.mean([g.var(ddof=1) for g in groups + [np.array([0.4, 0.554, 0.553])]]))
    sd, df = iv.robust_pooled_sd(groups + [np.array([0.4, 0.554, 0.553])])
    assert df == 2.0
    assert sd < 0.015 < classic
    assert iv.robust_pooled_sd([np.array([0.5])]) == (pytest.approx(float("nan"), nan_ok=True), 0.0)
