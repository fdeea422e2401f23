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

:func:`preflight_protocols` and :func:`preflight_weights` are the runner's checks of the
paper scale's data and of the pre-trained weights (re-exported by
:mod:`hashlib_core.runner.cli`).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hashlib_core.atomic import _HOST, _pid_running, atomic_write, remove_stale_temporaries

if TYPE_CHECKING:
    from hashlib_core.runner.grids import GridCell

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
    from hashlib_core.runner.plan import checkpoint_root

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


def _checkpoint_root(root):
    from hashlib_core.runner.plan import checkpoint_root

    return checkpoint_root(root)


def _images_checked(name: str, root: str | Path) -> tuple[bool, Path | None]:
    """Whether the images of list protocol ``name`` passed ``data check`` already (a stamp
    keyed by the list files' contents and the image folder), and the stamp's path."""
    import hashlib

    from hashlib_core.data.cache import sha256_file
    from hashlib_core.data.listfile import LIST_PROTOCOLS, _image_root, find_list_folder

    if name not in LIST_PROTOCOLS:
        return True, None
    try:
        lists = find_list_folder(LIST_PROTOCOLS[name][0])
    except FileNotFoundError:
        return True, None  # load_protocol names what is missing
    parts = [str(_image_root(lists, None).resolve())]
    parts += [sha256_file(f) for f in sorted(lists.glob("*.txt"))]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    stamp = _checkpoint_root(root) / "data-checks" / f"{name}-{key}.ok"
    return stamp.is_file(), stamp


def preflight_protocols(scale: str, cells: list[GridCell], allow: bool,
                        root: str | Path = "results") -> list[str]:
    """Paper scale: the problems that stop the grid before any training, one line each:
    a protocol that cannot be built, split sizes that differ from the paper's (unless
    ``allow``), and, for the list datasets, a missing or corrupt image or a bad list line
    (``python -m hashlib_core.data check``, run once per version of the lists and image
    folder: a stamp beside the results root remembers a passed check)."""
    from hashlib_core.data import load_protocol
    from hashlib_core.data.__main__ import check
    from hashlib_core.data.protocols import size_deviations

    if scale != "paper":
        return []
    problems = []
    for name in dict.fromkeys(c.protocol for c in cells):
        done, stamp = _images_checked(name, root)
        if not done:
            print(f"{name}: checking every listed image once (python -m hashlib_core.data "
                  f"check {name})", file=sys.stderr, flush=True)
            report = check(name, out=sys.stderr)
            errors = report.errors
            for line in errors[:20]:
                problems.append(f"{name}: {line}")
            if len(errors) > 20:
                problems.append(f"{name}: {len(errors) - 20} more problems: python -m "
                                f"hashlib_core.data check {name} lists them all")
            if errors:
                continue
            stamp.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(stamp, "\n".join(report.deviations).encode() + b"\n")
        try:
            p = load_protocol(name)
        except (OSError, ValueError) as err:
            problems.append(f"{name}: {' '.join(str(err).split())}")
            continue
        dev = size_deviations(p)
        if dev and not allow:
            problems.append(f"{name}: not the paper's protocol ({'; '.join(dev)}); check it "
                            f"with python -m hashlib_core.data check {name}, or pass "
                            "--allow-protocol-deviation to run on it (records and tables "
                            "then say so)")
    return problems


def preflight_weights(scale: str, cells: list[GridCell], pretrained: str | None) -> str | None:
    """Resolve (download once when online) the weights the cells need; the one-line error
    when they cannot be had, else None."""
    from hashlib_core import scales
    from hashlib_core.methods import get_method_class
    from hashlib_core.models.weights import resolve_weights

    if not any(get_method_class(c.method).kind != "shallow" for c in cells):
        return None
    preset = scales.preset(scale)
    spec = pretrained if pretrained is not None else preset.get("pretrained")
    try:
        resolve_weights(spec, preset["backbone"])
    except ValueError as err:
        return str(err)
    return None
