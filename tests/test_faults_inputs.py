"""Fault injection: bad records, bad inputs, an unescaped page (issue 29, items 1, 3-5,
7-10; issue 25, items 4, 5 and 8). Each case fails on the code before the fix and is
fast: no training, no full data set.

* a record's values never become markup on a page (escaped, and names validated);
* a record counts as done only when its types and its codes file (sha256, shape,
  n_bits, n_queries) are right; readers skip it with a warning naming the file;
* the preflight checks every folder (``<root>.checkpoints``, the cache), full and
  read-only ones included, and names corrupt cache files and NaN in a GIST cache;
* the engine's command line rejects bad fields, hyper-parameters, code lengths,
  weights files and checkpoints of other settings in one line, before any data loads;
* the data check reads lists as the loader does and names every fault once per
  occurrence, sorted, capped, with the likely cause of an all-missing image folder;
* bad images are found by the preflight, named by list file and line;
* ``--help`` of the command lines does not import torch.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from run_results import FakeEval, FakeResult

from hashlib_core import preflight
from hashlib_core import results as R
from hashlib_core.results.codes import _read_codes

REPO = Path(__file__).resolve().parents[1]
EVIL = "adam<img src=x onerror=alert(1)>"


# --------------------------------------------------------------------------- records


def _save(root: Path, *, method="csq", n_bits=16, seed=0, variant=None, n_query=30,
          optimizer="adam") -> Path:
    rng = np.random.default_rng(seed)
    q = np.where(rng.random((n_query, n_bits)) > 0.5, 1, -1).astype(np.int8)
    ql = np.eye(10, dtype=np.uint8)[rng.integers(0, 10, n_query)]
    cfg = {"scale": "smoke", "protocol": "cifar10-smoke", "method": method, "n_bits": n_bits,
           "seed": seed, "variant": variant, "epochs": 2, "optimizer": optimizer, "lr": 1e-3}
    ev = FakeEval({"map": 0.5, "precision_r2": float("nan")}, {"pr_radius": np.arange(3)},
               {"n_queries": n_query, "n_bits": n_bits})
    res = FakeResult(cfg, q, None, ql, None, ev,
                  history=[{"epoch": 0, "loss": 1.0, "val_map": 0.4},
                           {"epoch": 1, "loss": 0.9, "val_map": 0.45}])
    return R.save_run(res, root=root, artifacts=None)


def _edit(folder: Path, change) -> None:
    path = folder / R.RECORD
    rec = json.loads(path.read_text())
    change(rec)
    path.write_text(json.dumps(rec))


def test_valid_record_has_no_problems(tmp_path):
    folder = _save(tmp_path)
    assert R.record_problems(folder) == []
    assert R.has_record(tmp_path, scale="smoke", protocol="cifar10-smoke", method="csq",
                        n_bits=16, seed=0)


@pytest.mark.parametrize("change, words", [
    (lambda r: r["scalars"].__setitem__("map", "abc"), "scalars.map must be a finite number"),
    (lambda r: r["scalars"].__setitem__("mac", "x"), "scalars.mac must be a number or null"),
    (lambda r: r["key"].__setitem__("n_bits", "thirty-two"), "key.n_bits must be an integer > 0"),
    (lambda r: r["key"].__setitem__("seed", -1), "key.seed must be an integer >= 0"),
    (lambda r: r["key"].__setitem__("method", "csq<img src=x>"), "key.method must be a name"),
    (lambda r: r["provenance"].__setitem__("git_commit", "`<img src=x onerror=alert(1)>`"),
     "provenance.git_commit must be a hex commit"),
    (lambda r: r["files"]["query_codes"].__setitem__("name", "query_codes-absent.npz"),
     "query codes file missing"),
    (lambda r: r["files"]["query_codes"].__setitem__("sha256", "0" * 64),
     "does not match the sha256"),
    (lambda r: r["eval_info"].__setitem__("n_queries", 1000), "eval_info.n_queries is 1000"),
])
def test_wrong_typed_or_incomplete_record_is_not_done(tmp_path, change, words):
    folder = _save(tmp_path)
    _edit(folder, change)
    problems = R.record_problems(folder)
    assert problems and any(words in p for p in problems), problems
    assert all(str(folder) in p for p in problems)  # every problem names its file
    assert not R.has_record(tmp_path, scale="smoke", protocol="cifar10-smoke", method="csq",
                            n_bits=16, seed=0)
    # the readers (every book page) skip it with a warning naming the file
    with pytest.warns(R.CorruptRecordWarning, match=str(folder / R.RECORD)):
        df = R.load_results("smoke", root=tmp_path)
    assert df.empty and str(folder / R.RECORD) in df.attrs["skipped_records"][0]


def test_codes_file_of_another_shape_is_named_before_use(tmp_path):
    """A codes file with 8-bit codes under a 16-bit record (the t-SNE page died on one
    without naming it): not done, skipped, and load_query_codes never returns it."""
    folder = _save(tmp_path, n_bits=16)
    other = _save(tmp_path / "other", n_bits=8)
    codes = next(other.glob("query_codes-*.npz"))
    target = next(folder.glob("query_codes-*.npz"))
    target.write_bytes(codes.read_bytes())
    _edit(folder, lambda r: r["files"]["query_codes"].__setitem__("sha256", None))
    problems = R.record_problems(folder)
    assert any("codes of 8 bits, the record's key.n_bits is 16" in p and str(target) in p
               for p in problems), problems
    with pytest.warns(R.CorruptRecordWarning):
        with pytest.raises(ValueError, match=r"record.json: invalid .*codes of 8 bits"):
            R.load_query_codes("smoke", "cifar10-smoke", "csq", 16, root=tmp_path)
    # a packed array too narrow for its n_bits is refused by the reader itself
    bad = tmp_path / "bad.npz"
    np.savez(bad, packed=np.zeros((4, 1), np.uint8), n_bits=np.array(64),
             labels=np.zeros(4, np.int64))
    with pytest.raises(ValueError, match=r"bad.npz: codes of shape \(4, 1\) .* 64 bits"):
        _read_codes(bad, None)


def test_save_run_refuses_codes_of_another_width(tmp_path):
    folder = _save(tmp_path / "a", n_bits=16)
    rec = R.read_record(folder)
    codes, labels = _read_codes(folder / rec["files"]["query_codes"]["name"], None)
    cfg = {**rec["config"], "n_bits": 32}
    res = FakeResult(cfg, codes, None, labels, None, FakeEval({"map": 0.5}, {}))
    with pytest.raises(ValueError, match="query codes of 16 bits for a run of n_bits=32"):
        R.save_run(res, root=tmp_path / "b", artifacts=None)


def test_pickled_codes_file_is_refused(tmp_path):
    folder = _save(tmp_path)
    target = next(folder.glob("query_codes-*.npz"))
    np.savez(target, packed=np.array([object()], dtype=object), n_bits=np.array(16),
             labels=np.zeros(1))
    _edit(folder, lambda r: r["files"]["query_codes"].__setitem__("sha256", None))
    assert any("unreadable" in p for p in R.record_problems(folder))


# --------------------------------------------------------------------------- escaping
def test_tuning_table_escapes_record_values():
    from hashlib_core.report import training

    hist = pd.DataFrame([
        {"method": "csq", "variant": "tune-x", "n_bits": 32, "seed": 0, "optimizer": EVIL,
         "lr": 1e-3, "epoch": e, "loss": 1.0, "val_map": v} for e, v in enumerate((0.2, 0.3))])
    table = training.tuning_table(hist)
    assert "<img" not in training.tuning_text(table, scale="cpu", protocol="cifar10-i")
    table["winner"] = True  # as when every setting has run
    html = training.tuning_html(table)
    text = training.tuning_text(table, scale="cpu", protocol="cifar10-i")
    assert "<img" not in html and "&lt;img" in html
    assert "<img" not in text and "&lt;img" in text


def test_markdown_tables_escape_markup():
    from hashlib_core.report.markdown import markdown_table

    out = markdown_table(pd.DataFrame({"method": ["csq<script>x</script>"], "mAP": ["0.5"]}))
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_a_record_with_markup_in_its_names_never_reaches_a_page(tmp_path):
    folder = _save(tmp_path)
    _edit(folder, lambda r: r["key"].__setitem__("variant", "x<img src=x onerror=alert(1)>"))
    with pytest.warns(R.CorruptRecordWarning):
        assert R.load_results("smoke", root=tmp_path).empty
    frame = pd.DataFrame()
    frame.attrs["skipped_records"] = [f"{tmp_path}/<b>: x"]
    note = R.skipped_note(frame)
    assert "<b>" not in note


def test_package_warnings_show_no_build_path():
    import hashlib_core  # noqa: F401 - installs the format

    text = warnings.formatwarning("m", R.CorruptRecordWarning, str(Path(R.__file__)), 10)
    assert text == "CorruptRecordWarning: m\n"
    other = warnings.formatwarning("m", FutureWarning, "/abs/site-packages/x/y.py", 3)
    assert "/abs" not in other and "y.py:3: FutureWarning: m" in other


# --------------------------------------------------------------------------- preflight
def test_preflight_checks_root_checkpoints_and_the_cache(tmp_path):
    folders = preflight.run_folders(root=tmp_path / "results", artifacts=tmp_path / "a",
                                    logs=tmp_path / "runs" / "logs", cache_dir=tmp_path / "c")
    paths = [p for p, _ in folders]
    assert (tmp_path / "results.checkpoints").resolve() in paths
    assert tmp_path / "runs" / "checkpoints" not in paths and tmp_path / "c" in paths
    assert preflight.check_folders(root=tmp_path / "results", cache_dir=tmp_path / "c") == []


def test_read_only_or_full_cache_folder_is_one_line(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    problems = preflight.check_folders(root=tmp_path / "r", cache_dir=blocker / "cache")
    assert len(problems) == 1 and "cache folder" in problems[0] and str(blocker) in problems[0]

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(preflight.os, "write", full)
    problems = preflight.check_writable(tmp_path / "c2", "cache folder")
    assert len(problems) == 1 and "no space left" in problems[0]
    assert not list((tmp_path / "c2").iterdir())  # the probe is removed


def test_cache_root_and_cache_writes_fail_softly(tmp_path, monkeypatch):
    from hashlib_core.data import cache

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cache folder .* cannot be created"):
        cache.cache_root(blocker / "cache")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache, "atomic_write", full)
    with pytest.warns(cache.CacheWriteWarning, match="x.npy not written .*no space left"):
        cache.save_array(tmp_path / "x.npy", np.zeros(3))


def test_corrupt_cache_meta_json_is_named_and_rebuilt(tmp_path):
    from hashlib_core.data import cache
    from hashlib_core.data.cifar import _read_meta

    meta = tmp_path / "cifar10-pickles-v1-meta.json"
    meta.write_text('{"stamps": ')
    with pytest.warns(cache.CorruptCacheWarning, match="meta.json is unreadable"):
        assert _read_meta(meta) is None
    arr = tmp_path / "a.npy"
    cache.save_array(arr, np.arange(4.0))
    Path(str(arr) + ".stamp.json").write_text("{not json")
    with pytest.warns(cache.CorruptCacheWarning, match="a.npy has an unreadable stamp"):
        assert cache.load_array(arr) is None


def test_nan_in_a_stamped_gist_cache_is_named_and_recomputed(tmp_path):
    from hashlib_core.data import cache
    from hashlib_core.features.cache import cached_gist

    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    feats = cached_gist(images, key="t", cache_dir=tmp_path)
    path = next(tmp_path.glob("gist_t_*.npy"))
    poisoned = feats.copy()
    poisoned[1, 3] = np.nan
    cache.save_array(path, poisoned)  # stamped: the stamp matches the NaN
    with pytest.warns(cache.CorruptCacheWarning, match=f"{path.name} holds 1 NaN"):
        again = cached_gist(images, key="t", cache_dir=tmp_path)
    assert np.isfinite(again).all() and np.allclose(again, feats)


# --------------------------------------------------------------------------- engine CLI
def _engine(argv, capsys, monkeypatch):
    from hashlib_core.engine import __main__ as cli

    def no_protocol(*a, **k):
        raise AssertionError("the protocol was loaded before the error")

    monkeypatch.setattr(preflight, "check_protocol", no_protocol)
    rc = cli.main(["--scale", "smoke", "--method", argv[0], "--n-bits", "16", "--device",
                   "cpu", "--no-progress", *argv[1:]])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("argv, words", [
    (["csq", "--set", "n_bits=0"], "--n-bits"),
    (["csq", "--set", "method=dpsh"], "--method"),
    (["csq", "--set", "scale=cpu"], "--scale"),
    (["csq", "--set", "threads=True"], "threads"),
    (["shnet", "--hp", "head=diagonal"], "head must be one of"),
    (["shnet", "--hp", "n_segments=0"], "n_segments must be a positive integer"),
    (["csq", "--hp", "centers=circle"], "method must be auto, hadamard or bernoulli"),
    (["dnnh", "--hp", "encoder=x"], "encoder must be"),
    (["adsh", "--hp", "num_samples=0"], "num_samples"),
    (["csdh", "--hp", "similarity=x"], "similarity must be one of"),
    (["csq", "--n-bits", "1"], "n_bits: must be at least 2"),
])
def test_engine_rejects_bad_settings_before_the_protocol(argv, words, capsys, monkeypatch):
    assert words in _engine(argv, capsys, monkeypatch)


def test_engine_names_an_unreadable_weights_file(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"not a state dict")
    line = _engine(["csq", "--backbone", "resnet18", "--pretrained", str(bad)], capsys,
                   monkeypatch)
    assert f"--pretrained {bad}" in line and "cannot read state-dict file" in line


def test_engine_names_a_checkpoint_of_other_settings(tmp_path, capsys, monkeypatch):
    from hashlib_core.engine import RunConfig
    from hashlib_core.engine import checkpoint as ckpt

    run = tmp_path / "run"
    other = RunConfig.from_scale("smoke", method="csq", n_bits=16, epochs=3, run_dir=str(run))
    ckpt.atomic_save({"format": ckpt.FORMAT, "result_key": other.result_key(),
                      "config": other.to_dict()}, run / ckpt.LAST)
    line = _engine(["csq", "--run-dir", str(run), "--epochs", "2"], capsys, monkeypatch)
    assert "checkpoint of other settings" in line and "epochs: checkpoint 3, now 2" in line


def test_every_engine_option_has_help():
    from hashlib_core.engine.__main__ import build_parser

    missing = [a.dest for a in build_parser()._actions if not a.help]
    assert missing == []


def _imports(module: str, *args: str) -> tuple[int, str]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", module, *args],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    imported = {ln.rsplit("|", 1)[-1].strip() for ln in out.stderr.splitlines()
                if ln.startswith("import time:")}
    return out.returncode, imported


@pytest.mark.parametrize("module, args", [
    ("hashlib_core.data", ["--help"]),
    ("hashlib_core.data", ["check"]),  # an argument error
])
def test_help_and_argument_errors_do_not_import_torch(module, args):
    rc, imported = _imports(module, *args)
    assert rc in (0, 2) and "torch" not in imported and "hashlib_core" in imported


def test_engine_help_does_not_import_torch():
    rc, imported = _imports("hashlib_core.engine", "--help")
    assert rc == 0 and "torch" not in imported


def test_engine_command_line_module_imports_no_torch():
    """The engine's own modules (command line, config, preflight) import no torch before
    the arguments are parsed (the package ``hashlib_core.engine`` itself is bypassed)."""
    code = (
        "import sys, types, hashlib_core\n"
        "pkg = types.ModuleType('hashlib_core.engine')\n"
        f"pkg.__path__ = [{str(REPO / 'hashlib_core' / 'engine')!r}]\n"
        "sys.modules['hashlib_core.engine'] = pkg\n"
        "import hashlib_core.engine.__main__ as m, hashlib_core.engine.config\n"
        "m.build_parser().format_help()\n"
        "assert 'torch' not in sys.modules, sorted(k for k in sys.modules if 'torch' in k)[:3]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)


# --------------------------------------------------------------------------- data check
def _png(path: Path, seed: int = 0, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


def _row(rel: str, k: int, n_classes: int = 21) -> str:
    label = ["0"] * n_classes
    label[k % 3] = "1"
    return f"{rel} {' '.join(label)}"


def _dataset(root: Path, *, n_query=4, n_train=20, folder="nuswide_21", n_classes=21,
             images=True) -> Path:
    lists = root / "hashing-lists" / folder
    lists.mkdir(parents=True)
    rels = [f"img/{k:02d}.png" for k in range(n_query + n_train)]
    if images:
        for k, rel in enumerate(rels):
            _png(lists / rel, k)
    (lists / "test.txt").write_text(
        "\n".join(_row(r, k, n_classes) for k, r in enumerate(rels[:n_query])) + "\n")
    (lists / "train.txt").write_text(
        "\n".join(_row(r, k, n_classes) for k, r in enumerate(rels[n_query:], n_query)) + "\n")
    return lists


def _check(root, capsys, *extra):
    from hashlib_core.data.__main__ import main

    rc = main(["check", "nuswide-21", "--root", str(root), "--workers", "1", *extra])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_data_check_reads_lists_as_the_loader_does(tmp_path, capsys):
    """UTF-16 with its mark, a UTF-8 mark, CRLF and a path with spaces: the loader reads
    them, so the check accepts them (it refused UTF-16 and misread the spaces)."""
    from hashlib_core.data import load_protocol

    lists = _dataset(tmp_path)
    _png(lists / "my photos" / "a b.png", 99)
    train = (lists / "train.txt").read_text().splitlines()
    train.append(_row("my photos/a b.png", 3))
    (lists / "train.txt").write_bytes("\r\n".join(train).encode("utf-16"))
    test = (lists / "test.txt").read_text()
    (lists / "test.txt").write_bytes(b"\xef\xbb\xbf" + test.replace("\n", "\r\n").encode())
    rc, out, err = _check(tmp_path, capsys)
    assert "not UTF-8" not in out and "labels, expected" not in out, out
    assert not [ln for ln in out.splitlines() if ln.startswith(str(lists)) and
                "the paper's protocol has" not in ln and "database.txt: missing" not in ln], out
    protocol = load_protocol("nuswide-21", root=tmp_path)
    assert any(p.endswith("my photos/a b.png") for p in protocol.train.paths + protocol.val.paths)


def test_data_check_names_every_fault_once_per_occurrence_sorted(tmp_path, capsys):
    lists = _dataset(tmp_path)
    (lists / "img" / "05.png").unlink()  # in train.txt and in database.txt
    train = (lists / "train.txt").read_text().splitlines()
    (lists / "database.txt").write_text("\n".join(train) + "\n")
    train.insert(3, "")  # an empty line
    (lists / "train.txt").write_text("\n".join(train) + "\n")
    rc, out, err = _check(tmp_path, capsys)
    faults = [ln for ln in out.splitlines() if ln.startswith(str(lists))
              and "the paper's protocol has" not in ln]
    t, d = lists / "train.txt", lists / "database.txt"
    assert faults == [f"{d}:2: image file missing: {lists / 'img' / '05.png'}",
                      f"{t}:2: image file missing: {lists / 'img' / '05.png'}",
                      f"{t}:4: empty line (the loader skips it)"], out
    assert rc == 1 and "decoded" in out and "1 failed" in out, out


def test_all_missing_images_are_one_line_with_the_cause(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HASHLIB_IMAGES", raising=False)
    lists = _dataset(tmp_path, images=False)
    rc, out, err = _check(tmp_path, capsys)
    missing = [ln for ln in out.splitlines() if "images missing" in ln]
    assert len(missing) == 1 and "all 24 images missing" in missing[0]
    assert "is HASHLIB_IMAGES set?" in missing[0] and "decoded" not in out
    assert "image file missing" not in out
    assert out.count("database.txt: missing") == 1 and out.count("database.txt") == 1
    assert str(lists) in missing[0]


def test_data_check_output_is_capped(tmp_path, capsys):
    from hashlib_core.data.__main__ import MAX_LINES

    lists = _dataset(tmp_path, n_train=MAX_LINES + 15, images=False)
    _png(lists / "img" / "00.png")  # one image present: per-file lines, capped
    rc, out, err = _check(tmp_path, capsys)
    lines = [ln for ln in out.splitlines() if ln.startswith(str(lists))]
    assert len(lines) == MAX_LINES
    assert "... and " in out and "more (--all prints them all)" in out


def test_small_list_is_not_called_the_papers_protocol(tmp_path, capsys):
    from hashlib_core.data.__main__ import main

    lists = _dataset(tmp_path, n_query=5, n_train=15, folder="voc2012", n_classes=20)
    (lists / "database.txt").write_text((lists / "train.txt").read_text())
    rc = main(["check", "voc2012", "--root", str(tmp_path), "--workers", "1"])
    out = capsys.readouterr().out
    assert rc == 0 and "the paper's protocol" not in out and "no paper sizes" in out, out


# --------------------------------------------------------------------------- images
def test_preflight_decodes_images_and_names_list_file_and_line(tmp_path, monkeypatch):
    lists = _dataset(tmp_path)
    img = lists / "img"
    data = (img / "06.png").read_bytes()
    (img / "06.png").write_bytes(data[: len(data) // 2])  # truncated
    (img / "07.png").write_bytes(b"")  # zero bytes
    (img / "08.png").write_text("not an image")
    _png(img / "09.png", size=64)  # over the (lowered) decompression-bomb limit
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 64 // 3)
    protocol, problems = preflight.check_protocol("nuswide-21", root=str(tmp_path), workers=1)
    assert protocol is not None and len(problems) == 1, problems
    text, t = problems[0], lists / "train.txt"
    assert text.startswith("protocol nuswide-21: 4 image file(s) do not decode")
    for line, words in ((3, "corrupt"), (4, "0 bytes"), (5, "not an image file"),
                        (6, "decompression-bomb")):
        assert f"{t}:{line}: " in text and words in text, (line, text)


def test_read_image_names_a_decompression_bomb(tmp_path, monkeypatch):
    from hashlib_core.data.transforms import read_image

    _png(tmp_path / "big.png", size=64)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 64 // 3)
    with pytest.raises(ValueError, match=r"image too large: .*big.png \(t.txt line 2\)"):
        read_image(str(tmp_path / "big.png"), origin="t.txt line 2")


def test_all_zero_query_labels_fail_before_training(tmp_path):
    lists = _dataset(tmp_path)
    test = [ln.rsplit(" ", 21)[0] + " 0" * 21 for ln in (lists / "test.txt").read_text().splitlines()]
    (lists / "test.txt").write_text("\n".join(test) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        protocol, problems = preflight.check_protocol("nuswide-21", root=str(tmp_path))
    assert protocol is None and len(problems) == 1
    assert "test.txt: all 4 items have all-zero label rows" in problems[0]
    assert "query split would be empty" in problems[0]


def test_all_zero_rows_are_notes_but_an_emptied_split_is_an_error(tmp_path, capsys):
    from hashlib_core.data.__main__ import main

    lists = _dataset(tmp_path, n_query=5, n_train=15, folder="voc2012", n_classes=20)
    train = (lists / "train.txt").read_text().splitlines()
    train[2] = train[2].rsplit(" ", 20)[0] + " 0" * 20
    (lists / "train.txt").write_text("\n".join(train) + "\n")
    (lists / "database.txt").write_text((lists / "train.txt").read_text())
    rc = main(["check", "voc2012", "--root", str(tmp_path), "--workers", "1"])
    out = capsys.readouterr().out
    assert rc == 0 and f"{lists / 'train.txt'}:3: all-zero label row" in out, out
    assert "ok, lists and images sound" in out and "note(s) above" in out
    test = [ln.rsplit(" ", 20)[0] + " 0" * 20
            for ln in (lists / "test.txt").read_text().splitlines()]
    (lists / "test.txt").write_text("\n".join(test) + "\n")
    rc = main(["check", "voc2012", "--root", str(tmp_path), "--workers", "1", "--no-images"])
    out = capsys.readouterr().out
    assert rc == 1 and "test.txt: all 5 items have all-zero label rows" in out, out


def test_a_planted_cifar_pickle_cannot_run_code(tmp_path):
    """The CIFAR-10 python batches are pickles (the dataset's own format): they are read
    with an unpickler that builds data only, so a crafted batch is refused, naming the
    file, and its code never runs; a real-format batch still loads."""
    import pickle

    import numpy as np

    from hashlib_core.data.cifar import read_cifar_batch, read_cifar_meta

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = tmp_path / "data_batch_1"
    bad.write_bytes(pickle.dumps({b"data": Evil(), b"labels": [0]}, protocol=2))
    with pytest.raises(ValueError, match="data_batch_1"):
        read_cifar_batch(bad)
    assert not marker.exists()
    meta = tmp_path / "batches.meta"
    meta.write_bytes(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(ValueError, match="batches.meta"):
        read_cifar_meta(meta)
    assert not marker.exists()
    good = tmp_path / "test_batch"
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    good.write_bytes(pickle.dumps({b"data": data, b"labels": [3, 7]}, protocol=2))
    images, labels = read_cifar_batch(good)
    assert images.shape == (2, 32, 32, 3) and labels.tolist() == [3, 7]
    meta.write_bytes(pickle.dumps({b"label_names": [b"airplane", b"cat"]}))
    assert read_cifar_meta(meta) == ["airplane", "cat"]
