"""The results pages' tables: one per code length, the best marked, seeds and std in the
cells, every run listed with its provenance, CSV files, reader-facing conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hashlib_core.engine import RunConfig, RunResult
from hashlib_core.evaluation import evaluate
from hashlib_core.report import (
    markdown,
    names,
    protocol_tables,
    provenance,
    results_tables,
    run_list,
)
from hashlib_core.report.reported import load_reported
from hashlib_core.results import load_results, save_run

PROTOCOL = "cifar10-smoke"


def _codes(rng, labels, n_bits, quality):
    centres = np.where(np.random.default_rng(n_bits).random((10, n_bits)) > 0.5, 1, -1)
    codes = centres[labels]
    return np.where(rng.random(codes.shape) > quality, -codes, codes).astype(np.int8)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("tables") / "results"
    runs = ([("csq", 32, s, 0.80 + 0.02 * s, None) for s in (0, 1, 2)]
            + [("shnet", 32, 0, 0.9, None), ("shnet", 32, 0, 0.5, "tune-adam-lr0.0003"),
               ("shnet", 32, 0, 0.6, "segments3"), ("lsh", 32, 0, 0.6, None)])
    for method, n_bits, seed, quality, variant in runs:
        rng = np.random.default_rng(1000 * seed + n_bits + len(method))
        ql, dl = rng.integers(0, 10, 50), rng.integers(0, 10, 200)
        q, d = _codes(rng, ql, n_bits, quality), _codes(rng, dl, n_bits, quality)
        qh, dh = np.eye(10, dtype=np.uint8)[ql], np.eye(10, dtype=np.uint8)[dl]
        cfg = RunConfig.from_scale("smoke", method=method, n_bits=n_bits, seed=seed,
                                   variant=variant)
        res = RunResult(cfg, q, d, qh, dh, evaluate(q, d, qh, dh), best_epoch=2,
                        history=[{"epoch": e, "loss": 1.0, "lr": 0.1, "val_map": None,
                                  "seconds": 1.0} for e in range(3)],
                        timings={"total_s": 90.0}, manifest={"protocol": PROTOCOL},
                        manifest_sha256="c" * 64)
        save_run(res, root=root, artifacts=None)
    return root


def test_length_tables(store):
    results, reported = load_results("smoke", root=store), load_reported()
    out = results_tables.length_tables(results, reported, dataset="cifar10", scale="smoke")
    # mAP at 16/32/64 bits (the paper printed all three), the DSAH table's 4 lengths and
    # the radius-2 precision where runs exist (no paper prints it as a table)
    assert [(t.metric, t.n_bits) for t in out] == [
        ("map", 16), ("map", 32), ("map", 64), ("precision_top5000", 12),
        ("precision_top5000", 24), ("precision_top5000", 36), ("precision_top5000", 48),
        ("precision_r2", 32)]
    t32 = out[1]
    assert list(t32.table.columns) == ["method", "paper", "ours", "ours − paper"]
    rows = t32.table.set_index("method")
    csq = rows.loc["[CSQ](../methods/csq.md)"]
    seeds = results.query("method == 'csq' and variant.isna()")["map"]
    assert csq.ours.strip("*") == f"{seeds.mean():.3f} ± {seeds.std(ddof=1):.3f} (3)"
    assert rows.loc["[LSH](../methods/shallow.md)"].paper == markdown.MISSING
    # the best of each column in bold: the paper's best at 32 bits is SHNet (0.868)
    assert rows.loc["[SHNet](../methods/shnet.md)"].paper == "**0.868**"
    best_here = results[results.variant.isna()].groupby("method")["map"].mean().idxmax()
    bold = [m for m, r in rows.iterrows() if r.ours.startswith("**")]
    assert len(bold) == 1 and f"/{best_here}.md" in bold[0]
    # the tuning and ablation runs of SHNet are not in it: SHNet's default run only
    shnet = results[(results.method == "shnet") & results.variant.isna()]["map"]
    assert len(shnet) == 1
    assert rows.loc["[SHNet](../methods/shnet.md)"].ours.strip("*") == f"{shnet.iloc[0]:.3f}"
    assert len(t32.runs) == 5 and "5 runs made at 1 commit" in t32.caption
    assert "scale `smoke`" in t32.caption and "cifar10-smoke" in t32.caption


def test_runs_table_is_complete_with_provenance(store, tmp_path):
    results = load_results("smoke", root=store)
    runs = run_list.runs_table(results, protocol=PROTOCOL)
    assert len(runs) == len(results) == 7  # every run, tuning and ablation ones included
    assert set(runs.variant) == {"", "tune-adam-lr0.0003", "segments3"}
    assert runs.epochs.tolist() == [3] * 7 and (runs.best_epoch == 2).all()
    assert runs.wall_time_min.tolist() == pytest.approx([1.5] * 7)
    # the results tables' order: the compared pair first, the shallow methods last
    assert runs.method.iloc[0] == names.results_order(set(runs.method))[0]
    assert runs.method.iloc[-1] == "lsh"
    page = run_list.runs_page_table(runs, repo=store.parent)
    assert page.record.str.startswith("[json](../../results/smoke/").all()
    assert page["epochs (best)"].iloc[0] == "3 (3)"
    assert page.run.str.contains("tune-adam-lr0.0003").sum() == 1
    # records outside the repository cannot be linked from the book
    assert (run_list.runs_page_table(runs, repo=tmp_path).record == markdown.MISSING).all()
    # a record copied from its tuning run says so instead of a wall time
    assert runs.copied_from.isna().all()
    copied = runs.assign(copied_from=["32b_seed0_tune-adam-lr0.001"] + [None] * 6,
                         wall_time_min=[np.nan] + [1.5] * 6)
    walls = run_list.runs_page_table(copied, repo=store.parent)["wall time (min)"]
    assert walls.iloc[0] == "none: a copy of its tuning run" and walls.iloc[1] == "1.5"


def test_results_page_writes_every_table_as_csv(store, tmp_path):
    results, reported = load_results("smoke", root=store), load_reported()
    blocks = results_tables.results_page(results, reported, dataset="cifar10", scale="smoke",
                                 out_dir=tmp_path, page="results_cifar10")
    assert len(blocks) == 8
    for i, block in enumerate(blocks, 1):
        assert "[run list](runs)" in block  # every table links the run list
        assert block.startswith(f"**Table {i}.")
        name = block.split("[CSV](")[1].split(")")[0]
        csv = pd.read_csv(tmp_path / name)
        assert len(csv) == block.count("\n| ") - 1  # the rows under the header line
    # the run list is its own page
    listing = run_list.runs_page(results, scale="smoke", out_dir=tmp_path)
    assert len(listing) == 1 and "Every stored run on protocol" in listing[0]
    runs = pd.read_csv(tmp_path / f"runs_{PROTOCOL}.csv")
    assert len(runs) == 7 and {"git_commit", "record", "epochs", "best_epoch"} <= set(runs)


def test_markdown_table_escapes_pipes():
    text = markdown.markdown_table(pd.DataFrame({"a": ["x|y"], "b": [1]}))
    assert text.splitlines()[2] == "| x\\|y | 1 |"


def test_conventions_for_readers():
    conv = protocol_tables.conventions_table()
    assert conv.option.tolist()[0] == "`topk`" and len(conv) == conv.option.nunique()
    text = markdown.markdown_table(conv)
    for raw in ("None", "'zero'", "'index'"):  # no Python values shown to the reader
        assert raw not in text
    assert "`zero`: counts 0" in text


def test_format_numbers_writes_booleans_as_words():
    out = markdown.format_numbers(pd.DataFrame({"ok": [True, False], "x": [0.5, np.nan]}))
    assert out.ok.tolist() == ["yes", "no"] and out.x.tolist() == ["0.500", markdown.MISSING]


def test_method_link():
    assert names.method_link("fasth") == "[FastH](../methods/shallow.md)"
    assert names.method_link("dsah") == "[DSAH](../methods/dsah.md)"
    assert names.method_link("FastH") == names.method_link("fasth")
    assert names.method_link("nosuch") == "nosuch"


def test_runs_behind_counts_runs_and_commits(store):
    results = load_results("smoke", root=store)
    assert provenance.runs_behind(results, protocol=PROTOCOL).startswith("5 runs made at 1 commit")
    assert provenance.runs_behind(results, protocol=PROTOCOL, variants="any").startswith("7 runs")
    assert provenance.runs_behind(results, protocol=PROTOCOL, methods=["csq"], seed=1) \
        .startswith("1 run made at 1 commit")
    assert provenance.runs_behind(results, protocol="other") == "no stored run"


def test_dsah_table_reads_each_method_on_its_grid_protocol(store):
    """The DSAH table takes each method's protocol from the grid (ADSH and DSAH under
    ADSH's protocol at the cpu scale, the others on protocol I), not one protocol for all."""
    from hashlib_core.runner import grids

    cpu = results_tables.table_protocols("cpu", grids.DSAH_TABLE, [12, 24, 36, 48], "cifar10-i")
    assert {m for m, p in cpu.items() if p == "cifar10-adsh"} == {"adsh", "dsah"}
    assert {p for m, p in cpu.items() if m not in ("adsh", "dsah")} == {"cifar10-i"}
    smoke = results_tables.table_protocols("smoke", grids.DSAH_TABLE, [12, 24, 36, 48], PROTOCOL)
    assert set(smoke.values()) == {PROTOCOL}
    results, reported = load_results("smoke", root=store), load_reported()
    out = results_tables.length_tables(results, reported, dataset="cifar10", scale="smoke")
    t12 = next(t for t in out if t.metric == "precision_top5000" and t.n_bits == 12)
    assert f"protocol `{PROTOCOL}`" in t12.caption and set(t12.data.protocol) == {PROTOCOL}


def test_length_table_captions_name_the_runs_left_out_until_the_grid_remakes_them(store):
    """Review 11 (5): a method whose runs the store leaves out (made before a change to
    its code) shows "—", and the caption says so instead of only "not run"; a method
    whose mean rests on fewer seeds says which are left out."""
    results = load_results("smoke", root=store)
    p = results.protocol.iloc[0]
    why = "made with SHNet revision 1; the code is at revision 2: a fix"
    results.attrs["stale_records"] = [
        f"{store}/smoke/{p}/shnet/16b_seed{s}/record.json: {why}" for s in (0, 1)] + [
        f"{store}/smoke/{p}/csq/32b_seed4/record.json: {why}"]
    out = results_tables.length_tables(results, load_reported(), dataset="cifar10",
                                       scale="smoke")
    t16, t32 = out[0], out[1]
    assert "— = not printed by the paper, or not run, or left out until the grid makes " \
        "it again." in t16.caption
    assert "SHNet's 16-bit runs with seeds 0 and 1, made before a change to CSQ's loss, " \
        "which SHNet shares (so it shows —)" in t16.caption
    assert "CSQ's 32-bit run with seed 4, made before a change to its code (so its mean " \
        "rests on the other 3)" in t32.caption
    assert "or left out" not in t32.caption  # no method of it shows — for that reason
    assert "left out" not in out[2].caption


def test_intro_explains_a_dash_as_not_run_or_left_out():
    """Review 11 (5): the intro's reading guide says that "—" may also be a run left out
    until the grid makes it again, as the tables' captions do."""
    from pathlib import Path

    intro = (Path(__file__).resolve().parents[2] / "book" / "intro.md").read_text()
    guide = " ".join(intro.split("## How to read a table", 1)[1].split())
    assert '"—" means the run has not been made, or that its runs are left out until the ' \
        "grid makes them again" in guide
