"""Claims of grid cells by runners that share a results folder, with a heartbeat.

A runner claims a cell before training it by creating the claim file
``<root>.checkpoints/claims/<scale>/<protocol>/<method>/<run id>.claim`` atomically
(``O_CREAT | O_EXCL``), holding JSON: ``host``, ``pid``, ``since`` (UTC), ``interval_s``
(its heartbeat period) and ``token`` (which runner wrote it).

Heartbeat. While the cell runs, the holder refreshes the claim (touches its mtime) every
``interval_s`` seconds (:data:`INTERVAL_S`, 60 s; ``HASHLIB_CLAIM_INTERVAL`` changes it),
from the runner's waiting loop, so a papermill cell needs nothing of its own.

Stale claims. A claim is stale, and the next runner takes it over, when

* it was not refreshed for :data:`STALE_AFTER` (10) of its own intervals, on any host
  (a runner killed with ``kill -9`` or by a node failure on another machine: 10 minutes
  with the default interval), or
* its host is this machine and its process no longer runs, or
* it cannot be read and is older than a minute (a claim cut by a crash while written).

Taking over renames the stale file aside first and checks that the file moved is the one
judged stale (same inode, same mtime): of two runners that judged one claim stale, only
one gets the cell, and a claim refreshed meanwhile is put back.

The operator removes claims with ``python -m hashlib_core.reproduce ... --release-claims``
(e.g. after a node failure, without waiting for them to go stale); a runner releases
its own claim when its cell ends, also when stopped by Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

#: seconds between two refreshes of a held claim (``HASHLIB_CLAIM_INTERVAL`` overrides it)
INTERVAL_S = 60.0
#: a claim not refreshed for this many of its intervals is stale, on any host
STALE_AFTER = 10
#: an unreadable claim (cut while written) older than this is stale (seconds)
UNREADABLE_STALE_S = 60.0
HOST = socket.gethostname()


def interval_s() -> float:
    """The heartbeat period of this process's claims (seconds)."""
    try:
        value = float(os.environ.get("HASHLIB_CLAIM_INTERVAL", INTERVAL_S))
    except ValueError:
        return INTERVAL_S
    return value if value > 0 else INTERVAL_S


@dataclass
class ClaimInfo:
    """What a claim file says, and whether it is stale (``why``: the reason)."""

    path: Path
    host: str | None
    pid: int | None
    since: str | None
    interval_s: float
    age_s: float
    stale: bool
    why: str
    token: str | None = None

    def describe(self) -> str:
        """One phrase: who holds the claim, how long ago it was refreshed, its file."""
        who = f"host {self.host or '?'}" + (f" pid {self.pid}" if self.pid is not None else "")
        state = f"stale: {self.why}" if self.stale else f"refreshed every {self.interval_s:g} s"
        return (f"claimed by {who}, last refreshed {format_age(self.age_s)} ago ({state}); "
                f"claim file {self.path}")


def format_age(seconds: float) -> str:
    """``42 s``, ``7 min``, ``3.5 h``, ``2.0 days``."""
    seconds = max(0.0, float(seconds))
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


def read_claim(path: str | os.PathLike) -> ClaimInfo | None:
    """The claim at ``path``, or None when there is none."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return None
    age = time.time() - st.st_mtime
    try:
        info = json.loads(path.read_text())
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, UnicodeDecodeError):
        stale = age > UNREADABLE_STALE_S
        return ClaimInfo(path, None, None, None, INTERVAL_S, age, stale,
                         "unreadable claim file" if stale else "")
    try:
        every = float(info.get("interval_s") or INTERVAL_S)
        if not every > 0:
            every = INTERVAL_S
    except (TypeError, ValueError):
        every = INTERVAL_S
    try:
        pid = int(info["pid"]) if info.get("pid") is not None else None
    except (TypeError, ValueError):
        pid = None
    host = info.get("host")
    host = str(host) if host is not None else None
    stale, why = False, ""
    if age > STALE_AFTER * every:
        stale, why = True, (f"not refreshed for {format_age(age)}, more than {STALE_AFTER} "
                            f"times its interval of {every:g} s")
    elif host == HOST and pid is not None and pid != os.getpid() and _pid_gone(pid):
        stale, why = True, f"its process {pid} no longer runs on this machine"
    token = info.get("token")
    return ClaimInfo(path, host, pid, info.get("since"), every, age, stale, why,
                     str(token) if token is not None else None)


def _create(path: Path, token: str) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        json.dump({"host": HOST, "pid": os.getpid(),
                   "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   "interval_s": interval_s(), "token": token}, fh)
    return True


def _take_over(path: Path) -> bool:
    """Move a stale claim aside; False when the file moved was not the one judged stale
    (it is put back) or another runner moved it first."""
    try:
        judged = path.stat()
    except FileNotFoundError:
        return True
    info = read_claim(path)
    if info is None:
        return True
    if not info.stale:
        return False
    aside = path.with_name(f".{path.name}.stale-{HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True  # another runner moved it: race for the new claim
    moved = aside.stat()
    if (moved.st_ino, moved.st_mtime_ns) != (judged.st_ino, judged.st_mtime_ns):
        try:  # a fresh claim, not the stale one: put it back where it was
            os.link(aside, path)
        except OSError:
            pass
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


class Claim:
    """A claim this process holds: :meth:`refresh` (the heartbeat), :meth:`release`."""

    def __init__(self, path: Path, token: str) -> None:
        self.path, self.token = path, token
        self.refreshed = time.monotonic()
        self.lost: ClaimInfo | None = None

    def refresh(self, *, force: bool = False) -> bool:
        """Touch the claim when its interval has passed (or ``force``); False when the claim
        is no longer this process's (removed by ``--release-claims`` or taken over)."""
        if not force and time.monotonic() - self.refreshed < interval_s():
            return self.lost is None
        self.refreshed = time.monotonic()
        info = read_claim(self.path)
        if info is None or info.token != self.token:
            self.lost = info
            return False
        try:
            os.utime(self.path)
        except OSError:
            return False
        return True

    def release(self) -> None:
        """Remove the claim if it is still this process's."""
        info = read_claim(self.path)
        if info is not None and info.token == self.token:
            self.path.unlink(missing_ok=True)


def try_claim(path: str | os.PathLike) -> Claim | None:
    """Claim the cell of ``path``; None when another runner holds a live claim on it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = f"{HOST}-{os.getpid()}-{uuid.uuid4().hex}"
    for _ in range(3):
        if _create(path, token):
            return Claim(path, token)
        if not _take_over(path):
            return None
    return None


def release_claims(paths) -> list[ClaimInfo]:
    """Remove the claim files among ``paths`` (the operator's ``--release-claims``);
    returns what each said."""
    removed = []
    for path in paths:
        info = read_claim(path)
        if info is None:
            continue
        Path(path).unlink(missing_ok=True)
        removed.append(info)
    return removed
