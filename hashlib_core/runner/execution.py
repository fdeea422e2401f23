"""How the grid runner executes a cell and reports a grid: the summary, the stop signals,
the notebook in a worker thread with the claim's heartbeat and the progress relay.

Split from :mod:`hashlib_core.runner.cli` (which re-exports these names):

* :class:`Summary`: what a grid run did, cell by cell, and its exit code (0 done, 1 a
  cell failed, :data:`CLAIMED_ELSEWHERE` cells left to other runners' claims, 130 / 143 /
  129 stopped by Ctrl-C / SIGTERM / SIGHUP);
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
import re
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hashlib_core import progress as live
from hashlib_core.runner import locking

#: a failure message longer than this is cut in the summary (the log holds all of it)
MAX_MESSAGE = 4000
INTERRUPTED = 130
#: exit code of a run that left cells to other runners' claims (and failed none)
CLAIMED_ELSEWHERE = 75
#: the signals that stop the grid like Ctrl-C, and the exit codes they give
STOP_SIGNALS = {signal.SIGINT: ("Ctrl-C", 130), signal.SIGTERM: ("SIGTERM", 143),
                signal.SIGHUP: ("SIGHUP", 129)}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --------------------------------------------------------------------------- summary
@dataclass
class Summary:
    """Outcome of a grid run: cell labels by status, and wall seconds per ran cell.

    ``done``: cells that ran to the end (new, resumed or replacing a record);
    ``resumed`` and ``replaced`` (label -> why) say which of them did what;
    ``stopped``: the cell that was running when Ctrl-C (or SIGTERM, SIGHUP: ``signal``)
    stopped the grid (``interrupted``), ``not_run``: the cells left; ``claimed`` the cells
    left to other runners' claims, ``claimed_by`` (label -> who holds it, since when, the
    claim file).
    """

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)
    claimed: list[str] = field(default_factory=list)  # being trained by another runner
    claimed_by: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    resumed: dict[str, str] = field(default_factory=dict)
    copied: dict[str, str] = field(default_factory=dict)  # label -> why (tuning winner)
    replaced: dict[str, str] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    stopped: str | None = None
    signal: str = "Ctrl-C"

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    @property
    def exit_code(self) -> int:
        """130/143/129 stopped by Ctrl-C/SIGTERM/SIGHUP, 1 a cell failed, 75 cells left to
        other runners' claims, else 0."""
        if self.interrupted:
            return {name: code for name, code in STOP_SIGNALS.values()}.get(self.signal,
                                                                             INTERRUPTED)
        if self.failed:
            return 1
        return CLAIMED_ELSEWHERE if self.claimed else 0

    def report(self) -> str:
        total = sum(self.seconds.values())
        extra = []
        if self.resumed:
            extra.append(f"{len([d for d in self.done if d in self.resumed])} resumed")
        if self.copied:
            extra.append(f"{len(self.copied)} copied from their tuning winner")
        if self.replaced:
            extra.append(f"{len([d for d in self.done if d in self.replaced])} replacing a record")
        head = f"{len(self.done)} ran" + (f" ({', '.join(extra)})" if extra else "")
        head += (f", {len(self.skipped)} skipped (record with these settings exists), "
                 f"{len(self.failed)} failed")
        if self.waiting:
            head += f", {len(self.waiting)} waiting for tuning"
        if self.claimed:
            head += f", {len(self.claimed)} claimed by another runner"
        if self.interrupted:
            head += (f", stopped by {self.signal}{' during 1' if self.stopped else ''}, "
                     f"{len(self.not_run)} not run")
        lines = [f"{head}; {total / 60:.1f} min of runs"]
        pad = " " * 22
        for label in self.skipped:
            lines.append(f"  skipped {'':>9}    {label}")
        for label in self.done:
            word = ("resumed" if label in self.resumed else
                    "copied" if label in self.copied else "ran")
            note = (self.resumed.get(label) or self.copied.get(label)
                    or self.replaced.get(label))
            lines.append(f"  {word:<8}{self.seconds.get(label, 0):7.1f} s   {label}"
                         + (f"\n{pad}({note})" if note else ""))
        for label, msg in self.failed.items():
            body = msg.splitlines() or [""]
            lines.append(f"  FAILED  {self.seconds.get(label, 0):7.1f} s   {label}: {body[0]}")
            lines += [f"{pad}{line}" for line in body[1:]]
            if label in self.logs:
                lines.append(f"{pad}(log: {self.logs[label]})")
        if self.stopped:
            lines.append(f"  stopped {self.seconds.get(self.stopped, 0):7.1f} s   {self.stopped}"
                         f"\n{pad}({self.signal}; it resumes from its last finished "
                         "epoch)")
        for label, msg in self.waiting.items():
            lines.append(f"  waiting {'':>9}    {label}\n{pad}({msg})")
        for label in self.claimed:
            lines.append(f"  claimed {'':>9}    {label}\n{pad}("
                         f"{self.claimed_by.get(label) or 'being trained by another runner'})")
        for label in self.not_run:
            lines.append(f"  not run {'':>9}    {label}")
        if self.interrupted:
            lines.append("The same command resumes: finished cells are skipped, an "
                         "interrupted one continues from its last epoch.")
        elif self.claimed:
            lines.append(f"{len(self.claimed)} cell(s) were left to other runners' claims "
                         f"(exit code {CLAIMED_ELSEWHERE}): run the same command again when "
                         "those runners are done; if a runner died, its claim goes stale "
                         f"after {locking.STALE_AFTER} of its heartbeat intervals, or "
                         "--release-claims removes the claims at once.")
        return "\n".join(lines)


def _error_message(err: BaseException) -> str:
    """The whole message of a failure: ``Name: value`` (a papermill error's own exception),
    without terminal colours, cut only beyond :data:`MAX_MESSAGE` characters."""
    name = getattr(err, "ename", None) or type(err).__name__
    value = getattr(err, "evalue", None)
    if value is None:
        value = str(err)
    text = _ANSI.sub("", f"{name}: {value}").strip()
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + " ... (cut; the whole message is in the log)"
    return text


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
