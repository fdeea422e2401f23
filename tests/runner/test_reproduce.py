"""The batch runner on a tiny real grid: runs, skips, forces, survives a failing cell."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import nbformat
import numpy as np
import pytest
from runner_signals import wait_for_epoch

from hashlib_core import results as R
from hashlib_core.results import load_results, read_record
from hashlib_core.runner import cli, execution, grids
from hashlib_core.runner.cli import main
from hashlib_core.runner.execution import REPO, _quiet_kernel_shutdown_after_ctrl_c, run_grid
from hashlib_core.runner.grids import GridCell
from hashlib_core.runner.plan import Plan, cell_config, log_path, plan_cell, protocol_key


def test_grid_definitions():
    smoke, cpu = grids.grid("smoke"), grids.grid("cpu")
    # every method at least once in the smoke grid, so every book page has data
    assert {c.method for c in smoke} == set(grids.DEEP + grids.SHALLOW)
    assert {c.variant for c in smoke if c.variant} == set(grids.SHNET_ABLATION)
    assert {(c.method, c.n_bits) for c in smoke} >= {("shnet", 64), ("csq", 64)}
    # cpu: the tuning runs (5 per deep method), 20 methods x 3 lengths with 2 extra seeds
    # for SHNet, CSQ, CSDH, DHEH, the DSAH table at 12/24/36/48 bits (3 seeds for DSAH
    # and ADSH under ADSH's protocol), the ablation with 3 seeds, the budget check, the
    # diagnoses
    n_tune = len(grids.DEEP) * len(grids.TUNE_CONFIGS)
    n_main = 20 * 3 + 4 * 2 * 3
    n_dsah = 2 * 4 * 3 + (len(grids.DSAH_TABLE) - 2) * 4
    n_budget = 0  # the budget check (BUDGET_EPOCHS = CLAIM_EPOCHS) is a claims' run below
    assert grids.BUDGET_EPOCHS == grids.CLAIM_EPOCHS
    n_diag = sum(len(v) for v in grids.DIAGNOSES.values())
    n_first = (n_tune + n_main + n_dsah + 3 * len(grids.SHNET_ABLATION) + n_budget + n_diag)
    # issue 23: seeds 3-4 of the claims' methods (CNNH, the pre-specified baseline: 1-4),
    # DSAH/ADSH at 32 bits (5 seeds) and seeds 3-4 of their table, the same-rate twin and
    # the one-segment layer (seeds 3-4 of each), the budget robustness, the alternatives
    # and the DSAH table's baselines at 5 seeds
    n_verdict = (4 * 2 * 3 + 4 * 3 + 2 * (5 + 2 * 4) + 2 * 2
                 + 3 * sum(len(m) for _, m, _ in grids.ROBUSTNESS) + 2 * 2 * 3
                 + (len(grids.DSAH_TABLE) - 2) * 4 * 4
                 + sum(len(t) for t in grids.TUNE_TIES.values()))  # the tie rule's seed 1
    # the claims' budget: every compared method at its claim's lengths, five seeds, at
    # CLAIM_EPOCHS (the robustness runs above are seeds 0-2 of some of them), and twice
    # that at the decisive lengths
    n_claims = 5 * (3 * len(grids.CLAIM_METHODS_I)
                    + len(grids.ADSH_PROTOCOL_BITS) * len(grids.ADSH_PROTOCOL_METHODS))
    n_robust = 3 * sum(len(m) for _, m, _ in grids.ROBUSTNESS)
    assert len(cpu) == n_first + n_verdict - n_robust + n_claims + n_robust
    long = grids.budget_variant(grids.CLAIM_EPOCHS)
    for m in grids.CLAIM_METHODS_I:
        assert {(c.n_bits, c.seed) for c in cpu if c.method == m and c.variant == long} == {
            (b, s) for b in (16, 32, 64) for s in range(5)}
    assert grids.ROBUST_EPOCHS == 2 * grids.CLAIM_EPOCHS
    assert {(c.method, c.n_bits, c.seed) for c in cpu
            if c.variant == grids.budget_variant(grids.ROBUST_EPOCHS)} == {
        (m, b, s) for _, ms, b in grids.ROBUSTNESS for m in ms for s in range(3)}
    for v in ("parallel", "parallelbn"):  # the claims page's split of SHNet against CSQ
        assert sorted(c.seed for c in cpu if c.variant == v) == [0, 1, 2, 3, 4]
    assert {c.protocol for c in cpu} == {"cifar10-i", "cifar10-adsh"}
    assert {c.method for c in cpu if c.protocol == "cifar10-adsh"} == {"adsh", "dsah"}
    assert sorted({c.seed for c in cpu if c.method == "shnet" and not c.variant}) == [0, 1, 2, 3, 4]
    for m in grids.CLAIM_METHODS_I:  # five seeds at every length of the claims
        assert {(c.n_bits, c.seed) for c in cpu if c.method == m and not c.variant
                and c.n_bits in (16, 32, 64)} == {(b, s) for b in (16, 32, 64) for s in range(5)}
    for m in grids.ADSH_PROTOCOL_METHODS:
        assert {(c.n_bits, c.seed) for c in cpu if c.method == m and not c.variant
                and c.protocol == "cifar10-adsh"} == {
            (b, s) for b in grids.ADSH_PROTOCOL_BITS for s in range(5)}
    assert sorted(c.seed for c in cpu if c.variant == "parallel") == [0, 1, 2, 3, 4]
    assert sorted({c.seed for c in cpu if c.variant == "segments3"}) == [0, 1, 2]
    # tuning first, and every deep cell but the tuning runs takes the tuned settings
    kinds = [c.kind for c in cpu]
    assert kinds.index("main") == n_tune and set(kinds[:n_tune]) == {"tune"}
    assert all(c.tuned == (c.method in grids.DEEP) for c in cpu if c.kind != "tune")
    assert [c.label for c in grids.select(cpu, methods=["csq"], kinds=["tune"])] == [
        f"cifar10-i/csq/32b_seed0_{grids.tune_variant(o, lr)}" for o, lr in grids.TUNE_CONFIGS]
    paper = grids.grid("paper")
    assert {c.protocol for c in paper} == {"cifar10-i", "cifar10-adsh", "imagenet100",
                                          "nuswide-21", "coco"}
    assert all(c.overrides == {"head_lr_mult": 10.0} for c in paper if c.method == "hashnet")
    assert all(c.overrides == {"pairs": "bank"} for c in paper if c.method == "dpsh")
    assert len(set(paper)) == len(paper)
    with pytest.raises(ValueError, match="unknown scale"):
        grids.grid("huge")
    sel = grids.select(cpu, datasets=["cifar10"], methods=["csq"], bits=[64], seeds=[1], kinds=["main"],
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
    assert "todo    cifar10-smoke/lsh/32b_seed0" in capsys.readouterr().out


@pytest.mark.slow
def test_run_skip_force_and_failure(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("HASHLIB_DATA", str(shared_data))
    kw = dict(scale="smoke", root=tmp_path / "results", artifacts=tmp_path / "art",
              logs=tmp_path / "logs", progress=False)
    good = GridCell("lsh", "cifar10-smoke", 16)
    bad = GridCell("nope", "cifar10-smoke", 16)  # not a registered method: refused up front
    first = run_grid([bad, good], **kw)
    assert first.done == [good.label]
    assert list(first.failed) == [bad.label] and "unknown method" in first.failed[bad.label]
    assert not first.ok
    # the bad cell failed before any notebook ran; the good one's is copied next to its record
    assert not log_path(kw["logs"], "smoke", bad).exists()
    assert log_path(kw["logs"], "smoke", good).is_file()
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
    assert "1 ran (1 replacing a record), 0 skipped" in forced.report()


# ---- issue 16: cell identity, corrupt records, messages, Ctrl-C, preflight --------------
SHA = "ab" * 32


@dataclass
class _Eval:
    scalars: dict = field(default_factory=lambda: {"map": 0.5, "distinct_bits": 32.0,
                                                   "constant_bits": 0.0})
    curves: dict = field(default_factory=lambda: {"per_query_map": np.full(4, 0.5)})


@dataclass
class _Result:
    config: object
    manifest_sha256: str = SHA
    manifest: dict = field(default_factory=lambda: {"protocol": "cifar10-smoke"})
    query_codes: np.ndarray = field(default_factory=lambda: np.ones((4, 32), np.int8))
    query_labels: np.ndarray = field(default_factory=lambda: np.eye(4, dtype=np.uint8))
    db_codes: None = None
    eval: _Eval = field(default_factory=_Eval)


def _store(root, cell, **settings):
    """A record of ``cell`` made with the runner's config plus ``settings``."""
    manifest = settings.pop("manifest_sha256", SHA)
    cfg = cell_config(cell, "smoke", **settings)
    return R.save_run(_Result(cfg, manifest_sha256=manifest), root=root, artifacts=None)


def _manifests(sha=SHA):
    def build(configs, *, check_images=True):
        return {protocol_key(c): sha for c in configs}, {}
    return build


def _no_protocols(monkeypatch, sha=SHA):
    """The protocols are not built (every manifest is ``sha``) where the runner builds
    them: its command line and its grid."""
    for module in (cli, execution):
        monkeypatch.setattr(module, "protocol_manifests", _manifests(sha))


def _plan(cell, root, tmp_path, sha=SHA, **settings):
    return plan_cell(cell, cell_config(cell, "smoke", **settings), scale="smoke",
                     root=root, logs=tmp_path / "logs", manifest_sha256=sha)


def test_a_shallow_record_is_not_redone_for_a_network_setting(tmp_path):
    """ITQ fits GIST features: the epochs, optimiser or learning rate of the preset do not
    change its codes, so a record made under another schedule is still done; its own
    hyper-parameters and the protocol still decide it."""
    root = tmp_path / "results"
    cell = GridCell("itq", "cifar10-smoke", 32)
    _store(root, cell, epochs=6, lr=0.5, eval_every=3)
    assert _plan(cell, root, tmp_path).action == "skip"
    other = GridCell("itq", "cifar10-smoke", 32, overrides={"n_iter": 7})
    plan = _plan(other, root, tmp_path)
    assert plan.action == "rerun" and "method_overrides" in plan.why
    assert _plan(cell, root, tmp_path, sha="cd" * 32).action == "rerun"


def test_a_record_made_by_older_code_is_made_again(tmp_path):
    """A record without code health (or, for a default run, without per-query values)
    was made before the evaluation stored them: the book cannot read them from it, so
    the cell runs again and says why."""
    root = tmp_path / "results"
    cell = GridCell("itq", "cifar10-smoke", 32)
    folder = _store(root, cell)
    assert _plan(cell, root, tmp_path).action == "skip"
    rec = json.loads((folder / R.RECORD).read_text())
    del rec["scalars"]["distinct_bits"], rec["curves"]["per_query_map"]
    (folder / R.RECORD).write_text(json.dumps(rec))
    plan = _plan(cell, root, tmp_path)
    assert plan.action == "rerun"
    assert plan.why == "record made by older code, without distinct_bits, per_query_map"
    assert R.record_gaps({**rec, "key": {**rec["key"], "variant": "tune-adam-lr0.001"}}) \
        == ["distinct_bits"]  # a tuning run needs no per-query values


def test_a_record_made_with_other_settings_is_not_done(tmp_path):
    """Case 1: epochs, hyper-parameter overrides and the protocol manifest decide a cell."""
    root = tmp_path / "results"
    cell = GridCell("dpsh", "cifar10-smoke", 32)
    _store(root, cell, epochs=6)
    assert _plan(cell, root, tmp_path, epochs=6).action == "skip"
    plan = _plan(cell, root, tmp_path)  # the preset's 4 epochs
    assert plan.action == "rerun" and "epochs: record 6, now 4" in plan.why
    tuned = GridCell("dpsh", "cifar10-smoke", 32, overrides={"eta": 1.0})
    plan = _plan(tuned, root, tmp_path, epochs=6)
    assert plan.action == "rerun" and "method_overrides: record {}, now {'eta': 1.0}" in plan.why
    plan = _plan(cell, root, tmp_path, sha="cd" * 32, epochs=6)
    assert plan.action == "rerun" and "protocol manifest" in plan.why
    plan = _plan(cell, root, tmp_path, epochs=6, pretrained=None)
    assert plan.action == "skip"


def test_dry_run_names_reruns_and_corrupt_records(tmp_path, monkeypatch, capsys):
    """Cases 1 and 2 through the command line: the dry run says which cells will rerun and
    why (other settings, an unreadable record) instead of "done" or a silent "todo"."""
    _no_protocols(monkeypatch)
    root = tmp_path / "results"
    dpsh, csq = GridCell("dpsh", "cifar10-smoke", 32), GridCell("csq", "cifar10-smoke", 32)
    _store(root, dpsh, epochs=6)
    folder = _store(root, csq)
    args = ["--scale", "smoke", "--methods", "dpsh", "csq", "--bits", "32", "--root", str(root),
            "--logs", str(tmp_path / "logs"), "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "done    cifar10-smoke/csq/32b_seed0" in out
    assert ("rerun   cifar10-smoke/dpsh/32b_seed0  (record made with other settings: "
            "epochs: record 6, now 4)") in out
    assert main(args + ["--epochs", "6"]) == 0
    out = capsys.readouterr().out
    assert "done    cifar10-smoke/dpsh/32b_seed0" in out and "rerun   cifar10-smoke/csq" in out
    text = (folder / R.RECORD).read_bytes()
    (folder / R.RECORD).write_bytes(text[: len(text) // 2])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert (f"rerun   cifar10-smoke/csq/32b_seed0  (unreadable record ({folder / R.RECORD}: "
            "corrupt result record") in out
    assert "1 to rerun" not in out and "2 to rerun" in out


def _fake_runs(monkeypatch, outcomes):
    """run_cell replaced: ``outcomes[label]`` is an exception to raise, else it succeeds."""
    calls = []

    def fake(cell, **kw):
        calls.append((cell.label, kw["fresh"]))
        err = outcomes.get(cell.label)
        if err is not None:
            raise err

    monkeypatch.setattr(execution, "run_cell", fake)
    return calls


def test_summary_keeps_whole_messages_and_names_every_cell(tmp_path, monkeypatch):
    """Case 5: no message cut at 300 characters or to its first line; the summary names the
    cells skipped, resumed, replaced, ran and failed."""
    cells = [GridCell(m, "cifar10-smoke", 32) for m in ("lsh", "dpsh", "csq", "dhn", "dch")]
    long = ("/runs/checkpoints/smoke/cifar10-smoke/dch/32b_seed0/last.pt holds a checkpoint of "
            + "x" * 300 + " other settings (epochs: checkpoint 6, now 4); pass --force")
    missing = FileNotFoundError("CIFAR-10 not found. Tried:\n  /a/cifar-10-batches-py\n"
                                "  /a/cifar10-jpeg/cifar10_jpeg.zip\nPass root=")
    _fake_runs(monkeypatch, {cells[3].label: missing, cells[4].label: ValueError(long)})
    plans = [Plan(cells[0], "skip"), Plan(cells[1], "resume", "after epoch 3 of 4"),
             Plan(cells[2], "rerun", "record made with other settings: epochs: record 6, "
                                     "now 4"),
             Plan(cells[3], "run"), Plan(cells[4], "run")]
    s = run_grid(cells, scale="smoke", root=tmp_path, logs=tmp_path / "logs",
                 progress=False, plans=plans)
    assert s.skipped == [cells[0].label] and s.done == [cells[1].label, cells[2].label]
    report = s.report()
    assert report.startswith("2 ran (1 resumed, 1 replacing a record), 1 skipped")
    assert "2 failed" in report
    assert "epochs: checkpoint 6, now 4); pass --force" in report  # not cut
    assert "/a/cifar10-jpeg/cifar10_jpeg.zip" in report and "Pass root=" in report
    for label, word in ((cells[0].label, "skipped"), (cells[1].label, "resumed"),
                        (cells[2].label, "ran"), (cells[3].label, "FAILED")):
        assert any(line.lstrip().startswith(word) and label in line
                   for line in report.splitlines()), (word, label)
    assert "after epoch 3 of 4" in report and "record made with other settings" in report
    assert f"log: {tmp_path / 'logs'}" in report


def test_ctrl_c_stops_with_the_summary(tmp_path, monkeypatch, capsys):
    """Case 5: Ctrl-C (in the runner, or reaching the notebook's kernel) ends the grid with
    the summary of what finished and exit code 130, not a traceback."""
    from papermill.exceptions import PapermillExecutionError

    _no_protocols(monkeypatch)
    cells = [GridCell(m, "cifar10-smoke", 32) for m in ("lsh", "dpsh", "csq")]
    in_kernel = PapermillExecutionError(3, 1, "run(cfg)", "KeyboardInterrupt", "", [])
    for interrupt in (KeyboardInterrupt(), in_kernel):
        _fake_runs(monkeypatch, {cells[2].label: interrupt})  # grid order: dpsh, csq, lsh
        rc = main(["--scale", "smoke", "--methods", "lsh", "dpsh", "csq", "--bits", "32",
                   "--no-book", "--root", str(tmp_path / "r"), "--logs", str(tmp_path / "l"),
                   "--artifacts", str(tmp_path / "a")])
        out = capsys.readouterr()
        assert rc == 130 and "Traceback" not in out.out + out.err
        assert "1 ran, 0 skipped (record with these settings exists), 0 failed, stopped by " \
               "Ctrl-C during 1, 1 not run" in out.out
        assert any(line.startswith("  stopped") and cells[2].label in line
                   for line in out.out.splitlines())
        assert f"not run {'':>9}    {cells[0].label}" in out.out


def test_preflight_stops_a_grid_before_any_training(tmp_path, monkeypatch, capsys):
    """Case 3: a read-only results folder and a missing device are found once, before any
    cell trains, with one error line each and exit code 2."""
    _no_protocols(monkeypatch)
    calls = _fake_runs(monkeypatch, {})
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    base = ["--scale", "smoke", "--methods", "lsh", "dpsh", "--bits", "32", "--no-book",
            "--logs", str(tmp_path / "l"), "--artifacts", str(tmp_path / "a")]
    assert main(base + ["--root", str(blocker / "results")]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and f"results folder (--root) {blocker / 'results'}" in err
    if not torch_cuda_available():
        assert main(base + ["--root", str(tmp_path / "r"), "--device", "cuda"]) == 2
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and "CUDA is not available" in err
    assert main(base + ["--root", str(tmp_path / "r"), "--device", "cuda:x"]) == 2
    assert "not a device name; valid: cpu, auto, cuda, cuda:<n>" in capsys.readouterr().err
    assert calls == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_preflight_read_only_results_folder(tmp_path, monkeypatch, capsys):
    _no_protocols(monkeypatch)
    calls = _fake_runs(monkeypatch, {})
    root = tmp_path / "r"
    root.mkdir()
    root.chmod(0o555)
    try:
        assert main(["--scale", "smoke", "--methods", "lsh", "--no-book", "--root", str(root),
                     "--logs", str(tmp_path / "l"), "--artifacts", str(tmp_path / "a")]) == 2
    finally:
        root.chmod(0o755)
    assert "is not writable" in capsys.readouterr().err and calls == []


def test_selection_errors_name_the_valid_values(tmp_path, capsys):
    """Case 5: an unknown method is refused (not dropped), with the valid values."""
    assert main(["--scale", "smoke", "--methods", "csq", "foo", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --methods foo: not in the smoke grid; valid: adsh, cnnh")
    assert main(["--scale", "smoke", "--methods", "lsh", "--bits", "16", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "matches no cell of the smoke grid: with --bits 16 it has --methods csq, shnet; " \
           "with --methods lsh it has --bits 32" in err
    with pytest.raises(SystemExit) as exc:
        main(["--scale", "smoke", "--epochs", "0"])
    assert exc.value.code == 2
    assert "error: argument --epochs: must be a positive integer, got '0'" in capsys.readouterr().err


def torch_cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def test_ctrl_c_quietens_the_kernel_shutdown_only_after_it_came():
    """After Ctrl-C the runner shuts the kernel down itself; a kernel poll in flight then
    logged 'Kernel died' and an unretrieved DeadKernelError with a traceback (CI saw it).
    Those records are dropped once Ctrl-C came, and only then."""
    import logging
    import signal
    import time

    class DeadKernelError(RuntimeError):
        pass

    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    log = logging.getLogger("asyncio")
    handler = Keep()
    log.addHandler(handler)
    # as in a terminal (a suite started with nohup ... & has SIGINT ignored)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with _quiet_kernel_shutdown_after_ctrl_c():
            log.error("Task exception was never retrieved", exc_info=DeadKernelError("x"))
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)  # the handler raises at the next bytecode
            log.error("Task exception was never retrieved", exc_info=DeadKernelError("x"))
            log.error("Kernel died while waiting for execute reply.")
            log.error("something else")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)
        log.removeHandler(handler)
        for lg in ("asyncio", "papermill", "nbclient"):
            logging.getLogger(lg).filters.clear()
    assert seen == ["Task exception was never retrieved", "something else"]


@pytest.mark.slow
def test_ctrl_c_in_a_terminal(tmp_path, shared_data):
    """Case 5 as a user meets it: Ctrl-C (SIGINT to the runner's process group; the
    notebook kernel has a session of its own, so only the runner can stop it) while a cell
    trains ends with the summary and exit code 130, no traceback; the cell then resumes
    from its checkpoint. Before, the kernel trained on to the end on a fast machine."""
    import signal
    import subprocess
    import sys

    env = {**os.environ, "HASHLIB_DATA": str(shared_data),
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    args = [sys.executable, "-m", "hashlib_core.reproduce", "--scale", "smoke", "--methods",
            "dpsh", "csq", "--bits", "32", "--epochs", "40", "--no-book",
            "--root", str(tmp_path / "r"),
            "--artifacts", str(tmp_path / "a"), "--logs", str(tmp_path / "runs" / "logs")]
    # a terminal's runner gets SIGINT's default action; a test suite started in the
    # background (nohup ... &) has SIGINT ignored, which its children would inherit
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    last = tmp_path / "r.checkpoints" / "smoke" / "cifar10-smoke" / "dpsh" / "32b_seed0"
    wait_for_epoch(last, proc)
    seen = sorted(str(f.relative_to(tmp_path)) for f in tmp_path.rglob("*.pt"))
    os.killpg(proc.pid, signal.SIGINT)  # the kernel has a session of its own: the runner stops it
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, f"checkpoints seen before the signal: {seen}\n{out}\n{err}"
    assert "Traceback" not in err and "stopped by Ctrl-C during 1, 1 not run" in out
    assert "not run              cifar10-smoke/csq/32b_seed0" in out
    dry = subprocess.run(args + ["--dry-run"], capture_output=True, text=True, env=env)
    assert "resume  cifar10-smoke/dpsh/32b_seed0  (after epoch" in dry.stdout


def test_variants_select_cells_by_their_variant_name(capsys):
    """--variants picks cells by variant (e.g. SHNet's parallel-head ablation alone), and an
    unknown variant is refused with the valid ones."""
    from argparse import Namespace

    from hashlib_core.runner.plan import select_cells

    args = Namespace(scale="cpu", datasets=None, methods=["shnet"], bits=None, seeds=None,
                     kinds=["ablation"], variants=["parallel"])
    cells = select_cells(args)
    assert {c.variant for c in cells} == {"parallel"}
    assert sorted(c.seed for c in cells) == [0, 1, 2, 3, 4]
    assert main(["--scale", "cpu", "--variants", "paralel", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --variants paralel: not in the cpu grid; valid: ")
    assert "parallel" in err
