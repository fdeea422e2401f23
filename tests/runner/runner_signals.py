"""Stopping a real runner while its cell trains, the same way on a slow and a fast machine.

A smoke cell trains its 4 epochs in about a second on a fast machine, so a test that
waits for the first checkpoint and then signals the runner raced the kernel to the end of
its training (CI lost that race). :func:`frozen_kernels` stops the notebook kernels with
SIGSTOP while the test signals the runner, and lets them go only once the runner's SIGINT
is pending for each, so the stop always lands mid-training.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import psutil

from hashlib_core import progress as live


def wait_for_epoch(folder: Path, proc, seconds=600):
    """Wait until the engine's progress file says one epoch is done (it is written just
    after the epoch's checkpoint)."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        if ((live.read(folder) or {}).get("epoch") or 0) >= 1:
            return True
        time.sleep(0.05)
    return False


def wait_pending(pid: int, signum: int, proc, seconds=120) -> bool:
    """Wait until ``signum`` is pending for the (stopped) process ``pid``: Linux lists
    pending signals as hex masks in /proc/PID/status."""
    bit = 1 << (signum - 1)
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        fields = dict(line.split(":", 1) for line in
                      Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        if (int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)) & bit:
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def frozen_kernels(proc):
    """Stop the runner ``proc``'s notebook kernels (its child processes) for the body of
    the ``with``; on leaving, wait until each has SIGINT pending (what the runner sends a
    kernel on a stop signal), then let them go. Yields the kernels' pids."""
    kernels = [p.pid for p in _kernels(proc)]
    assert kernels, f"no notebook kernel under the runner: {_children(proc)}"
    for pid in kernels:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield kernels
        pending = {pid: wait_pending(pid, signal.SIGINT, proc) for pid in kernels}
        assert all(pending.values()), (
            f"the runner did not pass the stop on to its kernel as SIGINT: pending {pending}, "
            f"runner exit code {proc.poll()}, its children {_children(proc)}")
    finally:
        for pid in kernels:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def _kernels(proc) -> list:
    """The runner's notebook kernels: its child processes that run ipykernel (not, say, a
    short-lived ``git`` the runner started)."""
    out = []
    for child in psutil.Process(proc.pid).children():
        with contextlib.suppress(psutil.Error):
            if any("ipykernel" in part for part in child.cmdline()):
                out.append(child)
    return out


def _children(proc) -> list[str]:
    """The runner's child processes as ``pid status command`` (for a failure message)."""
    try:
        children = psutil.Process(proc.pid).children()
    except psutil.Error:
        return ["(the runner has exited)"]
    out = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            out.append(f"{child.pid} {child.status()} {' '.join(child.cmdline()[:4])}")
    return out
