"""One atomic file writer for the whole package.

Every file that a crash must not leave half-written (decoded-data caches, GIST caches,
checkpoints, result records, run logs) goes through :func:`atomic_write`: the content is
written to a temporary file in the same folder, flushed and fsynced, then renamed over
the target with ``os.replace`` (atomic on POSIX). A reader sees the old file or the new
one, never a mixture, and a failed write leaves no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


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
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a" / "x.txt"
    >>> atomic_write(p, b"hello").read_bytes()
    b'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(write, (bytes, bytearray, memoryview)):
                fh.write(write)
            else:
                write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
