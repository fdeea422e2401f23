"""The summary of a grid run: what ran, was skipped, copied, failed, stopped or left to
other runners' claims, cell by cell, its printed report and the runner's exit code.

Exit codes (:attr:`Summary.exit_code`): 0 all selected cells done, 1 a cell failed,
:data:`CLAIMED_ELSEWHERE` (75) cells left to other runners' claims, 130 / 143 / 129
stopped by Ctrl-C / SIGTERM / SIGHUP (:data:`STOP_SIGNALS`). A failure's message is kept
whole up to :data:`MAX_MESSAGE` characters (:func:`_error_message`).
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass, field

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
