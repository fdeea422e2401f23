"""Paths in a record: relative to the results root, never an absolute path of the machine
that made the run (a record is committed, copied and read on other machines).

A record's configuration holds the folders a run used (``run_dir``, ``data_root``,
``cache_dir``: :data:`PATH_FIELDS`, none of which decides a result); its provenance holds
the notebook that made it and the weights file it loaded. An absolute path inside the
results root is stored relative to it; any other absolute path names a folder on the
author's machine only: a configuration folder becomes null, a provenance file keeps its
name (the weights file is identified by its sha256 beside it). ``config.pretrained`` is
left as it is: it decides the result (a weights name, or the path of a weights file). Relative paths and nulls
stay as they are, so making a record portable twice changes nothing.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: configuration fields that hold a folder of the machine that ran (not a result setting)
PATH_FIELDS = ("run_dir", "data_root", "cache_dir")


def is_absolute(value: Any) -> bool:
    """True for a string that is an absolute path here, in POSIX or in Windows form
    (``/work/x``, ``~/x``, ``C:\\x``, ``\\\\server\\x``).

    Examples
    --------
    >>> [is_absolute(p) for p in ("/work/x", "~/x", "C:\\\\x", "runs/x", None)]
    [True, True, True, False, False]
    """
    if not isinstance(value, str) or not value:
        return False
    return (posixpath.isabs(value) or value.startswith("~") or ntpath.isabs(value)
            or bool(ntpath.splitdrive(value)[0]))


def _inside(path: str, root: str | Path | None) -> str | None:
    """``path`` relative to ``root`` (POSIX form) when it lies inside it, else None."""
    if root is None or not posixpath.isabs(path):
        return None
    base = os.path.realpath(root)
    target = os.path.realpath(path)
    if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
        return None
    return Path(os.path.relpath(target, base)).as_posix()


def portable_folder(value: Any, root: str | Path | None) -> Any:
    """A folder setting as a record stores it: relative to ``root`` when inside it, None
    when absolute elsewhere, unchanged otherwise (relative, None, not a string)."""
    if not is_absolute(value):
        return value
    return _inside(value, root)


def portable_file(value: Any, root: str | Path | None) -> Any:
    """A provenance file as a record stores it: relative to ``root`` when inside it, its
    name when absolute elsewhere, unchanged otherwise."""
    if not is_absolute(value):
        return value
    inside = _inside(value, root)
    return inside if inside is not None else ntpath.basename(posixpath.basename(value))


def portable_config(config: Mapping[str, Any], root: str | Path | None) -> dict[str, Any]:
    """``config`` with its :data:`PATH_FIELDS` made portable (a copy)."""
    out = dict(config)
    for name in PATH_FIELDS:
        if name in out:
            out[name] = portable_folder(out[name], root)
    return out


def portable_provenance(provenance: Mapping[str, Any],
                        root: str | Path | None) -> dict[str, Any]:
    """``provenance`` with its notebook and its weights file (``run.weights.path`` and
    ``.spec``) made portable (a copy)."""
    out = dict(provenance)
    if "notebook" in out:
        out["notebook"] = portable_file(out["notebook"], root)
    run = out.get("run")
    if isinstance(run, dict) and isinstance(run.get("weights"), dict):
        weights = {k: portable_file(v, root) if k in ("path", "spec") else v
                   for k, v in run["weights"].items()}
        out["run"] = {**run, "weights": weights}
    return out


def absolute_paths(value: Any, where: str = "") -> list[str]:
    """Every string in a JSON value that is an absolute path, as ``"where: path"``.

    Examples
    --------
    >>> absolute_paths({"config": {"run_dir": "/tmp/x", "lr": 0.1}})
    ['config.run_dir: /tmp/x']
    """
    if isinstance(value, dict):
        return [p for k, v in value.items()
                for p in absolute_paths(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in absolute_paths(v, f"{where}[{i}]")]
    return [f"{where}: {value}"] if is_absolute(value) else []
