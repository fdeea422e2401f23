"""The claims page: intervals paired over queries and seeds, verdicts, rank agreement, and
the per-query values recomputed from stored codes for records that lack them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hashlib_core.engine import RunConfig, RunResult
from hashlib_core.evaluation import evaluate
from hashlib_core.report import (
    claim_checks,
    claims,
    claims_intro,
    claims_page,
    rankings,
    rankings_page,
)
from hashlib_core.report.claims import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Claim,
    Run,
    verdict,
)
from hashlib_core.report.reported import load_reported
from hashlib_core.results import save_run
from hashlib_core.runner import grids

PROTOCOL = "cifar10-smoke"


# --------------------------------------------------------------------------- fakes
def _run(method, n_bits, seed, per_query, *, metric="map", manifest="m" * 64,
         protocol=PROTOCOL, commit="abc1234def"):
    """A Run from an in-memory record with the given per-query values (None: none)."""
    per_query = None if per_query is None else np.asarray(per_query, dtype=float)
    value = float(np.mean(per_query)) if per_query is not None else 0.5
    record = {
        "key": {"scale": "smoke", "protocol": protocol, "method": method, "variant": None,
                "n_bits": n_bits, "seed": seed},
        "scalars": {metric: value},
        "curves": {} if per_query is None else {f"per_query_{metric}": per_query.tolist()},
        "provenance": {"manifest_sha256": manifest, "git_commit": commit},
        "files": {"query_codes": {"name": "none", "sha256": ""}, "db_codes": None},
        "_path": f"/nowhere/{method}/{n_bits}b_seed{seed}",
    }
    return Run(record, None)


def _scalar_run(method, n_bits, seed, value, **kw):
    r = _run(method, n_bits, seed, None, **kw)
    r.record["scalars"]["map"] = value
    return r


CLAIM = Claim("a-b", "A", "A beats B.", "shnet", ("csq",), "map", source="shnet_table2",
              bits=(32,))
REPORTED = load_reported()


def test_verdict_rules():
    assert verdict(0.01, 0.02) == SUPPORTED
    assert verdict(-0.02, -0.01) == NOT_SUPPORTED
    assert verdict(-0.01, 0.01) == INCONCLUSIVE
    assert verdict(0.01, 0.02, randomness=False) == INCONCLUSIVE
    assert verdict(np.nan, np.nan) == INCONCLUSIVE
    # a claim that A is lower (mAC): a negative difference supports it
    assert verdict(-0.02, -0.01, higher_is_better=False) == SUPPORTED
    assert verdict(0.01, 0.02, higher_is_better=False) == NOT_SUPPORTED


def test_pairing_over_queries_narrows_the_interval():
    """A is B plus 0.01 on every query: paired, the difference is certain although the
    queries' own values spread over [0, 1]."""
    rng = np.random.default_rng(0)
    base = rng.random(500)
    runs = []
    for s in (0, 1):
        shift = 0.001 * s  # tiny seed effect
        runs.append(_run("csq", 32, s, base + shift))
        runs.append(_run("shnet", 32, s, base + 0.01 + shift))
    rows = claims.evaluate_claim(CLAIM, runs, REPORTED, scale="smoke")
    r = rows.iloc[0]
    assert r.difference == pytest.approx(0.01)
    assert 0 < r.low <= 0.01 <= r.high < 0.02
    assert r.verdict == SUPPORTED and "queries (paired)" in r.basis and "seeds" in r.basis
    # the paper's numbers come from the reported table (SHNet paper, CIFAR-10, 32 bits)
    assert r.paper_difference == pytest.approx(0.868 - 0.844)
    # unpaired (different query sets: different manifests) the same data is inconclusive
    unpaired = [_run(r_.key["method"], 32, r_.seed, r_.per_query("map"),
                     manifest=("x" if r_.key["method"] == "csq" else "y") * 64)
                for r_ in runs]
    rows = claims.evaluate_claim(CLAIM, unpaired, REPORTED, scale="smoke")
    assert "queries" not in rows.iloc[0].basis


def test_one_seed_each_has_no_interval():
    """The smoke situation: one run per method. No interval is drawn (a claim never
    borrows a spread, and the queries alone say nothing of training randomness)."""
    rng = np.random.default_rng(1)
    base = rng.random(300)
    runs = [_run("csq", 32, 0, base), _run("shnet", 32, 0, base + 0.05)]
    r = claims.evaluate_claim(CLAIM, runs, REPORTED, scale="smoke").iloc[0]
    assert np.isnan(r.low) and np.isnan(r.high) and r.verdict == INCONCLUSIVE
    assert r.basis == "none" and r.difference == pytest.approx(0.05)


def test_single_runs_never_borrow_a_spread():
    """Issue 23: a single run of a compared method got the seed spread pooled over other
    methods. Now a gap of ten spreads stays inconclusive until the method has seeds."""
    seeds = [_scalar_run("dpsh", 32, s, v) for s, v in enumerate((0.50, 0.51, 0.49))]
    big = seeds + [_scalar_run("csq", 32, 0, 0.5), _scalar_run("shnet", 32, 0, 0.6)]
    r = claims.evaluate_claim(CLAIM, big, REPORTED, scale="smoke").iloc[0]
    assert r.verdict == INCONCLUSIVE and np.isnan(r.low) and r.basis == "none"
    assert "CSQ: 1 of 5 at 32 bits" in claims.seeds_short(CLAIM, claims.evaluate_claim(
        CLAIM, big, REPORTED, scale="smoke"))
    # the robust pooled spread (rankings only) ignores one collapsed seed
    healthy = [_scalar_run(m, 32, s, v + 0.01 * s) for m, v in (("dhn", 0.5), ("dtsh", 0.45),
                                                                 ("dch", 0.52)) for s in range(3)]
    collapsed = seeds + healthy + [_scalar_run("csq", 32, s, v)
                                   for s, v in enumerate((0.55, 0.40, 0.55))]
    sd, dof = rankings.pooled_seed_std(collapsed, PROTOCOL, "map")
    assert sd < 0.02 and dof == 2


def test_the_compared_baseline_is_pre_specified_and_lower_is_better():
    """A claim against a list is judged against its pre-specified baseline, whatever the
    other baselines score on the queries."""
    runs = [_scalar_run(m, 16, s, v + 0.001 * s) for m, v in (("dheh", 0.50), ("cnnh", 0.45),
                                                               ("dpsh", 0.60)) for s in (0, 1, 2)]
    claim = Claim("d", "DHEH", "DHEH beats its baselines.", "dheh", ("cnnh", "dpsh"), "map",
                  focus_bits=(16,), baseline="cnnh")
    rows = claims.evaluate_claim(claim, runs, REPORTED, scale="smoke")
    r = rows.iloc[0]
    assert r.against == "cnnh" and r.difference == pytest.approx(0.05)
    assert r.verdict == SUPPORTED and claims.claim_verdict(claim, rows) == SUPPORTED
    low = Claim("m", "DSAH", "lower.", "dheh", ("dpsh",), "map", higher_is_better=False)
    r = claims.evaluate_claim(low, runs, REPORTED, scale="smoke").iloc[0]
    assert r.against == "dpsh" and r.verdict == SUPPORTED  # 0.50 is below 0.60


def test_missing_seeds_are_counted_at_the_verdicts_lengths_only():
    """A context length with one run (the grid filling it in) shows its seed count in its
    row; the sentence on missing seeds speaks of the lengths the verdict rests on."""
    claim = Claim("x", "X", "x", "shnet", ("csq",), "map", focus_bits=(16,))
    runs = [_scalar_run(m, 16, s, 0.5 + 0.01 * s) for m in ("shnet", "csq") for s in range(5)]
    runs.append(_scalar_run("shnet", 32, 0, 0.6))
    rows = claims.evaluate_claim(claim, runs, REPORTED, scale="smoke")
    assert set(rows.n_bits) == {16, 32} and claims.seeds_short(claim, rows) == []
    rows = claims.evaluate_claim(claim, runs[1:] + [_scalar_run("csq", 32, 0, 0.5)],
                                 REPORTED, scale="smoke")
    assert claims.seeds_short(claim, rows) == ["SHNet: 4 of 5 at 16 bits"]


def test_claim_verdict_rests_on_focus_bits():
    claim = Claim("x", "X", "x", "shnet", ("csq",), "map", focus_bits=(16,))
    rows = pd.DataFrame({"n_bits": [16, 32], "verdict": [SUPPORTED, NOT_SUPPORTED]})
    assert claims.claim_verdict(claim, rows) == SUPPORTED
    everywhere = Claim("y", "Y", "y", "shnet", ("csq",), "map")
    assert claims.claim_verdict(everywhere, rows) == NOT_SUPPORTED
    assert claims.claim_verdict(everywhere, rows.iloc[:0]) == INCONCLUSIVE


def test_multiplicity_rule_over_several_lengths():
    """Supported only when supported at every length; not supported only when the
    Bonferroni interval (level 1 - 0.05/k) of one length lies on the other side."""
    claim = Claim("y", "Y", "y", "shnet", ("csq",), "map")
    rows = pd.DataFrame({"n_bits": [16, 32, 64],
                         "verdict": [SUPPORTED, SUPPORTED, INCONCLUSIVE],
                         "adj_low": [0.001, 0.002, -0.01], "adj_high": [0.02, 0.03, 0.01]})
    assert claims.claim_verdict(claim, rows) == INCONCLUSIVE
    rows.loc[2, "verdict"] = SUPPORTED
    assert claims.claim_verdict(claim, rows) == SUPPORTED
    # a 95% interval below zero whose adjusted interval still holds zero: not refuted
    rows.loc[2, ["verdict", "adj_low", "adj_high"]] = [NOT_SUPPORTED, -0.03, 0.001]
    assert claims.claim_verdict(claim, rows) == INCONCLUSIVE
    rows.loc[2, "adj_high"] = -0.001
    assert claims.claim_verdict(claim, rows) == NOT_SUPPORTED
    # evaluate_claim draws the adjusted interval wider than the 95% one
    rng = np.random.default_rng(5)
    base = rng.random(200)
    runs = [_run(m, b, s, base + (0.01 if m == "shnet" else 0) + 0.003 * s * (m == "csq"))
            for m in ("shnet", "csq") for b in (16, 32, 64) for s in range(3)]
    full = claims.evaluate_claim(Claim("z", "Z", "z", "shnet", ("csq",), "map"), runs,
                                 REPORTED, scale="smoke")
    assert (full.adj_low < full.low).all() and (full.adj_high > full.high).all()


def test_a_stated_length_without_runs_counts():
    """A claim stated for 16, 32 and 64 bits with runs at 32 and 64 only: k stays 3 (the
    adjusted interval is drawn at 1 - 0.05/3), it cannot be supported, and the missing
    length is named in the evidence and the seed count, not dropped."""
    claim = Claim("w", "W", "w", "shnet", ("csq",), "map", bits=(16, 32, 64))
    rng = np.random.default_rng(2)
    base = rng.random(200)
    runs = [_run(m, b, s, base + (0.05 if m == "shnet" else 0) + 0.002 * s)
            for m in ("shnet", "csq") for b in (32, 64) for s in range(3)]
    runs += [_run("csq", 16, s, base + 0.002 * s) for s in range(3)]
    rows = claims.evaluate_claim(claim, runs, REPORTED, scale="smoke")
    assert list(rows.n_bits) == [32, 64] and (rows.verdict == SUPPORTED).all()
    three = claims.compare(runs[:3], runs[6:9], "map", level=1 - 0.05 / 3)
    assert rows.adj_low.iloc[0] == pytest.approx(three.low)
    assert claims.verdict_lengths(claim, rows.n_bits) == [16, 32, 64]
    assert claims.untested_lengths(claim, rows) == [16]
    assert claims.claim_verdict(claim, rows) == INCONCLUSIVE
    evidence = claims_page._claim_evidence(claim, rows)
    assert "16 bits: no run of SHNet yet" in evidence and "SHNet: 0 of 5 at 16 bits" in evidence
    assert "16 bits: no run of SHNet at 80 epochs yet" in claims_page._claim_evidence(
        claim, rows, (40, 80))
    # the grid's verdict at that length, where it has one, and the compared method's seeds
    shorter = pd.DataFrame({"n_bits": [16], "verdict": [SUPPORTED]})
    evidence = claims_page._claim_evidence(claim, rows, (40, 80), shorter)
    assert "no run of SHNet at 80 epochs yet (40 epochs: supported)" in evidence
    assert "CSQ: 3 of 5 at 16, 32, 64 bits" in evidence
    table = claims_page.claim_table(claim, rows)
    assert any("(3 lengths)" in c for c in table.columns)


def test_rank_agreement_interval():
    """Our values in the paper's order (SHNet table at 32 bits), three seeds each: τ = 1
    with an interval above zero; reversed: τ = −1, not supported."""
    rep = REPORTED[(REPORTED.source == "shnet_table2") & (REPORTED.protocol == "cifar10-i")
                   & (REPORTED.n_bits == 32)]
    ranked = rep.sort_values("value").method.tolist()  # worst first
    for order, tau, want in ((ranked, 1.0, SUPPORTED), (ranked[::-1], -1.0, NOT_SUPPORTED)):
        runs = [_scalar_run(m, 32, s, 0.3 + 0.05 * i + 0.001 * s)
                for i, m in enumerate(order) for s in range(3)]
        out = rankings.rank_agreement(runs, REPORTED, scale="smoke", source="shnet_table2",
                                      metric="map", methods=tuple(ranked), bits=(32,),
                                      n_boot=300)
        r = out.iloc[0]
        # only the methods the paper printed for CIFAR-10 (not CNNH and DNNH, printed for
        # the other datasets only)
        assert r.n_methods == len(ranked) == 6 and r.tau == pytest.approx(tau)
        assert r.verdict == want and r.low - 1e-9 <= r.tau <= r.high + 1e-9
        assert r.paper_order.split(" > ")[0] == "SHNet"


def test_ranking_interval_coverage_is_measured(monkeypatch):
    """The ranking interval's coverage, by simulation (SHNet table, 32 bits, 3 seeds a
    method, means 0.01 apart with a seed spread of 0.01, so the order is uncertain): it holds
    the true τ in at least 95% of simulated rankings and is above 0 for an unrelated order
    in at most 2.5%. The measure can fail: a point "interval" covers far less often."""
    rep = REPORTED[(REPORTED.source == "shnet_table2") & (REPORTED.protocol == "cifar10-i")
                   & (REPORTED.n_bits == 32)]
    ranked = rep.sort_values("value").method.tolist()
    rng = np.random.default_rng(5)
    runs = [_scalar_run(m, 32, s, 0.5 + 0.01 * i + 0.01 * rng.standard_normal())
            for i, m in enumerate(ranked) for s in range(3)]
    cov = rankings.ranking_coverage(runs, REPORTED, scale="smoke", n_sims=200, n_boot=300)
    assert list(cov.n_bits) == [32] and cov.n_methods.iloc[0] == 6
    r = cov.iloc[0]
    assert r.coverage >= 0.95 and r.false_support <= 0.025 and r.null_tau <= 0
    text = rankings.ranking_coverage_text(cov, 200)
    assert f"{r.coverage:.1%}" in text and "false \"supported\"" in text

    def point(paper, reps, rng):
        tau = float(rankings.kendall_tau_b(paper, reps.mean(1)))
        return tau, tau

    monkeypatch.setattr(rankings, "_tau_interval", point)
    broken = rankings.ranking_coverage(runs, REPORTED, scale="smoke", n_sims=200, n_boot=300)
    assert broken.coverage.iloc[0] < 0.8


def test_a_table_with_shallow_methods_is_judged_on_its_deep_methods():
    """Pairs of a deep and a shallow method agree at any scale, so a ranked table with
    shallow methods is judged on τ over its deep methods (its own interval, drawn after
    the one over every method, which stays as it was and is context); the caption names
    the lengths where only the deep-shallow pairs put τ over every method above 0."""
    rep = REPORTED[(REPORTED.source == "dsah_table1") & (REPORTED.n_bits == 12)]
    ranked = rep.sort_values("value").method.tolist()  # worst first: shallow ones first
    n_deep = sum(m not in grids.SHALLOW for m in ranked)
    # every deep method above every shallow one, the deep ones in the paper's order reversed
    order = ranked[:-n_deep] + ranked[-n_deep:][::-1]

    def run(method, seed, value):
        r = _run(method, 12, seed, None, metric="precision_top5000")
        r.record["scalars"]["precision_top5000"] = value
        return r

    runs = [run(m, s, 0.3 + 0.05 * i + 0.001 * s) for i, m in enumerate(order) for s in range(3)]
    out = rankings.rank_agreement(runs, REPORTED, scale="smoke", source="dsah_table1",
                                  metric="precision_top5000", methods=tuple(ranked),
                                  bits=(12,), n_boot=300)
    r = out.iloc[0]
    assert r.judged_on == "deep methods" and r.tau_deep == pytest.approx(-1.0)
    assert r.tau > 0.3  # over every method the deep-shallow pairs agree
    assert r.deep_high < 0 and r.verdict == NOT_SUPPORTED  # the deep order is reversed
    table = rankings_page.ranking_table(out)
    assert str(table["τ, deep methods (95% interval)"].iloc[0]).count("[") == 1
    assert "(deep methods)" in table["verdict (judged on)"].iloc[0]
    text = rankings_page.deep_only_text(out.assign(deep_low=-0.1, low=0.1))
    assert "at 12 bits" in text and "deep and a shallow" in text
    assert rankings_page.deep_only_text(out.assign(deep_low=0.2, low=0.1)) == ""
    # an interval of no width (every resample kept one order) is marked and explained
    # (here every resample kept the reversed deep order)
    assert table["τ, deep methods (95% interval)"].iloc[0] == "-1.000 [-1.000, -1.000] †"
    assert "no width" in rankings_page.zero_width_text(out)
    wide = out.assign(deep_low=-1.0, deep_high=-0.2)
    assert "†" not in "".join(rankings_page.ranking_table(wide).iloc[0])
    assert rankings_page.zero_width_text(wide) == ""
    # a table of deep methods only is judged on every method
    shnet = rankings.rank_agreement(
        [_scalar_run(m, 32, s, 0.5 + 0.01 * i) for i, m in enumerate(grids.SHNET_TABLE)
         for s in range(2)], REPORTED, scale="smoke", source="shnet_table2", metric="map",
        methods=grids.SHNET_TABLE, bits=(32,), n_boot=200)
    assert set(shnet.judged_on) == {"every method"}


def test_ranking_null_of_deep_above_shallow_alone_is_measured():
    """The reason for the rule, measured: with the deep methods above the shallow ones but
    in orders unrelated to the paper's within each group, the interval over every method
    is above 0 far more often than the 2.5% a sound verdict allows; a table of deep
    methods only has no such null."""
    rep = REPORTED[(REPORTED.source == "dsah_table1") & (REPORTED.n_bits == 12)]
    ranked = rep.sort_values("value").method.tolist()
    rng = np.random.default_rng(3)

    def run(method, seed, value):
        r = _run(method, 12, seed, None, metric="precision_top5000")
        r.record["scalars"]["precision_top5000"] = value
        return r

    runs = [run(m, s, 0.3 + 0.05 * i + 0.005 * rng.standard_normal())
            for i, m in enumerate(ranked) for s in range(3)]
    cov = rankings.ranking_coverage(runs, REPORTED, scale="smoke", n_sims=100, n_boot=200)
    row = cov[cov.source == "dsah_table1"].iloc[0]
    assert row.n_methods == sum(m not in grids.SHALLOW for m in ranked)  # the verdict's set
    assert row.group_tau > 0.3 and row.group_support > 0.5
    assert row.coverage >= 0.95 and row.false_support <= 0.05
    assert "Why the deep methods" in rankings.ranking_coverage_text(cov, 100)


def test_batched_kendall_tau_is_scipys():
    from scipy.stats import kendalltau

    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (50, 7)).astype(float)  # ties on both sides
    y = rng.integers(0, 4, (50, 7)).astype(float)
    got = rankings.kendall_tau_b(x, y)
    want = [kendalltau(a, b).statistic for a, b in zip(x, y)]
    assert np.allclose(got, want, equal_nan=True)


# --------------------------------------------------------------------------- stored runs
def _codes(rng, labels, n_bits, quality):
    centres = np.where(np.random.default_rng(n_bits).random((10, n_bits)) > 0.5, 1, -1)
    codes = centres[labels]
    return np.where(rng.random(codes.shape) > quality, -codes, codes).astype(np.int8)


def _store(root, artifacts, runs, protocol=PROTOCOL, scale="smoke"):
    """Real records (real evaluation of synthetic codes), database codes in ``artifacts``."""
    ql = np.random.default_rng(99).integers(0, 10, 80)  # the same queries for every run
    for method, n_bits, seed, quality, variant in runs:
        rng = np.random.default_rng(1000 * seed + n_bits + len(method))
        dl = np.random.default_rng(7).integers(0, 10, 400)
        q, d = _codes(rng, ql, n_bits, quality), _codes(rng, dl, n_bits, quality)
        qh, dh = np.eye(10, dtype=np.uint8)[ql], np.eye(10, dtype=np.uint8)[dl]
        cfg = RunConfig.from_scale(scale, method=method, n_bits=n_bits, seed=seed,
                                   variant=variant).to_dict()
        cfg["protocol"] = protocol  # a protocol name this checkout may not register yet
        if variant and variant.startswith("budget-epochs"):
            cfg["epochs"] = int(variant.removeprefix("budget-epochs"))
        res = RunResult(cfg, q, d, qh, dh, evaluate(q, d, qh, dh), timings={"total_s": 1.0},
                        manifest={"protocol": protocol}, manifest_sha256="c" * 64)
        save_run(res, root=root, artifacts=artifacts)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    base = tmp_path_factory.mktemp("claims")
    root, artifacts = base / "results", base / "artifacts"
    _store(root, artifacts, [("csq", 32, s, 0.80, None) for s in (0, 1)]
           + [("shnet", 32, s, 0.90, None) for s in (0, 1)]
           + [("shnet", 32, 0, 0.5, "tune-adam-lr0.0003"), ("shnet", 32, 0, 0.6, "segments3"),
              ("dsah", 32, 0, 0.85, None), ("adsh", 32, 0, 0.75, None)])
    return root, artifacts


def test_default_runs_leave_out_tuning_and_ablation(store):
    root, _ = store
    runs = claims.default_runs(root, "smoke")
    assert len(runs) == 6 and all(r.key["variant"] is None for r in runs)


def _budget_store(tmp_path, seeds_40, seeds_80, seeds_160=0):
    """SHNet below CSQ at the grid's 40 epochs and above it at the claims' 80 (and at 160),
    with the given numbers of seeds per budget, on protocol I at the cpu scale."""
    root, artifacts = tmp_path / "results", tmp_path / "artifacts"
    budgets = ((None, seeds_40, (0.70, 0.85)),
               (grids.claim_variant("cpu"), seeds_80, (0.9, 0.75)),
               (grids.budget_variant(grids.ROBUST_EPOCHS), seeds_160, (0.9, 0.75)))
    _store(root, artifacts, [(m, 32, s, q, v) for v, n, qs in budgets
                             for m, q in zip(("shnet", "csq"), qs) for s in range(n)],
           protocol="cifar10-i", scale="cpu")
    return root, artifacts


def test_claims_are_judged_on_the_runs_of_the_claims_budget(tmp_path):
    """At the cpu scale the pairwise claims use the runs of the claims' budget (80 epochs)
    and say why, with the 40-epoch verdict beside each; elsewhere the default runs."""
    assert grids.claim_variant("cpu") == grids.budget_variant(grids.CLAIM_EPOCHS)
    assert grids.claim_variant("smoke") is None and grids.claim_variant("paper") is None
    long = grids.claim_variant("cpu")
    root, artifacts = _budget_store(tmp_path, 3, 3)  # SHNet below CSQ at 40, above at 80
    runs = claims.claim_runs(root, "cpu")
    assert len(runs) == 6 and {r.key["variant"] for r in runs} == {long}
    assert {int(r.record["config"]["epochs"]) for r in runs} == {grids.CLAIM_EPOCHS}
    assert claims.claim_runs(root, "smoke") == []
    blocks = claims_page.claims_page(root, scale="cpu", artifacts=artifacts, out_dir=tmp_path,
                                     n_boot=100, n_sims=20)
    text = "\n".join(blocks)
    # the notebook shows the budget figure right after Table 1
    assert blocks[1].startswith("**Table 1.")  # the verdicts first, then how they are drawn
    assert blocks[claims_page.OPENING_BLOCKS - 1].startswith("**How the verdicts are drawn.")
    assert "so the pairwise claims are judged on runs of 80" in blocks[claims_page.OPENING_BLOCKS - 1]
    # the discussion's sentence on the claims' budget reads the same rows
    from hashlib_core.report import schedule
    assert ("twice the default 40 epochs (80) changed the verdict of SHNet vs CSQ, so the "
            "pairwise claims are judged on 80-epoch runs") in schedule.claims_budget_text(
                root, scale="cpu")
    assert schedule.claims_budget_text(root, scale="smoke") == ""
    assert "no correction across the page's 5 pairwise claims" in text
    assert "at most 25% of the time (about 23% if the claims were independent" in text
    summary = pd.read_csv(tmp_path / "claims_summary.csv")
    row = summary[summary.claim.str.startswith("SHNet has a higher")].iloc[0]
    assert row["verdict at 40 epochs"] == NOT_SUPPORTED and row.verdict != NOT_SUPPORTED
    assert "32 bits: supported" in row.evidence
    assert "Why 80 epochs: SHNet minus CSQ at 32 bits" in text
    assert "changed the verdict of SHNet vs CSQ" in text
    assert "the 160-epoch runs are not complete (0 of 3 seeds" in text
    assert "those with runs at both budgets" not in text  # the same 3 seeds at both
    # the introduction names the shorter budget's verdict where it differs
    first = claims_intro.intro_summary(root, scale="cpu", artifacts=artifacts)[0]
    assert ("at the `cpu` scale (runs of 80 epochs, the claims' budget) (not supported on "
            "runs of 40 epochs: the verdict depends on the training length)") in first


def test_why_the_budget_says_when_it_compares_fewer_seeds_than_table_1(tmp_path):
    """While the claims' budget has fewer seeds than the grid's, "Why 80 epochs" compares
    the seeds both have and says that Table 1's 40-epoch verdict uses more of them."""
    root, _ = _budget_store(tmp_path, 5, 3)
    why = claim_checks.budget_robustness(root, "cpu", main=None, long=grids.claim_variant("cpu"))
    row = why[why.claim == "shnet-csq"].iloc[0]
    assert (row.seeds, row.main_seeds) == (3, 5)
    text = claim_checks.robustness_text(why[why.claim == "shnet-csq"], why=True)
    assert ("same 3 seeds (those with runs at both budgets; the verdict at 40 epochs in "
            "Table 1 uses 5)") in text


def test_budget_figure_draws_each_budget_with_the_pages_interval(tmp_path):
    """The figure of a claim's difference against the training budget: one point per
    budget both methods have, the claims page's interval and verdict, no interval with a
    single seed, and a take-away that names the verdict at each budget."""
    from hashlib_core.report.figures.budgets import budget_points, claim_budget_figure

    root, _ = _budget_store(tmp_path, 3, 3, 1)
    pts = budget_points(root, "cpu").set_index("epochs")
    assert list(pts.index) == [40, grids.CLAIM_EPOCHS, grids.ROBUST_EPOCHS]
    assert set(pts.claim) == {"shnet-csq"}
    assert pts.loc[40, "verdict"] == NOT_SUPPORTED and pts.loc[80, "verdict"] == SUPPORTED
    assert pts.loc[160, "verdict"] == INCONCLUSIVE and np.isnan(pts.loc[160, "low"])
    # the page's own number: the claims' table at 80 epochs gives the same difference
    runs = claims.claim_runs(root, "cpu")
    iv = claims.compare([r for r in runs if r.key["method"] == "shnet"],
                        [r for r in runs if r.key["method"] == "csq"], "map")
    assert pts.loc[80, "difference"] == pytest.approx(iv.difference)
    assert (pts.loc[80, "low"], pts.loc[80, "high"]) == pytest.approx((iv.low, iv.high))
    drawn = claim_budget_figure(root, scale="cpu")
    assert drawn.fig is not None
    assert ("SHNet − CSQ (32 bits, mAP@ALL): not supported at 40 (3 seeds), supported at "
            "80 (3 seeds), inconclusive at 160 (1 seed)") in drawn.caption
    assert "may be the seeds, not the budget" in drawn.caption  # 3 seeds, then 1
    assert "depends on the training length" not in drawn.caption
    # a scale with one budget only: no figure, a caption that says so
    assert claim_budget_figure(tmp_path / "none", scale="cpu").fig is None


def test_per_query_values_from_the_record_or_recomputed_from_the_codes(store, tmp_path):
    """New records carry per-query values; for a record without them the values are
    recomputed from the query and database codes and average to the stored scalar."""
    import shutil

    root, artifacts = store
    copy = tmp_path / "results"
    shutil.copytree(root, copy)
    run = next(r for r in claims.default_runs(copy, "smoke", artifacts=artifacts)
               if r.key["method"] == "dsah")
    stored = run.per_query("precision_top5000")
    assert stored.shape == (80,)
    assert stored.mean() == pytest.approx(run.record["scalars"]["precision_top5000"], abs=1e-6)
    # an older record: no per-query curves
    path = next(copy.glob("smoke/*/dsah/32b_seed0/record.json"))
    rec = json.loads(path.read_text())
    for k in ("per_query_map", "per_query_precision_top5000"):
        rec["curves"].pop(k)
    path.write_text(json.dumps(rec))
    old = next(r for r in claims.default_runs(copy, "smoke", artifacts=artifacts)
               if r.key["method"] == "dsah")
    np.testing.assert_allclose(old.per_query("precision_top5000"), stored, atol=1e-6)
    np.testing.assert_allclose(old.per_query("map").mean(), rec["scalars"]["map"], atol=1e-6)
    # without the database codes there is nothing to pair over
    none = next(r for r in claims.default_runs(copy, "smoke", artifacts=None)
                if r.key["method"] == "dsah")
    assert none.per_query("map") is None
    # codes that do not belong to the record are an error naming it
    rec["scalars"]["map"] += 0.1
    path.write_text(json.dumps(rec))
    bad = next(r for r in claims.default_runs(copy, "smoke", artifacts=artifacts)
               if r.key["method"] == "dsah")
    with pytest.raises(ValueError, match="record.json|dsah"):
        bad.per_query("map")


def test_claims_on_stored_runs_and_page(store, tmp_path):
    root, artifacts = store
    runs = claims.default_runs(root, "smoke", artifacts=artifacts)
    results = claims.evaluate_claims(runs, REPORTED, scale="smoke")
    sc = results["shnet-csq"]
    assert sc.n_bits.tolist() == [32] and sc.iloc[0].n_seeds == 2
    assert "queries (paired)" in sc.iloc[0].basis  # per-query values from the records
    assert sc.iloc[0].n_runs == 4 and sc.iloc[0].commits
    # DSAH against ADSH is tested under ADSH's protocol only: no run there, no row
    claim = next(c for c in claims.CLAIMS if c.id == "dsah-adsh")
    assert claims.claim_protocol(claim, runs, "smoke") == ("cifar10-adsh", "")
    assert results["dsah-adsh"].empty
    # the page: blocks with tables and CSV files beside it
    blocks = claims_page.claims_page(root, scale="smoke", artifacts=artifacts, out_dir=tmp_path,
                                n_boot=200)
    text = "\n".join(blocks)
    assert "Table 1." in text and "| paper | claim | verdict | evidence |" in text
    # the opening reconciles its run counts: default runs, the deep ones, the ranked ones
    deep = sum(r.key["method"] in grids.DEEP for r in runs)
    assert f"{len(runs)} runs with the default settings" in blocks[0]
    assert f"({deep} of them deep" in blocks[0]
    assert "[SHNet](../methods/shnet.md)" in text
    for name in ("claims_summary.csv", "claims_shnet-csq.csv", "claims_rankings.csv"):
        assert (tmp_path / name).is_file() and f"({name})" in text
    summary = pd.read_csv(tmp_path / "claims_summary.csv")
    assert set(summary.verdict) <= {SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE}
    sentences = claims_intro.summary_sentences(claims.CLAIMS, results,
                                              rankings.rankings(runs, REPORTED, scale="smoke",
                                                                n_boot=100), scale="smoke")
    assert len(sentences) == 3
    assert claims.claim_verdict(claims.CLAIMS[0], sc) in sentences[0]


def test_claims_protocol_prefers_adsh_protocol(tmp_path):
    root, artifacts = tmp_path / "results", tmp_path / "artifacts"
    _store(root, artifacts, [("dsah", 24, 0, 0.85, None), ("adsh", 24, 0, 0.75, None)],
           protocol="cifar10-adsh")
    _store(root, artifacts, [("dsah", 24, 0, 0.85, None), ("adsh", 24, 0, 0.75, None)])
    runs = claims.default_runs(root, "smoke")
    claim = next(c for c in claims.CLAIMS if c.id == "dsah-adsh")
    assert claims.claim_protocol(claim, runs, "smoke") == ("cifar10-adsh", "")
    rows = claims.evaluate_claim(claim, runs, REPORTED, scale="smoke")
    assert set(rows.protocol) == {"cifar10-adsh"}
    # the introduction counts the claim's four lengths, not only those with runs
    results = {c.id: rows if c.id == "dsah-adsh" else pd.DataFrame(columns=rows.columns)
               for c in claims.CLAIMS}
    text = claims_intro.summary_sentences(claims.CLAIMS, results, pd.DataFrame(), scale="smoke")[1]
    assert "at 0 of 4 code lengths (12, 24, 36, 48 bits: no interval yet)" in text
    text = claims_intro.summary_sentences(claims.CLAIMS, results, pd.DataFrame(), scale="smoke",
                                         epochs=80)[1]
    assert "(12, 24, 36, 48 bits: no interval from 80-epoch runs yet)" in text


def test_summary_says_when_the_claimed_length_was_not_run():
    claim = Claim("x", "X", "x", "shnet", ("csq",), "map", focus_bits=(16,))
    rows = pd.DataFrame({"n_bits": [32], "verdict": [SUPPORTED], "low": [0.1], "high": [0.2]})
    summary = claims_page.summary_table((claim,), {"x": rows}, pd.DataFrame(columns=["source"]))
    assert summary.verdict.iloc[0] == f"**{INCONCLUSIVE}**"
    assert "no run at 16 bits" in summary.evidence.iloc[0]


def test_evaluate_stores_the_per_query_values_behind_the_means():
    """evaluate() keeps each query's AP and top-5,000 precision (what pairing needs);
    a query left out by empty="skip" is NaN there and out of the mean."""
    from hashlib_core.metrics import average_precision

    rng = np.random.default_rng(3)
    ql, dl = rng.integers(0, 6, 40), rng.integers(0, 5, 300)  # class 5: no relevant item
    q, d = _codes(rng, ql, 16, 0.8), _codes(rng, dl, 16, 0.8)
    with pytest.warns(RuntimeWarning, match="no relevant item"):
        res = evaluate(q, d, ql, dl, topk=50)
    ap = res.curves["per_query_map"]
    assert ap.shape == (40,) and ap.mean() == pytest.approx(res.scalars["map"])
    with pytest.warns(RuntimeWarning):
        np.testing.assert_allclose(ap, average_precision(q, d, ql, dl, topk=50))
    top = res.curves["per_query_precision_top5000"]
    assert top.mean() == pytest.approx(res.scalars["precision_top5000"])
    with pytest.warns(RuntimeWarning):
        skip = evaluate(q, d, ql, dl, topk=50, empty="skip")
    assert np.isnan(skip.curves["per_query_map"][ql == 5]).all()
    assert np.nanmean(skip.curves["per_query_map"]) == pytest.approx(skip.scalars["map"])


def test_the_mac_claim_rests_on_adsh_protocol_32_bit_runs_only(tmp_path):
    """Issue 23: DSAH's mAC claim fell back to single-seed protocol-I runs when ADSH's
    protocol had no 32-bit cell. It now stays on ADSH's protocol, inconclusive until its
    32-bit runs exist."""
    root, artifacts = tmp_path / "results", tmp_path / "artifacts"
    _store(root, artifacts, [("dsah", 24, 0, 0.85, None), ("adsh", 24, 0, 0.75, None)],
           protocol="cifar10-adsh")
    _store(root, artifacts, [("dsah", 32, 0, 0.85, None), ("adsh", 32, 0, 0.75, None)])
    runs = claims.default_runs(root, "smoke")
    by_id = {c.id: c for c in claims.CLAIMS}
    assert claims.claim_protocol(by_id["dsah-mac"], runs, "smoke") == ("cifar10-adsh", "")
    rows = claims.evaluate_claim(by_id["dsah-mac"], runs, REPORTED, scale="smoke")
    assert set(rows.protocol) == {"cifar10-adsh"} and 32 not in set(rows.n_bits)
    assert claims.claim_verdict(by_id["dsah-mac"], rows) == INCONCLUSIVE
    assert "no run at 32 bits" in claims_page._claim_evidence(by_id["dsah-mac"], rows)


def test_a_missing_compared_method_is_named():
    runs = [_scalar_run("dheh", 16, s, 0.55 + 0.001 * s) for s in (0, 1)]
    claim = Claim("d", "DHEH", "DHEH beats its baselines.", "dheh", ("lsh", "dpsh"), "map",
                  focus_bits=(16,), baseline="dpsh")
    rows = claims.evaluate_claim(claim, runs, REPORTED, scale="smoke")
    r = rows.iloc[0]
    assert r.missing == ("dpsh",) and np.isnan(r.low) and r.verdict == INCONCLUSIVE
    assert "DPSH not run yet" in claims_page.claim_table(claim, rows).iloc[0, 2]
    assert "DPSH not run yet" in claims_page._claim_evidence(claim, rows)


def test_baseline_selection_rederives_the_pre_specified_baseline():
    """The DHEH/CSDH baseline fixed in the grid is the paper's deep baseline with the best
    validation mAP in the stored tuning runs (no query number enters)."""
    from pathlib import Path

    from hashlib_core.runner import grids

    root = Path(__file__).resolve().parents[2] / "results"
    sel = claim_checks.baseline_selection(root, "cpu")
    if sel.empty:
        pytest.skip("no committed tuning runs in this checkout")
    assert sel.method.iloc[0] == grids.DHEH_CSDH_BASELINE and sel.chosen.iloc[0]
    assert set(sel.method) <= set(claims.DHEH_BASELINES) and not set(sel.method) & set(grids.SHALLOW)
    assert list(sel.val_map) == sorted(sel.val_map, reverse=True)


def test_claims_page_states_what_each_verdict_rests_on(tmp_path):
    """Issue 23's done-when, read back from the page built on the committed cpu runs: for
    each claim the comparison set and its source, the multiplicity rule, the budget
    robustness, both DSAH metrics, the measured coverage and the training status; no
    claim row draws an interval from a borrowed spread."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "results"
    if not (root / "cpu").is_dir():
        pytest.skip("no committed cpu results in this checkout")
    blocks = claims_page.claims_page(root, scale="cpu", artifacts=None, out_dir=tmp_path, n_boot=200,
                                     n_sims=100)
    text = "\n".join(blocks)
    assert "Bonferroni" in text and "supported at every one of them" in text
    # the coverage of every compared pair, each with its own spreads, from the runs the
    # verdicts use: within [0.93, 0.97] for ours, below for the old bootstrap
    runs = claim_checks.current_runs(claims.claim_runs(root, "cpu"), root, "cpu")
    assert {int(r.record["config"]["epochs"]) for r in runs} == {grids.CLAIM_EPOCHS}
    cov = claim_checks.coverage_check(runs, scale="cpu")
    table = cov["table"]
    assert {"shnet-csq", "dheh-short", "csdh-short", "dsah-adsh", "dsah-mac"} <= set(table.claim)
    mac = table[table.claim == "dsah-mac"]  # seeds only: one mAC per run, no query terms
    assert list(mac.n_bits) == [32] and (mac.eta == 0).all() and (mac.sigma > 0).all()
    assert "has σ alone" in text
    assert table[["t3", "t5"]].stack().between(0.93, 0.97).all()
    assert (table.bootstrap3 < 0.93).all()
    assert f"{cov['t3'][0]:.1%} to {cov['t3'][1]:.1%}" in text
    assert f"{len(table)} compared pairs" in text and "t, 5 seeds" in text
    assert "The interval's coverage was measured" in text and "false \"supported\"" in text
    status = claim_checks.training_status(root, "cpu")
    assert f"Of the {status['runs']} default deep runs, {status['rising']} were still" in text
    for claim in claims.CLAIMS:
        block = next(b for b in blocks if f"**{claim.paper}: {claim.statement}**" in b)
        assert "Compared (pre-specified): " + claim.comparison in block
        rob = claim_checks.budget_robustness(root, "cpu")
        if claim.id in set(rob.claim) and "not tested" not in block:
            assert "Budget robustness of" in block
        # why the claims' budget: the grid's 40 epochs against it, at the decisive length
        why = claim_checks.budget_robustness(root, "cpu", main=None,
                                             long=grids.claim_variant("cpu"))
        if claim.id in set(why.claim) and "not tested" not in block:
            assert f"Why {grids.CLAIM_EPOCHS} epochs: " in block
            assert f"{grids.CLAIM_EPOCHS} epochs; from " in block
    summary = next(b for b in blocks if b.startswith("**Table 1."))
    assert "| verdict at 40 epochs |" in summary
    assert claim_checks.budget_reason(why) in text
    dsah = next(b for b in blocks if b.startswith("**Table") and "**DSAH: DSAH has a higher precision" in b)
    assert "The same comparison in mAP@ALL" in dsah and "which the verdict uses" in dsah
    # the mAC claim's code health is read from the claim's own (80-epoch) runs
    health = next(b for b in blocks if "How much of the code DSAH and ADSH use" in b)
    assert f"(32 bits, seed 0, {grids.CLAIM_EPOCHS} epochs, protocol `cifar10-adsh`" in health
    assert "DSAH's mean mAC over its database codes in Table 5 (0." in health
    rows = pd.read_csv(tmp_path / "claims_shnet-csq.csv")
    assert not rows.basis.str.contains("borrowed").any()
    for name in tmp_path.glob("claims_*.csv"):
        assert "borrowed" not in name.read_text()


def test_claims_page_marks_runs_that_deviate_from_the_paper():
    """Issue 25: a run made with --allow-protocol-deviation (other split sizes) is marked
    on the claims page, as in every table's caption."""
    run = _run("shnet", 32, 0, np.full(10, 0.5))
    assert claims_page._deviations([run]) == ""
    run.record["provenance"]["run"] = {"protocol_deviations": ["train 150 instead of 10,500"]}
    text = claims_page._deviations([run])
    assert "‡" in text and "1 of these runs deviate" in text
    assert "SHNet 32 bits seed 0" in text and "train 150 instead of 10,500" in text


def test_runs_made_with_a_superseded_winner_are_named(monkeypatch):
    """When the tie rule changes a method's winner after its runs were made, the claims
    page says which runs are to be redone instead of passing them off as tuned."""
    from hashlib_core.runner import tuning

    runs = [_scalar_run("shnet", 32, s, 0.5) for s in range(3)] + [_scalar_run("csq", 32, 0, 0.5)]
    for r in runs:
        r.record["config"] = {"optimizer": "adam", "lr": 3e-3}
    monkeypatch.setattr(tuning, "tuned_settings", lambda m, root, scale="cpu": (
        {"optimizer": "adam", "lr": 1e-2} if m == "shnet" else {"optimizer": "adam", "lr": 3e-3}))
    stale = claim_checks.stale_settings(runs, "unused", "cpu")
    assert stale.to_dict("records") == [{"method": "shnet", "runs": 3,
                                         "made_with": "adam at 0.003", "winner": "adam at 0.01"}]
    assert "SHNet's 3 runs were made with adam at 0.003" in claims_page._stale_text(stale)
    assert [r.key["method"] for r in claim_checks.current_runs(runs, "unused", "cpu")] == ["csq"]
    assert claim_checks.stale_settings(runs, "unused", "smoke").empty


def _confound_row(against, lr_other, difference, low, high, verdict):
    return {"against": against, "seeds": 3, "first": 0.55, "second": 0.55 - difference,
            "lr_first": 0.01, "lr_second": lr_other, "difference": difference, "low": low,
            "high": high, "verdict": verdict, "epochs": 40}


def test_confound_sentence_reads_the_twin_row_never_the_claim_row():
    # only the claim's row (the twin's runs not made yet), both rates equal: the sentence
    # says the claim is already at one rate and must not pass its numbers off as the twin's
    claim_only = pd.DataFrame([_confound_row(claim_checks.CLAIM_ROW, 0.01, -0.015, -0.026,
                                             -0.004, claims.NOT_SUPPORTED)])
    text = claim_checks.confound_sentence(claim_only)
    assert "same rate (0.01)" in text and "at 40 epochs, SHNet minus CSQ is -0.015" in text
    assert "parallel head (= CSQ) is" not in text and "not compared yet" in text
    # both rows, the twin's second: its numbers decide the conclusion
    both = pd.DataFrame([
        _confound_row(claim_checks.CLAIM_ROW, 0.003, -0.015, -0.026, -0.004,
                      claims.NOT_SUPPORTED),
        _confound_row(claim_checks.HEAD_ROW, 0.01, +0.004, -0.003, +0.011,
                      claims.INCONCLUSIVE)])
    text = claim_checks.confound_sentence(both)
    assert "parallel head (= CSQ) is +0.004" in text and "no difference" in text
    assert "same rate (" not in text  # the claim's rates differ here
    assert "not compared yet" in claim_checks.confound_sentence(pd.DataFrame())
    assert "bit for bit" not in text and "Split in two" not in text
    both.loc[1, "codes_as_csq"] = True
    assert "CSQ's, bit for bit" in claim_checks.confound_sentence(both)
    # the code layer's difference split into its serial structure and its batch norm
    split = pd.concat([both, pd.DataFrame([
        _confound_row(claim_checks.SERIAL_ROW, 0.01, +0.003, -0.006, +0.012,
                      claims.INCONCLUSIVE),
        _confound_row(claim_checks.BN_ROW, 0.01, -0.020, -0.030, -0.010,
                      claims.NOT_SUPPORTED)])], ignore_index=True)
    text = claim_checks.confound_sentence(split)
    assert "Split in two: the serial structure" in text
    assert "+0.003 [-0.006, +0.012] (3 seeds), no difference these runs can show" in text
    assert "-0.020 [-0.030, -0.010] (3 seeds), which lowers mAP@ALL" in text


def test_the_twin_is_csq_when_its_codes_are_csqs():
    def run(method, seed, sha):
        r = _run(method, 32, seed, None)
        r.record["files"]["query_codes"]["sha256"] = sha
        return r

    csq = [run("csq", s, f"h{s}") for s in range(3)]
    assert claim_checks._same_codes([run("shnet", s, f"h{s}") for s in range(3)], csq)
    assert not claim_checks._same_codes([run("shnet", 0, "h0"), run("shnet", 1, "x")], csq)
    assert not claim_checks._same_codes([], csq)


def test_budget_runs_at_a_length_outside_a_claim_are_context(tmp_path, monkeypatch):
    """Without longer runs at one of its own lengths, a claim shows the runs made for
    another claim of the same two methods (DSAH/ADSH at 32 bits, the mAC claim's length)
    as context for the precision claim (12-48 bits)."""
    from hashlib_core.runner import grids

    monkeypatch.setattr(claim_checks, "ROBUSTNESS", tuple(
        r for r in grids.ROBUSTNESS if not (r[0] == "cifar10-adsh" and r[2] == 48)))
    rob = claim_checks.budget_robustness(tmp_path, "cpu").set_index("claim")
    assert bool(rob.loc["dsah-mac", "in_claim"]) and not bool(rob.loc["dsah-adsh", "in_claim"])
    assert bool(rob.loc["shnet-csq", "in_claim"]) and bool(rob.loc["dheh-short", "in_claim"])
    text = claim_checks.robustness_text(rob.loc[["dsah-adsh"]].reset_index())
    assert "context only: 32 bits is not one of the lengths" in text
    assert "context only" not in claim_checks.robustness_text(rob.loc[["dsah-mac"]].reset_index())


def test_each_claim_is_checked_at_its_decisive_length(tmp_path):
    """The grid's longer runs: the precision claim at 48 bits (the one length where it is
    not supported), the mAC claim at 32; a claim with runs at its own length shows no
    context row from the other claim's length."""
    rob = claim_checks.budget_robustness(tmp_path, "cpu")
    assert rob.in_claim.all()
    got = {(r.claim, r.n_bits) for r in rob.itertuples()}
    assert got == {("shnet-csq", 32), ("dheh-short", 16), ("csdh-short", 16),
                   ("dsah-mac", 32), ("dsah-adsh", 48)}
    text = claim_checks.robustness_lengths(rob)
    assert "DSAH vs ADSH (precision): 48 bits" in text and "DSAH vs ADSH (mAC): 32 bits" in text
    assert claim_checks.robustness_lengths(pd.DataFrame()) == ""


def test_the_ranking_caption_names_methods_with_left_out_runs():
    remade = ["r/cpu/cifar10-i/shnet/16b_seed3/record.json: made with SHNet revision 1; "
              "the code is at revision 2: x",
              "r/cpu/cifar10-i/shnet/32b_seed1_parallel/record.json: made with SHNet "
              "revision 1; the code is at revision 2: x"]
    text = rankings_page.ranked_left_out(pd.DataFrame(), remade)
    assert "leave out the runs of SHNet" in text
    assert rankings_page.ranked_left_out(pd.DataFrame(), remade[1:]) == ""  # a variant only
    assert rankings_page.ranked_left_out(pd.DataFrame(), []) == ""


def _budget(claim_id, main_v, long_v, main_d, long_d, shift=(0.0, -0.01, 0.01)):
    return {"claim": claim_id, "in_claim": True, "main_epochs": 40, "seeds": 3, "main_verdict": main_v,
            "long_verdict": long_v, "main_difference": main_d, "long_difference": long_d,
            "shift": shift[0], "shift_low": shift[1], "shift_high": shift[2]}


def test_budget_verdict_changes_are_told_apart():
    """A definite verdict turning inconclusive on the same side is a loss of precision, not
    a change; a reversal or a newly definite verdict is a change, and then the page says the
    main budget is too short for that claim."""
    change = claim_checks._verdict_change
    assert change(_budget("x", NOT_SUPPORTED, INCONCLUSIVE, -0.015, -0.019)) == "less certain"
    assert change(_budget("x", NOT_SUPPORTED, INCONCLUSIVE, -0.015, +0.002)) == "yes"
    assert change(_budget("x", INCONCLUSIVE, SUPPORTED, 0.001, 0.02)) == "yes"
    assert change(_budget("x", SUPPORTED, SUPPORTED, 0.01, 0.02)) == "no"
    assert change(_budget("x", "", SUPPORTED, float("nan"), 0.02)) == "pending"
    rows = [_budget("shnet-csq", NOT_SUPPORTED, INCONCLUSIVE, -0.015, -0.019),
            _budget("dheh-short", NOT_SUPPORTED, NOT_SUPPORTED, -0.02, -0.02)]
    rob = pd.DataFrame([{**r, "changes": change(r)} for r in rows])
    text = claim_checks.budget_conclusion(rob)
    assert "no verdict changes direction" in text and "stays at 40 epochs" in text
    rows.append(_budget("csdh-short", INCONCLUSIVE, SUPPORTED, 0.001, 0.02, (0.02, 0.01, 0.03)))
    rob = pd.DataFrame([{**r, "changes": change(r)} for r in rows])
    text = claim_checks.budget_conclusion(rob)
    assert "(160) the verdict changes for CSDH vs CNNH: the budget is still too short" in text
    # why the claims' budget: the claims whose verdict the longer runs changed, by name
    why = rob.assign(main_epochs=40, long_epochs=80)
    reason = claim_checks.budget_reason(why)
    assert reason.startswith("At one code length per claim (named below), twice the default 40 epochs "
                             "(80, 3 seeds of both methods) changed the verdict of CSDH vs CNNH, so")
    assert "judged on runs of 80 epochs" in reason
    assert "changed no verdict" in claim_checks.budget_reason(why.iloc[:2])
    # the real runs: the SHNet/CSQ row carries each method's means and the paired shift
    rob = claim_checks.budget_robustness(Path(__file__).resolve().parents[2] / "results", "cpu")
    row = rob.set_index("claim").loc["shnet-csq"]
    if row.changes != "pending":
        assert np.isfinite(row["shift"]) and row.shift_low <= row["shift"] <= row.shift_high
        assert 0 < row.long_method_mean < 1 and 0 < row.main_against_mean < 1
