"""Issue 27: the book's pages state what the records and the grid hold.

Retrieval examples search the stored database codes (``scripts/store_db_codes.py``) and
describe their frames as drawn; the seeds, protocols and validation sizes a page states
are computed; deviating runs are marked where they are read; the results page links its
run list, orders the methods, flags the paper's outlier cell.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from hashlib_core.engine import RunConfig, RunResult
from hashlib_core.evaluation import evaluate
from hashlib_core.report import (
    ablation_effects,
    examples,
    grid_status,
    markdown,
    names,
    protocol_tables,
    results_tables,
    run_list,
    split_overlap,
)
from hashlib_core.results import load_results, record_dir, save_run
from hashlib_core.runner import grids

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = "cifar10-smoke"
N_QUERY, N_DB, N_IMAGES = 30, 120, 200


@pytest.fixture(scope="module")
def split():
    labels = np.arange(N_IMAGES) % 10  # every class among the queries
    perm = np.random.default_rng(5).permutation(N_IMAGES // 10) * 10
    idx = np.sort((perm[:, None] + np.arange(10)).ravel())
    return labels, idx[:N_QUERY], idx[N_QUERY:N_QUERY + N_DB]


def _save(root, artifacts, split, method, n_bits, seed, *, sizes=None, **config):
    labels, q_idx, d_idx = split
    rng = np.random.default_rng(100 * seed + n_bits + len(method))
    centres = np.where(np.random.default_rng(n_bits).random((10, n_bits)) > 0.5, 1, -1)
    ql, dl = labels[q_idx], labels[d_idx]
    q = np.where(rng.random((len(ql), n_bits)) > 0.85, -centres[ql], centres[ql]).astype(np.int8)
    d = np.where(rng.random((len(dl), n_bits)) > 0.85, -centres[dl], centres[dl]).astype(np.int8)
    qh, dh = np.eye(10, dtype=np.uint8)[ql], np.eye(10, dtype=np.uint8)[dl]
    cfg = RunConfig.from_scale("smoke", method=method, n_bits=n_bits, seed=seed, **config)
    manifest = {"protocol": PROTOCOL, "splits": {
        "query": {"indices": q_idx.tolist(), "n": len(q_idx)},
        "database": {"indices": d_idx.tolist(), "n": len(d_idx)}}}
    run_info = {"protocol_sizes": {"query": len(q_idx), "database": len(d_idx)}}
    if sizes:
        run_info.update(sizes)
    res = RunResult(cfg, q, d, qh, dh, evaluate(q, d, qh, dh), timings={"total_s": 1.0},
                    manifest=manifest, manifest_sha256="d" * 64, run_info=run_info)
    return save_run(res, root=root, artifacts=artifacts)


@pytest.fixture()
def store(tmp_path, split):
    root, artifacts = tmp_path / "results", tmp_path / "artifacts"
    for m in ("shnet", "csq"):
        for b, s in ((32, 3), (64, 0)):
            _save(root, artifacts, split, m, b, s)
    return root, artifacts


# --------------------------------------------------------------------------- item 2
def test_store_db_codes_copies_checked_files_and_the_page_uses_them(store, split, monkeypatch):
    root, artifacts = store
    monkeypatch.setattr(examples, "default_artifacts", lambda root: root / "nowhere")
    assert examples.runs_with_db_codes("smoke", PROTOCOL, ["shnet", "csq"], root=root) == []
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "store_db_codes.py"),
                          str(artifacts), "--root", str(root), "--scale", "smoke",
                          "--bits", "32", "--seeds", "3"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    stored = [ln for ln in out.stdout.splitlines() if ln.startswith("stored")]
    assert len(stored) == 2 and all(f"{N_DB:,} codes x 4 bytes packed" in ln for ln in stored)
    assert examples.runs_with_db_codes("smoke", PROTOCOL, ["shnet", "csq"],
                                       root=root) == [(32, 3)]
    # without any artifacts folder, the examples search the whole stored database
    ex = examples.retrieval_examples("smoke", PROTOCOL, ["shnet", "csq"], 32, seed=3,
                                     root=root, artifacts=None, n_queries=3)
    assert ex.database == "database" and ex.n_db == N_DB
    assert set(ex.returned["csq"].ravel()) <= set(split[2])
    # a second call leaves the stored files alone
    again = examples.store_db_codes(artifacts, root=root, scale="smoke", bits=[32])
    assert sum(ln.startswith("present") for ln in again) == 2
    # the page picks the run with stored codes over the one asked for
    assert examples.choose_run([(32, 3)], n_bits=64, seed=0) == (32, 3)
    assert examples.choose_run([(16, 3), (32, 4), (32, 3)], n_bits=32, seed=0) == (32, 3)
    assert examples.choose_run([], n_bits=64, seed=0) == (64, 0)


def test_store_db_codes_refuses_a_file_that_is_not_the_records(store):
    root, artifacts = store
    rec_dir = record_dir(root, scale="smoke", protocol=PROTOCOL, method="csq", n_bits=64,
                         seed=0)
    art = record_dir(artifacts, scale="smoke", protocol=PROTOCOL, method="csq", n_bits=64,
                     seed=0)
    f = next(art.glob("db_codes-*.npz"))
    f.write_bytes(f.read_bytes()[:-1] + b"x")
    with pytest.raises(ValueError, match=r"^error: .*SHA-256 differs"):
        examples.store_db_codes(artifacts, root=root, scale="smoke", methods=["csq"],
                                bits=[64])
    assert not list(rec_dir.glob("db_codes-*.npz"))


def test_frames_are_described_as_drawn(store):
    root, artifacts = store
    ex = examples.retrieval_examples("smoke", PROTOCOL, ["shnet", "csq"], 32, seed=3,
                                     root=root, artifacts=artifacts, n_queries=10)
    # one query of each of the 10 classes
    assert sorted(ex.query_class.tolist()) == list(range(10))
    images = np.zeros((N_IMAGES, 8, 8, 3), np.uint8)
    d = examples.examples_figure(ex, images, class_names=[f"c{i}" for i in range(10)],
                                 scale="smoke", protocol=PROTOCOL, n_bits=32, seed=3)
    assert "one query of each of the 10 classes" in d.caption
    drawn = {}
    for ax in d.fig.axes:
        sp = ax.spines["top"]
        drawn.setdefault(to_hex(sp.get_edgecolor()), set()).add(sp.get_linestyle())
    plt.close(d.fig)
    wrong_colour = to_hex(examples.WRONG)
    # dashed (a dash pattern with gaps), as described; correct images solid
    (style,) = drawn[wrong_colour]
    assert style not in ("-", "solid") and style[1][1] > 0
    assert drawn[to_hex(examples.CORRECT)] <= {"-", "solid"}
    assert "dashed red-orange (vermillion) frame" in d.caption
    assert "solid green frame" in d.caption and "red (dashed)" not in d.caption


# --------------------------------------------------------------------------- item 5
def test_seeds_text_is_computed_from_the_grid_and_records():
    results = load_results("cpu", root=REPO / "results")
    cells = grids.grid("cpu")
    text = grid_status.seeds_text(results, cells)
    table = grid_status.seeds_per_method(results, cells)
    dsah = table[(table.method == "dsah") & (table.protocol == "cifar10-adsh")]
    assert set(dsah.planned) == {len(grids.CLAIM_SEEDS)}
    assert "DSAH on `cifar10-adsh`: five seeds" in text.replace("ADSH, DSAH", "DSAH")
    assert "three seeds" not in text or (table.planned == 3).any()
    # every stored count is a count of real records
    for r in table.itertuples():
        n = ((results.protocol == r.protocol) & (results.method == r.method)
             & (results.n_bits == r.n_bits) & results.variant.isna()).sum()
        assert r.stored <= n


def test_ablation_effects_state_their_seeds():
    results = load_results("cpu", root=REPO / "results")
    effects = ablation_effects.ablation_effects(results, protocol="cifar10-i", n_bits=32)
    if effects.empty:
        pytest.skip("no ablation run stored")
    text = ablation_effects.ablation_text(effects)
    assert "seed 0" not in text and "seeds" in text
    assert (effects.runs >= 1).all()


# --------------------------------------------------------------------------- item 4
def test_validation_gap_reads_the_stored_manifest():
    results = load_results("cpu", root=REPO / "results")
    gap = split_overlap.validation_gap(results, str(REPO / "results"), scale="cpu",
                                  protocol="cifar10-i")
    assert gap["val"] + gap["train"] == 5000 and gap["database"] == 59000
    text = split_overlap.validation_gap_text(gap)
    assert f"{gap['val']:,} held-out" in text and f"{gap['train']:,} images" in text
    assert f"{gap['database'] - gap['db_trained']:,} were never trained on" in text
    assert gap["val_median"] > gap["query_median"]


# --------------------------------------------------------------------------- item 7
def test_math_labels():
    for desc in grids.ABLATION_DESCRIPTIONS.values():
        label = names.math_label(desc)
        assert "phi" not in label.replace("\\phi", "")
        assert "tanh(" not in label.replace("\\tanh(", "")


# --------------------------------------------------------------------------- item 3
def test_protocol_usage_is_counted_from_grid_and_records():
    root = REPO / "results"
    names = ["cifar10-i", "cifar10-adsh", "imagenet100", "mnist-small"]
    usage = protocol_tables.protocol_usage(names, root=root)
    cpu = load_results("cpu", root=root)
    for p in names:
        assert usage.loc[p, ("cpu", "stored")] == (cpu.protocol == p).sum()
        for s in grids.SCALES:
            assert usage.loc[p, (s, "planned")] == sum(c.protocol == p for c in grids.grid(s))
    text = markdown.markdown_table(protocol_tables.protocols_table(names, usage))
    adsh = next(ln for ln in text.splitlines() if ln.startswith("| `cifar10-adsh`"))
    n = int((cpu.protocol == "cifar10-adsh").sum())
    assert f"`cpu`: {n:,} of" in adsh and "none" not in adsh.split("|")[2]
    img = next(ln for ln in text.splitlines() if ln.startswith("| `imagenet100`"))
    assert "`smoke`" not in img and "`cpu`" not in img  # no grid of those scales uses it
    said = protocol_tables.book_protocols_text(cpu, "cpu")
    assert "DSAH, ADSH on `cifar10-adsh`" in said and "on `cifar10-i`" in said


def test_dsah_table_caption_names_each_methods_protocol():
    results = load_results("cpu", root=REPO / "results")
    from hashlib_core.report.reported import load_reported

    out = results_tables.length_tables(results, load_reported(), dataset="cifar10", scale="cpu")
    dsah = [t for t in out if t.metric == "precision_top5000"]
    assert dsah
    for t in dsah:
        assert "which the DSAH paper follows" not in t.caption
        assert "Paper: DSAH paper" in t.caption and "protocol `cifar10-i`. Ours" not in t.caption
        assert set(t.data.protocol) <= {"cifar10-i", "cifar10-adsh"}
        assert dict(zip(t.data.method, t.data.protocol)).get("DSAH") in (None, "cifar10-adsh")


# --------------------------------------------------------------------------- item 6
def test_results_tables_order_flag_and_link():
    from hashlib_core.report.reported import load_reported

    results = load_results("cpu", root=REPO / "results")
    out = results_tables.length_tables(results, load_reported(), dataset="cifar10", scale="cpu")
    assert {t.metric for t in out} >= {"map", "precision_top5000", "precision_r2"}
    for t in out:
        assert "[run list](runs)" in t.caption
    m16 = next(t for t in out if (t.metric, t.n_bits) == ("map", 16))
    names = [r.split("]")[0].lstrip("[") for r in m16.table.method]
    assert names.index("SHNet") < names.index("LSH") and names.index("CSQ") < names.index("ITQ")
    hashnet = m16.table[m16.table.method.str.contains("HashNet")].paper.iloc[0]
    assert hashnet.endswith("†") and "outlier" in m16.caption and "0.570" in m16.caption
    assert "CNNH and DNNH" in m16.caption and "illegible" in m16.caption
    r2 = next(t for t in out if t.metric == "precision_r2")
    assert list(r2.table.columns) == ["method", "ours"]
    # the datasets not run here: the paper's values, flagged, and what a GPU box needs
    img = results_tables.not_run_here("imagenet100", load_reported(), scale="cpu")
    assert "0.829 †" in img and "What a GPU box needs" in img
    assert "python -m hashlib_core.data check imagenet100" in img


def test_run_list_uses_the_records_total_time(tmp_path, split):
    import json

    root = tmp_path / "results"
    path = _save(root, None, split, "csq", 16, 1)
    rec = json.loads((path / "record.json").read_text())
    rec["timings"] = {"train_s": 494.5, "encode_s": 47.0, "eval_s": 2.4, "total_s": 545.1}
    rec["provenance"]["wall_time_s"] = 50.6  # the last session of a resumed run
    (path / "record.json").write_text(json.dumps(rec))
    runs = run_list.runs_table(load_results("smoke", root=root), protocol=PROTOCOL)
    assert runs.wall_time_min.iloc[0] == pytest.approx(545.1 / 60)
    page = run_list.runs_page(load_results("smoke", root=root), scale="smoke", out_dir=tmp_path)
    assert "| 9.1 |" in page[0]


# --------------------------------------------------------------------------- issue 25.1
def test_deviating_run_is_marked_on_the_executed_page(tmp_path):
    """A paper-scale NUS-WIDE run on 150 images for 1 epoch: the results page, its caption
    and the run list say what deviates."""
    from hashlib_core.report import book

    root = tmp_path / "results"
    rng = np.random.default_rng(0)
    ql, dl = rng.integers(0, 2, (20, 21)), rng.integers(0, 2, (150, 21))
    q = np.where(rng.random((20, 32)) > 0.5, 1, -1).astype(np.int8)
    d = np.where(rng.random((150, 32)) > 0.5, 1, -1).astype(np.int8)
    cfg = RunConfig.from_scale("paper", method="dhn", n_bits=32, protocol="nuswide-21",
                               epochs=1, allow_protocol_deviation=True)
    info = {"protocol_sizes": {"query": 20, "train": 30, "database": 150},
            "paper_sizes": {"query": 2100, "train": 10500, "database": 193734},
            "protocol_deviations": ["database 150 instead of 193,734"],
            "protocol_deviation_allowed": True,
            "weights": {"spec": "/w.pth", "path": "/w.pth", "sha256": "ab" * 32,
                        "source": "file"}}
    res = RunResult(cfg, q, d, ql.astype(np.uint8), dl.astype(np.uint8),
                    evaluate(q, d, ql, dl, topk=100), timings={"total_s": 60.0},
                    manifest={"protocol": "nuswide-21"}, manifest_sha256="f" * 64,
                    run_info=info)
    save_run(res, root=root, artifacts=None)
    out = tmp_path / "generated"
    pages = {p.name: p for p in book.PAGES}
    for name in ("results_other", "runs"):
        path = book.execute_page(pages[name], scale="paper", root=root, out=out)
        text = "\n".join("".join(o.get("data", {}).get("text/markdown", ""))
                         for c in __import__("nbformat").read(path, as_version=4).cells
                         for o in c.get("outputs", []))
        assert "database 150 instead of 193,734" in text, name
        assert "1 epoch instead of 150" in text, name
        assert "start weights not ImageNet's" in text, name
        if name == "results_other":  # the two datasets without runs: what a GPU box needs
            assert text.count("What a GPU box needs") == 2 and "‡" in text


# --------------------------------------------------------------------------- item 4
def test_intro_defines_what_holds_and_names_the_reconstructions():
    from hashlib_core.report import book, claims

    text = book.what_holds_criterion("cpu")
    for word in (claims.SUPPORTED, claims.NOT_SUPPORTED, claims.INCONCLUSIVE):
        assert f"**{word}**" in text
    assert "Kendall's τ" in text and "95% interval" in text
    intro = (REPO / "book" / "intro.md").read_text()
    assert "reconstructions" in intro
    for what in ("garbled scan", "abstracts", "poster"):
        assert what in intro


# --------------------------------------------------------------------------- issue 25
def _code_blocks(path: Path) -> list[str]:
    import re

    return re.findall(r"```(?:bash|sh)\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize("doc", ["README.md", "book/rerun.md"])
def test_documented_commands_work_in_a_fresh_clone(doc):
    """A block that writes into runs/ creates it first; a batch script sources conda's
    hook before ``conda activate``; no test count or untimed duration is typed."""
    import re

    for block in _code_blocks(REPO / doc):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if re.search(r">\s*runs/", line):
                assert any("mkdir -p runs" in ln for ln in lines[:i]), (doc, line)
            if line.strip().startswith("conda activate") and block.startswith("#!/bin/bash"):
                assert any('eval "$(conda shell.bash hook)"' in ln for ln in lines[:i]), line
    text = (REPO / doc).read_text()
    assert not re.search(r"\b\d{3,} tests\b", text), "a typed test count"
    assert "download.pytorch.org/whl/cpu" in text  # the CPU-only install is explained


def test_smoke_book_time_is_the_same_in_readme_and_rerun_page():
    import re

    said = [re.findall(r"smoke-book[^\n]*?about (\d+) min", (REPO / d).read_text())
            + re.findall(r"`make smoke-book`: about (\d+) minutes", (REPO / d).read_text())
            for d in ("README.md", "book/rerun.md")]
    assert said[0] and said[1] and set(said[0]) == set(said[1])


def test_rerun_page_states_the_reproducibility_envelope():
    text = (REPO / "book" / "rerun.md").read_text()
    assert "bit for bit" in text and "0.396" in text and "0.392" in text
    assert "17.5%" in text and "provenance.host" in text


def test_executed_protocols_page_states_what_the_records_hold(tmp_path):
    """The protocols page, executed on the committed results: the scale each protocol is
    used at and its run counts are the grid's and the records'."""
    import nbformat

    from hashlib_core.report import book

    page = next(p for p in book.PAGES if p.name == "protocols")
    path = book.execute_page(page, scale="cpu", root=REPO / "results", out=tmp_path)
    text = "\n".join("".join(o.get("data", {}).get("text/markdown", ""))
                     for c in nbformat.read(path, as_version=4).cells
                     for o in c.get("outputs", []))
    cpu = load_results("cpu", root=REPO / "results")
    for p in ("cifar10-i", "cifar10-adsh"):
        row = next(ln for ln in text.splitlines() if ln.startswith(f"| `{p}`"))
        planned = sum(c.protocol == p for c in grids.grid("cpu"))
        assert f"`cpu`: {(cpu.protocol == p).sum():,} of {planned:,} runs stored" in row
    for p in ("imagenet100", "nuswide-21", "coco"):
        row = next(ln for ln in text.splitlines() if ln.startswith(f"| `{p}`"))
        assert "`cpu`" not in row.split("|")[2] and "`smoke`" not in row.split("|")[2]
    assert "its CIFAR-10 pages use protocol" not in text


def test_static_pages_state_the_learning_checks_bar_and_who_misses_it():
    """rerun.md and DNNH's method page state the learning check's bar in prose: it is
    :data:`hashlib_core.report.learning.MIN_MAP`, and DNNH is the one deep method of the
    committed cpu records whose 32-bit mAP@ALL on protocol I stays below it."""
    import re

    from hashlib_core.report.learning import MIN_MAP
    from hashlib_core.results import load_results
    from hashlib_core.runner.grids import SHALLOW

    for page in ("book/rerun.md", "book/methods/dnnh.md"):
        bars = re.findall(r"(\d\.\d\d) (?:mAP@ALL )?bar", (REPO / page).read_text())
        assert bars and {float(b) for b in bars} == {MIN_MAP}, page
    if not (REPO / "results" / "cpu" / "cifar10-i").is_dir():
        pytest.skip("no committed cpu results in this checkout")
    runs = load_results("cpu", root=REPO / "results", protocol="cifar10-i", variant=None)
    deep = runs[(runs.n_bits == 32) & ~runs.method.isin(SHALLOW)]
    below = deep.groupby("method").map.mean()
    assert list(below[below < MIN_MAP].index) == ["dnnh"]
