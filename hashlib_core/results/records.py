"""One record of the results store: its folder's name, writing it (:func:`save_run`: the
record, the protocol manifest and the codes files, the record last), and reading it back
(:func:`read_record`), with what it lacks of what the book reads (:func:`record_gaps`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from hashlib_core.atomic import atomic_write
from hashlib_core.jsonable import jsonable as _jsonable
from hashlib_core.results.codes import _codes_npz, _is_int, _sha256
from hashlib_core.results.portable import portable_config, portable_provenance
from hashlib_core.results.provenance import git_commit, host_info, package_versions
from hashlib_core.results.revisions import current_revision, stale_revision

SCHEMA = 1
RECORD = "record.json"
KEY_COLUMNS = ["scale", "protocol", "method", "variant", "n_bits", "seed"]


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
    manifest_sha, manifest_name = _store_manifest(result, folder)
    files = {"query_codes": _store_query_codes(result, key, folder),
             "db_codes": _store_db_codes(result, key, folder, artifacts)}
    record = _record(result, key, root=root, notebook=notebook, manifest_sha=manifest_sha,
                     manifest_name=manifest_name, files=files)
    text = json.dumps(record, separators=(",", ":"), allow_nan=False)  # compact: ~35% smaller
    atomic_write(folder / RECORD, text.encode())
    _remove_stale_codes(folder, files)
    return folder


def _store_manifest(result: Any, folder: Path) -> tuple[str, str | None]:
    """Write the protocol manifest beside the runs of its protocol (once); its sha256 and
    file name (None when the run has no manifest)."""
    manifest = _jsonable(getattr(result, "manifest", None) or {})
    manifest_sha = str(getattr(result, "manifest_sha256", "") or "unknown")
    manifest_name = None
    if manifest:
        manifest_name = f"manifest-{manifest_sha[:12]}.json"
        mpath = folder.parent.parent / manifest_name
        if not mpath.exists():
            atomic_write(mpath, json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
    return manifest_sha, manifest_name


def _store_query_codes(result: Any, key: dict[str, Any], folder: Path) -> dict[str, str]:
    """Write the packed query codes into the run's folder; their ``files`` entry."""
    width = np.shape(result.query_codes)[-1] if np.ndim(result.query_codes) == 2 else None
    if width is not None and _is_int(key["n_bits"]) and width != key["n_bits"]:
        raise ValueError(f"{folder}: query codes of {width} bits for a run of "
                         f"n_bits={key['n_bits']}: such a record would not count as done")
    q_bytes = _codes_npz(result.query_codes, result.query_labels, f"{folder} query")
    q_sha = _sha256(q_bytes)
    q_name = f"query_codes-{q_sha[:12]}.npz"
    atomic_write(folder / q_name, q_bytes)
    return {"name": q_name, "sha256": q_sha}


def _store_db_codes(result: Any, key: dict[str, Any], folder: Path,
                    artifacts: str | Path | None) -> dict[str, str] | None:
    """Write the packed database codes under ``artifacts`` (replacing the cell's older
    ones); their ``files`` entry, None when not stored."""
    if artifacts is None or getattr(result, "db_codes", None) is None:
        return None
    d_bytes = _codes_npz(result.db_codes, result.db_labels, f"{folder} database")
    d_sha = _sha256(d_bytes)
    d_dir = record_dir(artifacts, **key)
    d_name = f"db_codes-{d_sha[:12]}.npz"
    atomic_write(d_dir / d_name, d_bytes)
    for old in d_dir.glob("db_codes-*.npz"):
        if old.name != d_name:
            old.unlink()
    return {"name": d_name, "sha256": d_sha}


def _record(result: Any, key: dict[str, Any], *, root: str | Path, notebook: str | None,
            manifest_sha: str, manifest_name: str | None,
            files: dict[str, Any]) -> dict[str, Any]:
    """The record of a run as JSON values, its paths relative to ``root`` or dropped
    (:mod:`hashlib_core.results.portable`)."""
    ev = result.eval
    timings = _jsonable(getattr(result, "timings", {}) or {})
    provenance = {
        "manifest_sha256": manifest_sha,
        "manifest_file": manifest_name,
        "git_commit": git_commit(),
        "versions": package_versions(),
        "host": host_info(),
        "device": str(getattr(result, "device", "unknown")),
        "wall_time_s": _wall_time(timings),
        "notebook": notebook,
        "method_revision": current_revision(key.get("method")),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # weights sha256, world size, global batch, protocol sizes vs the paper's
        "run": _jsonable(getattr(result, "run_info", None) or {}),
    }
    return {
        "schema": SCHEMA,
        "key": key,
        "config": portable_config(_config_dict(result.config), root),
        "scalars": _jsonable(dict(ev.scalars)),
        "curves": _jsonable(dict(ev.curves)),
        "eval_info": _jsonable(dict(getattr(ev, "info", {}) or {})),
        "history": _jsonable(getattr(result, "history", None)),
        "best_epoch": _jsonable(getattr(result, "best_epoch", None)),
        "timings": timings,
        "provenance": portable_provenance(provenance, root),
        "files": files,
    }


def _remove_stale_codes(folder: Path, files: dict[str, Any]) -> None:
    """Delete the codes files of the cell's earlier records (the new record is written)."""
    q_name, db_entry = files["query_codes"]["name"], files["db_codes"]
    for old in folder.glob("query_codes-*.npz"):
        if old.name != q_name:
            old.unlink()
    # database codes stored beside an earlier record of this cell (the retrieval page's,
    # scripts/store_db_codes.py) belong to that run, not to this one
    for old in folder.glob("db_codes-*.npz"):
        if db_entry is None or old.name != db_entry["name"]:
            old.unlink()


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


#: what the book reads from every record (code health, issue 13) and, for a default run
#: (no variant), the per-query values of its paired bootstrap (the claims page)
RECORD_SCALARS = ("distinct_bits", "constant_bits")
DEFAULT_RUN_CURVES = ("per_query_map",)


def record_gaps(record: Mapping[str, Any]) -> list[str]:
    """What a record lacks of what the current evaluation stores and the book reads
    (:data:`RECORD_SCALARS`, and :data:`DEFAULT_RUN_CURVES` for a default run); [] when
    nothing. A record with gaps was made by older code: the runner makes it again. A
    record made before its method's current revision (:mod:`hashlib_core.results.revisions`)
    lacks the current code itself."""
    scalars, curves = record.get("scalars") or {}, record.get("curves") or {}
    key = record.get("key") or {}
    gaps = [name for name in RECORD_SCALARS
            if name not in scalars and int(key.get("n_bits") or 2) >= 2]
    if not key.get("variant"):
        gaps += [name for name in DEFAULT_RUN_CURVES if name not in curves]
    stale = stale_revision(record)
    if stale:
        gaps.append(f"the current {key.get('method')} code ({stale})")
    return gaps

