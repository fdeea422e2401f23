"""How the runner executes a grid: each planned cell under its claim, the papermill run of
one cell, the progress relay and the stop signals.

* :func:`run_grid`: every cell that is not done (:mod:`hashlib_core.runner.plan`), each
  under its claim (:mod:`hashlib_core.runner.locking`), never stopping at a failure; it
  returns the :class:`~hashlib_core.runner.summary.Summary`;
* :func:`run_cell`: ``notebooks/train_eval.ipynb`` executed with papermill for one cell;
  its log notebook, its record (moved aside when the cell failed after writing it) and its
  checkpoints;
* :func:`_quiet_kernel_shutdown_after_ctrl_c`: Ctrl-C, SIGTERM and SIGHUP raise
  KeyboardInterrupt in the runner (a signal started ignored stays ignored);
* :func:`_execute`: papermill in a worker thread, so the main thread keeps the signals
  (nbclient would take SIGINT and SIGTERM over), refreshes the cell's claim and relays the
  engine's ``progress.json``; after a stop signal :func:`_stop_kernel` interrupts the
  notebook's kernel (its last checkpoint stays).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hashlib_core import progress as live
from hashlib_core.atomic import atomic_write
from hashlib_core.results import RECORD, has_record, record_dir
from hashlib_core.results.portable import portable_log
from hashlib_core.runner import checks as runner_checks
from hashlib_core.runner import locking
from hashlib_core.runner.grids import GridCell
from hashlib_core.runner.plan import (
    Plan,
    TuningPending,
    _rechecked,
    cell_config,
    cell_settings,
    checkpoint_dir,
    claim_path,
    log_path,
    plan_cell,
    protocol_key,
    protocol_manifests,
)
from hashlib_core.runner.summary import STOP_SIGNALS, Summary, _error_message
from hashlib_core.runner.twins import copy_twin, twin_record

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "notebooks" / "train_eval.ipynb"
#: executed notebooks above this size stay in runs/logs only (keeps results/ small)
MAX_COMMITTED_LOG = 256 * 1024


# --------------------------------------------------------------------------- the grid
def run_grid(cells: list[GridCell], *, scale: str, root: str | Path = "results",
             artifacts: str | Path = "runs/artifacts", logs: str | Path = "runs/logs",
             device: str = "cpu", epochs: int | None = None, force: bool = False,
             progress: bool = True, plans: list[Plan] | None = None,
             **cell_options: Any) -> Summary:
    """Run every cell that is not done (see :mod:`hashlib_core.runner.cli`), never
    stopping at a failure; a tqdm bar shows the cells done and the estimated time left.
    Ctrl-C stops the grid and returns the summary so far (``interrupted``).

    ``plans`` (from :func:`plan_cell`, as the command line makes them after its
    preflight) replaces the planning of ``cells``. A cell another runner has claimed is
    skipped (``claimed``); ``cell_options`` go to :func:`run_cell`.
    """
    from tqdm.auto import tqdm

    summary = Summary()
    if plans is None:
        plans = []
        configs = {}
        for cell in cells:
            try:
                configs[cell] = cell_config(cell, scale, epochs=epochs, device=device, root=root)
            except TuningPending as err:
                plans.append(Plan(cell, "wait", str(err)))
            except ValueError as err:
                summary.failed[cell.label] = _error_message(err)
        manifests, problems = protocol_manifests(list(configs.values()), check_images=False)
        for cell, config in configs.items():
            key = protocol_key(config)
            if key in problems:
                summary.failed[cell.label] = "\n".join(problems[key])
                continue
            plans.append(plan_cell(cell, config, scale=scale, root=root, logs=logs,
                                   manifest_sha256=manifests.get(key), force=force))
    todo = []
    for plan in plans:
        if plan.action == "skip":
            summary.skipped.append(plan.label)
        else:
            todo.append(plan)
    # a terminal gets the bar; a log file (> runs/x.log) gets plain lines only
    terminal = progress and _is_terminal(sys.stderr)
    bar = tqdm(todo, desc=f"{scale} grid", unit="run", disable=not terminal,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} runs "
                          "[{elapsed} elapsed, {remaining} left]{postfix}")
    k = 0
    with _quiet_kernel_shutdown_after_ctrl_c() as quiet:
        try:
            for k, plan in enumerate(bar):  # noqa: B007 - k is read after an interrupt
                path = claim_path(root, scale, plan.cell)
                claim = locking.try_claim(path)
                if claim is None:
                    summary.claimed.append(plan.label)
                    held = locking.read_claim(path)
                    summary.claimed_by[plan.label] = (held.describe() if held else
                                                      f"claim file {path}")
                    continue
                try:
                    _run_one(plan, summary, bar, scale=scale, root=root, artifacts=artifacts,
                             logs=logs, device=device, epochs=epochs, claim=claim,
                             **cell_options)
                finally:
                    claim.release()
        except KeyboardInterrupt:
            summary.interrupted = True
            summary.signal = STOP_SIGNALS.get(quiet.signum, ("Ctrl-C", 130))[0]
            finished = set(summary.done) | set(summary.failed)
            left = [p.label for p in todo[k:] if p.label not in finished]
            if left and left[0] in summary.seconds:  # it was running when Ctrl-C came
                summary.stopped = left.pop(0)
            summary.not_run = left
    bar.close()
    return summary


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _run_one(plan: Plan, summary: Summary, bar, *, scale, root, artifacts, logs, device,
             epochs, claim=None, **cell_options) -> None:
    """Run one planned cell and record its outcome; Ctrl-C is raised as KeyboardInterrupt.
    A cell that waited for its method's tuning is planned again first."""
    label = plan.label
    echo = bar.write if not bar.disable else (lambda line: print(line, flush=True))
    fields = {k: cell_options[k] for k in ("pretrained", "allow_protocol_deviation")
              if cell_options.get(k)}
    if plan.action == "wait":
        try:
            config = cell_config(plan.cell, scale, epochs=epochs, device=device, root=root,
                                 **fields)
        except TuningPending as err:
            summary.waiting[label] = str(err)
            return
        manifests, _ = protocol_manifests([config], check_images=False)
        plan = plan_cell(plan.cell, config, scale=scale, root=root, logs=logs,
                         manifest_sha256=manifests.get(protocol_key(config)))
        if plan.action == "skip":
            summary.skipped.append(label)
            return
    if plan.action == "copy":
        start = time.perf_counter()
        twin = twin_record(plan.cell, plan.config, scale=scale, root=root,
                           manifest_sha256=protocol_manifests([plan.config], check_images=False)
                           [0].get(protocol_key(plan.config)))
        if twin is not None:
            copy_twin(twin, plan.cell, scale=scale, root=root, artifacts=artifacts)
            summary.seconds[label] = time.perf_counter() - start
            summary.done.append(label)
            summary.copied[label] = plan.why
            return
        plan = Plan(plan.cell, "run", config=plan.config)  # the winner changed meanwhile
    # another runner sharing this results folder finished it meanwhile (a cell planned to
    # resume from a checkpoint too: the other runner started from the same one; a cell
    # planned to rerun: the other runner replaced the record)
    plan = _rechecked(plan, scale=scale, root=root, logs=logs)
    if plan is None:
        summary.skipped.append(label)
        return
    bar.set_postfix_str(label)
    if bar.disable:
        echo(f"{time.strftime('%H:%M:%S')} {plan.action} {label}")
    start = time.perf_counter()
    try:
        run_cell(plan.cell, scale=scale, root=root, artifacts=artifacts, logs=logs,
                 device=device, epochs=epochs, fresh=plan.fresh, claim=claim, echo=echo,
                 **cell_options)
    except Exception as err:  # noqa: BLE001 - a failed cell must not stop the grid
        summary.seconds[label] = time.perf_counter() - start
        if _is_interrupt(err):
            raise KeyboardInterrupt from err
        summary.failed[label] = _error_message(err)
        summary.logs[label] = str(log_path(logs, scale, plan.cell))
        echo(f"FAILED {label}: {summary.failed[label].splitlines()[0]} "
             f"(log: {summary.logs[label]})")
        return
    except KeyboardInterrupt:
        summary.seconds[label] = time.perf_counter() - start
        raise
    summary.seconds[label] = time.perf_counter() - start
    summary.done.append(label)
    if plan.action == "resume":
        summary.resumed[label] = plan.why
    elif plan.action == "rerun":
        summary.replaced[label] = plan.why


# --------------------------------------------------------------------------- one cell
def run_cell(cell: GridCell, *, scale: str, root: str | Path = "results",
             artifacts: str | Path = "runs/artifacts", logs: str | Path = "runs/logs",
             device: str = "cpu", epochs: int | None = None, fresh: bool = False,
             pretrained: str | None = None, allow_protocol_deviation: bool = False,
             gpus: int = 1, keep_checkpoints: bool = False, claim=None,
             echo=print) -> Path:
    """Execute ``train_eval.ipynb`` for one cell; returns the record folder.

    ``pretrained`` replaces the scale's weights (a torchvision name or a state-dict file),
    ``gpus`` > 1 trains through torchrun; the checkpoints are deleted after the record is
    written unless ``keep_checkpoints``. While the notebook runs (in a worker thread:
    :func:`_execute`) the ``claim`` is refreshed and each epoch's progress goes to ``echo``.
    The log notebook is written under a name of this process's
    (:func:`hashlib_core.runner.checks.running_log`) and renamed into place when it ends.
    A failure after the notebook wrote the record moves the record aside
    (``record.json.failed``): what failed never counts as done.

    Training checkpoints go to :func:`checkpoint_dir` so an interrupted run resumes
    from its last epoch; ``fresh=True`` deletes them first.

    Raises
    ------
    papermill.PapermillExecutionError
        If a cell of the notebook raised (the executed notebook is in ``logs``).
    RuntimeError
        If the notebook finished without writing the record.
    """
    import papermill as pm

    out = log_path(logs, scale, cell)
    out.parent.mkdir(parents=True, exist_ok=True)
    runner_checks.sweep_leftovers(out.parent)
    ckpt = checkpoint_dir(root, scale, cell)
    if fresh and ckpt.exists():
        shutil.rmtree(ckpt)
    (ckpt / live.FILE).unlink(missing_ok=True)  # an earlier process's last state
    params = {
        "scale": scale, "method": cell.method, "protocol": cell.protocol,
        "n_bits": cell.n_bits, "seed": cell.seed, "device": device, "variant": cell.variant,
        "overrides": dict(cell.overrides), "settings": cell_settings(cell, scale, root),
        "epochs": epochs, "run_dir": str(ckpt.resolve()),
        "root": str(Path(root).resolve()), "artifacts": str(Path(artifacts).resolve()),
        "pretrained": pretrained, "allow_protocol_deviation": bool(allow_protocol_deviation),
        "gpus": int(gpus),
    }
    key = cell.key(scale)
    folder = record_dir(root, **key)
    start = time.time() - 1  # the record's mtime may be rounded down
    running = runner_checks.running_log(out)

    def execute():
        pm.execute_notebook(str(TEMPLATE), str(running), parameters=params,
                            kernel_name="python3", cwd=str(REPO), progress_bar=False,
                            log_output=False, extra_arguments=["--log-level=CRITICAL"])

    try:
        try:
            _execute(execute, claim=claim, progress_dir=ckpt, label=cell.label, echo=echo)
        finally:
            if running.exists():
                os.replace(running, out)
        if not has_record(root, **key):
            raise RuntimeError(f"{out}: the notebook finished but wrote no record for {key}")
        if out.stat().st_size <= MAX_COMMITTED_LOG:
            try:
                log = portable_log(out.read_text(encoding="utf-8"), repo=REPO, root=root)
                atomic_write(folder / "run.ipynb", log.encode("utf-8"))
            except OSError as err:
                raise OSError(err.errno, f"cannot copy the log to {folder / 'run.ipynb'}: "
                              f"{err.strerror or err}") from err
        else:
            (folder / "run.ipynb").unlink(missing_ok=True)
    except BaseException as err:
        if not _is_interrupt(err):
            _quarantine_record(folder, start)
        raise
    if not keep_checkpoints and ckpt.exists():
        shutil.rmtree(ckpt, ignore_errors=True)
    return folder


def _quarantine_record(folder: Path, since: float) -> Path | None:
    """Move aside a record written at or after ``since`` (by the cell that then failed), so
    it does not count as done; returns where it went."""
    path = folder / RECORD
    try:
        if path.stat().st_mtime < since:
            return None
        target = folder / (RECORD + ".failed")
        os.replace(path, target)
        return target
    except OSError:
        return None


# --------------------------------------------------------------------------- stop signals
class _KernelShutdownAfterCtrlC(logging.Filter):
    """Drops what nbclient and asyncio log about the notebook's kernel dying once Ctrl-C
    has come: the runner shuts that kernel down itself, and a poll of the kernel that was
    in flight then reports its death ("Kernel died while waiting for execute reply", and an
    unretrieved ``DeadKernelError`` with its traceback). A kernel that dies on its own,
    with no Ctrl-C, is still logged and fails its cell."""

    def __init__(self) -> None:
        super().__init__()
        self.interrupted = False
        self.signum: int | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.interrupted:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        return not (type(exc).__name__ == "DeadKernelError"
                    or record.getMessage().startswith("Kernel died"))


@contextlib.contextmanager
def _quiet_kernel_shutdown_after_ctrl_c():
    """While the grid runs, Ctrl-C, SIGTERM and SIGHUP raise KeyboardInterrupt (the signal
    is kept in ``quiet.signum``) and quieten the kernel-shutdown messages
    (:class:`_KernelShutdownAfterCtrlC`). A signal the runner was started with ignored
    (SIGINT and SIGHUP under ``nohup ... &``) stays ignored."""
    quiet = _KernelShutdownAfterCtrlC()
    loggers = [logging.getLogger(name) for name in ("asyncio", "papermill", "nbclient")]
    for lg in loggers:
        lg.addFilter(quiet)

    def on_signal(signum, frame):
        if quiet.interrupted:
            return  # a second signal while stopping: the first one's stop goes on
        quiet.interrupted, quiet.signum = True, signum
        raise KeyboardInterrupt

    previous = {}
    for signum in STOP_SIGNALS:
        before = signal.getsignal(signum)
        default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        if before is not default:
            continue
        try:
            signal.signal(signum, on_signal)
        except ValueError:  # not the main thread: leave signals alone
            break
        previous[signum] = before
    try:
        yield quiet
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)
        if not quiet.interrupted:  # else the kernel's task may still report at exit
            for lg in loggers:
                lg.removeFilter(quiet)


def _is_interrupt(err: BaseException) -> bool:
    """Ctrl-C reaches the notebook's kernel too: it then fails with KeyboardInterrupt."""
    return isinstance(err, KeyboardInterrupt) or getattr(err, "ename", None) == "KeyboardInterrupt"


def _kernels() -> list:
    """The notebook kernels this process started (its child processes)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return []
    try:
        return psutil.Process().children(recursive=False)
    except psutil.Error:
        return []


def _stop_kernel(finished: threading.Event) -> None:
    """After a stop signal: interrupt the cell's kernel (SIGINT: the training loop ends
    with KeyboardInterrupt; its last checkpoint stays) and wait for the notebook to end
    (``finished``); a kernel that does not stop within a minute is killed.

    The worker's end is an Event, not ``Thread.is_alive()``: a ``join`` interrupted by the
    signal's KeyboardInterrupt leaves ``is_alive()`` False in CPython 3.11 (gh-90882),
    and the kernel then trained on after the runner had said "stopped". Ctrl-C in a
    terminal does not reach the kernel itself: jupyter_client starts it in a session of
    its own, so the runner passes every stop signal on as SIGINT."""
    for signame, wait in ((signal.SIGINT, 60), (signal.SIGKILL, 15)):
        if finished.is_set():
            return
        for proc in _kernels():
            with contextlib.suppress(Exception):
                proc.send_signal(signame)
        finished.wait(wait)


def _execute(target, *, claim=None, progress_dir: Path | None = None, label: str = "",
             echo=print, poll_s: float = 0.5):
    """Run ``target()`` (a papermill execution) in a worker thread and wait: the main
    thread keeps the stop signals (nbclient would otherwise take SIGINT and SIGTERM over),
    refreshes the cell's ``claim`` (the heartbeat) and relays the engine's progress from
    ``progress_dir``. Returns what ``target`` returned or raises what it raised."""
    box: dict[str, Any] = {}

    finished = threading.Event()

    def work():
        try:
            box["value"] = target()
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            box["error"] = err
        finally:
            finished.set()

    seen = (live.read(progress_dir) or {}).get("time") if progress_dir else None
    lost = False
    worker = threading.Thread(target=work, name=f"cell {label}", daemon=True)
    worker.start()
    try:
        while not finished.wait(poll_s):
            if claim is not None and not claim.refresh() and not lost:
                lost = True
                held = claim.lost.describe() if claim.lost else "removed (--release-claims?)"
                echo(f"warning: {label}: this runner's claim is no longer its own ({held}); "
                     "the cell goes on")
            if progress_dir is not None:
                info = live.read(progress_dir)
                if info and info.get("time") != seen:
                    seen = info.get("time")
                    echo(f"  {label}: {live.format_state(info)}")
    except KeyboardInterrupt:
        _stop_kernel(finished)
        raise
    if "error" in box:
        raise box["error"]
    return box.get("value")
