"""Validation of a stored record: the types and values of its fields and its query codes
file (present, unaltered, of the record's shape); a record with a problem does not count
as done and no page reads it."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hashlib_core.results.codes import _is_int, _sha256, _shape_problems
from hashlib_core.results.records import RECORD, read_record

#: what a name in a record's key may hold (registry, protocol and variant names): no
#: markup, no path separators, no spaces
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_COMMIT_RE = re.compile(r"^([0-9a-f]{4,40}|unknown)$")
#: scalars a record must hold as finite numbers (every other scalar: a number or null)
REQUIRED_SCALARS = ("map",)
_PROBLEMS_CACHE: dict[tuple, list[str]] = {}



def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _type_problems(record: Mapping[str, Any]) -> list[str]:
    """What is wrong with the types and values of a record's fields (no file is read)."""
    out = []
    key = record.get("key") or {}
    for name in ("scale", "protocol", "method"):
        value = key.get(name)
        if not isinstance(value, str) or not _NAME_RE.match(value):
            out.append(f"key.{name} must be a name (letters, digits, . _ + -), got {value!r}")
    variant = key.get("variant")
    if variant is not None and (not isinstance(variant, str) or not _NAME_RE.match(variant)):
        out.append(f"key.variant must be null or a name (letters, digits, . _ + -), "
                   f"got {variant!r}")
    n_bits, seed = key.get("n_bits"), key.get("seed")
    if not _is_int(n_bits) or n_bits <= 0:
        out.append(f"key.n_bits must be an integer > 0, got {n_bits!r}")
    if not _is_int(seed) or seed < 0:
        out.append(f"key.seed must be an integer >= 0, got {seed!r}")
    config = record.get("config") or {}
    for name in ("method", "n_bits", "seed", "protocol", "scale"):
        if name in config and name in key and config[name] != key[name]:
            out.append(f"config.{name} {config[name]!r} differs from key.{name} {key[name]!r}")
    scalars = record.get("scalars") or {}
    for name in REQUIRED_SCALARS:
        if not _is_number(scalars.get(name)):
            out.append(f"scalars.{name} must be a finite number, got {scalars.get(name)!r}")
    for name, value in scalars.items():
        if name not in REQUIRED_SCALARS and value is not None and not _is_number(value):
            out.append(f"scalars.{name} must be a number or null, got {value!r}")
    for name, value in (record.get("curves") or {}).items():
        if value is not None and not (isinstance(value, list)
                                      and all(v is None or _is_number(v) or isinstance(v, list)
                                              for v in value)):
            out.append(f"curves.{name} must be a list of numbers or null")
    info = record.get("eval_info")
    if info is not None and not isinstance(info, dict):
        out.append("eval_info must be a JSON object")
    prov = record.get("provenance") or {}
    commit = prov.get("git_commit")  # shown on pages (runs tables, provenance lines)
    if commit is not None and not (isinstance(commit, str) and _COMMIT_RE.match(commit)):
        out.append(f"provenance.git_commit must be a hex commit or 'unknown', got {commit!r}")
    copied = prov.get("copied_from")
    if copied is not None and not (isinstance(copied, str) and _NAME_RE.match(copied)):
        out.append(f"provenance.copied_from must be a run folder name, got {copied!r}")
    return out


def _codes_problems(record: Mapping[str, Any], folder: Path) -> list[str]:
    """What is wrong with a record's query codes file: absent, another sha256, not a
    NumPy archive (read with ``allow_pickle=False``), or a shape other than
    (eval_info.n_queries, key.n_bits). Each message names the file."""
    entry = (record.get("files") or {}).get("query_codes")
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return ["files.query_codes must name the query codes file"]
    name = entry["name"]
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        return [f"files.query_codes.name must be a file name in the run's folder, got {name!r}"]
    path = folder / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [f"{path}: query codes file missing"]
    except OSError as err:
        return [f"{path}: query codes file unreadable ({err.strerror or err})"]
    sha = entry.get("sha256")
    if isinstance(sha, str) and sha and _sha256(data) != sha:
        return [f"{path}: query codes file does not match the sha256 in its record"]
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            packed, n_bits, labels = z["packed"], z["n_bits"], z["labels"]
    except Exception as err:  # noqa: BLE001 - any failure to read is a finding
        return [f"{path}: query codes file unreadable ({type(err).__name__}: "
                f"{' '.join(str(err).split())[:120]})"]
    return [f"{path}: {why}" for why in _shape_problems(packed, n_bits, labels, record)]


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _validated(record: dict[str, Any]) -> list[str]:
    """:func:`record_problems` of a record already read (cached on the files' stats)."""
    folder = Path(record["_path"])
    entry = (record.get("files") or {}).get("query_codes")
    codes = folder / entry["name"] if isinstance(entry, dict) and isinstance(
        entry.get("name"), str) and entry["name"] and "/" not in entry["name"] else None
    stamp = (str(folder), _stat(folder / RECORD), _stat(codes) if codes else None)
    if stamp[1] is not None and stamp in _PROBLEMS_CACHE:
        return list(_PROBLEMS_CACHE[stamp])
    found = _type_problems(record)
    found = [f"{folder / RECORD}: {p}" for p in found] + _codes_problems(record, folder)
    if stamp[1] is not None:
        if len(_PROBLEMS_CACHE) > 10_000:
            _PROBLEMS_CACHE.clear()
        _PROBLEMS_CACHE[stamp] = list(found)
    return found


def record_problems(folder: str | Path) -> list[str]:
    """Why the run in ``folder`` (or its ``record.json``) does not count as done; [] when
    its record is valid and complete.

    Checks, each problem one message naming the file: the record reads (JSON, required
    fields); the key's types (``n_bits`` an integer > 0, ``seed`` an integer >= 0, names
    without markup or separators) and agreement with the configuration; ``scalars.map``
    a finite number and every other scalar a number or null; the query codes file named
    in ``files`` exists, matches its sha256, loads with ``allow_pickle=False`` and has
    shape (``eval_info.n_queries``, ``key.n_bits``).

    Examples
    --------
    >>> record_problems("/nonexistent")[0]  # doctest: +ELLIPSIS
    '/nonexistent/record.json: unreadable result record ...'
    """
    path = Path(folder)
    if path.name != RECORD:
        path = path / RECORD
    try:
        record = read_record(path)
    except ValueError as err:
        return [str(err)]
    return _validated(record)
