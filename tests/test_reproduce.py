"""The batch runner on a tiny real grid: runs, skips, forces, survives a failing cell."""

from __future__ import annotations

import nbformat
import pytest

from hashlib_core import grids
from hashlib_core.grids import GridCell
from hashlib_core.reproduce import log_path, main, run_grid
from hashlib_core.results import load_results, read_record


def test_grid_definitions():
    smoke, cpu = grids.grid("smoke"), grids.grid("cpu")
    # every method at least once in the smoke grid, so every book page has data
    assert {c.method for c in smoke} == set(grids.DEEP + grids.SHALLOW)
    assert {c.variant for c in smoke if c.variant} == set(grids.SHNET_ABLATION)
    assert {(c.method, c.n_bits) for c in smoke} >= {("shnet", 64), ("csq", 64)}
    # cpu: the tuning runs (4 per deep method), 20 methods x 3 lengths with 2 extra seeds
    # for SHNet, CSQ, CSDH, DHEH, the DSAH table at 12/24/36/48 bits (3 seeds for DSAH
    # and ADSH under ADSH's protocol), the ablation with 3 seeds
    n_tune = len(grids.DEEP) * len(grids.TUNE_CONFIGS)
    n_main = 20 * 3 + 4 * 2 * 3
    n_dsah = 2 * 4 * 3 + (len(grids.DSAH_TABLE) - 2) * 4
    assert len(cpu) == n_tune + n_main + n_dsah + 3 * len(grids.SHNET_ABLATION)
    assert {c.protocol for c in cpu} == {"cifar10-i", "cifar10-adsh"}
    assert {c.method for c in cpu if c.protocol == "cifar10-adsh"} == {"adsh", "dsah"}
    assert sorted({c.seed for c in cpu if c.method == "shnet" and not c.variant}) == [0, 1, 2]
    assert sorted({c.seed for c in cpu if c.variant == "segments3"}) == [0, 1, 2]
    # tuning first, and every deep cell but the tuning runs takes the tuned settings
    kinds = [c.kind for c in cpu]
    assert kinds.index("main") == n_tune and set(kinds[:n_tune]) == {"tune"}
    assert all(c.tuned == (c.method in grids.DEEP) for c in cpu if c.kind != "tune")
    assert [c.label for c in grids.select(cpu, methods=["csq"], kinds=["tune"])] == [
        f"cifar10-i/csq/32b_seed0_{grids.tune_variant(o, lr)}" for o, lr in grids.TUNE_CONFIGS]
    paper = grids.grid("paper")
    assert {c.protocol for c in paper} == {"cifar10-i", "imagenet100", "nuswide-21", "coco"}
    assert len(set(paper)) == len(paper)
    with pytest.raises(ValueError, match="unknown scale"):
        grids.grid("huge")
    sel = grids.select(cpu, datasets=["cifar10"], methods=["csq"], bits=[64], seeds=[1],
                       scale="cpu")
    assert [c.label for c in sel] == ["cifar10-i/csq/64b_seed1"]
    with pytest.raises(ValueError, match="not in the cpu grid"):
        grids.select(cpu, datasets=["coco"], scale="cpu")


def test_cli_selection_errors(tmp_path, capsys):
    assert main(["--scale", "cpu", "--datasets", "coco", "--root", str(tmp_path)]) == 2
    assert "not in the cpu grid" in capsys.readouterr().err
    assert main(["--scale", "smoke", "--methods", "nope", "--root", str(tmp_path)]) == 2
    assert main(["--scale", "smoke", "--methods", "lsh", "--dry-run",
                 "--root", str(tmp_path)]) == 0
    assert "todo  cifar10-smoke/lsh/32b_seed0" in capsys.readouterr().out


@pytest.mark.slow
def test_run_skip_force_and_failure(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("HASHLIB_DATA", str(shared_data))
    kw = dict(scale="smoke", root=tmp_path / "results", artifacts=tmp_path / "art",
              logs=tmp_path / "logs", progress=False)
    good = GridCell("lsh", "cifar10-smoke", 16)
    bad = GridCell("nope", "cifar10-smoke", 16)  # not a registered method: the notebook fails
    first = run_grid([bad, good], **kw)
    assert first.done == [good.label]
    assert list(first.failed) == [bad.label] and "unknown method" in first.failed[bad.label]
    assert not first.ok
    # the failed notebook is kept as a log; the good one is copied next to its record
    assert log_path(kw["logs"], "smoke", bad).is_file()
    df = load_results("smoke", root=kw["root"])
    assert len(df) == 1 and df.method.iloc[0] == "lsh" and 0 < df["map"].iloc[0] <= 1
    folder = df.path.iloc[0]
    executed = nbformat.read(f"{folder}/run.ipynb", as_version=4)
    assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
    created = read_record(folder)["provenance"]["created_utc"]

    again = run_grid([good], **kw)
    assert again.skipped == [good.label] and not again.done and again.ok
    assert read_record(folder)["provenance"]["created_utc"] == created

    forced = run_grid([good], force=True, **kw)
    assert forced.done == [good.label] and forced.ok
    assert "1 ran, 0 skipped" in forced.report()
