"""Stopping a real runner while its cell trains, the same way on a slow and a fast machine.

A smoke cell trains its 4 epochs in about a second on a fast machine, so a test that
waited for the first checkpoint and then signalled the runner raced the kernel to the end
of its training (CI lost that race, and it showed that the runner never stopped its
kernel). The signal tests now run their cell for 40 epochs (``--epochs 40``), so the stop
lands mid-training anywhere; freezing the kernel instead (SIGSTOP) made the notebook
client declare it dead under load.
"""

from __future__ import annotations

import contextlib
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


def kernels_of(proc) -> list:
    """The runner's notebook kernels: its child processes that run ipykernel (not, say, a
    short-lived ``git`` the runner started)."""
    out = []
    for child in psutil.Process(proc.pid).children():
        with contextlib.suppress(psutil.Error):
            if any("ipykernel" in part for part in child.cmdline()):
                out.append(child)
    return out
