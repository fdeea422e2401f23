"""The cpu scale's tuning: every deep method's four runs, the winner chosen on validation
mAP only, and the cells that wait for it (issue 13)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hashlib_core.report import training
from hashlib_core.results import RECORD, SCHEMA, record_dir
from hashlib_core.results.revisions import current_revision
from hashlib_core.runner import grids, tuning
from hashlib_core.runner.plan import TuningPending, cell_settings


def _codes(folder, n_bits, tag=""):
    """A real query codes file in ``folder`` (a record counts only with one) and its
    ``files`` entry."""
    from hashlib_core.results.codes import _codes_npz, _sha256

    seed = sum(tag.encode())
    codes = np.where(np.random.default_rng(seed).random((2, n_bits)) > 0.5, 1, -1)
    data = _codes_npz(codes, np.zeros(2, np.int64), tag or "test")
    name = f"query_codes-{_sha256(data)[:12]}.npz"
    (folder / name).write_bytes(data)
    return {"name": name, "sha256": _sha256(data)}


def _write_tune_record(root, method, opt, lr, val_curve, query_map=0.0, seed=grids.TUNE_SEED):
    variant = grids.tune_variant(opt, lr)
    key = {"scale": "cpu", "protocol": "cifar10-i", "method": method,
           "n_bits": grids.TUNE_BITS, "seed": seed, "variant": variant}
    folder = record_dir(root, **key)
    folder.mkdir(parents=True)
    history = [{"epoch": e, "loss": 1.0, "val_map": v} for e, v in enumerate(val_curve)]
    best = max(range(len(val_curve)), key=lambda e: val_curve[e])
    record = {"schema": SCHEMA, "key": key, "config": {"optimizer": opt, "lr": lr, "epochs": len(val_curve)},
              "scalars": {"map": query_map}, "curves": {},
              "provenance": {"method_revision": current_revision(method)},
              "files": {"query_codes": _codes(folder, grids.TUNE_BITS, variant)},
              "history": history, "best_epoch": best}
    (folder / RECORD).write_text(json.dumps(record))


def test_winner_is_the_best_validation_map_never_the_query_map(tmp_path):
    curves = {("adam", 3e-4): [0.3, 0.5], ("adam", 1e-3): [0.4, 0.62, 0.6],
              ("adam", 3e-3): [0.2, 0.55], ("adam", 1e-2): [0.1, 0.3], ("sgd", 3e-2): [0.1, 0.61]}
    assert set(curves) == set(grids.TUNE_CONFIGS)
    for (opt, lr), curve in curves.items():
        # the query mAP favours another setting: it must not matter
        _write_tune_record(tmp_path, "dpsh", opt, lr, curve, query_map=0.9 if opt == "sgd" else 0.1)
    df = tuning.tuning_table(tmp_path)
    assert len(df) == len(grids.TUNE_CONFIGS)
    win = df[df["winner"]]
    assert list(win["variant"]) == [grids.tune_variant("adam", 1e-3)]
    assert win["val_map"].iloc[0] == pytest.approx(0.62)
    assert tuning.tuned_settings("dpsh", tmp_path) == {"optimizer": "adam", "lr": 1e-3}


def test_ties_go_to_the_first_setting_and_incomplete_tuning_has_no_winner(tmp_path):
    for opt, lr in grids.TUNE_CONFIGS:
        _write_tune_record(tmp_path, "csq", opt, lr, [0.5])
    assert tuning.tuned_settings("csq", tmp_path) == dict(zip(("optimizer", "lr"), grids.TUNE_CONFIGS[0]))
    for opt, lr in grids.TUNE_CONFIGS[:3]:
        _write_tune_record(tmp_path, "dhn", opt, lr, [0.5, 0.7])
    assert tuning.tuned_settings("dhn", tmp_path) is None
    assert not tuning.tuning_table(tmp_path).query("method == 'dhn'")["winner"].any()


def test_tuned_cells_wait_for_their_method_and_then_take_its_winner(tmp_path):
    cell = grids.GridCell("dhn", "cifar10-i", 64, 1, tuned=True)
    with pytest.raises(TuningPending, match="dhn's tuning runs"):
        cell_settings(cell, "cpu", tmp_path)
    for opt, lr in grids.TUNE_CONFIGS:
        _write_tune_record(tmp_path, "dhn", opt, lr, [0.7 if opt == "sgd" else 0.5])
    assert cell_settings(cell, "cpu", tmp_path) == {"optimizer": "sgd", "lr": 3e-2}
    # the smoke and paper scales keep their presets
    assert cell_settings(cell, "smoke", tmp_path) == {}
    tune = grids.select(grids.grid("cpu"), methods=["dhn"], kinds=["tune"])[0]
    assert cell_settings(tune, "cpu", tmp_path) == {"optimizer": "adam", "lr": 3e-4}


def test_budget_cells_train_longer_with_the_tuned_settings(tmp_path):
    """The budget check: SHNet and CSQ at the tuning length and seed, the tuned optimiser
    and BUDGET_EPOCHS epochs; a kind of its own, outside the main tables and the ablation."""
    from hashlib_core.runner.plan import cell_config

    cells = [c for c in grids.select(grids.grid("cpu"), kinds=["budget"])
             if c.variant == grids.budget_variant(grids.BUDGET_EPOCHS)
             and (c.protocol, c.n_bits, c.seed) == ("cifar10-i", grids.TUNE_BITS, grids.TUNE_SEED)
             and c.method in grids.BUDGET_METHODS]
    assert [(c.method, c.n_bits, c.seed) for c in cells] == [
        (m, grids.TUNE_BITS, grids.TUNE_SEED) for m in grids.BUDGET_METHODS]
    assert all(c.variant == "budget-epochs80" and c.kind == "budget" for c in cells)
    assert not set(grids.SHNET_ABLATION) & {c.variant for c in cells}
    # issue 23's claims' runs (80 epochs) and their robustness runs (160 epochs, the
    # compared methods of each claim at its decisive length, 3 seeds); the budget check is
    # the seed-0 SHNet and CSQ cell of the claims' runs, not a run of its own
    budget = grids.select(grids.grid("cpu"), kinds=["budget"])
    claims = [c for c in budget if c.variant == grids.budget_variant(grids.CLAIM_EPOCHS)]
    robust = [c for c in budget if c.variant == grids.budget_variant(grids.ROBUST_EPOCHS)]
    assert set(cells) <= set(claims) and len(budget) == len(set(budget))
    assert len(claims) + len(robust) == len(budget)
    assert {(c.protocol, c.method, c.n_bits, c.seed) for c in robust} == {
        (p, m, b, s) for p, methods, b in grids.ROBUSTNESS for m in methods for s in (0, 1, 2)}
    assert all(c.settings == {"epochs": 2 * 40} and c.tuned for c in claims)
    assert all(c.settings == {"epochs": 4 * 40} and c.tuned for c in robust)
    for opt, lr in grids.TUNE_CONFIGS:
        _write_tune_record(tmp_path, "csq", opt, lr, [0.7 if lr == 1e-2 else 0.5])
    csq = next(c for c in cells if c.method == "csq")
    cfg = cell_config(csq, "cpu", root=tmp_path)
    assert (cfg.epochs, cfg.optimizer, cfg.lr) == (grids.BUDGET_EPOCHS, "adam", 1e-2)
    with pytest.raises(TuningPending):
        cell_config(next(c for c in cells if c.method == "shnet"), "cpu", root=tmp_path)


def test_diagnosis_cells_change_one_part_with_the_tuned_settings(tmp_path):
    """A diagnosis: the method at the tuning length and seed, its tuned optimiser, one
    hyper-parameter changed; a kind of its own (not in the tables, the ablation or the
    tuning), and every override is one the method accepts."""
    from hashlib_core.methods import create_method
    from hashlib_core.runner.plan import cell_config

    cells = grids.select(grids.grid("cpu"), kinds=["diagnosis"])
    expected = [(m, grids.diagnosis_variant(name), over)
                for m, variants in grids.DIAGNOSES.items() for name, over in variants.items()]
    assert [(c.method, c.variant, c.overrides) for c in cells] == expected
    assert all((c.n_bits, c.seed, c.kind, c.tuned) == (grids.TUNE_BITS, grids.TUNE_SEED,
                                                       "diagnosis", True) for c in cells)
    assert not grids.select(grids.grid("smoke"), kinds=["diagnosis"])
    for c in cells:
        assert set(grids.DIAGNOSIS_DESCRIPTIONS[c.method]) == set(grids.DIAGNOSES[c.method])
        create_method(c.method, c.n_bits, 10, **c.overrides)  # accepted, valid values
    for opt, lr in grids.TUNE_CONFIGS:
        _write_tune_record(tmp_path, "dnnh", opt, lr, [0.7 if lr == 3e-3 else 0.5])
    cfg = cell_config(cells[0], "cpu", root=tmp_path)
    assert (cfg.optimizer, cfg.lr, cfg.variant) == ("adam", 3e-3, cells[0].variant)
    assert cfg.overrides == {"encoder": "fc"}


def test_late_gain_measures_the_last_fifth_of_the_epochs():
    flat = [{"epoch": e, "val_map": min(0.6, 0.1 * e)} for e in range(10)]
    assert tuning.late_gain(flat) == pytest.approx(0.0)
    rising = [{"epoch": e, "val_map": 0.05 * e if e % 2 else None} for e in range(10)]
    # window = epochs 8-9 (val at 9: 0.45); the last value before it: epoch 7 (0.35)
    assert tuning.late_gain(rising) == pytest.approx(0.1)
    assert np.isnan(tuning.late_gain([{"epoch": 0, "val_map": None}]))
    with pytest.raises(ValueError, match="fraction"):
        tuning.late_gain(flat, fraction=1.5)


def test_convergence_table_lists_every_deep_run(tmp_path):
    _write_tune_record(tmp_path, "dhn", "adam", 1e-3, [0.1, 0.2, 0.3, 0.4, 0.5])
    df = tuning.convergence_table(tmp_path)
    assert list(df["method"]) == ["dhn"] and df["late_gain"].iloc[0] == pytest.approx(0.1)


def test_dry_run_shows_cells_waiting_for_tuning_then_their_winner(tmp_path, capsys):
    from hashlib_core.runner.cli import main

    assert main(["--scale", "cpu", "--methods", "dhn", "--kinds", "main", "--dry-run",
                 "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("wait  ") == 3 and "3 waiting for their method's tuning" in out
    for opt, lr in grids.TUNE_CONFIGS:
        _write_tune_record(tmp_path, "dhn", opt, lr, [0.5])
    assert main(["--scale", "cpu", "--methods", "dhn", "--kinds", "main", "--dry-run",
                 "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "0 waiting" in out and out.count("todo  ") == 3


def _winner_records(root, method, *, winner_epochs=None, per_query=True):
    """The five tuning records of ``method`` at the cpu scale, the (sgd, 3e-2) one winning,
    each with the full settings its cell runs with (``winner_epochs`` changes the
    winner's number of epochs) and query codes on disk."""
    from hashlib_core.engine.settings import result_settings
    from hashlib_core.runner.plan import cell_config

    tunes = grids.select(grids.grid("cpu"), methods=[method], kinds=["tune"])
    for cell in tunes:
        config = cell_config(cell, "cpu", root=root).to_dict()
        won = cell.settings == {"optimizer": "sgd", "lr": 3e-2}
        if won and winner_epochs is not None:
            config["epochs"] = winner_epochs
        folder = record_dir(root, **cell.key("cpu"))
        folder.mkdir(parents=True)
        entry = _codes(folder, cell.n_bits, cell.variant)
        (folder / "run.ipynb").write_text("{}")
        record = {"schema": SCHEMA, "key": cell.key("cpu"), "config": config,
                  "scalars": {"map": 0.61 if won else 0.3, "distinct_bits": 32,
                              "constant_bits": 0},
                  "curves": {"per_query_map": [0.6, 0.62]} if per_query else {},
                  "history": [{"epoch": 0, "loss": 1.0, "val_map": 0.7 if won else 0.5}],
                  "best_epoch": 0, "timings": {"total_s": 500.0},
                  "provenance": {"manifest_sha256": "m" * 64, "wall_time_s": 500.0,
                                 "method_revision": current_revision(method)},
                  "files": {"query_codes": entry,
                            "db_codes": None}}
        assert result_settings(config, "m" * 64)["variant"] == cell.variant
        (folder / RECORD).write_text(json.dumps(record))


def test_the_tuning_winners_own_cell_is_copied_not_trained_again(tmp_path):
    """DHN at 32 bits, seed 0 with its winning settings is the winning tuning run itself:
    the runner copies that record (marked, with no wall time of its own) instead of
    training the same seeded run a second time; the other cells still train."""
    from hashlib_core.results import load_results, read_record
    from hashlib_core.runner.plan import cell_config, plan_cell
    from hashlib_core.runner.twins import copy_twin, twin_record

    _winner_records(tmp_path, "dhn")
    mains = {(c.n_bits, c.seed): c for c in
             grids.select(grids.grid("cpu"), methods=["dhn"], kinds=["main"])}
    cell = mains[(grids.TUNE_BITS, grids.TUNE_SEED)]
    config = cell_config(cell, "cpu", root=tmp_path)
    plan = plan_cell(cell, config, scale="cpu", root=tmp_path, logs=tmp_path / "logs",
                     manifest_sha256="m" * 64)
    assert plan.action == "copy" and "32b_seed0_tune-sgd-lr0.03" in plan.why
    other = mains[(64, 0)]
    assert plan_cell(other, cell_config(other, "cpu", root=tmp_path), scale="cpu",
                     root=tmp_path, logs=tmp_path / "logs",
                     manifest_sha256="m" * 64).action == "run"
    # another protocol manifest (other splits) is another run
    assert twin_record(cell, config, scale="cpu", root=tmp_path, manifest_sha256="n" * 64) is None

    stale = record_dir(tmp_path, **cell.key("cpu")) / "query_codes-bbbb.npz"  # an old run's
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    folder = copy_twin(twin_record(cell, config, scale="cpu", root=tmp_path,
                                   manifest_sha256="m" * 64), cell, scale="cpu", root=tmp_path,
                       artifacts=tmp_path / "artifacts")
    rec = read_record(folder)
    assert rec["key"]["variant"] is None and rec["config"]["variant"] is None
    assert rec["provenance"]["copied_from"] == "32b_seed0_tune-sgd-lr0.03"
    assert rec["provenance"]["wall_time_s"] is None and rec["scalars"]["map"] == 0.61
    won = record_dir(tmp_path, **{**cell.key("cpu"), "variant": "tune-sgd-lr0.03"})
    name = rec["files"]["query_codes"]["name"]
    assert (folder / name).read_bytes() == (won / name).read_bytes()
    assert not stale.exists()
    # the copy is the cell's record: done, and counted once in the grid's cost
    assert plan_cell(cell, config, scale="cpu", root=tmp_path, logs=tmp_path / "logs",
                     manifest_sha256="m" * 64).action == "skip"
    df = load_results("cpu", root=tmp_path, method="dhn", variant=None)
    assert len(df) == 1 and df.wall_time_s.isna().all()


def test_a_winner_made_with_other_settings_is_not_copied(tmp_path):
    from hashlib_core.runner.plan import cell_config, plan_cell

    _winner_records(tmp_path / "a", "dhn", winner_epochs=7)
    # a winner made by older code, without the per-query values a default run keeps
    _winner_records(tmp_path / "b", "dhn", per_query=False)
    for root in (tmp_path / "a", tmp_path / "b"):
        cell = grids.GridCell("dhn", "cifar10-i", grids.TUNE_BITS, grids.TUNE_SEED, tuned=True)
        plan = plan_cell(cell, cell_config(cell, "cpu", root=root), scale="cpu",
                         root=root, logs=tmp_path / "logs", manifest_sha256="m" * 64)
        assert plan.action == "run"


def test_tune_ties_are_the_near_ties_of_the_stored_tuning_runs():
    """The tie rule's list (grids.TUNE_TIES) is what the rule gives on the committed tuning
    runs: every setting within TUNE_TIE of its method's best seed-0 validation mAP, for the
    methods with two or more such settings; each gets a seed-1 tuning cell."""
    from pathlib import Path

    from hashlib_core.runner.tuning import tie_check, tuning_table

    root = Path(__file__).resolve().parents[2] / "results"
    table = tuning_table(root, "cpu")
    if table.empty:
        pytest.skip("no committed tuning runs in this checkout")
    derived = {}
    for method, g in table.groupby("method"):
        near = g[g.val_map >= g.val_map.max() - grids.TUNE_TIE]
        if len(near) > 1:
            derived[method] = {(r.optimizer, r.lr) for r in near.itertuples()}
    assert derived == {m: set(t) for m, t in grids.TUNE_TIES.items()}
    cells = [c for c in grids.select(grids.grid("cpu"), kinds=["tune"])
             if c.seed == grids.TUNE_TIE_SEED]
    assert {(c.method, c.settings["optimizer"], c.settings["lr"]) for c in cells} == {
        (m, o, lr) for m, t in grids.TUNE_TIES.items() for o, lr in t}
    check = tie_check(root, "cpu")
    assert set(check.method) == set(grids.TUNE_TIES)
    assert check.groupby("method").winner_seed0.sum().eq(1).all()


def test_tie_check_picks_the_best_two_seed_mean(tmp_path, monkeypatch):
    from hashlib_core.runner import tuning

    monkeypatch.setattr(grids, "TUNE_TIES", {"dhn": (("adam", 1e-3), ("adam", 3e-3))})
    _write_tune_record(tmp_path, "dhn", "adam", 1e-3, [0.700])
    _write_tune_record(tmp_path, "dhn", "adam", 3e-3, [0.698])
    assert set(tuning.tie_check(tmp_path, "cpu").changes) == {"pending"}
    _write_tune_record(tmp_path, "dhn", "adam", 1e-3, [0.690], seed=1)
    _write_tune_record(tmp_path, "dhn", "adam", 3e-3, [0.699], seed=1)
    check = tuning.tie_check(tmp_path, "cpu")
    assert set(check.changes) == {"yes"}
    assert check[check.winner_mean].lr.tolist() == [3e-3]


def test_tie_markdown_says_what_the_two_seed_mean_decides(tmp_path, monkeypatch):
    from hashlib_core.runner import tuning

    monkeypatch.setattr(grids, "TUNE_TIES", {"dhn": (("adam", 1e-3), ("adam", 3e-3))})
    _write_tune_record(tmp_path, "dhn", "adam", 1e-3, [0.700])
    _write_tune_record(tmp_path, "dhn", "adam", 3e-3, [0.698])
    assert "DHN: pending" in training.tie_markdown(tuning.tie_check(tmp_path, "cpu"))
    _write_tune_record(tmp_path, "dhn", "adam", 1e-3, [0.690], seed=1)
    _write_tune_record(tmp_path, "dhn", "adam", 3e-3, [0.699], seed=1)
    text = training.tie_markdown(tuning.tie_check(tmp_path, "cpu"))
    assert "picks adam at 0.003 instead of 0.001" in text and "| DHN | adam, lr 0.001 |" in text
    assert training.tie_markdown(tuning.tie_check(tmp_path, "smoke")) == ""


def test_tuned_settings_follow_the_two_seed_mean_once_the_tie_runs_exist(tmp_path,
                                                                          monkeypatch):
    """Issue 23's tie rule decides the settings every other cell of the method uses:
    the seed-0 winner while its tie's seed-1 runs are missing, the best two-seed mean after."""
    from hashlib_core.runner import tuning

    monkeypatch.setattr(grids, "TUNE_TIES", {"dhn": (("adam", 1e-3), ("adam", 3e-3))})
    for opt, lr in grids.TUNE_CONFIGS:
        _write_tune_record(tmp_path, "dhn", opt, lr,
                           [{1e-3: 0.700, 3e-3: 0.698}.get(lr, 0.5) if opt == "adam" else 0.4])
    assert tuning.tuned_settings("dhn", tmp_path) == {"optimizer": "adam", "lr": 1e-3}
    _write_tune_record(tmp_path, "dhn", "adam", 1e-3, [0.690], seed=1)
    assert tuning.tuned_settings("dhn", tmp_path) == {"optimizer": "adam", "lr": 1e-3}
    _write_tune_record(tmp_path, "dhn", "adam", 3e-3, [0.699], seed=1)
    assert tuning.tuned_settings("dhn", tmp_path) == {"optimizer": "adam", "lr": 3e-3}
