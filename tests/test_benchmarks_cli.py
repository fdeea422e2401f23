"""The documented benchmark commands end bad input with one ``error:`` line (issue 28)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def test_gpu_check_help_and_unknown_arguments():
    """``gpu_check.sh --help`` ran the whole check (and stopped at step 1 without CUDA)."""
    out = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Usage" in out.stdout and "PRETRAINED" in out.stdout
    assert "=== 1. device" not in out.stdout
    bad = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--gpus", "2"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and len(_errors(bad.stderr)) == 1 and "--gpus" in bad.stderr


def test_bench_train_paper_without_the_jpeg_zip(tmp_path, monkeypatch, capsys):
    """``--preset paper`` without the CIFAR-10 JPEG zip raised FileNotFoundError."""
    monkeypatch.setenv("HASHLIB_DATA", str(tmp_path))
    bench = _load("bench_train")
    assert bench.main(["--preset", "paper", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert len(_errors(err)) == 1 and "Traceback" not in err
    assert str(tmp_path / "cifar10-jpeg" / "cifar10_jpeg.zip") in err and "--protocol" in err
    assert bench.main(["--preset", "cpu", "--batches", "0"]) == 2
    assert "--batches 0: must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("content, words", [
    ([{"preset": "cpu", "train_ips": 1.0, "encode_ips": 2.0}], "no result of the paper preset"),
    ({"preset": "paper"}, "expected the list of results"),
    ([{"preset": "paper", "train_ips": "fast", "encode_ips": 2.0}], "train_ips is 'fast'"),
    ("{not json", "not JSON"),
    (None, "cannot be read"),
])
def test_estimate_grid_from_a_bench_file_without_the_paper_preset(tmp_path, capsys, content,
                                                                  words):
    """``--from-bench`` with a JSON lacking the paper preset raised IndexError."""
    estimate = _load("estimate_grid")
    path = tmp_path / "bench.json"
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_text(json.dumps(content))
    assert estimate.main(["--from-bench", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(_errors(err)) == 1 and words in err and str(path) in err


@pytest.mark.parametrize("args", [["--gpus", "0"], ["--train-ips", "0"], ["--encode-ips", "-5"],
                                  ["--shallow-s", "nan"]])
def test_estimate_grid_refuses_figures_that_are_not_positive(capsys, args):
    """``--gpus 0`` and ``--train-ips 0`` raised ZeroDivisionError; a negative figure
    printed negative hours."""
    assert _load("estimate_grid").main(args) == 2
    err = capsys.readouterr().err
    assert len(_errors(err)) == 1 and args[0] in err and "positive" in err


def test_estimate_grid_reads_the_paper_figures(tmp_path, capsys):
    estimate = _load("estimate_grid")
    path = tmp_path / "bench.json"
    path.write_text(json.dumps([{"preset": "cpu", "train_ips": 1.0, "encode_ips": 1.0},
                                {"preset": "paper", "train_ips": 1500, "encode_ips": 3000.5}]))
    assert estimate.bench_figures(path) == (1500.0, 3000.5)


@pytest.mark.slow
def test_the_one_cell_papermill_route_ends_missing_weights_with_one_error_line(tmp_path):
    """The rerun page's one-cell papermill command with a weights file that is not there:
    the notebook's error is one ``error:`` line (it was the end of a 60-line traceback).
    papermill's own CLI still prints its frames above it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    papermill = Path(sys.executable).with_name("papermill")
    cmd = [str(papermill) if papermill.exists() else "papermill",
           str(REPO / "notebooks" / "train_eval.ipynb"), str(tmp_path / "one_run.ipynb"),
           "-p", "scale", "paper", "-p", "method", "shnet", "-p", "protocol", "cifar10-i",
           "-p", "n_bits", "64", "-p", "device", "cpu",
           "-p", "pretrained", str(tmp_path / "resnet50.pth")]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert out.returncode == 1
    errors = _errors(out.stderr)
    assert len(errors) == 1 and str(tmp_path / "resnet50.pth") in errors[0]
    assert "File /work" not in out.stderr and "resolve_weights(" not in out.stderr
