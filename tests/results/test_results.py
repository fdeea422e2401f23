"""The results store: round trip, atomic replacement, clear errors on corrupt records."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from run_results import FakeEval, FakeResult

from hashlib_core import results as R
from hashlib_core.engine import settings as S


def _result(seed=0, n_bits=16, method="csq", map_value=0.5, variant=None):
    rng = np.random.default_rng(seed)
    q = np.where(rng.random((30, n_bits)) > 0.5, 1, -1).astype(np.int8)
    d = np.where(rng.random((90, n_bits)) > 0.5, 1, -1).astype(np.int8)
    ql = np.eye(10, dtype=np.uint8)[rng.integers(0, 10, 30)]
    dl = np.eye(10, dtype=np.uint8)[rng.integers(0, 10, 90)]
    cfg = {"scale": "smoke", "protocol": "cifar10-smoke", "method": method, "n_bits": n_bits,
           "seed": seed, "variant": variant, "epochs": 2}
    ev = FakeEval(
        scalars={"map": map_value, "precision_r2": float("nan"), "mac": np.float32(0.1)},
        curves={"pr_radius": np.arange(n_bits + 1), "pr_precision": rng.random(n_bits + 1),
                "bit_correlation": rng.random((n_bits, n_bits))},
    )
    return FakeResult(cfg, q, d, ql, dl, ev, history=[{"epoch": 0, "loss": 1.5}],
                   timings={"train_s": 3.0, "total_s": 4.5},
                   manifest={"protocol": "cifar10-smoke", "n_query": 30},
                   manifest_sha256="ab" * 32)


def test_round_trip(tmp_path):
    root, art = tmp_path / "results", tmp_path / "artifacts"
    res = _result()
    folder = R.save_run(res, root=root, artifacts=art, notebook="notebooks/train_eval.ipynb")
    assert folder == root / "smoke" / "cifar10-smoke" / "csq" / "16b_seed0"
    assert (root / "smoke" / "cifar10-smoke" / "manifest-abababababab.json").is_file()
    rec = R.read_record(folder)
    prov = rec["provenance"]
    assert prov["manifest_sha256"] == "ab" * 32
    assert prov["wall_time_s"] == 4.5
    assert prov["notebook"] == "notebooks/train_eval.ipynb"
    assert set(prov["versions"]) >= {"torch", "numpy", "hashlib_core", "torchvision"}
    assert len(prov["git_commit"]) == 40 or prov["git_commit"] == "unknown"

    df = R.load_results("smoke", root=root)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row.method, row.n_bits, row.seed, row.variant) == ("csq", 16, 0, None)
    assert row["map"] == 0.5 and np.isnan(row.precision_r2)
    assert row.mac == pytest.approx(0.1)

    curves = R.load_curves("smoke", root=root)
    np.testing.assert_allclose(curves.pr_precision.iloc[0], res.eval.curves["pr_precision"],
                               atol=1e-6)
    assert curves.bit_correlation.iloc[0].shape == (16, 16)

    q, ql = R.load_query_codes("smoke", "cifar10-smoke", "csq", 16, root=root)
    assert q.dtype == np.int8 and np.array_equal(q, res.query_codes)
    assert np.array_equal(ql, res.query_labels)
    d, dl = R.load_db_codes("smoke", "cifar10-smoke", "csq", 16, root=root, artifacts=art)
    assert np.array_equal(d, res.db_codes) and np.array_equal(dl, res.db_labels)
    # database codes are not in the committed folder
    assert not list(folder.glob("db_codes*"))


def test_filters_and_variants(tmp_path):
    root = tmp_path / "r"
    R.save_run(_result(seed=0), root=root, artifacts=None)
    R.save_run(_result(seed=1, map_value=0.6), root=root, artifacts=None)
    R.save_run(_result(seed=0, method="shnet"), root=root, artifacts=None)
    R.save_run(_result(seed=0, method="shnet", variant="segments3"), root=root, artifacts=None)
    df = R.load_results("smoke", root=root)
    assert len(df) == 4
    assert len(R.load_results("smoke", root=root, variant=None)) == 3
    assert list(R.load_results("smoke", root=root, variant="segments3").method) == ["shnet"]
    assert sorted(R.load_results("smoke", root=root, method="csq")["map"]) == [0.5, 0.6]
    assert R.load_results("cpu", root=root).empty
    assert R.has_record(root, scale="smoke", protocol="cifar10-smoke", method="shnet",
                        n_bits=16, seed=0, variant="segments3")
    with pytest.raises(FileNotFoundError, match="no database codes"):
        R.load_db_codes("smoke", "cifar10-smoke", "csq", 16, root=root)
    with pytest.raises(ValueError, match="0 records"):
        R.load_query_codes("smoke", "cifar10-smoke", "csq", 64, root=root)


def test_overwrite_replaces_and_cleans(tmp_path):
    root = tmp_path / "r"
    folder = R.save_run(_result(map_value=0.5), root=root, artifacts=None)
    res2 = _result(seed=0, map_value=0.7)
    res2.query_codes = -res2.query_codes
    R.save_run(res2, root=root, artifacts=None)
    assert R.load_results("smoke", root=root)["map"].tolist() == [0.7]
    assert len(list(folder.glob("query_codes-*.npz"))) == 1
    q, _ = R.load_query_codes("smoke", "cifar10-smoke", "csq", 16, root=root)
    assert np.array_equal(q, res2.query_codes)


def test_crash_mid_write_keeps_old_record(tmp_path, monkeypatch):
    root = tmp_path / "r"
    old = _result(map_value=0.5)
    folder = R.save_run(old, root=root, artifacts=None)
    new = _result(map_value=0.9)
    new.query_codes = -new.query_codes

    real_replace = os.replace

    def crash_on_record(src, dst):
        if str(dst).endswith(R.RECORD):
            raise OSError("simulated crash while committing record.json")
        return real_replace(src, dst)

    import hashlib_core.atomic as atomic

    monkeypatch.setattr(atomic.os, "replace", crash_on_record)
    with pytest.raises(OSError, match="simulated crash"):
        R.save_run(new, root=root, artifacts=None)
    monkeypatch.undo()
    # the old record is intact and still consistent with its codes; no temp file is left
    assert R.load_results("smoke", root=root)["map"].tolist() == [0.5]
    q, _ = R.load_query_codes("smoke", "cifar10-smoke", "csq", 16, root=root)
    assert np.array_equal(q, old.query_codes)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_corrupt_record_names_file(tmp_path):
    root = tmp_path / "r"
    folder = R.save_run(_result(), root=root, artifacts=None)
    text = (folder / R.RECORD).read_text()
    (folder / R.RECORD).write_text(text[: len(text) // 2])  # half-written
    with pytest.raises(ValueError, match=r"16b_seed0/record\.json: corrupt result record"):
        list(R.iter_records(root, strict=True))
    assert not R.has_record(root, scale="smoke", protocol="cifar10-smoke", method="csq",
                            n_bits=16, seed=0)
    (folder / R.RECORD).write_text(json.dumps({"schema": 1, "key": {}}))
    with pytest.raises(ValueError, match="missing fields"):
        R.read_record(folder)


def test_tampered_codes_detected(tmp_path):
    root = tmp_path / "r"
    folder = R.save_run(_result(), root=root, artifacts=None)
    codes = next(folder.glob("query_codes-*.npz"))
    data = bytearray(codes.read_bytes())
    data[len(data) // 2] ^= 0xFF
    codes.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match the sha256"):
        R.load_query_codes("smoke", "cifar10-smoke", "csq", 16, root=root)


def test_bad_input_refused(tmp_path):
    res = _result()
    res.query_codes = res.query_codes.astype(np.float32) * 0.5
    with pytest.raises(ValueError, match="codes must be a 2-D array of -1/\\+1"):
        R.save_run(res, root=tmp_path, artifacts=None)
    res = _result()
    res.config = {"scale": "smoke", "method": "csq"}
    with pytest.raises(ValueError, match="lacks"):
        R.save_run(res, root=tmp_path, artifacts=None)
    with pytest.raises(ValueError, match="variant"):
        R.save_run(_result(), root=tmp_path, variant="a/b")


def test_a_corrupt_record_is_skipped_named_and_counted(tmp_path):
    """Issue 16, case 2: a truncated record no longer breaks the readers
    (and so the book's pages): it is left out with a warning naming it, and counted."""
    root = tmp_path / "r"
    good = R.save_run(_result(seed=0), root=root, artifacts=None)
    bad = R.save_run(_result(seed=1), root=root, artifacts=None)
    text = (bad / R.RECORD).read_bytes()
    (bad / R.RECORD).write_bytes(text[: len(text) * 2 // 3])  # cut mid-way
    with pytest.warns(R.CorruptRecordWarning, match=r"16b_seed1/record\.json: corrupt result"):
        df = R.load_results("smoke", root=root)
    assert df.seed.tolist() == [0] and df.path.tolist() == [str(good)]
    assert len(df.attrs["skipped_records"]) == 1
    assert str(bad / R.RECORD) in df.attrs["skipped_records"][0]
    note = R.skipped_note(df)
    assert note.startswith("1 stored run was left out") and str(bad / R.RECORD) in note
    with pytest.warns(R.CorruptRecordWarning):
        curves = R.load_curves("smoke", root=root)
    assert curves.seed.tolist() == [0] and len(curves.attrs["skipped_records"]) == 1
    with pytest.warns(R.CorruptRecordWarning):
        codes, _ = R.load_query_codes("smoke", "cifar10-smoke", "csq", 16, seed=0, root=root)
    assert codes.shape == (30, 16)
    # a record that is valid JSON of the wrong shape, and one that cannot be read at all
    (bad / R.RECORD).write_text(json.dumps({"schema": 1, "key": [], "config": {}, "scalars": {},
                                            "curves": {}, "provenance": {}, "files": {}}))
    with pytest.warns(R.CorruptRecordWarning, match="must be JSON objects"):
        assert len(R.load_results("smoke", root=root)) == 1
    (bad / R.RECORD).unlink()
    (bad / R.RECORD).mkdir()  # a folder where the file should be: unreadable
    with pytest.warns(R.CorruptRecordWarning, match="unreadable result record"):
        df = R.load_results("smoke", root=root)
    assert len(df) == 1 and len(df.attrs["skipped_records"]) == 1
    assert R.skipped_note(R.load_results("smoke", root=tmp_path / "empty")) == ""


def test_settings_differences_name_each_field():
    rec = {"config": {"method": "dpsh", "epochs": 6, "lr": 1e-3, "device": "cuda",
                      "method_overrides": {"eta": 10.0}, "removed_field": 1},
           "provenance": {"manifest_sha256": "ab" * 32}}
    wanted = S.result_settings({"method": "dpsh", "epochs": 4, "lr": 1e-3, "device": "cpu",
                                "method_overrides": {"eta": 10.0}, "new_field": 3}, "ab" * 32)
    assert "device" not in wanted  # where it ran does not change the result
    assert S.settings_differences(rec, wanted) == ["epochs: record 6, now 4"]
    assert S.settings_differences(rec, wanted, defaults={"new_field": 2}) == [
        "epochs: record 6, now 4", "new_field: record 2, now 3"]
    same = dict(wanted, epochs=6)
    assert S.settings_differences(rec, same) == []
    assert S.settings_differences(rec, dict(same, method_overrides={"eta": 1.0})) == [
        "method_overrides: record {'eta': 10.0}, now {'eta': 1.0}"]
    other = S.settings_differences(rec, dict(same, manifest_sha256="cd" * 32))
    assert other == ["protocol manifest: record abababababab, now cdcdcdcdcdcd (other splits or data)"]
    assert S.settings_differences(rec, dict(same, manifest_sha256=None)) == []


@pytest.mark.parametrize("module", ["codes", "portable", "provenance", "records", "store",
                                    "validation"])
def test_doctests(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"hashlib_core.results.{module}")
    assert doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_unreadable_manifest_is_named(tmp_path):
    root = tmp_path / "r"
    R.save_run(_result(), root=root, artifacts=None)
    (manifest,) = (root / "smoke" / "cifar10-smoke").glob("manifest-*.json")
    assert R.load_manifest("smoke", "cifar10-smoke", root=root) == {"protocol": "cifar10-smoke",
                                                                    "n_query": 30}
    manifest.write_text('{"protocol": "cif')
    with pytest.raises(ValueError, match=rf"{manifest.name}: unreadable protocol manifest"):
        R.load_manifest("smoke", "cifar10-smoke", root=root)


def test_a_rerun_removes_the_database_codes_stored_beside_the_old_record(tmp_path):
    """The retrieval page's database codes live in the record's folder
    (scripts/store_db_codes.py); a rerun of the cell writes a new record, and the old run's
    codes must not stay there beside it (they would not match its query codes)."""
    root = tmp_path / "r"
    folder = R.save_run(_result(map_value=0.5), root=root, artifacts=None)
    stale = folder / "db_codes-0123456789ab.npz"
    stale.write_bytes(b"codes of the old run")
    R.save_run(_result(map_value=0.7), root=root, artifacts=tmp_path / "a")
    assert not stale.exists()
    assert not list(folder.glob("db_codes-*.npz"))  # the new ones go to the artifacts


# --------------------------------------------------------------------------- no absolute path
def _strip_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "strip_record_paths.py"
    spec = importlib.util.spec_from_file_location("strip_record_paths", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_save_run_writes_no_absolute_path(tmp_path):
    from hashlib_core.results.portable import absolute_paths

    root = tmp_path / "results"
    res = _result()
    res.config.update(run_dir=str(tmp_path / "results.checkpoints" / "smoke" / "x"),
                      data_root=str(root / "data"), cache_dir="/home/someone/.cache/h")
    res.run_info = {"weights": {"spec": "/home/someone/w/r50.pth", "sha256": "ab",
                                "path": "/home/someone/w/r50.pth", "source": "file"}}
    folder = R.save_run(res, root=root, artifacts=None,
                        notebook=str(tmp_path / "notebooks" / "train_eval.ipynb"))
    text = (folder / R.RECORD).read_text()
    rec = json.loads(text)
    assert absolute_paths(rec) == [] and str(tmp_path) not in text and "/home" not in text
    cfg, prov = rec["config"], rec["provenance"]
    # inside the results root: relative to it; a folder elsewhere: dropped; a file: its name
    assert (cfg["run_dir"], cfg["data_root"], cfg["cache_dir"]) == (None, "data", None)
    assert prov["notebook"] == "train_eval.ipynb"
    assert prov["run"]["weights"] == {"spec": "r50.pth", "sha256": "ab", "path": "r50.pth",
                                      "source": "file"}
    assert R.load_results("smoke", root=root)["map"].tolist() == [0.5]


def _old_record(root, run_dir):
    """A record as the code before issue 26 wrote it: an absolute ``config.run_dir``."""
    folder = R.save_run(_result(), root=root, artifacts=None, notebook="notebooks/t.ipynb")
    path = folder / R.RECORD
    rec = json.loads(path.read_text())
    rec["config"]["run_dir"] = run_dir
    path.write_bytes(json.dumps(rec, separators=(",", ":"), allow_nan=False).encode())
    return path


def test_old_records_with_absolute_paths_still_read(tmp_path):
    root = tmp_path / "results"
    path = _old_record(root, "/work/main/results.checkpoints/smoke/cifar10-smoke/csq/16b_seed0")
    assert R.record_problems(path.parent) == []
    assert R.has_record(root, scale="smoke", protocol="cifar10-smoke", method="csq",
                        n_bits=16, seed=0)
    assert R.load_results("smoke", root=root)["map"].tolist() == [0.5]


def test_strip_record_paths_changes_only_the_paths_and_is_idempotent(tmp_path, capsys):
    strip = _strip_script()
    root = tmp_path / "results"
    path = _old_record(root, "/work/main/results.checkpoints/smoke/cifar10-smoke/csq/16b_seed0")
    inside = _old_record(tmp_path / "other", str(tmp_path / "other" / "ckpt" / "a"))
    before = path.read_bytes()
    assert strip.main([str(root)]) == 0
    out = capsys.readouterr().out
    assert "config.run_dir" not in out and "run_dir: /work/main/results.checkpoints" in out
    assert out.strip().endswith("1 records under " + str(root) + " (cpu, smoke): 1 changed")
    after = path.read_bytes()
    assert after == before.replace(
        b'"run_dir":"/work/main/results.checkpoints/smoke/cifar10-smoke/csq/16b_seed0"',
        b'"run_dir":null')
    assert strip.main([str(root)]) == 0 and path.read_bytes() == after
    assert capsys.readouterr().out.strip().endswith(": 0 changed")
    assert R.load_results("smoke", root=root)["map"].tolist() == [0.5]
    # a folder inside the results root is kept, relative to it
    assert strip.main([str(tmp_path / "other")]) == 0
    assert json.loads(inside.read_text())["config"]["run_dir"] == "ckpt/a"


def test_strip_record_paths_keeps_the_layout_of_an_indented_record(tmp_path, capsys):
    strip = _strip_script()
    root = tmp_path / "results"
    path = _old_record(root, "/tmp/ckpt")
    path.write_text(json.dumps(json.loads(path.read_text()), indent=1))
    before = path.read_text()
    assert strip.main([str(root), "--scale", "smoke"]) == 0
    assert path.read_text() == before.replace('"run_dir": "/tmp/ckpt"', '"run_dir": null')


def test_a_stored_run_log_keeps_no_absolute_path(tmp_path, capsys):
    """The executed notebook beside a record held ~10 absolute paths of the author's
    machine (its parameters, the template, warnings from site-packages): the script and
    the runner (portable_log) make them relative; a second pass changes nothing."""
    from hashlib_core.results.portable import absolute_paths

    strip = _strip_script()
    root = tmp_path / "results"
    record = _old_record(root, None)
    repo = "/home/someone/hashlib"
    log = {"cells": [{"cell_type": "code", "source": f'root = "{repo}/results"\n',
                      "outputs": [{"name": "stderr", "output_type": "stream", "text": [
                          "/opt/conda/lib/python3.11/site-packages/tqdm/auto.py:21: W\n",
                          f"{repo}/results/smoke/cifar10-smoke/csq/16b_seed0\n"]}]}],
           "metadata": {"papermill": {"input_path": f"{repo}/notebooks/train_eval.ipynb",
                                      "parameters": {"root": f"{repo}/results",
                                                     "run_dir": f"{repo}/results.checkpoints/x"}}}}
    (record.parent / "run.ipynb").write_text(json.dumps(log, indent=1))
    assert strip.main([str(root)]) == 0
    text = (record.parent / "run.ipynb").read_text()
    assert "/home/someone" not in text and "/opt/conda" not in text
    assert not absolute_paths(json.loads(text))
    stored = json.loads(text)
    assert stored["metadata"]["papermill"]["parameters"] == {
        "root": "results", "run_dir": "results.checkpoints/x"}
    assert "<site-packages>/tqdm/auto.py:21: W\n" in stored["cells"][0]["outputs"][0]["text"]
    capsys.readouterr()
    assert strip.main([str(root)]) == 0
    assert capsys.readouterr().out.strip().endswith(": 0 changed")


def test_a_run_made_before_its_methods_revision_is_stale(tmp_path):
    """CSQ's loss changed (revision 2, the BCE term in float64): its runs and SHNet's made
    before are left out of every reader, with a sentence for the page, and the runner
    sees a gap (it makes them again); a new record carries the revision; DPSH's runs
    (revision 1) are untouched."""
    from hashlib_core.results.revisions import stale_revision

    root = tmp_path / "results"
    new = R.save_run(_result(seed=0), root=root, artifacts=None, notebook="n.ipynb")
    old = R.save_run(_result(seed=1), root=root, artifacts=None, notebook="n.ipynb")
    other = R.save_run(_result(seed=0, method="dpsh"), root=root, artifacts=None,
                       notebook="n.ipynb")
    assert R.read_record(new)["provenance"]["method_revision"] == 2
    path = old / R.RECORD
    rec = json.loads(path.read_text())
    del rec["provenance"]["method_revision"]  # as the code before revision 2 wrote it
    path.write_text(json.dumps(rec))
    assert "CSQ revision 1; the code is at revision 2" in stale_revision(rec)
    assert stale_revision(R.read_record(other)) is None
    stale = []
    kept = list(R.iter_records(root, scale="smoke", stale=stale))
    assert sorted(r["key"]["seed"] for r in kept if r["key"]["method"] == "csq") == [0]
    assert len(stale) == 1 and str(path) in stale[0]
    df = R.load_results("smoke", root=root)
    assert len(df) == 2 and len(df.attrs["stale_records"]) == 1
    note = R.skipped_note(df)
    assert note.startswith("1 stored run of CSQ (the default runs at 16 bits, seed 1) was made "
                           "before a change to its code (CSQ's BCE")
    assert any("the current csq code" in gap for gap in R.record_gaps(rec))
    assert not any("code" in gap for gap in R.record_gaps(R.read_record(new)))


def test_the_stale_sentence_names_the_runs_and_the_shared_loss():
    """Review 11 (9): the sentence on left-out runs says which runs (code lengths, seeds,
    kinds, compactly), that SHNet shares CSQ's loss, and no jargon ("revision", "the
    runner")."""
    why = ("made with SHNet revision 1; the code is at revision 2: CSQ's BCE term in "
           "float64")
    runs = [f"results/cpu/cifar10-i/shnet/{b}b_seed{s}/record.json" for b in (16, 32, 64)
            for s in (3, 4)]
    runs += [f"results/cpu/cifar10-i/shnet/32b_seed{s}_{v}/record.json" for s in (0, 1, 2)
             for v in ("budget-epochs80", "segments3", "parallel")]
    (sentence,) = R.stale_sentences([f"{p}: {why}" for p in runs])
    assert sentence.startswith(
        "15 stored runs of SHNet (the default runs at 16, 32 and 64 bits, seeds 3 and 4; "
        "the 80-epoch budget runs at 32 bits, seeds 0–2; the variants `parallel` and "
        "`segments3` at 32 bits, seeds 0–2) were made before a change to CSQ's loss, "
        "which SHNet shares (CSQ's BCE term in float64)"), sentence
    assert sentence.endswith("left out until the grid makes them again.")
    assert "revision" not in sentence and "runner" not in sentence
    from hashlib_core.results.store import describe_runs

    assert describe_runs([{"n_bits": 32, "seed": s, "variant": None}
                          for s in (0, 1, 2, 4)]) == "the default runs at 32 bits, seeds 0–2 and 4"
