"""Book tables, figures and findings from a small real results store; the page notebooks
execute on it (slow)."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest

from hashlib_core.engine import RunConfig, RunResult
from hashlib_core.evaluation import evaluate
from hashlib_core.report import (
    ablation_effects,
    agreement,
    comparison,
    diagnosis_runs,
    grid_status,
    learning,
    markdown,
    protocol_tables,
    results_tables,
    run_list,
    schedule,
    split_overlap,
)
from hashlib_core.report.figures import bit_correlation, precision, tsne
from hashlib_core.report.reported import load_reported
from hashlib_core.results import load_curves, load_results, save_run

PROTOCOL = "cifar10-smoke"


def _codes(rng, labels, n_bits, quality):
    """Codes that are noisy copies of a per-class code (quality = fraction kept)."""
    centres = np.where(np.random.default_rng(n_bits).random((10, n_bits)) > 0.5, 1, -1)
    codes = centres[labels]
    flip = rng.random(codes.shape) > quality
    return np.where(flip, -codes, codes).astype(np.int8)


def _store(root, runs):
    """Save real RunResults (real configs, real evaluation of synthetic codes)."""
    for method, n_bits, seed, quality, variant in runs:
        rng = np.random.default_rng(1000 * seed + n_bits)
        ql, dl = rng.integers(0, 10, 60), rng.integers(0, 10, 300)
        q, d = _codes(rng, ql, n_bits, quality), _codes(rng, dl, n_bits, quality)
        qh, dh = np.eye(10, dtype=np.uint8)[ql], np.eye(10, dtype=np.uint8)[dl]
        cfg = RunConfig.from_scale("smoke", method=method, n_bits=n_bits, seed=seed,
                                   variant=variant)
        res = RunResult(cfg, q, d, qh, dh, evaluate(q, d, qh, dh), timings={"total_s": 1.0},
                        manifest={"protocol": PROTOCOL}, manifest_sha256="c" * 64)
        save_run(res, root=root, artifacts=None)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("book") / "results"
    _store(root, [("csq", 64, s, 0.85 + 0.02 * s, None) for s in (0, 1, 2)]
           + [("shnet", 64, 0, 0.9, None), ("shnet", 32, 0, 0.9, None),
              ("shnet", 32, 0, 0.8, "segments3"), ("csq", 32, 0, 0.85, None),
              ("lsh", 32, 0, 0.6, None), ("dsah", 32, 0, 0.8, None)])
    return root


def test_comparison_and_format(store):
    results, reported = load_results("smoke", root=store), load_reported()
    comp = comparison.comparison(results, reported, dataset="cifar10", protocol=PROTOCOL,
                             metric="map", methods=["csq", "shnet", "dpsh"], bits=[32, 64],
                             source="shnet_table2")
    csq64 = comp.query("method == 'csq' and n_bits == 64").iloc[0]
    assert csq64.reported == pytest.approx(0.84) and csq64.n_seeds == 3
    seeds = results.query("method == 'csq' and n_bits == 64")["map"]
    assert csq64["mean"] == pytest.approx(seeds.mean())
    assert csq64["std"] == pytest.approx(seeds.std(ddof=1))
    assert csq64.difference == pytest.approx(seeds.mean() - 0.84)
    # the ablation variant is not mixed into SHNet's default cell
    assert comp.query("method == 'shnet' and n_bits == 32").iloc[0].n_seeds == 1
    assert comp.query("method == 'dpsh'")["mean"].isna().all()
    text = comparison.format_comparison(comp)
    assert text.loc["CSQ", ("64 bits", "here")].endswith("(3)")
    assert "±" in text.loc["CSQ", ("64 bits", "here")]
    assert text.loc["DPSH", ("32 bits", "here")] == markdown.MISSING
    assert text.loc["DPSH", ("32 bits", "paper")] == markdown.MISSING  # not printed


def test_dataset_tables_state_scale_and_counts(store):
    results, reported = load_results("smoke", root=store), load_reported()
    out = comparison.dataset_tables(results, reported, dataset="cifar10", scale="smoke")
    assert len(out) == 2
    caption, table = out[0]
    assert "mAP@ALL" in caption and "scale `smoke`" in caption and "cifar10-smoke" in caption
    assert "runs of the `smoke` grid" in caption
    assert table.shape[0] == 20
    coco = comparison.dataset_tables(results, reported, dataset="coco", scale="smoke")
    assert "mAP@5000" in coco[0][0] and "0 of" in coco[0][0]
    assert "--datasets coco" in results_tables.fill_in_command("coco")
    runs = run_list.runs_table(results, protocol=PROTOCOL)
    assert len(runs) == len(results) and "wall_time_min" in runs.columns
    abl = ablation_effects.ablation(results, protocol=PROTOCOL, n_bits=32,
                          variants={"segments3": "three", "segments4": "four"})
    assert abl.n_runs.tolist() == [1, 1, 0, 1]
    assert markdown.format_numbers(abl).iloc[2]["map"] == markdown.MISSING


def _labelled(fig):
    """Axes labelled (small multiples: on the outer panels, which the others share)."""
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.has_data()]
    assert axes and any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes)


def test_figures(store):
    """The figures draw from this store (their own tests: tests/report/test_figures.py)."""
    curves, results = load_curves("smoke", root=store), load_results("smoke", root=store)
    kw = dict(scale="smoke", protocol=PROTOCOL)
    for fig, cap, alt in (precision.pr_figure(curves, bits=[32], **kw),
                          precision.precision_at_n_figure(curves, bits=[64], **kw),
                          precision.radius2_figure(results, **kw),
                          bit_correlation.mac_figure(results, n_bits=32,
                                                     methods=["dsah", "csq", "lsh"], **kw)):
        assert fig is not None and "scale `smoke`" in cap and alt
        _labelled(fig)
        plt.close(fig)
    fig, cap, _ = bit_correlation.correlation_figure(curves, n_bits=32,
                                                     methods=["dsah", "csq", "dpsh"], **kw)
    assert "DPSH" not in cap and "DSAH" in cap
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    plt.close(fig)
    fig, cap, _ = precision.pr_figure(curves, bits=[16], **kw)
    assert fig is None and "no run" in cap


def test_tsne_figure(store):
    from hashlib_core.results import load_query_codes

    panels = [(m, *load_query_codes("smoke", PROTOCOL, m, 64, root=store))
              for m in ("shnet", "csq")]
    fig, cap, _ = tsne.tsne_figure(panels, n_bits=64, scale="smoke", protocol=PROTOCOL)
    assert len([a for a in fig.axes if a.has_data()]) == 2 and "SHNet and CSQ" in cap
    assert fig.legends
    plt.close(fig)


def test_findings(store):
    results, reported = load_results("smoke", root=store), load_reported()
    agree = agreement.ranking_agreement(results, reported, dataset="cifar10", protocol=PROTOCOL,
                                       metric="map", bits=[32, 64], source="shnet_table2",
                                       methods=["csq", "shnet"])
    assert agree.n_methods.tolist() == [2, 2] and agree.kendall_tau.isna().all()
    assert "too few" in agreement.ranking_text(agree, metric_label="mAP")
    gaps = agreement.headline(results, reported, protocol=PROTOCOL)
    g64 = gaps.set_index("n_bits").loc[64]
    assert g64.reported_gap == pytest.approx(0.869 - 0.84, abs=1e-9) or g64.reported_gap > 0
    assert g64.csq_seeds == 3
    assert "16 bits" in agreement.headline_text(gaps)


def test_ablation_effects_and_cost(store):
    results = load_results("smoke", root=store)
    eff = ablation_effects.ablation_effects(results, protocol=PROTOCOL, n_bits=32)
    assert eff.index.tolist() == ["segments3"]
    shnet32 = results.query("method == 'shnet' and n_bits == 32 and variant.isna()")["map"]
    seg3 = results.query("variant == 'segments3'")["map"]
    assert eff.loc["segments3", "delta"] == pytest.approx(seg3.iloc[0] - shnet32.iloc[0])
    # one seed of SHNet's default at 32 bits: no interval, no verdict
    assert np.isnan(eff.low.iloc[0]) and eff.shown.iloc[0] is None
    assert "no change has an interval" in ablation_effects.ablation_text(eff)
    # with seeds on both sides: a Welch interval on the difference of the means
    row = results.query("variant == 'segments3'").iloc[[0]]
    dflt = results.query("method == 'shnet' and n_bits == 32 and variant.isna()").iloc[[0]]
    many = pd.concat([dflt.assign(map=v) for v in (0.50, 0.51, 0.52)]
                     + [row.assign(map=v) for v in (0.55, 0.56, 0.57)]
                     + [row.assign(map=v, variant="segments4") for v in (0.49, 0.52, 0.53)])
    many.attrs = results.attrs
    eff3 = ablation_effects.ablation_effects(many, protocol=PROTOCOL, n_bits=32)
    seg3 = eff3.loc["segments3"]
    assert seg3.delta == pytest.approx(0.05) and seg3.low > 0 and seg3.shown
    assert eff3.loc["segments4", "low"] < 0 < eff3.loc["segments4", "high"]
    assert not eff3.loc["segments4", "shown"]
    text = ablation_effects.ablation_text(eff3)
    assert "excludes zero for: three segments" in text and "other changes with one have" in text
    # a variant with one seed has no interval, and the text does not speak for it
    one = pd.concat([many, row.assign(map=0.40, variant="checkfeat")])
    one.attrs = results.attrs
    text = ablation_effects.ablation_text(
        ablation_effects.ablation_effects(one, protocol=PROTOCOL, n_bits=32))
    assert "1 variant with fewer than two seeds has no interval yet" in text
    table = ablation_effects.effects_table(
        ablation_effects.ablation_effects(one, protocol=PROTOCOL, n_bits=32))
    col = table["change from default (95% interval)"]
    assert col.str.startswith("+0.0500 [+0.0").sum() == 1  # three segments, with its interval
    assert col.str.endswith("(no interval)").sum() == 1  # the one-seed variant
    assert "none of these reconstructed choices" not in text
    cost = grid_status.grid_cost(results, protocol=PROTOCOL)
    assert cost.runs.sum() == len(results) and cost.loc["CSQ", "runs"] == 4
    assert cost.total_min.sum() == pytest.approx(results.wall_time_s.sum() / 60)
    assert f"{len(results)} stored runs" in grid_status.cost_text(cost)
    assert ablation_effects.ablation_effects(results.iloc[:0], protocol=PROTOCOL).empty


def test_conventions_read_from_code():
    conv = protocol_tables.metric_conventions()
    row = conv[(conv.function == "evaluation.evaluate") & (conv.option == "denominator")]
    assert row.default.iloc[0] == "'retrieved'"
    assert {"ties", "empty"} <= set(conv.option)


@pytest.mark.slow
def test_pages_execute_and_book_builds(store, tmp_path):
    """The page notebooks execute on the store without error output, and the book
    builds from them strictly (-W) in a copy of the book's sources."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from hashlib_core.report.book import PAGES, build_notebooks

    repo = Path(__file__).resolve().parents[2]
    site = tmp_path / "site"
    shutil.copytree(repo / "book", site / "book",
                    ignore=shutil.ignore_patterns("generated", "_mathjax"))
    (site / "book" / "_mathjax").mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(repo / name, site / name)
    generated = site / "book" / "generated"
    failed = build_notebooks("smoke", root=store, out=generated, verbose=False)
    assert not failed, failed
    images = 0
    for page in PAGES:
        nb = nbformat.read(generated / f"{page.name}.ipynb", as_version=4)
        assert nb.cells[0].source.startswith("# "), page.name
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                assert out.output_type != "error", (page.name, out.get("evalue"))
                assert out.get("name") != "stderr", (page.name, out.get("text", "")[:300])
                images += "image/png" in out.get("data", {})
    assert images >= 6
    jb = Path(sys.executable).with_name("jupyter-book")
    build = subprocess.run([str(jb), "build", str(site), "-W", "--keep-going"],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    html = site / "_build" / "html"
    for page in PAGES:
        assert (html / "book" / "generated" / f"{page.name}.html").is_file(), page.name
    assert (html / "book" / "rerun.html").is_file()


def test_convergence(tmp_path):
    """Validation histories: the gain over the last epochs flags methods still rising."""
    rng = np.random.default_rng(0)
    ql, dl = rng.integers(0, 10, 30), rng.integers(0, 10, 100)
    q, d = _codes(rng, ql, 16, 0.9), _codes(rng, dl, 16, 0.9)
    qh, dh = np.eye(10, dtype=np.uint8)[ql], np.eye(10, dtype=np.uint8)[dl]
    curves = {"csq": [0.2, 0.4, 0.5, 0.6], "dpsh": [0.3, 0.35, 0.355, 0.356]}
    for method, vals in curves.items():
        cfg = RunConfig.from_scale("smoke", method=method, n_bits=16)  # as the codes
        hist = [{"epoch": 5 * i + 4, "loss": 1.0, "lr": 1e-3, "val_map": v}
                for i, v in enumerate(vals)]
        res = RunResult(cfg, q, d, qh, dh, evaluate(q, d, qh, dh), history=hist,
                        timings={"total_s": 1.0}, manifest={"protocol": PROTOCOL},
                        manifest_sha256="c" * 64)
        save_run(res, root=tmp_path, artifacts=None)
    conv = schedule.convergence(str(tmp_path), scale="smoke", protocol=PROTOCOL, n_bits=16)
    assert conv.index.tolist() == ["CSQ", "DPSH"] and conv.epochs.tolist() == [20, 20]
    # the last 20% of 20 epochs: epochs 16-19 (0.6) against the last before them (epoch 14)
    assert conv.loc["CSQ", "gain_last"] == pytest.approx(0.6 - 0.5)
    assert conv.loc["CSQ", "still_rising"] and not conv.loc["DPSH", "still_rising"]
    assert "1 of 2 methods" in schedule.convergence_text(conv) and "CSQ" in schedule.convergence_text(conv)


def test_learning_check(tmp_path):
    """Each bar of issue 13 flags the method that misses it, and only that one."""
    rng = np.random.default_rng(0)
    ql, dl = rng.integers(0, 10, 200), rng.integers(0, 10, 400)
    qh, dh = np.eye(10, dtype=np.uint8)[ql], np.eye(10, dtype=np.uint8)[dl]

    def run(method, codes_q, codes_d, vals, seed=0):
        cfg = RunConfig.from_scale("smoke", method=method, n_bits=16, seed=seed, epochs=20)
        hist = [{"epoch": 5 * i + 4, "loss": 1.0, "lr": 1e-3, "val_map": v}
                for i, v in enumerate(vals)]
        res = RunResult(cfg, codes_q, codes_d, qh, dh, evaluate(codes_q, codes_d, qh, dh),
                        history=hist, timings={"total_s": 1.0},
                        manifest={"protocol": PROTOCOL}, manifest_sha256="c" * 64)
        save_run(res, root=tmp_path, artifacts=None)

    good_q, good_d = _codes(rng, ql, 16, 0.95), _codes(rng, dl, 16, 0.95)
    flat = [0.3, 0.5, 0.6, 0.601]
    for seed in (0, 1):
        run("dhn", good_q, good_d, flat, seed)
    run("csq", good_q, good_d, [0.3, 0.5, 0.6, 0.7])  # still rising at the end
    collapsed_q, collapsed_d = good_q.copy(), good_d.copy()
    collapsed_q = collapsed_q[:, np.arange(16) % 2]  # 2 distinct bits, 8 copies each
    collapsed_d = collapsed_d[:, np.arange(16) % 2]
    run("dpsh", collapsed_q, collapsed_d, flat)
    results = load_results("smoke", root=tmp_path)
    check = learning.learning_check(results, str(tmp_path), scale="smoke", protocol=PROTOCOL,
                                    n_bits=16)
    assert check.index.tolist() == ["dhn", "dpsh", "csq"]  # registry order
    assert check.loc["dhn", "seeds"] == 2 and check.loc["dhn", "fails"] == ""
    assert check.loc["csq", "fails"] == "still rising"
    assert check.loc["dpsh", "distinct_bits"] == 2 and not check.loc["dpsh", "bits_ok"]
    assert not check.loc["dpsh", "mac_ok"] and check.loc["dpsh", "mac"] > learning.MAX_MAC
    text = learning.learning_text(check, n_bits=16)
    assert text.startswith("2 of the 3 deep methods") and "1 also end with a flat" in text
    assert "1 still rise by more" in text and "DHN − DPSH" in text
    assert "DPSH misses: mAP, distinct bits, mAC" in text
    table = learning.format_learning(check)
    assert table["meets every bar"].tolist() == ["✓", "✗", "✗"]
    # records made before code health was stored: the health bars are unknown, not failed
    old = learning.learning_check(results.drop(columns=["query_distinct_bits", "query_mac"]),
                                  str(tmp_path), scale="smoke", protocol=PROTOCOL, n_bits=16)
    assert old.bits_ok.isna().all() and old.loc["dhn", "fails"] == ""
    empty = learning.learning_check(results.iloc[:0], str(tmp_path), scale="smoke",
                                    protocol=PROTOCOL)
    assert empty.empty and "open" in learning.learning_text(empty)


def test_budget_check(tmp_path):
    """The longer-schedule run is set beside the same method's default run (same bits and
    seed), with the seed spread of the default runs."""
    rng = np.random.default_rng(1)
    ql, dl = rng.integers(0, 10, 100), rng.integers(0, 10, 300)
    qh, dh = np.eye(10, dtype=np.uint8)[ql], np.eye(10, dtype=np.uint8)[dl]
    empty = schedule.budget_check(load_results("smoke", root=tmp_path), str(tmp_path),
                                  scale="smoke", protocol=PROTOCOL)
    assert empty.empty and "no run yet" in schedule.budget_text(empty)

    def run(seed, quality, epochs, variant=None):
        q, d = _codes(rng, ql, 32, quality), _codes(rng, dl, 32, quality)
        cfg = RunConfig.from_scale("smoke", method="csq", n_bits=32, seed=seed,
                                   epochs=epochs, variant=variant)
        hist = [{"epoch": e, "loss": 1.0, "lr": 1e-3,
                 "val_map": 0.5 + 0.2 * e / epochs if e % 2 else None} for e in range(epochs)]
        res = RunResult(cfg, q, d, qh, dh, evaluate(q, d, qh, dh), history=hist,
                        timings={"total_s": 1.0}, manifest={"protocol": PROTOCOL},
                        manifest_sha256="c" * 64)
        save_run(res, root=tmp_path, artifacts=None)

    run(0, 0.8, 40)
    run(1, 0.7, 40)
    from hashlib_core.runner import grids

    long = grids.BUDGET_EPOCHS
    run(0, 0.9, long, grids.budget_variant(long))
    results = load_results("smoke", root=tmp_path)
    check = schedule.budget_check(results, str(tmp_path), scale="smoke", protocol=PROTOCOL)
    assert check.index.tolist() == ["csq"]  # SHNet has no runs
    row = check.loc["csq"]
    maps = results.set_index(["seed", results.variant.fillna("")])["map"]
    assert (row.epochs, row.epochs_long) == (40, long)
    assert row["map"] == pytest.approx(maps[(0, "")])
    assert row.map_change == pytest.approx(maps[(0, grids.budget_variant(long))] - maps[(0, "")])
    assert row.seed_std == pytest.approx(np.std([maps[(0, "")], maps[(1, "")]], ddof=1))
    assert row.val_long == pytest.approx(0.5 + 0.2 * (long - 1) / long)
    text = schedule.budget_text(check)
    assert f"CSQ trained for {long} instead of 40 epochs" in text
    beyond = abs(row.map_change) > 2 * row.seed_std
    assert f"the change is {'beyond' if beyond else 'within'} two of them" in text


def test_diagnoses_set_each_change_beside_the_methods_own_run(tmp_path):
    """A diagnosis run is set beside its method's own run of the same length and seed, the
    change in mAP@ALL measured from it; the text says whether the own run misses the bar."""
    from hashlib_core.runner import grids

    rng = np.random.default_rng(2)
    ql, dl = rng.integers(0, 10, 100), rng.integers(0, 10, 300)
    qh, dh = np.eye(10, dtype=np.uint8)[ql], np.eye(10, dtype=np.uint8)[dl]
    empty = diagnosis_runs.diagnoses(load_results("smoke", root=tmp_path), protocol=PROTOCOL)
    assert empty.empty and "no record yet" in diagnosis_runs.diagnosis_text(empty)

    def run(quality, variant=None, seed=0):
        q, d = _codes(rng, ql, 32, quality), _codes(rng, dl, 32, quality)
        cfg = RunConfig.from_scale("smoke", method="dnnh", n_bits=32, seed=seed, variant=variant)
        res = RunResult(cfg, q, d, qh, dh, evaluate(q, d, qh, dh), history=[],
                        timings={"total_s": 1.0}, manifest={"protocol": PROTOCOL},
                        manifest_sha256="c" * 64)
        save_run(res, root=tmp_path, artifacts=None)

    run(0.55)
    run(0.9, seed=1)  # another seed: not the reference
    results = load_results("smoke", root=tmp_path)
    assert diagnosis_runs.diagnoses(results, protocol=PROTOCOL).empty  # no diagnosis run yet
    run(0.95, grids.diagnosis_variant("fc"))
    results = load_results("smoke", root=tmp_path)
    table = diagnosis_runs.diagnoses(results, protocol=PROTOCOL)
    assert table.variant.isna().tolist() == [True, False] and table.variant.iloc[1] == "diag-fc"
    seed0 = results[results.seed == 0]
    maps = seed0.set_index(seed0.variant.fillna(""))["map"]
    assert table["map"].tolist() == pytest.approx([maps[""], maps["diag-fc"]])
    assert table.map_change.iloc[1] == pytest.approx(maps["diag-fc"] - maps[""])
    assert table.change.iloc[1] == grids.DIAGNOSIS_DESCRIPTIONS["dnnh"]["fc"]
    text = diagnosis_runs.diagnosis_text(table)
    own = "below" if maps[""] < learning.MIN_MAP else "at or above"
    assert f"DNNH at 32 bits reaches mAP@ALL {maps['']:.3f}, {own} the 0.40 bar" in text
    assert f"({maps['diag-fc'] - maps['']:+.3f})" in text
    page = diagnosis_runs.format_diagnoses(table)
    assert page.index.tolist() == ["DNNH", "DNNH"]
    assert page["change"].tolist() == ["—", f"{maps['diag-fc'] - maps['']:+.3f}"]
    constant = results.set_index(results.variant.fillna(""))["query_constant_bits"]
    assert page["constant bits"].iloc[1] == str(round(constant["diag-fc"] * 32))


def test_load_manifest_and_learned_share(tmp_path):
    from hashlib_core.results import load_manifest

    folder = tmp_path / "cpu" / "p"
    folder.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no manifest"):
        load_manifest("cpu", "p", root=tmp_path)
    assert "unknown" in split_overlap.learned_share_text(str(tmp_path), scale="cpu", protocol="p")
    manifest = {"protocol": "p", "splits": {
        "train": {"indices": [0, 1, 2], "n": 3},
        "database": {"indices": [1, 2, 5, 6, 7], "n": 5}}}
    (folder / "manifest-aaa.json").write_text(json.dumps(manifest))
    assert load_manifest("cpu", "p", root=tmp_path) == manifest
    text = split_overlap.learned_share_text(str(tmp_path), scale="cpu", protocol="p")
    assert "2 of the 5 database items" in text and "other 3" in text
    (folder / "manifest-bbb.json").write_text("{}")
    with pytest.raises(ValueError, match="2 manifests"):
        load_manifest("cpu", "p", root=tmp_path)


def test_grid_time_counts_stored_runs_and_estimates_the_rest():
    """The discussion page's machine time of a whole grid: stored runs at their own wall
    time, a copied run at none, cells without a record at their method's median (else
    their protocol's deep median), the tuning winner's own cell at none."""
    import pandas as pd

    from hashlib_core.runner import grids

    cells = [grids.GridCell("dhn", "cifar10-i", 32, 0, "tune-adam-lr0.001"),
             grids.GridCell("dhn", "cifar10-i", 16, 0, tuned=True),
             grids.GridCell("dhn", "cifar10-i", 64, 0, tuned=True),
             grids.GridCell("dhn", "cifar10-i", 32, 0, tuned=True),  # copied
             grids.GridCell("dch", "cifar10-i", 16, 0, tuned=True)]
    rows = [("dhn", 32, "tune-adam-lr0.001", 600.0), ("dhn", 16, None, 300.0),
            ("dhn", 32, None, np.nan)]
    results = pd.DataFrame([{"protocol": "cifar10-i", "method": m, "n_bits": b, "seed": 0,
                             "variant": v, "wall_time_s": w} for m, b, v, w in rows])
    t = grid_status.grid_time(results, cells, scale="cpu")
    assert (t["stored"], t["copied"], t["left"]) == (3, 1, 2)
    assert t["stored_hours"] == pytest.approx(900 / 3600)
    # DHN 64 bits at DHN's median (450 s), DCH (no run) at the deep median of the protocol
    assert t["left_hours"] == pytest.approx((450 + 450) / 3600)
    text = grid_status.grid_time_text(t, scale="cpu")
    assert "5 runs" in text and "1 of them copied" in text and "0.5 hours for the whole" in text
    assert grid_status.grid_cost(results).runs.sum() == 2  # the copy has no wall time
    # the tuning winner's own cell, not stored yet, is estimated at nothing
    t = grid_status.grid_time(results.iloc[:2], cells, scale="cpu")
    assert t["left"] == 3 and t["left_hours"] == pytest.approx(900 / 3600)
    # on a scale without tuning the same cell is a run of its own
    t = grid_status.grid_time(results.iloc[:2], cells, scale="paper")
    assert t["left_hours"] == pytest.approx((900 + 450) / 3600)


def test_run_time_is_the_records_timings_total_on_every_page(tmp_path):
    """Review 11 (11): the discussion's cost table and the run list use one definition of
    a run's time: the total of the record's timings (every session of a resumed run),
    else the provenance's wall time; a copied run counts nothing."""
    import pandas as pd

    rows = []
    for name, total, wall, copied in (("a", 1500.0, 1200.0, None), ("b", None, 600.0, None),
                                      ("c", 900.0, np.nan, "tune-x")):
        folder = tmp_path / name
        folder.mkdir()
        timings = {} if total is None else {"total_s": total}
        (folder / "record.json").write_text(json.dumps({"timings": timings, "history": []}))
        rows.append({"protocol": "p", "method": "daph", "n_bits": 12, "seed": len(rows),
                     "variant": None, "wall_time_s": wall, "copied_from": copied,
                     "path": str(folder)})
    results = pd.DataFrame(rows)
    assert run_list.run_seconds(results).tolist()[:2] == [1500.0, 600.0]
    assert np.isnan(run_list.run_seconds(results).iloc[2])
    cost = grid_status.grid_cost(results)
    assert cost.loc["DAPH", "runs"] == 2 and cost.loc["DAPH", "max_min"] == 25.0
    listed = run_list.runs_table(results, protocol="p")
    assert listed.wall_time_min.max() == cost.loc["DAPH", "max_min"]
    text = grid_status.cost_text(cost)
    assert "the longest single run took 25.0 min (DAPH)" in text
    assert "every session of a resumed run" in text


def test_validation_gap_per_method_is_computed_not_claimed(tmp_path):
    """Review 11 (8): the training page states each method's gap between best validation
    mAP and query mAP@ALL from the records, and which methods learn their training items'
    codes directly (ADSH, DSAH: ``asymmetric``; DAPH does not), instead of claiming that
    the asymmetric methods' gap is larger."""
    rng = np.random.default_rng(3)
    ql, dl = rng.integers(0, 10, 40), rng.integers(0, 10, 120)
    qh, dh = np.eye(10, dtype=np.uint8)[ql], np.eye(10, dtype=np.uint8)[dl]
    maps = {}
    for method, best in (("adsh", 0.95), ("daph", 0.9), ("dpsh", 0.99)):
        q, d = _codes(rng, ql, 16, 0.8), _codes(rng, dl, 16, 0.8)
        cfg = RunConfig.from_scale("smoke", method=method, n_bits=16)
        scalars = evaluate(q, d, qh, dh)
        maps[method] = best - float(scalars.scalars["map"])
        hist = [{"epoch": e, "loss": 1.0, "lr": 1e-3, "val_map": v}
                for e, v in enumerate((0.3, best, 0.5))]
        res = RunResult(cfg, q, d, qh, dh, scalars, history=hist, timings={"total_s": 1.0},
                        manifest={"protocol": PROTOCOL}, manifest_sha256="c" * 64)
        save_run(res, root=tmp_path, artifacts=None)
    results = load_results("smoke", root=tmp_path)
    gap = split_overlap.validation_gap(results, str(tmp_path), scale="smoke",
                                       protocol=PROTOCOL, n_bits=16)
    per = gap["per_method"]
    assert per.gap.to_dict() == pytest.approx(maps)
    assert per.asymmetric.to_dict() == {"dpsh": False, "adsh": True, "daph": False}
    text = split_overlap.validation_gap_text(gap)
    assert "even more so" not in text
    assert f"ADSH {maps['adsh']:+.2f}" in text and f"DAPH {maps['daph']:+.2f}" in text
    assert "ADSH, which learn their training items' codes directly" in text
    assert f"over the other 2 methods the median gap is " \
        f"{np.median([maps['daph'], maps['dpsh']]):+.2f}" in text


def test_learning_bars_and_captions_come_from_the_constants(monkeypatch):
    """Review 11 (15, 16): the bars in words follow the module's constants (the
    effective-bits bar included), and both tables say which seed their rise is."""
    import pandas as pd

    from hashlib_core.report import code_health

    text = learning.bars_text(n_bits=32)
    assert "at least 0.40" in text and "at least 16 effective bits" in text
    monkeypatch.setattr(learning, "MIN_MAP", 0.45)
    monkeypatch.setattr(code_health, "FLAG_SHARE", 0.75)
    monkeypatch.setattr(learning, "MAX_LATE_GAIN", 0.01)
    text = learning.bars_text(n_bits=32)
    assert "mAP@ALL of at least 0.45" in text and "at least 24 effective bits" in text
    assert "a rise below 0.01 over the last 20% of its epochs" in text
    assert "the largest over the seeds" in learning.learning_caption(
        n_bits=32, protocol="p", scale="cpu")
    check = pd.DataFrame({"map": [0.5], "seeds": [3], "distinct_bits": [32],
                          "effective_bits": [20], "mac": [0.1], "late_gain": [0.03],
                          "map_ok": [True], "bits_ok": [True], "mac_ok": [True],
                          "eff_ok": [True], "flat_ok": [False], "fails": ["still rising"]},
                         index=["csq"])
    assert "rise, last 20% (max over seeds)" in learning.format_learning(check).columns
    conv = pd.DataFrame({"epochs": [40], "val_first": [0.2], "val_last": [0.7],
                         "gain_last": [0.018], "still_rising": [True]}, index=["CSQ"])
    assert "rise over the last 20% of epochs (seed 0)" in schedule.format_convergence(conv).columns


def test_budget_intro_is_computed_from_the_grid_and_the_stored_runs():
    """Review 11 (4): the paragraph before the budget check states the budget's epochs
    (grids.BUDGET_EPOCHS, or the stored runs') and the preset's, never typed."""
    import pandas as pd

    from hashlib_core.runner import grids
    from hashlib_core.scales import preset

    empty = pd.DataFrame(columns=["epochs", "epochs_long"])
    text = schedule.budget_intro_text(empty, scale="cpu")
    short = preset("cpu", "csq")["epochs"]
    assert f"trained for {grids.BUDGET_EPOCHS} epochs instead of {short}" in text
    assert f"no smaller at {grids.BUDGET_EPOCHS} epochs than at {short}" in text
    assert "60" not in text
    stored = pd.DataFrame({"epochs": [30], "epochs_long": [90]}, index=["csq"])
    text = schedule.budget_intro_text(stored, scale="cpu")
    assert "trained for 90 epochs instead of 30 (as the stored runs have it)" in text


def test_stored_text_says_which_runs_are_left_out():
    """Review 11 (9): the discussion's count of stored runs says that the runs made before
    a change to their method's code are left out, and names them."""
    import pandas as pd

    from hashlib_core.runner import grids

    cells = [grids.GridCell("csq", "cifar10-i", 32, s, tuned=True) for s in (0, 1)]
    results = pd.DataFrame([{"protocol": "cifar10-i", "method": "csq", "n_bits": 32,
                             "seed": 0, "variant": None}])
    results.attrs["stale_records"] = [
        "results/cpu/cifar10-i/csq/32b_seed1/record.json: made with CSQ revision 1; the "
        "code is at revision 2: a fix"]
    text = grid_status.stored_text(results, cells, scale="cpu")
    assert "**1 of the 2 runs**" in text and "(1 run read in all" in text
    assert "1 more stored run is left out of every page" in text
    assert "1 stored run of CSQ (the default runs at 32 bits, seed 1)" in text


def test_discussion_notebook_types_no_counts_or_bars():
    """Review 11 (4, 8, 15, 19): the discussion's markdown cells type no epoch count, no
    bar of the learning check, no split size and no pixel error; those come from code."""
    from pathlib import Path

    nb = nbformat.read(Path(__file__).resolve().parents[2] / "notebooks" / "discussion.ipynb",
                       as_version=4)
    typed = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for phrase in ("60 epochs", "instead of 40", "0.40", "0.005", "29 of their 32",
                   "5.8 of 255", "5,000 training images", "(ADSH, DSAH, DAPH)", "far above"):
        assert phrase not in typed, phrase
    code = " ".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "learning.bars_text(" in code and "schedule.budget_intro_text(" in code
    assert "schedule.schedule_intro_text(" in code
    assert "grid_status.stored_text(" in code and "split_overlap.method_gaps_text(" in code
