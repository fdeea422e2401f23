"""One atomic file writer for the whole package.

Every file that a crash must not leave half-written (decoded-data caches, GIST caches,
checkpoints, result records, run logs) goes through :func:`atomic_write`: the content is
written to a temporary file in the same folder, flushed and fsynced, then renamed over
the target with ``os.replace`` (atomic on POSIX). A reader sees the old file or the new
one, never a mixture, and a failed write leaves no temporary file behind; a write that
finds the disk full raises ``OSError`` (``ENOSPC``) saying "no space left on device" and
naming the file.

Permissions: the file gets the mode an ordinary ``open(path, "w")`` would give it
(``0o666`` less the process's umask), so a results folder shared with a group stays
readable by it (``tempfile.mkstemp`` alone would leave every file ``0o600``).

Stale temporary files: a process killed (``kill -9``, power loss) between creating the
temporary file and the rename leaves it behind. Its name, ``.<name>.<host>-<pid>.<random>.tmp``,
says which process wrote it; the next write into the same folder removes those whose
process is gone (same host, pid no longer running) and any older than a day (another
host, or the older name ``.<name>.<random>.tmp``).
"""

from __future__ import annotations

import errno
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

#: temporary files older than this are removed whoever wrote them (seconds)
STALE_AFTER_S = 24 * 3600
_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname() or "host")[:40]
_TMP = re.compile(r"^\..+?\.(?:(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.)?[A-Za-z0-9_]{6,}\.tmp$")


def current_umask() -> int:
    """The process's umask (read from ``/proc/self/status`` where possible, which leaves it
    untouched; elsewhere set and restored at once)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError as err:
        return err.errno != errno.ESRCH
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of killed writes in ``folder``; returns those removed.

    A temporary file is stale when the process named in it (same host) no longer runs,
    or when it is older than :data:`STALE_AFTER_S`. The temporary file of a write in
    progress (its process alive) is never touched.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP.match(entry.name)
        if m is None or not entry.is_file(follow_symlinks=False):
            continue
        dead = (m["host"] == _HOST and m["pid"] is not None and int(m["pid"]) != os.getpid()
                and not _pid_running(int(m["pid"])))
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
        except OSError:
            continue
        if dead or old:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass  # removed by another writer meanwhile, or not ours to remove
    return removed


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any] | bytes) -> Path:
    """Write a file atomically.

    Parameters
    ----------
    path : path-like
        The final file name; its folder is created if needed.
    write : callable or bytes
        Either the bytes to write, or a callable given a binary file handle open on
        the temporary file (e.g. ``lambda fh: np.save(fh, array)``).

    Returns
    -------
    pathlib.Path
        ``path``, with the umask's permissions (``0o644`` under the usual umask 022).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a" / "x.txt"
    >>> atomic_write(p, b"hello").read_bytes()
    b'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=".tmp",
                               dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            if isinstance(write, (bytes, bytearray, memoryview)):
                fh.write(write)
            else:
                write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC and str(path) not in str(err):
            raise OSError(errno.ENOSPC, f"no space left on device: cannot write {path}") from err
        raise
    return path
