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
import re
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


def portable_log(text: str, *, repo: str | Path, root: str | Path) -> str:
    """A run's executed notebook (``run.ipynb``, stored beside its record) without the
    machine's absolute paths: the results root's folder becomes the root's path relative
    to ``repo`` (or its name when it lies elsewhere), the repository's own folder becomes
    relative (``/work/main/notebooks/x`` -> ``notebooks/x``), and an installed package's
    file is named from its site-packages (warnings print the file they come from).

    Examples
    --------
    >>> portable_log('"root": "/w/r/results", "nb": "/w/r/notebooks/a.ipynb"',
    ...              repo="/w/r", root="/w/r/results")
    '"root": "results", "nb": "notebooks/a.ipynb"'
    >>> portable_log('"root": "/scratch/res/cpu"', repo="/w/r", root="/scratch/res")
    '"root": "res/cpu"'
    >>> portable_log('"/opt/env/lib/python3.11/site-packages/tqdm/auto.py:21: W"',
    ...              repo="/w/r", root="/w/r/results")
    '"<site-packages>/tqdm/auto.py:21: W"'
    """
    repo_abs = os.path.abspath(repo).rstrip(os.sep)
    root_abs = os.path.abspath(root).rstrip(os.sep)
    root_rel = _inside(root_abs, repo_abs) or Path(root_abs).name
    for prefix, rel in sorted({(root_abs, root_rel), (repo_abs, ".")},
                              key=lambda pair: -len(pair[0])):
        text = text.replace(prefix + "/", "" if rel == "." else rel + "/")
        text = text.replace(f'"{prefix}"', f'"{rel}"')
    return site_packages_named(text)


#: an installed package's folder, wherever the Python environment lives
_SITE_PACKAGES = re.compile(r"""(?:[^\s"'\\]*/)?lib/python3\.\d+/site-packages/""")


def site_packages_named(text: str) -> str:
    """``text`` with every installed package's folder written ``<site-packages>/``."""
    return _SITE_PACKAGES.sub("<site-packages>/", text)
