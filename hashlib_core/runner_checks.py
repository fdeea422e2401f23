"""The grid runner's checks of the folders it writes, and its clean-up of leftovers.

:func:`folder_problems` is the runner's part of the preflight: every folder a run writes
(the results root, the checkpoint folder ``<root>.checkpoints`` beside it with its
``claims/``, the artifacts and the logs) must be a folder, not a file, and writable; the
missing ones are created (so the documented commands work in a fresh clone). Each problem
is one line for :func:`hashlib_core.preflight.report`. With ``create=False`` (``--dry-run``,
which writes nothing) it only refuses a path that is a file or lies under a file.

:func:`sweep_leftovers` removes what a killed runner left in a cell's folders: the
temporary file of an atomic write (``.run.ipynb.<host>-<pid>.<random>.tmp`` when killed
while copying the log next to the record) whose process is gone, and the partial log
notebook of a runner that no longer runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hashlib_core.atomic import _HOST, _pid_running, remove_stale_temporaries

#: a log notebook while its runner writes it: ``<run id>.running-<host>-<pid>.ipynb``
_RUNNING_LOG = re.compile(r"^(?P<stem>.+)\.running-(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.ipynb$")


def _file_above(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` (itself included) that is not a folder."""
    for p in (path, *path.parents):
        if p.exists():
            return None if p.is_dir() else p
    return None


def folder_problems(root: str | os.PathLike, artifacts: str | os.PathLike,
                    logs: str | os.PathLike, *, create: bool = True) -> list[str]:
    """One line per folder of a run that is a file, lies under a file, or (``create``)
    cannot be created or written; the missing ones are created when ``create``."""
    from hashlib_core import preflight
    from hashlib_core.reproduce import checkpoint_root

    folders = [(Path(root), "results folder (--root)"),
               (checkpoint_root(root), "checkpoint folder (beside --root)"),
               (checkpoint_root(root) / "claims", "claims folder"),
               (Path(artifacts), "artifacts folder (--artifacts)"),
               (Path(logs), "logs folder (--logs)")]
    problems: list[str] = []
    failed: list[Path] = []
    for path, what in folders:
        if any(f == path or f in path.parents for f in failed):
            continue  # one line for a folder that cannot be used, not one per folder in it
        if what in ("checkpoint folder (beside --root)", "claims folder") and Path(root) in failed:
            continue  # beside a root that cannot be used: the same cause
        blocker = _file_above(path)
        if blocker == path:
            found = [f"{what} {path} is a file, not a folder"]
        elif blocker is not None:
            found = [f"{what} {path} cannot be created: {blocker} is a file, not a folder"]
        elif create:
            found = preflight.check_writable(path, what)
        else:
            found = []
        if found:
            failed.append(path)
        problems += found[:1]
    return problems


def sweep_leftovers(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of killed writes (:func:`hashlib_core.atomic.
    remove_stale_temporaries`) and the partial log notebooks of runners that no longer
    run (same host) in ``folder``; returns what was removed."""
    removed = remove_stale_temporaries(folder)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _RUNNING_LOG.match(entry.name)
        if m is None or m["host"] != _HOST or int(m["pid"]) == os.getpid():
            continue
        if not _pid_running(int(m["pid"])):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def running_log(out: Path) -> Path:
    """The name this process writes ``out`` (a log notebook) under while the cell runs."""
    return out.with_name(f"{out.stem}.running-{_HOST}-{os.getpid()}.ipynb")


def short_notebook_errors(shell=None) -> bool:
    """In a notebook kernel (``notebooks/train_eval.ipynb`` calls it first): render the
    errors a user fixes without reading code (weights that are missing, data that is
    missing, a protocol that deviates without ``allow_protocol_deviation``) as one
    ``error: ...`` line instead of a traceback, in the notebook and in what papermill
    reports. Other exceptions keep their traceback. False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - papermill needs IPython
        return False
    shell = shell or get_ipython()
    if shell is None:
        return False
    from hashlib_core.engine.train import ProtocolDeviation
    from hashlib_core.models.weights import WeightsUnavailable

    def one_line(self, etype, value, tb, tb_offset=None):
        stb = ["error: " + " ".join(str(value).split())]
        self._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((WeightsUnavailable, ProtocolDeviation, FileNotFoundError), one_line)
    return True
