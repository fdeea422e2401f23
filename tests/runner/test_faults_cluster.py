"""Faults on a shared cluster (issue 28, with items of issues 29 and 25): each case asserts
nothing lost, nothing counted as done, and one clear line.

Most cases drive the runner in-process with the notebook replaced (``run_cell`` or
papermill monkeypatched); two start a real runner on the smoke grid in a subprocess and
stop it while a cell trains (SIGTERM, then kill -9), which takes about a minute.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from runner_signals import kernels_of, wait_for_epoch
from test_reproduce import SHA, _store  # the runner tests' record fixtures

from hashlib_core import progress as live
from hashlib_core import results as R
from hashlib_core.engine import checkpoint as ckpt
from hashlib_core.runner import cli, execution, grids, locking
from hashlib_core.runner.cli import _parser, main
from hashlib_core.runner.execution import REPO, _execute, run_cell, run_grid
from hashlib_core.runner.grids import GridCell
from hashlib_core.runner.plan import (
    cell_config,
    checkpoint_dir,
    claim_path,
    log_path,
    plan_cell,
    protocol_key,
    shard_cells,
)
from hashlib_core.runner.summary import CLAIMED_ELSEWHERE

DPSH = GridCell("dpsh", "cifar10-smoke", 32)
CSQ = GridCell("csq", "cifar10-smoke", 32)


# --------------------------------------------------------------------------- helpers
@pytest.fixture
def no_protocols(monkeypatch):
    """The protocols are not built: every manifest is SHA (where the runner builds them:
    its command line and its grid)."""
    def build(configs, *, check_images=True):
        return {protocol_key(c): SHA for c in configs}, {}
    for module in (cli, execution):
        monkeypatch.setattr(module, "protocol_manifests", build)


def _fake_runs(monkeypatch, outcome=None):
    """run_cell replaced: records a call, then ``outcome(cell, kw)`` (may raise)."""
    calls = []

    def fake(cell, **kw):
        calls.append(cell.label)
        if outcome is not None:
            outcome(cell, kw)

    monkeypatch.setattr(execution, "run_cell", fake)
    return calls


def _args(tmp_path, *extra, methods=("dpsh",)):
    return ["--scale", "smoke", "--methods", *methods, "--bits", "32", "--no-book",
            "--root", str(tmp_path / "r"), "--logs", str(tmp_path / "l"),
            "--artifacts", str(tmp_path / "a"), *extra]


def _claim_file(path: Path, *, host: str, pid: int, age_s: float, interval_s: float = 60):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host, "pid": pid, "since": "2026-12-04T10:00:00+00:00",
                                "interval_s": interval_s, "token": "other"}))
    then = time.time() - age_s
    os.utime(path, (then, then))


def _errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


# --------------------------------------------------------------------------- claims
def test_a_stale_claim_of_another_host_is_taken_over(tmp_path, monkeypatch, no_protocols, capsys):
    """A claim of host node-a, not refreshed for 2 days, blocked the cell forever (the
    old check only knew dead processes of this machine): now it is stale on any host,
    the dry run says so with host, age and file, and the run takes it over."""
    path = claim_path(tmp_path / "r", "smoke", DPSH)
    _claim_file(path, host="node-a", pid=4242, age_s=2 * 86400)
    assert main(_args(tmp_path, "--dry-run")) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if DPSH.label in ln)
    assert line.startswith("todo") and "stale claim is taken over" in line
    assert "host node-a" in line and "2.0 days" in line and str(path) in line
    calls = _fake_runs(monkeypatch)
    assert main(_args(tmp_path)) == 0
    assert calls == [DPSH.label] and not path.exists()


def test_a_live_claim_is_named_and_the_run_does_not_report_success(tmp_path, monkeypatch,
                                                                    no_protocols, capsys):
    """A cell another runner holds: the dry run lists it as claimed (host, age, file); the
    run skips it, names it in the summary and exits 75, not 0."""
    path = claim_path(tmp_path / "r", "smoke", DPSH)
    _claim_file(path, host="node-b", pid=99, age_s=30)
    assert main(_args(tmp_path, "--dry-run")) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if DPSH.label in ln)
    assert line.startswith("claimed") and "host node-b pid 99" in line
    assert re.search(r"last refreshed [3-9]\d s ago", line), line  # 30 s, on a loaded machine more
    assert str(path) in line and "1 claimed by another runner" in out
    calls = _fake_runs(monkeypatch)
    rc = main(_args(tmp_path))
    out = capsys.readouterr().out
    assert rc == CLAIMED_ELSEWHERE == 75 and calls == []
    assert "1 claimed by another runner" in out and "host node-b" in out and str(path) in out
    assert "exit code 75" in out and path.exists()  # the other runner's claim is left alone
    # the operator removes it (--dry-run first: named, kept); then the cell runs
    assert main(_args(tmp_path, "--release-claims", "--dry-run")) == 0
    assert "would release" in capsys.readouterr().out and path.exists()
    assert main(_args(tmp_path, "--release-claims")) == 0
    assert "released" in capsys.readouterr().out and not path.exists()
    assert main(_args(tmp_path)) == 0 and calls == [DPSH.label]


def test_the_holder_refreshes_its_claim_while_the_cell_runs(tmp_path, monkeypatch):
    """The heartbeat: while the notebook runs (in a worker thread) the runner touches its
    claim every interval, and relays the engine's progress file as plain lines."""
    monkeypatch.setenv("HASHLIB_CLAIM_INTERVAL", "0.2")
    path = tmp_path / "c.claim"
    claim = locking.try_claim(path)
    old = time.time() - 3600
    os.utime(path, (old, old))
    lines = []

    def cell():
        for epoch in (1, 2):
            live.write(tmp_path, live.state(epoch=epoch, epochs=2, loss=0.5, val_map=0.25,
                                            val_epoch=epoch, elapsed_s=3.0 * epoch,
                                            epoch_seconds=[3.0]))
            time.sleep(0.6)
        return "done"

    assert _execute(cell, claim=claim, progress_dir=tmp_path, label="x", echo=lines.append,
                    poll_s=0.05) == "done"
    assert time.time() - path.stat().st_mtime < 2
    assert lines == ["  x: 1/2 epochs done, loss 0.5000, val mAP 0.250 (epoch 1), 3 s elapsed, "
                     "about 3 s left",
                     "  x: 2/2 epochs done, loss 0.5000, val mAP 0.250 (epoch 2), 6 s elapsed, "
                     "about 0 s left"]
    assert not any("\r" in ln for ln in lines)
    # a claim not refreshed for 10 intervals is stale, whoever holds it
    info = locking.read_claim(path)
    assert not info.stale
    os.utime(path, (old, old))
    assert locking.read_claim(path).stale
    claim.release()
    assert not path.exists()


def test_two_runners_never_train_a_rerun_cell_twice(tmp_path, monkeypatch, no_protocols):
    """Issue 29 item 2: runner B planned to replace a record made with other settings;
    runner A replaced it (with these settings) before B claimed the cell: B skips it."""
    root = tmp_path / "r"
    _store(root, DPSH, epochs=6)
    cfg = cell_config(DPSH, "smoke")
    plan = plan_cell(DPSH, cfg, scale="smoke", root=root, logs=tmp_path / "l",
                     manifest_sha256=SHA)
    assert plan.action == "rerun"
    time.sleep(0.01)
    _store(root, DPSH)  # runner A's record, with the settings B asks for
    calls = _fake_runs(monkeypatch)
    summary = run_grid([DPSH], scale="smoke", root=root, logs=tmp_path / "l",
                       progress=False, plans=[plan])
    assert calls == [] and summary.skipped == [DPSH.label] and summary.exit_code == 0


def test_two_runners_write_their_own_log_notebooks(tmp_path, monkeypatch):
    """Each runner executes the notebook into a name of its own (host and pid) and renames
    it into place at the end: two runners never write one log file."""
    import papermill

    written = []

    def execute_notebook(template, out, parameters, **kw):
        written.append(out)
        Path(out).write_text("{}")
        _store(parameters["root"], DPSH)

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    folder = run_cell(DPSH, scale="smoke", root=tmp_path / "r", artifacts=tmp_path / "a",
                      logs=tmp_path / "l", echo=lambda line: None)
    final = log_path(tmp_path / "l", "smoke", DPSH)
    assert written and Path(written[0]) != final and f"-{os.getpid()}" in written[0]
    assert final.is_file() and not Path(written[0]).exists()
    assert (folder / "run.ipynb").is_file()


def test_a_claim_taken_over_twice_goes_to_one_runner(tmp_path):
    path = tmp_path / "c.claim"
    _claim_file(path, host="node-a", pid=1, age_s=86400)
    first = locking.try_claim(path)
    second = locking.try_claim(path)
    assert first and not second
    assert locking.read_claim(path).token == first.token


# --------------------------------------------------------------------------- signals
_SIGNAL_SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    from hashlib_core.runner import cli, execution
    from hashlib_core.runner.plan import claim_path, protocol_key
    cli.protocol_manifests = execution.protocol_manifests = (
        lambda configs, check_images=True: ({protocol_key(c): "ab" * 32 for c in configs}, {}))
    root = sys.argv[2]
    def run_cell(cell, **kw):
        # the claim is held while the cell runs
        assert claim_path(root, "smoke", cell).exists()
        os.kill(os.getpid(), int(sys.argv[1]))
        time.sleep(30)
    execution.run_cell = run_cell
    sys.exit(cli.main(["--scale", "smoke", "--methods", "dpsh", "csq", "--bits", "32",
                       "--no-book", "--root", root, "--logs", sys.argv[3],
                       "--artifacts", sys.argv[4]]))
""")


@pytest.mark.parametrize("signum, code, name", [(signal.SIGTERM, 143, "SIGTERM"),
                                                (signal.SIGHUP, 129, "SIGHUP")])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, signum, code, name):
    """kill and a scheduler's time limit send SIGTERM (a closed terminal SIGHUP): the
    runner stops as on Ctrl-C, with the summary, the claim released and exit 143 / 129
    (before: killed at once, the claim left behind)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _SIGNAL_SCRIPT, str(int(signum)),
                           str(tmp_path / "r"), str(tmp_path / "l"), str(tmp_path / "a")],
                          capture_output=True, text=True, env=env, timeout=300,
                          preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert f"stopped by {name} during 1, 1 not run" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "r.checkpoints" / "claims").rglob("*.claim"))


def _start_runner(tmp_path, env, *extra):
    args = [sys.executable, "-m", "hashlib_core.reproduce", "--scale", "smoke", "--methods",
            "dpsh", "--bits", "32", "--epochs", "40", "--no-book", "--root", str(tmp_path / "r"),
            "--artifacts", str(tmp_path / "a"), "--logs", str(tmp_path / "l"), *extra]
    return args, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env, start_new_session=True)


def _wait_for(path: Path, proc, seconds=600):
    deadline = time.time() + seconds
    while not path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.3)
    return path.exists()


@pytest.mark.slow
def test_sigterm_and_kill_9_while_a_cell_trains(tmp_path, shared_data):
    """A real runner on the smoke grid. SIGTERM to the runner alone while its cell trains:
    the notebook's kernel is stopped, the checkpoint kept, the claim released, the summary
    printed, exit 143; progress lines were relayed, plain (no carriage return). Then kill
    -9 of the runner and its kernel: the claim it leaves is stale (its process is gone),
    nothing counts as done, and the dry run says the cell resumes."""
    env = {**os.environ, "HASHLIB_DATA": str(shared_data),
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    folder = checkpoint_dir(tmp_path / "r", "smoke", DPSH)
    claim = claim_path(tmp_path / "r", "smoke", DPSH)
    args, proc = _start_runner(tmp_path, env)
    seen = wait_for_epoch(folder, proc)
    # 40 epochs: the stop lands mid-training on any machine (a fast one had finished the 4
    # smoke epochs within the 2 s wait)
    kernels = [p.pid for p in kernels_of(proc)]
    time.sleep(2)  # the runner polls the progress file every 0.5 s
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert seen and proc.returncode == 143, out + err
    assert "stopped by SIGTERM during 1" in out and "Traceback" not in err
    assert "\r" not in out and "1/40 epochs done, loss" in out
    assert (folder / ckpt.LAST).is_file() and not claim.exists()
    assert not (R.record_dir(tmp_path / "r", **DPSH.key("smoke")) / R.RECORD).exists()
    time.sleep(1)
    assert not [pid for pid in kernels if __import__("psutil").pid_exists(pid)
                and __import__("psutil").Process(pid).status() != "zombie"]
    log = log_path(tmp_path / "l", "smoke", DPSH)
    assert log.is_file() and not list(log.parent.glob("*.running-*"))  # renamed into place

    epoch = ckpt.load(folder / ckpt.LAST)["epoch"]
    args, proc = _start_runner(tmp_path, env)
    _wait_for(claim, proc)
    deadline = time.time() + 300
    while (ckpt.load(folder / ckpt.LAST)["epoch"] == epoch and time.time() < deadline
           and proc.poll() is None):
        time.sleep(0.3)
    # the kernel has a session of its own (jupyter_client starts it so): killed by pid
    for pid in [p.pid for p in __import__("psutil").Process(proc.pid).children()]:
        os.kill(pid, signal.SIGKILL)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert claim.exists() and locking.read_claim(claim).stale
    assert ckpt.load(folder / ckpt.LAST)["epoch"] > epoch  # nothing lost
    dry = subprocess.run(args + ["--dry-run"], capture_output=True, text=True, env=env,
                         timeout=300)
    line = next(ln for ln in dry.stdout.splitlines() if DPSH.label in ln)
    assert line.startswith("resume") and "stale claim is taken over" in line, dry.stdout
    assert "0 done" in dry.stdout


# --------------------------------------------------------------------------- disk full
def test_a_full_disk_fails_the_checkpoint_with_no_space_and_the_file(tmp_path, monkeypatch):
    """torch's own error was ``RuntimeError: [enforce fail ...]``, with no file and no word
    of space: /dev/full gives a real ENOSPC."""
    target = tmp_path / "run" / "last.pt"

    def write_to_full_disk(path, write):
        with open("/dev/full", "wb") as fh:
            write(fh)

    monkeypatch.setattr(ckpt, "atomic_write", write_to_full_disk)
    with pytest.raises(OSError, match="no space left on device") as info:
        ckpt.atomic_save({"w": torch.zeros(300_000)}, target)
    assert info.value.errno == errno.ENOSPC and str(target) in str(info.value)


def test_a_full_disk_fails_the_cell_and_nothing_counts_as_done(tmp_path, monkeypatch,
                                                               no_protocols, capsys):
    """The notebook wrote the record, then copying its log next to it found the disk full:
    the cell is FAILED, and at the next dry run it is not "done" (its record was moved
    aside), before: reported FAILED and then listed as done."""
    import papermill

    def execute_notebook(template, out, parameters, **kw):
        Path(out).write_text("{}")
        _store(parameters["root"], DPSH)

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    monkeypatch.setattr(execution, "atomic_write", full)
    assert main(_args(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "No space left on device" in out and "run.ipynb" in out
    assert "0 ran" in out
    assert main(_args(tmp_path, "--dry-run")) == 0
    out = capsys.readouterr().out
    assert f"todo    {DPSH.label}" in out and "0 done" in out
    folder = R.record_dir(tmp_path / "r", **DPSH.key("smoke"))
    assert (folder / (R.RECORD + ".failed")).is_file()  # kept for a look, not counted


# --------------------------------------------------------------------------- folders
def test_file_instead_of_folder_roots_give_one_error_line(tmp_path, monkeypatch, no_protocols,
                                                          capsys):
    """``--root <a file>`` (also with --dry-run, which exited 0), a root under a file, and
    a file where the checkpoint folder ``<root>.checkpoints`` goes (a traceback from
    mkdir before): one error line each, exit 2, nothing run."""
    calls = _fake_runs(monkeypatch)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for root, extra in ((blocker, ["--dry-run"]), (blocker, []),
                        (blocker / "results", ["--dry-run"]), (blocker / "results", [])):
        args = _args(tmp_path, *extra)
        args[args.index("--root") + 1] = str(root)
        assert main(args) == 2
        err = capsys.readouterr().err
        assert len(_errors(err)) == 1 and str(root) in err and "Traceback" not in err
        assert "is a file" in err
    (tmp_path / "r.checkpoints").write_text("x")
    assert main(_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert len(_errors(err)) == 1 and "checkpoint folder" in err
    assert str(tmp_path / "r.checkpoints") in err
    assert calls == []


def _mount_tmpfs(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    try:
        return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "none", str(target)],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def test_a_read_only_root_gives_one_error_line(tmp_path, monkeypatch, no_protocols, capsys):
    """A results folder on a read-only file system, and a writable results folder whose
    parent is read-only, so ``<root>.checkpoints`` cannot be created (before: ``OSError:
    [Errno 30] Read-only file system`` from mkdir, a traceback). Read-only tmpfs mounts
    where the machine allows them; else folders without write permission (not as root)."""
    calls = _fake_runs(monkeypatch)
    ro = tmp_path / "ro"
    mounted = []
    if _mount_tmpfs(ro, "size=256k"):
        mounted.append(ro)
        (ro / "inner").mkdir()
        if _mount_tmpfs(ro / "inner", "size=256k"):
            mounted.append(ro / "inner")
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True, check=True)
    elif os.geteuid() == 0:
        pytest.skip("cannot mount a read-only tmpfs, and root writes anywhere")
    else:
        (ro / "inner").mkdir(parents=True)
        ro.chmod(0o555)
    try:
        cases = [(ro, "is not writable"), (ro / "results", "cannot be created")]
        cases.append((ro / "inner", "checkpoint folder (beside --root)"))
        for root, words in cases:
            args = _args(tmp_path)
            args[args.index("--root") + 1] = str(root)
            assert main(args) == 2
            err = capsys.readouterr().err
            assert len(_errors(err)) == 1 and str(root) in err and "Traceback" not in err
            assert words in err, err
    finally:
        for point in reversed(mounted):
            subprocess.run(["umount", str(point)], capture_output=True)
        if not mounted:
            ro.chmod(0o755)
    assert calls == []


def test_a_full_tmpfs_fails_the_checkpoint_write(tmp_path):
    """The same as /dev/full on a real file system, where the machine can mount one."""
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "size=64k"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        with pytest.raises(OSError, match="no space left on device") as info:
            ckpt.atomic_save({"w": torch.zeros(100_000)}, small / "last.pt")
        assert str(small / "last.pt") in str(info.value)
        assert not list(small.iterdir())  # no temporary file left behind
        # every atomic write (records, caches, logs) says so and names its file
        from hashlib_core.atomic import atomic_write

        with pytest.raises(OSError, match="no space left on device") as info:
            atomic_write(small / "record.json", b"x" * 400_000)
        assert str(small / "record.json") in str(info.value) and not list(small.iterdir())
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


def test_the_tmp_of_a_killed_log_copy_is_removed_on_the_next_run(tmp_path, monkeypatch,
                                                                 no_protocols):
    """kill -9 while ``run.ipynb`` was copied next to a finished record left
    ``.run.ipynb.<host>-<pid>.<random>.tmp`` there forever (nothing writes into a finished
    cell's folder again): the next run removes it."""
    from hashlib_core.atomic import _HOST

    folder = _store(tmp_path / "r", DPSH)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    tmp = folder / f".run.ipynb.{_HOST}-{dead}.abc123xy.tmp"
    tmp.write_text("half a notebook")
    _fake_runs(monkeypatch)
    assert main(_args(tmp_path)) == 0
    assert not tmp.exists() and (folder / R.RECORD).is_file()


# --------------------------------------------------------------------------- planted files
class _Marker:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_a_planted_checkpoint_runs_no_code(tmp_path, how, no_protocols):
    """A crafted ``last.pt`` in a shared checkpoint folder ran code on resume (torch.load
    with weights_only=False). Now it is refused, named, and its code never runs."""
    marker = tmp_path / "marker"
    root = tmp_path / "r"
    folder = checkpoint_dir(root, "smoke", DPSH)
    folder.mkdir(parents=True)
    payload = {"format": ckpt.FORMAT, "epoch": 0, "result_key": "x", "config": {},
               "method": _Marker(marker)}
    path = folder / ckpt.LAST
    if how == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ValueError) as info:
        ckpt.load(path)
    assert str(path) in str(info.value) and "not loaded" in str(info.value)
    assert len(str(info.value).splitlines()) == 1
    plan = plan_cell(DPSH, cell_config(DPSH, "smoke"), scale="smoke", root=root,
                     logs=tmp_path / "l", manifest_sha256=SHA)
    assert plan.fresh and str(path) in plan.why  # discarded, named
    assert not marker.exists()


def test_checkpoints_hold_only_plain_values(tmp_path):
    """What the engine saves loads with weights_only=True: the numpy RNG state is stored as
    a tensor and numbers, and restores numpy's generator exactly."""
    gen = ckpt.seed_everything(3)
    state = ckpt.rng_state(gen)
    path = tmp_path / "last.pt"
    ckpt.atomic_save({"format": ckpt.FORMAT, "rng": [state]}, path)
    expected = np.random.random(5)  # noqa: NPY002
    loaded = torch.load(path, weights_only=True)
    ckpt.set_rng_state(loaded["rng"][0], gen)
    np.testing.assert_array_equal(np.random.random(5), expected)  # noqa: NPY002
    # a checkpoint written before (numpy's state as a tuple with an array) still loads
    np.random.seed(5)  # noqa: NPY002
    old = {"format": ckpt.FORMAT, "rng": [{**state, "numpy": np.random.get_state()}]}  # noqa: NPY002
    expected = np.random.random(3)  # noqa: NPY002
    torch.save(old, path)
    ckpt.set_rng_state(ckpt.load(path)["rng"][0], gen)
    np.testing.assert_array_equal(np.random.random(3), expected)  # noqa: NPY002


def test_torchrun_results_travel_as_plain_values():
    from hashlib_core.engine.result import RunResult
    from hashlib_core.engine.torchrun import from_plain, to_plain
    from hashlib_core.evaluation import EvalResult

    cfg = cell_config(DPSH, "smoke")
    r = RunResult(config=cfg, query_codes=np.ones((3, 4), np.int8),
                  db_codes=-np.ones((5, 4), np.int8), query_labels=np.eye(3, dtype=np.uint8),
                  db_labels=np.eye(5, dtype=np.uint8),
                  eval=EvalResult({"map": np.float64(0.5)}, {"pr": np.arange(3.0)}, {"t": (1, 2)}))
    import io

    buf = io.BytesIO()
    torch.save(to_plain(r), buf)
    buf.seek(0)
    back = from_plain(torch.load(buf, weights_only=True))
    assert back.config == cfg and back.eval.info == {"t": (1, 2)}
    np.testing.assert_array_equal(back.db_codes, r.db_codes)
    assert back.db_codes.dtype == np.int8


# --------------------------------------------------------------------------- shards, dry run
def test_cpu_shards_keep_a_methods_tuning_together():
    """Issue 25 item 6: without a shared file system, a shard whose main cells need tuning
    runs made by another shard waited forever."""
    cells = grids.grid("cpu")
    parts = [shard_cells(cells, (i, 4), "cpu") for i in range(4)]
    assert sorted(map(id, sum(parts, []))) == sorted(map(id, cells))
    for method in {c.method for c in cells if c.kind == "tune"}:
        holders = {i for i, part in enumerate(parts) for c in part
                   if c.method == method and (c.kind == "tune" or c.tuned)}
        assert len(holders) == 1, method
    assert "a method's tuning runs and the cells that use their winner stay in one shard" in \
        " ".join(_parser().format_help().split())


def test_dry_run_streams_and_quiet_lists_only_the_cells_to_do(tmp_path, no_protocols, capsys):
    _store(tmp_path / "r", DPSH)
    args = _args(tmp_path, "--dry-run", methods=("dpsh", "csq"))
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("smoke grid: 2 cells selected")
    assert any(ln.startswith("done") for ln in lines) and lines[-1].startswith("2 cells: 1 done")
    assert main(args + ["--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any(ln.startswith("done") for ln in lines)
    assert any(ln.startswith("todo") and CSQ.label in ln for ln in lines)


# --------------------------------------------------------------------------- broken records
@pytest.mark.parametrize("breakage", ["wrong type", "codes file missing"])
def test_a_broken_record_is_not_done(tmp_path, no_protocols, capsys, breakage):
    """Issue 29 items 3-4 on the runner's side: a record whose map is a string, or whose
    codes file is gone, was "done" at the dry run. The runner asks
    :func:`hashlib_core.results.record_problems`."""
    if not hasattr(R, "record_problems"):
        pytest.skip("hashlib_core.results.record_problems is not there yet")
    folder = _store(tmp_path / "r", DPSH)
    if breakage == "wrong type":
        record = json.loads((folder / R.RECORD).read_text())
        record["scalars"]["map"] = "abc"
        (folder / R.RECORD).write_text(json.dumps(record))
    else:
        for codes in folder.glob("query_codes-*.npz"):
            codes.unlink()
    assert main(_args(tmp_path, "--dry-run")) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if DPSH.label in ln)
    assert line.startswith("rerun") and "0 done" in out, line


def test_no_unsafe_load_in_the_package():
    """Every torch.load reads with weights_only=True; numpy never unpickles; pickle itself
    reads only the CIFAR-10 batches (the dataset's own format, data/cifar.py)."""
    offenders = []
    for path in sorted([*(REPO / "hashlib_core").rglob("*.py"),
                        *(REPO / "benchmarks").glob("*.py")]):
        text = path.read_text()
        rel = path.relative_to(REPO)
        for n, line in enumerate(text.splitlines(), 1):
            code = line.split("#")[0]
            if "weights_only=False" in code or "allow_pickle=True" in code:
                offenders.append(f"{rel}:{n}: {line.strip()}")
            if re.search(r"\btorch\.load\(", code) and "weights_only=True" not in code:
                offenders.append(f"{rel}:{n}: {line.strip()}")
            if re.search(r"\bpickle\.loads?\(", code) and rel.as_posix() != "hashlib_core/data/cifar.py":
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_a_cache_that_is_a_file_stops_the_run_before_any_cell(tmp_path, monkeypatch,
                                                              no_protocols, capsys):
    """The data and feature cache is a folder every run writes: a file there (or a
    read-only one) is named in one error line before any cell runs, not a traceback mid-run."""
    calls = _fake_runs(monkeypatch)
    cache = tmp_path / "cache"
    cache.write_text("x")
    monkeypatch.setenv("HASHLIB_CACHE", str(cache))
    assert main(_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert len(_errors(err)) == 1 and "cache folder" in err and str(cache) in err
    assert calls == []
