"""The results store: one record per run, written atomically, read back as a tidy table.

Layout (``root`` is ``results/`` by default, committed; ``artifacts`` is
``runs/artifacts/``, git-ignored)::

    results/<scale>/<protocol>/manifest-<sha12>.json      the protocol manifest (shared by runs)
    results/<scale>/<protocol>/<method>/<run_id>/
        record.json                  config, scalars, curves, history, timings, provenance
        query_codes-<sha12>.npz      packed query codes + query labels (small: committed)
        run.ipynb                    the executed train_eval notebook (written by the runner)
    runs/artifacts/<scale>/<protocol>/<method>/<run_id>/
        db_codes-<sha12>.npz         packed database codes + labels (large: not committed)

``run_id`` is ``<n_bits>b_seed<seed>``, or ``<n_bits>b_seed<seed>_<variant>`` for an
ablation variant of a method (e.g. ``32b_seed0_segments3``).

``record.json`` is the commit point of a run: it is written last, by ``os.replace`` of a
complete temporary file, and it names the codes files by their content hash. A crash at
any moment leaves either the old record (pointing at its old, still present codes) or
the new one, never a mix. Readers verify the hashes.

:func:`load_results` returns one row per run (the ``key`` columns, provenance columns,
and one column per scalar metric, NaN where a run lacks it): a tidy table whose
observational unit is a run. :func:`load_curves` returns the same rows with one column
per curve holding a NumPy array.

A corrupt or unreadable ``record.json`` (truncated, not JSON, missing fields, no read
permission) never stops a reader: :func:`iter_records` skips it with a
:class:`CorruptRecordWarning` naming the file and the reason, and :func:`load_results` /
:func:`load_curves` list the skipped files in ``df.attrs["skipped_records"]``
(:func:`skipped_note` turns that into a sentence for a page). The batch runner treats
such a cell as not done and reruns it. So is a record that reads but is not valid
(:func:`record_problems`: a key or scalar of the wrong type, a name with markup, a codes
file that is missing, altered, pickled or of another shape than the record's ``n_bits``
and ``eval_info.n_queries``): readers skip it the same way, naming the file.

What a run was made with: :func:`settings_differences` compares the result-determining
settings stored in a record (its configuration without device, paths and workers, and
the protocol manifest's hash) with the settings wanted now; the batch runner counts a
record as done only when they agree.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import platform
import re
import subprocess
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashlib_core.atomic import atomic_write
from hashlib_core.jsonable import jsonable as _jsonable

SCHEMA = 1
RECORD = "record.json"
class CorruptRecordWarning(UserWarning):
    """A stored record could not be read and was skipped (the message names the file)."""
KEY_COLUMNS = ["scale", "protocol", "method", "variant", "n_bits", "seed"]
_REPO = Path(__file__).resolve().parents[1]
_VERSIONED = ("torch", "torchvision", "numpy", "scikit-learn", "pandas", "hashlib_core")


# --------------------------------------------------------------------------- paths
def run_id(n_bits: int, seed: int, variant: str | None = None) -> str:
    """Folder name of a run: ``"32b_seed0"`` or ``"32b_seed0_<variant>"``."""
    base = f"{int(n_bits)}b_seed{int(seed)}"
    return f"{base}_{variant}" if variant else base


def record_dir(
    root: str | Path, *, scale: str, protocol: str, method: str, n_bits: int, seed: int,
    variant: str | None = None,
) -> Path:
    """Folder of one run's record under ``root``."""
    _check_name("variant", variant, allow_none=True)
    return Path(root) / scale / protocol / method / run_id(n_bits, seed, variant)


def _check_name(what: str, value: str | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, str) or not value or any(c in value for c in "/\\ \t\n"):
        raise ValueError(f"{what} must be a non-empty name without '/' or spaces, got {value!r}")


# --------------------------------------------------------------------------- writing
def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _codes_npz(codes: Any, labels: Any, what: str) -> bytes:
    codes = np.asarray(codes.detach().cpu() if hasattr(codes, "detach") else codes)
    if codes.ndim != 2 or not np.isin(codes, (-1, 1)).all():
        raise ValueError(f"{what}: codes must be a 2-D array of -1/+1, got shape {codes.shape}")
    labels = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
    if labels.shape[0] != codes.shape[0]:
        raise ValueError(f"{what}: {codes.shape[0]} codes but {labels.shape[0]} labels")
    return _npz_bytes(
        packed=np.packbits(codes > 0, axis=1),
        n_bits=np.array(codes.shape[1]),
        labels=labels.astype(np.uint8) if labels.ndim == 2 else labels.astype(np.int64),
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_commit(repo: str | Path = _REPO) -> str:
    """``git rev-parse HEAD`` of ``repo``, or ``"unknown"`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def host_info() -> dict[str, Any]:
    """The machine a run was made on: host name, CPU model, logical cores, OS, and (when
    torch is already imported) its build: CUDA version, BLAS and threads. The same seed
    gives bit-identical codes on one machine, and codes within seed noise on another."""
    import os
    import sys

    info: dict[str, Any] = {"hostname": platform.node() or "unknown", "cpu": _cpu_model(),
                            "logical_cores": os.cpu_count(), "machine": platform.machine(),
                            "os": platform.platform(terse=True)}
    torch = sys.modules.get("torch")
    if torch is not None:
        build = ""
        try:
            build = torch.__config__.show()
        except Exception:  # noqa: BLE001 - a build string is informative, never required
            pass
        blas = [part.split("=", 1)[1] for line in build.splitlines()
                for part in line.replace(",", " ").split() if part.startswith("BLAS_INFO=")]
        info.update({"torch_cuda": getattr(torch.version, "cuda", None),
                     "blas": blas[0] if blas else "unknown",
                     "torch_threads": torch.get_num_threads()})
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on (``"absent"`` if not installed)."""
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _config_dict(config: Any) -> dict[str, Any]:
    """A run configuration as plain JSON values (``RunConfig.to_dict()`` when it has one)."""
    if isinstance(config, dict):
        return _jsonable(config)
    if hasattr(config, "to_dict"):
        return _jsonable(config.to_dict())
    return _jsonable(config)


def _config_key(config: Any) -> dict[str, Any]:
    """The key fields of a run configuration (a RunConfig or a dict)."""
    cfg = _config_dict(config)
    missing = [k for k in ("scale", "protocol", "method", "n_bits", "seed") if k not in cfg]
    if missing:
        raise ValueError(f"run config lacks {missing}; has {sorted(cfg)}")
    key = {k: cfg[k] for k in ("scale", "protocol", "method", "n_bits", "seed")}
    key["variant"] = cfg.get("variant") or None
    for name in ("scale", "protocol", "method"):
        _check_name(name, key[name])
    return key


def save_run(
    result: Any,
    *,
    root: str | Path = "results",
    artifacts: str | Path | None = "runs/artifacts",
    notebook: str | None = None,
    variant: str | None = None,
) -> Path:
    """Store one run: its record, manifest, packed query codes, and database codes.

    Parameters
    ----------
    result : hashlib_core.engine.RunResult
        A finished run: ``config`` (RunConfig with scale, protocol, method, n_bits, seed),
        ``query_codes`` (n_query, n_bits) and ``db_codes`` (n_db, n_bits) in {-1,+1},
        ``query_labels``/``db_labels`` (n, n_classes), ``eval`` (EvalResult with
        ``scalars`` and ``curves``), ``history``, ``best_epoch``, ``timings``, ``device``,
        ``manifest`` (dict) and ``manifest_sha256``.
    root : str or Path
        The committed results folder.
    artifacts : str or Path or None
        Where the large database codes go (not committed); None skips them.
    notebook : str, optional
        The notebook that produced the run (recorded in the provenance).
    variant : str, optional
        Ablation variant name; defaults to ``result.config.variant`` when present.

    Returns
    -------
    Path
        The run's folder (``record.json`` inside).
    """
    key = _config_key(result.config)
    if variant is not None:
        _check_name("variant", variant)
        key["variant"] = variant
    folder = record_dir(root, **key)
    folder.mkdir(parents=True, exist_ok=True)

    manifest = _jsonable(getattr(result, "manifest", None) or {})
    manifest_sha = str(getattr(result, "manifest_sha256", "") or "unknown")
    manifest_name = None
    if manifest:
        manifest_name = f"manifest-{manifest_sha[:12]}.json"
        mpath = folder.parent.parent / manifest_name
        if not mpath.exists():
            atomic_write(mpath, json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())

    width = np.shape(result.query_codes)[-1] if np.ndim(result.query_codes) == 2 else None
    if width is not None and _is_int(key["n_bits"]) and width != key["n_bits"]:
        raise ValueError(f"{folder}: query codes of {width} bits for a run of "
                         f"n_bits={key['n_bits']}: such a record would not count as done")
    q_bytes = _codes_npz(result.query_codes, result.query_labels, f"{folder} query")
    q_sha = _sha256(q_bytes)
    q_name = f"query_codes-{q_sha[:12]}.npz"
    atomic_write(folder / q_name, q_bytes)

    db_entry = None
    if artifacts is not None and getattr(result, "db_codes", None) is not None:
        d_bytes = _codes_npz(result.db_codes, result.db_labels, f"{folder} database")
        d_sha = _sha256(d_bytes)
        d_dir = record_dir(artifacts, **key)
        d_name = f"db_codes-{d_sha[:12]}.npz"
        atomic_write(d_dir / d_name, d_bytes)
        for old in d_dir.glob("db_codes-*.npz"):
            if old.name != d_name:
                old.unlink()
        db_entry = {"name": d_name, "sha256": d_sha}

    ev = result.eval
    timings = _jsonable(getattr(result, "timings", {}) or {})
    record = {
        "schema": SCHEMA,
        "key": key,
        "config": _config_dict(result.config),
        "scalars": _jsonable(dict(ev.scalars)),
        "curves": _jsonable(dict(ev.curves)),
        "eval_info": _jsonable(dict(getattr(ev, "info", {}) or {})),
        "history": _jsonable(getattr(result, "history", None)),
        "best_epoch": _jsonable(getattr(result, "best_epoch", None)),
        "timings": timings,
        "provenance": {
            "manifest_sha256": manifest_sha,
            "manifest_file": manifest_name,
            "git_commit": git_commit(),
            "versions": package_versions(),
            "host": host_info(),
            "device": str(getattr(result, "device", "unknown")),
            "wall_time_s": _wall_time(timings),
            "notebook": notebook,
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            # weights sha256, world size, global batch, protocol sizes vs the paper's
            "run": _jsonable(getattr(result, "run_info", None) or {}),
        },
        "files": {"query_codes": {"name": q_name, "sha256": q_sha}, "db_codes": db_entry},
    }
    text = json.dumps(record, separators=(",", ":"), allow_nan=False)  # compact: ~35% smaller
    atomic_write(folder / RECORD, text.encode())
    for old in folder.glob("query_codes-*.npz"):
        if old.name != q_name:
            old.unlink()
    # database codes stored beside an earlier record of this cell (the retrieval page's,
    # scripts/store_db_codes.py) belong to that run, not to this one
    for old in folder.glob("db_codes-*.npz"):
        if db_entry is None or old.name != db_entry["name"]:
            old.unlink()
    return folder


def _wall_time(timings: dict[str, Any]) -> float | None:
    for name in ("total_s", "total", "wall_s", "wall_time_s"):
        if isinstance(timings.get(name), (int, float)):
            return float(timings[name])
    vals = [v for v in timings.values() if isinstance(v, (int, float))]
    return float(sum(vals)) if vals else None


# --------------------------------------------------------------------------- reading
def read_record(path: str | Path) -> dict[str, Any]:
    """Read and check one ``record.json`` (a file, or the run folder that holds it).

    Raises
    ------
    ValueError
        If the file is not valid JSON (e.g. half-written) or lacks a required field;
        the message names the file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RECORD
    try:
        record = json.loads(path.read_bytes().decode("utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: corrupt result record (not valid JSON: {err})") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: corrupt result record (not UTF-8: {err})") from None
    except OSError as err:
        raise ValueError(f"{path}: unreadable result record ({err.strerror or err})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: corrupt result record (top level is not an object)")
    missing = [k for k in ("schema", "key", "config", "scalars", "curves", "provenance", "files")
               if k not in record]
    if missing:
        raise ValueError(f"{path}: corrupt result record, missing fields {missing}")
    if record["schema"] != SCHEMA:
        raise ValueError(f"{path}: record schema {record['schema']!r}, this code reads {SCHEMA}")
    wrong = [k for k in ("key", "config", "scalars", "curves", "provenance", "files")
             if not isinstance(record[k], dict)]
    if wrong:
        raise ValueError(f"{path}: corrupt result record, {wrong} must be JSON objects")
    missing = [k for k in KEY_COLUMNS if k not in record["key"]]
    if missing:
        raise ValueError(f"{path}: corrupt result record, key lacks {missing}")
    record["_path"] = str(path.parent)
    return record


#: what a name in a record's key may hold (registry, protocol and variant names): no
#: markup, no path separators, no spaces
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_COMMIT_RE = re.compile(r"^([0-9a-f]{4,40}|unknown)$")
#: scalars a record must hold as finite numbers (every other scalar: a number or null)
REQUIRED_SCALARS = ("map",)
_PROBLEMS_CACHE: dict[tuple, list[str]] = {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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


def _shape_problems(packed: np.ndarray, n_bits: Any, labels: np.ndarray,
                    record: Mapping[str, Any] | None = None) -> list[str]:
    """Shape checks of a packed codes archive (against its record when given)."""
    if packed.dtype != np.uint8 or packed.ndim != 2:
        return [f"packed codes must be a 2-D uint8 array, got {packed.dtype} of shape "
                f"{packed.shape}"]
    if np.ndim(n_bits) != 0 or not np.issubdtype(np.asarray(n_bits).dtype, np.integer):
        return [f"n_bits must be one integer, got {n_bits!r}"]
    n_bits = int(n_bits)
    out = []
    if n_bits <= 0 or packed.shape[1] != (n_bits + 7) // 8:
        out.append(f"codes of shape {packed.shape} (packed) cannot hold {n_bits} bits")
    if labels.ndim not in (1, 2) or labels.shape[0] != packed.shape[0]:
        out.append(f"{packed.shape[0]} codes but labels of shape {labels.shape}")
    if record is not None:
        key_bits = (record.get("key") or {}).get("n_bits")
        if _is_int(key_bits) and n_bits != key_bits:
            out.append(f"codes of {n_bits} bits, the record's key.n_bits is {key_bits}")
        n_queries = (record.get("eval_info") or {}).get("n_queries")
        if _is_int(n_queries) and packed.shape[0] != n_queries:
            out.append(f"{packed.shape[0]} query codes, the record's eval_info.n_queries "
                       f"is {n_queries}")
    if packed.shape[0] == 0:
        out.append("no query codes")
    return out


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


def iter_records(
    root: str | Path = "results", *, scale: str | None = None,
    skipped: list[str] | None = None, strict: bool = False, validate: bool = True,
) -> Iterator[dict]:
    """Every readable and valid record under ``root`` (of one scale if given), in sorted
    path order.

    Parameters
    ----------
    validate : bool
        Skip (with the warning) a record that :func:`record_problems` finds fault with:
        wrong types, a missing or altered codes file, codes of another shape. Default
        True: a page never reads such a record.
    skipped : list, optional
        Receives one message (file and reason) per record that could not be read.
    strict : bool
        Raise the ``ValueError`` of an unreadable record instead of skipping it.

    Warns
    -----
    CorruptRecordWarning
        Once per skipped record, naming its file and the reason.
    """
    base = Path(root) / scale if scale else Path(root)
    pattern = f"*/*/*/{RECORD}" if scale else f"*/*/*/*/{RECORD}"
    for path in sorted(base.glob(pattern)):
        try:
            record = read_record(path)
            if validate:
                found = _validated(record)
                if found:
                    raise ValueError(f"{path}: invalid result record: " + "; ".join(
                        p.removeprefix(f"{path}: ") for p in found))
        except ValueError as err:
            if strict:
                raise
            warnings.warn(f"skipped: {err}", CorruptRecordWarning, stacklevel=2)
            if skipped is not None:
                skipped.append(str(err))
            continue
        yield record


def skipped_note(df: pd.DataFrame) -> str:
    """A sentence for a page whose table or figure left out unreadable records ("" if none).

    Examples
    --------
    >>> skipped_note(pd.DataFrame())
    ''
    """
    skipped = df.attrs.get("skipped_records") or []
    if not skipped:
        return ""
    from html import escape

    files = "; ".join(escape(m.split(": ", 1)[0], quote=False) for m in skipped)
    n = len(skipped)
    return (f"{n} stored run{'s were' if n > 1 else ' was'} left out: "
            f"{'their records are' if n > 1 else 'its record is'} unreadable ({files}).")


def _select(records, *, variant: str | None = "any", **where) -> list[dict]:
    """Records whose key matches ``where`` (None = any value); ``variant="any"`` = any."""
    out = []
    for rec in records:
        key = rec["key"]
        if any(v is not None and key[k] != v for k, v in where.items()):
            continue
        if variant != "any" and key["variant"] != variant:
            continue
        out.append(rec)
    return out


def _row(rec: dict) -> dict[str, Any]:
    prov = rec["provenance"]
    row = dict(rec["key"])
    row.update(
        best_epoch=rec.get("best_epoch"),
        wall_time_s=prov.get("wall_time_s"),
        copied_from=prov.get("copied_from"),  # the tuning run this record is a copy of
        device=prov.get("device"),
        git_commit=prov.get("git_commit"),
        manifest_sha256=prov.get("manifest_sha256"),
        path=rec["_path"],
        # a run on a protocol whose sizes are not the paper's (allowed explicitly)
        protocol_deviation=bool((prov.get("run") or {}).get("protocol_deviation_allowed")),
    )
    for name, value in rec["scalars"].items():
        row[name] = np.nan if value is None else float(value)
    return row


def load_results(
    scale: str | None = None,
    *,
    root: str | Path = "results",
    protocol: str | None = None,
    method: str | None = None,
    variant: str | None = "any",
) -> pd.DataFrame:
    """All stored runs as a DataFrame, one row per run.

    Parameters
    ----------
    scale, protocol, method : str, optional
        Filters (None = all).
    variant : str or None
        ``"any"`` (default) keeps every run; ``None`` only the default (non-ablation) runs;
        a name only that variant.

    Returns
    -------
    pandas.DataFrame
        Columns ``scale, protocol, method, variant, n_bits, seed`` (the key),
        ``best_epoch, wall_time_s, device, git_commit, manifest_sha256, path``, then one
        float column per scalar metric (``map``, ``precision_top5000``, ``precision_r2``,
        ``mac`` ...; NaN where a run lacks it). Empty (with the key columns) if no run.
        ``df.attrs["skipped_records"]``: one message (file: reason) per unreadable record
        left out (under ``root``/``scale``, whatever the other filters); each was also
        warned about (:class:`CorruptRecordWarning`).
    """
    skipped: list[str] = []
    recs = _select(iter_records(root, scale=scale, skipped=skipped), protocol=protocol,
                   method=method, variant=variant)
    rows = [_row(r) for r in recs]
    base = KEY_COLUMNS + ["best_epoch", "wall_time_s", "device", "git_commit",
                          "manifest_sha256", "path", "protocol_deviation"]
    df = pd.DataFrame(rows, columns=base + sorted({k for r in rows for k in r} - set(base)))
    if len(df):
        df = df.astype({"n_bits": "int64", "seed": "int64"})
    df.attrs["skipped_records"] = skipped
    return df


def load_curves(
    scale: str | None = None,
    *,
    root: str | Path = "results",
    protocol: str | None = None,
    method: str | None = None,
    n_bits: int | None = None,
    variant: str | None = None,
) -> pd.DataFrame:
    """The curves of the stored runs: one row per run, one column per curve.

    Returns
    -------
    pandas.DataFrame
        The key columns, then one column per curve name (``pr_radius``,
        ``pr_precision``, ``pr_recall``, ``pn_n``, ``pn_precision``,
        ``bit_correlation`` ...), each cell a float NumPy array (NaN for a stored null).
        By default only non-ablation runs (``variant=None``); pass ``"any"`` for all.
        ``df.attrs["skipped_records"]`` as for :func:`load_results`.
    """
    skipped: list[str] = []
    recs = _select(iter_records(root, scale=scale, skipped=skipped), protocol=protocol,
                   method=method, n_bits=n_bits, variant=variant)
    rows = []
    for rec in recs:
        row = dict(rec["key"])
        for name, values in rec["curves"].items():
            # a stored null (NaN when written) becomes NaN again
            row[name] = np.asarray(values if values is not None else [], dtype=float)
        rows.append(row)
    df = pd.DataFrame(rows, columns=KEY_COLUMNS + sorted(
        {k for r in rows for k in r} - set(KEY_COLUMNS)))
    df.attrs["skipped_records"] = skipped
    return df


def _read_codes(path: Path, sha256: str | None) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: codes file not found")
    data = path.read_bytes()
    if sha256 and _sha256(data) != sha256:
        raise ValueError(f"{path}: codes file does not match the sha256 in its record")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            packed, n_bits, labels = z["packed"], z["n_bits"], z["labels"]
    except Exception as err:  # noqa: BLE001 - re-raised naming the file
        raise ValueError(f"{path}: codes file unreadable ({type(err).__name__}: "
                         f"{' '.join(str(err).split())[:120]})") from None
    wrong = _shape_problems(packed, n_bits, labels)  # before use: no kernel dies on it
    if wrong:
        raise ValueError(f"{path}: {'; '.join(wrong)}")
    bits = np.unpackbits(packed, axis=1, count=int(n_bits))
    return bits.astype(np.int8) * 2 - 1, labels


def _one_record(root, where) -> dict:
    skipped: list[str] = []
    recs = _select(iter_records(root, scale=where["scale"], skipped=skipped), **where)
    if not recs:  # the record is there but invalid: say why, naming the file
        wanted = str(record_dir(root, **where) / RECORD)
        why = next((m for m in skipped if m.startswith(wanted)), None)
        if why is not None:
            raise ValueError(why)
    if len(recs) != 1:
        raise ValueError(f"{len(recs)} records under {root} match {where} (need exactly 1)")
    return recs[0]


def load_query_codes(
    scale: str, protocol: str, method: str, n_bits: int, *, seed: int = 0,
    variant: str | None = None, root: str | Path = "results",
) -> tuple[np.ndarray, np.ndarray]:
    """Query codes (n_query, n_bits) int8 in {-1,+1} and query labels of one run."""
    where = dict(scale=scale, protocol=protocol, method=method, n_bits=n_bits, seed=seed,
                 variant=variant)
    rec = _one_record(root, where)
    entry = rec["files"]["query_codes"]
    return _read_codes(Path(rec["_path"]) / entry["name"], entry["sha256"])


def load_db_codes(
    scale: str, protocol: str, method: str, n_bits: int, *, seed: int = 0,
    variant: str | None = None, root: str | Path = "results",
    artifacts: str | Path = "runs/artifacts",
) -> tuple[np.ndarray, np.ndarray]:
    """Database codes (n_db, n_bits) and labels of one run, from the artifacts folder.

    Raises FileNotFoundError when the artifacts are absent (they are not committed).
    """
    where = dict(scale=scale, protocol=protocol, method=method, n_bits=n_bits, seed=seed,
                 variant=variant)
    rec = _one_record(root, where)
    entry = rec["files"].get("db_codes")
    if not entry:
        raise FileNotFoundError(f"{rec['_path']}: the run stored no database codes")
    folder = record_dir(artifacts, **rec["key"])
    return _read_codes(folder / entry["name"], entry["sha256"])


def has_record(root: str | Path, **key: Any) -> bool:
    """True if a readable and valid record (:func:`record_problems`) exists for ``key``
    (scale, protocol, method, n_bits, seed, variant), whatever settings it was made with
    (see :func:`settings_differences`)."""
    path = record_dir(root, **key) / RECORD
    if not path.is_file():
        return False
    return not record_problems(path)


#: what the book reads from every record (code health, issue 13) and, for a default run
#: (no variant), the per-query values of its paired bootstrap (the claims page)
RECORD_SCALARS = ("distinct_bits", "constant_bits")
DEFAULT_RUN_CURVES = ("per_query_map",)


def record_gaps(record: Mapping[str, Any]) -> list[str]:
    """What a record lacks of what the current evaluation stores and the book reads
    (:data:`RECORD_SCALARS`, and :data:`DEFAULT_RUN_CURVES` for a default run); [] when
    nothing. A record with gaps was made by older code: the runner makes it again."""
    scalars, curves = record.get("scalars") or {}, record.get("curves") or {}
    key = record.get("key") or {}
    gaps = [name for name in RECORD_SCALARS
            if name not in scalars and int(key.get("n_bits") or 2) >= 2]
    if not key.get("variant"):
        gaps += [name for name in DEFAULT_RUN_CURVES if name not in curves]
    return gaps


def load_manifest(scale: str, protocol: str, *, root: str | Path = "results") -> dict:
    """The protocol manifest stored beside the runs of ``scale``/``protocol``.

    Raises
    ------
    FileNotFoundError
        If the folder holds no manifest.
    ValueError
        If it holds several (runs of one protocol made on different splits), or the file
        cannot be read (the message names it).
    """
    folder = Path(root) / scale / protocol
    found = sorted(folder.glob("manifest-*.json"))
    if not found:
        raise FileNotFoundError(f"{folder}: no manifest-*.json (no run of this protocol stored)")
    if len(found) > 1:
        raise ValueError(f"{folder}: {len(found)} manifests ({', '.join(p.name for p in found)}); "
                         "the runs of one protocol were made on different splits")
    try:
        return json.loads(found[0].read_bytes().decode("utf-8"))
    except (ValueError, OSError) as err:
        raise ValueError(f"{found[0]}: unreadable protocol manifest ({err})") from None
