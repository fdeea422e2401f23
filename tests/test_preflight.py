"""Preflight checks and command-line errors (issue 16, cases 3 and 5): found once, before
any training, one ``error:`` line each, exit code 2; never a traceback."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from hashlib_core import preflight
from hashlib_core.engine.__main__ import main as engine_main
from hashlib_core.runner.cli import main as reproduce_main


def _lists(root, folder="nuswide_21", n_classes=21, n=30, missing=("img/07.png",)):
    """A small real list-file dataset under ``root/hashing-lists/<folder>`` (images next to
    the lists), with some image files absent."""
    lists = root / "hashing-lists" / folder
    (lists / "img").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for k in range(n):
        rel = f"img/{k:02d}.png"
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(lists / rel)
        label = np.zeros(n_classes, int)
        label[[k % n_classes, (k + 1) % n_classes]] = 1
        rows.append(f"{rel} {' '.join(map(str, label))}")
    (lists / "test.txt").write_text("\n".join(rows[:5]) + "\n")
    (lists / "train.txt").write_text("\n".join(rows[5:]) + "\n")
    for rel in missing:
        (lists / rel).unlink()
    return lists


def _one_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_check_protocol_names_each_missing_image_once(tmp_path):
    _lists(tmp_path, missing=("img/07.png", "img/12.png"))
    protocol, problems = preflight.check_protocol("nuswide-21", root=str(tmp_path))
    assert protocol is not None and len(problems) == 1
    assert problems[0].startswith("protocol nuswide-21: 2 image file(s) missing")
    assert problems[0].count("07.png") == 1 and "train.txt:3" in problems[0]
    assert preflight.missing_images(protocol)[0] == 2
    _, problems = preflight.check_protocol("nuswide-21", root=str(tmp_path / "absent"))
    assert "lists of 'nuswide_21' not found" in problems[0]


def test_engine_stops_before_training_on_a_missing_image(tmp_path, capsys):
    """Case 3: the missing image is named before the first epoch, not at the final encode."""
    _lists(tmp_path)
    rc = engine_main(["--scale", "cpu", "--method", "dpsh", "--n-bits", "16",
                      "--protocol", "nuswide-21", "--data-root", str(tmp_path),
                      "--run-dir", str(tmp_path / "run"), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert _one_error(err).startswith("error: protocol nuswide-21: 1 image file(s) missing")
    assert "train.txt:3: " in err and "img/07.png" in err
    assert not (tmp_path / "run" / "last.pt").exists()


def test_runner_stops_before_training_on_a_missing_image(tmp_path, monkeypatch, capsys):
    from hashlib_core.runner import cli, execution

    _lists(tmp_path)
    monkeypatch.setenv("HASHLIB_DATA", str(tmp_path))
    monkeypatch.setattr(execution, "run_cell", lambda *a, **k: pytest.fail("a cell ran"))
    monkeypatch.setattr(cli, "preflight_weights", lambda *a: None)  # weights: test_paper_scale
    rc = reproduce_main(["--scale", "paper", "--datasets", "nuswide", "--methods", "lsh", "dpsh",
                         "--bits", "16", "--no-book", "--root", str(tmp_path / "r"),
                         "--logs", str(tmp_path / "l"), "--artifacts", str(tmp_path / "a")])
    assert rc == 2
    err = capsys.readouterr().err
    # the paper scale's data check runs first and names the file and its list line
    assert _one_error(err).startswith("error: nuswide-21: ")
    assert "train.txt:3: image file missing" in err and "img/07.png" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hp", "lam=abc"], "error: RunConfig.method_overrides: csq's 'lam' must be a number "
                              ">= 0 (default 0.0001), got 'abc'"),
        (["--hp", "lam=-5"], "error: RunConfig.method_overrides: csq's 'lam' must be a number "
                             ">= 0 (default 0.0001), got -5"),
        (["--hp", "lam"], "error: --hp expects NAME=VALUE, got 'lam'"),
        (["--hp", "lamda=1"], "error: RunConfig.method_overrides: unknown hyper-parameter(s) "
                              "['lamda'] of csq; known: ['center_seed', 'centers', 'lam']"),
        (["--batch-size", "1"], "error: RunConfig.batch_size: must be at least 2"),
        (["--epochs", "0"], "error: argument --epochs: must be a positive integer, got '0'"),
        (["--device", "gpu"], "error: RunConfig.device: must be one of ('cpu', 'cuda', 'auto') "
                              "or 'cuda:<n>', got 'gpu'"),
        (["--device", "cuda:99"], "error: device 'cuda:99': "),
        (["--pretrained", "/nowhere/resnet50.pth", "--backbone", "resnet50"],
         "error: resnet50 state-dict file not found: /nowhere/resnet50.pth"),
    ],
)
def test_engine_command_line_errors_are_one_line(args, message, capsys):
    """Case 5: --device cuda, --hp lam=abc, --hp lam=-5, --batch-size 1 ... are each one
    error line naming the value (and what is valid), exit code 2."""
    try:
        rc = engine_main(["--scale", "smoke", "--method", "csq", "--n-bits", "16", *args])
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    assert rc == 2
    assert _one_error(capsys.readouterr().err).startswith(message)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_engine_cuda_without_cuda(capsys):
    assert engine_main(["--scale", "smoke", "--method", "csq", "--n-bits", "16",
                        "--device", "cuda"]) == 2
    assert "CUDA is not available on this machine" in _one_error(capsys.readouterr().err)


def test_check_writable_and_report(tmp_path, capsys):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    assert preflight.check_writable(tmp_path / "new" / "deeper", "results") == []
    assert (tmp_path / "new" / "deeper").is_dir() and not any((tmp_path / "new" / "deeper").iterdir())
    assert preflight.check_writable(blocker, "results") == [f"results {blocker} is a file, not a folder"]
    assert "cannot be created" in preflight.check_writable(blocker / "sub", "results")[0]
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        assert "is not writable" in preflight.check_writable(ro, "results")[0]
    assert preflight.report([]) == 0
    assert preflight.report(["a\n  b", "c", "c"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: a", "       b", "error: c", "2 problems found before any training; nothing was run."]
