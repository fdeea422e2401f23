"""The tuning winner's own cell: found (:func:`twin_record`) and copied (:func:`copy_twin`)
instead of trained again (the plan finds it, :mod:`hashlib_core.runner.plan`; the grid's
execution copies it, :mod:`hashlib_core.runner.execution`).

A tuned cell at the tuning length and seed (32 bits, seed 0) is the very run that won its
method's tuning: the same settings in every field but the variant name, and training is
seeded and deterministic. The runner copies the winner's record (and codes) to the cell,
marks the copy in its provenance (``copied_from``; no wall time of its own) and lists it
as copied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hashlib_core.atomic import atomic_write
from hashlib_core.engine.settings import result_settings, settings_differences
from hashlib_core.results import (
    RECORD,
    read_record,
    record_dir,
    record_gaps,
    run_id,
)
from hashlib_core.runner import grids
from hashlib_core.runner.grids import GridCell


def _config_defaults() -> dict[str, Any]:
    import dataclasses

    from hashlib_core.engine.config import RunConfig

    return {f.name: f.default for f in dataclasses.fields(RunConfig)
            if f.default is not dataclasses.MISSING}


def twin_record(cell: GridCell, config, *, scale: str, root: str | Path,
                manifest_sha256: str | None) -> Path | None:
    """The folder of the tuning run that is this very cell, or None.

    A tuned main cell at the tuning length and seed runs with its method's winning
    optimiser settings: when the winner's record was made with the cell's settings in
    every field but the variant name (and on the same protocol manifest), training the
    cell would repeat that seeded, deterministic run."""
    if not grids.is_tuning_twin(cell, scale):
        return None
    from hashlib_core.runner.tuning import tuned_settings

    won = tuned_settings(cell.method, root, scale)
    if won is None:
        return None
    variant = grids.tune_variant(won["optimizer"], won["lr"])
    folder = record_dir(root, **{**cell.key(scale), "variant": variant})
    try:
        record = read_record(folder)
    except ValueError:
        return None
    wanted = result_settings({**config.to_dict(), "variant": variant}, manifest_sha256)
    if manifest_sha256 is None or record_gaps({**record, "key": cell.key(scale)}) \
            or settings_differences(record, wanted, defaults=_config_defaults()):
        return None
    return folder


def copy_twin(source: Path, cell: GridCell, *, scale: str, root: str | Path = "results",
              artifacts: str | Path = "runs/artifacts") -> Path:
    """Store the record of ``source`` (a tuning run, :func:`twin_record`) as ``cell``'s:
    the same scalars, curves, history and codes, its key and variant the cell's, and
    ``provenance.copied_from`` naming the source; ``wall_time_s`` is None (no machine time
    of its own). The record is written last, atomically. Returns the cell's folder."""
    record = read_record(source)
    record.pop("_path", None)
    old_key, key = dict(record["key"]), cell.key(scale)
    folder = record_dir(root, **key)
    folder.mkdir(parents=True, exist_ok=True)
    for what, base in (("query_codes", root), ("db_codes", artifacts)):
        entry = record["files"].get(what)
        src = record_dir(base, **old_key) / entry["name"] if entry else None
        if src is not None and src.is_file():
            atomic_write(record_dir(base, **key) / entry["name"], src.read_bytes())
            for old in record_dir(base, **key).glob(f"{what}-*.npz"):  # a replaced run's
                if old.name != entry["name"]:
                    old.unlink()
    if (Path(source) / "run.ipynb").is_file():
        atomic_write(folder / "run.ipynb", (Path(source) / "run.ipynb").read_bytes())
    record["key"] = key
    record["config"]["variant"] = cell.variant
    record["provenance"]["copied_from"] = run_id(old_key["n_bits"], old_key["seed"],
                                                 old_key["variant"])
    record["provenance"]["wall_time_s"] = None
    atomic_write(folder / RECORD,
                 json.dumps(record, separators=(",", ":"), allow_nan=False).encode())
    return folder
