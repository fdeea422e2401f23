"""Cell identity and plans: what the runner does with each selected cell of a grid, and why.

* :func:`cell_config` and :func:`cell_settings`: the
  :class:`~hashlib_core.engine.RunConfig` a cell runs with (a tuned cell takes its
  method's tuning winner's settings; :class:`TuningPending` until those runs are done);
  :func:`protocol_manifests`: each protocol built once, for its manifest;
* :func:`select_cells` and :func:`shard_cells`: the cells that ``--datasets``,
  ``--methods``, ``--bits``, ``--seeds`` and ``--shard I/N`` pick;
* :func:`plan_cell`: a :class:`Plan` (skip, run, resume, rerun, copy, wait) from the
  cell's record, its checkpoint and its tuning winner's record;
* where a cell's files go: :func:`log_path`, :func:`checkpoint_root`,
  :func:`checkpoint_dir`, :func:`claim_path`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hashlib_core import preflight
from hashlib_core.engine.settings import result_settings, settings_differences
from hashlib_core.results import RECORD, read_record, record_dir, record_gaps, run_id
from hashlib_core.results.revisions import current_revision
from hashlib_core.runner import grids, locking
from hashlib_core.runner.grids import GridCell
from hashlib_core.runner.twins import _config_defaults, twin_record


# --------------------------------------------------------------------------- cell identity
def cell_config(cell: GridCell, scale: str, *, epochs: int | None = None,
                device: str = "cpu", root: str | Path = "results", **fields: Any):
    """The :class:`~hashlib_core.engine.RunConfig` a cell runs with (as the notebook builds
    it): the scale's preset, the cell's variant, overrides and settings (for a tuned cell:
    its method's winning optimiser settings, read under ``root``), ``epochs`` when given
    and any other ``fields`` (e.g. ``pretrained``). Raises ``ValueError`` naming a bad
    field, :class:`TuningPending` while the method's tuning runs are not all done."""
    from hashlib_core.engine.config import RunConfig

    extra = {**cell_settings(cell, scale, root), **fields}
    if epochs is not None:
        extra["epochs"] = epochs
    return RunConfig.from_scale(scale, method=cell.method, n_bits=cell.n_bits,
                                protocol=cell.protocol, seed=cell.seed, device=device,
                                variant=cell.variant, method_overrides=dict(cell.overrides),
                                **extra)


def cell_settings(cell: GridCell, scale: str, root: str | Path) -> dict:
    """The RunConfig fields a cell changes: its own, or its method's tuned optimiser
    settings (read from the tuning records under ``root``).

    Raises
    ------
    TuningPending
        If the cell uses tuned settings and its method's tuning runs are not all done.
    """
    settings = dict(cell.settings)
    if cell.tuned and scale in grids.TUNED_SCALES:
        from hashlib_core.runner.tuning import tuned_settings

        tuned = tuned_settings(cell.method, root, scale)
        if tuned is None:
            raise TuningPending(f"{cell.method}'s tuning runs are not all done yet "
                                f"(run them first: --methods {cell.method} --kinds tune)")
        settings.update(tuned)
    return settings


class TuningPending(RuntimeError):
    """A cell waits for its method's tuning runs."""


def protocol_key(config) -> tuple:
    """What a protocol build depends on: name, protocol seed, data and cache folders."""
    return (config.protocol, config.protocol_seed, config.data_root, config.cache_dir)


def protocol_manifests(configs, *, check_images: bool = True) -> tuple[dict, dict]:
    """Build each distinct protocol of ``configs`` once.

    Returns
    -------
    (manifests, problems)
        ``{protocol_key: manifest_sha256}`` of those that could be built, and
        ``{protocol_key: [problem, ...]}`` (missing data or, with ``check_images``,
        missing image files) of the others.
    """
    manifests, problems = {}, {}
    for config in configs:
        key = protocol_key(config)
        if key in manifests or key in problems:
            continue
        protocol, found = preflight.check_protocol(config.protocol, seed=config.protocol_seed,
                                                   root=config.data_root,
                                                   cache_dir=config.cache_dir,
                                                   decode=check_images)
        if protocol is not None:
            manifests[key] = protocol.manifest_sha256
        if found and (check_images or protocol is None):
            problems[key] = found
        del protocol
    return manifests, problems


# --------------------------------------------------------------------------- where files go
def log_path(logs: str | Path, scale: str, cell: GridCell) -> Path:
    """Where the executed notebook of a cell goes."""
    return (Path(logs) / scale / cell.protocol / cell.method
            / f"{run_id(cell.n_bits, cell.seed, cell.variant)}.ipynb")


def checkpoint_root(root: str | Path) -> Path:
    """Where the checkpoints and claims of a results root live: ``<root>.checkpoints``."""
    root = Path(root).resolve()
    return root.with_name(root.name + ".checkpoints")


def checkpoint_dir(root: str | Path, scale: str, cell: GridCell) -> Path:
    """The checkpoint folder of one cell under :func:`checkpoint_root`."""
    return (checkpoint_root(root) / scale / cell.protocol / cell.method
            / run_id(cell.n_bits, cell.seed, cell.variant))


def claim_path(root: str | Path, scale: str, cell: GridCell) -> Path:
    """The claim file of one cell (:mod:`hashlib_core.runner.locking`) under
    :func:`checkpoint_root`."""
    return (checkpoint_root(root) / "claims" / scale / cell.protocol / cell.method
            / f"{run_id(cell.n_bits, cell.seed, cell.variant)}.claim")


# --------------------------------------------------------------------------- selection
def _values(values) -> str:
    return ", ".join(str(v) for v in sorted(set(values), key=lambda v: (str(type(v)), v)))


def select_cells(args: argparse.Namespace) -> list[GridCell]:
    """The cells of ``--scale`` that ``--datasets/--methods/--bits/--seeds`` pick.

    Raises
    ------
    ValueError
        Naming a value that is not in the grid (with the valid ones), or saying which
        values the other filters leave when the combination matches no cell.
    """
    cells = grids.grid(args.scale)
    protocols = grids.BOOK_PROTOCOLS[args.scale]
    names = {"--datasets": "datasets", "--methods": "methods", "--bits": "bits",
             "--seeds": "seeds", "--variants": "variants"}
    valid = {
        "--datasets": sorted({d for d, p in protocols.items() if any(c.protocol == p for c in cells)}
                             | {c.protocol for c in cells}),
        "--methods": sorted({c.method for c in cells}),
        "--bits": sorted({c.n_bits for c in cells}),
        "--seeds": sorted({c.seed for c in cells}),
        "--variants": sorted({c.variant for c in cells if c.variant}),
    }
    for flag, attr in names.items():
        given = getattr(args, attr, None)
        if given is None:
            continue
        unknown = [v for v in given if v not in valid[flag]]
        if unknown:
            raise ValueError(f"{flag} {_values(unknown)}: not in the {args.scale} grid; "
                             f"valid: {_values(valid[flag])}")
    selected = grids.select(cells, datasets=args.datasets, methods=args.methods,
                            bits=args.bits, seeds=args.seeds, kinds=args.kinds,
                            variants=getattr(args, "variants", None), scale=args.scale)
    if selected:
        return selected
    given = {flag: getattr(args, attr, None) for flag, attr in names.items()
             if getattr(args, attr, None) is not None}
    hints = []
    for flag in given:
        others = {names[f]: v for f, v in given.items() if f != flag}
        rest = grids.select(cells, scale=args.scale, **others)
        field_of = {"--datasets": lambda c: c.protocol, "--methods": lambda c: c.method,
                    "--bits": lambda c: c.n_bits, "--seeds": lambda c: c.seed,
                    "--variants": lambda c: c.variant}[flag]
        cond = " ".join(f"{f} {_values(v)}" for f, v in given.items() if f != flag)
        hints.append(f"with {cond} it has {flag} {_values({field_of(c) for c in rest}) or '(none)'}")
    raise ValueError(f"the selection matches no cell of the {args.scale} grid: "
                     + "; ".join(hints))


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N) with 0 <= I < N; ValueError naming the flag otherwise."""
    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise ValueError(f"--shard: expected I/N such as 0/4, got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard: need 0 <= I < N, got {text!r}")
    return i, n


def shard_units(cells: list[GridCell], scale: str | None = None) -> list[list[GridCell]]:
    """The units :func:`shard_cells` deals out: one per cell, except at a scale with tuning
    runs (:data:`grids.TUNED_SCALES`), where the tuning runs of a method and every cell that
    uses their winner form one unit (placed where the method's first cell is)."""
    if scale not in grids.TUNED_SCALES:
        return [[c] for c in cells]
    tuned = {c.method for c in cells if c.kind == "tune" or c.tuned}
    units: list[list[GridCell]] = []
    by_method: dict[str, list[GridCell]] = {}
    for c in cells:
        if c.method in tuned and (c.kind == "tune" or c.tuned):
            if c.method not in by_method:
                by_method[c.method] = []
                units.append(by_method[c.method])
            by_method[c.method].append(c)
        else:
            units.append([c])
    return units


def shard_cells(cells: list[GridCell], shard: tuple[int, int] | None,
                scale: str | None = None) -> list[GridCell]:
    """The cells of shard ``(I, N)``: the units (:func:`shard_units`) at positions I, I+N,
    I+2N ... (round robin, so every shard gets a share of each dataset and method), in
    the order of ``cells``. At the cpu scale a method's tuning runs and tuned cells stay in
    one shard."""
    if shard is None:
        return list(cells)
    i, n = shard
    keep = {id(c) for k, unit in enumerate(shard_units(cells, scale)) if k % n == i
            for c in unit}
    return [c for c in cells if id(c) in keep]


# --------------------------------------------------------------------------- plans
@dataclass
class Plan:
    """What the runner does with one cell, and why.

    ``action``: ``"skip"`` (a record with these settings exists), ``"run"`` (no record),
    ``"copy"`` (the cell is its method's winning tuning run: that record is copied),
    ``"rerun"`` (the record was made with other settings, is unreadable, or ``--force``:
    it is replaced), ``"resume"`` (no record, a checkpoint of these settings), ``"wait"``
    (a tuned cell whose method's tuning runs are not done yet: planned again when its
    turn comes). ``fresh``: the cell's checkpoint is discarded first.
    """

    cell: GridCell
    action: str
    why: str = ""
    fresh: bool = False
    config: Any = None
    manifest_sha256: str | None = None
    #: (mtime_ns, size) of the cell's record when planned, None when it had none
    record_stamp: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        return self.cell.label


def plan_cell(cell: GridCell, config, *, scale: str, root: str | Path,
              logs: str | Path, manifest_sha256: str | None, force: bool = False) -> Plan:
    """Decide what to do with one cell (see :class:`Plan`)."""
    path = record_dir(root, **cell.key(scale)) / RECORD
    plan = _plan_cell(cell, config, path=path, scale=scale, root=root,
                      manifest_sha256=manifest_sha256, force=force)
    plan.manifest_sha256, plan.record_stamp = manifest_sha256, _record_stamp(path)
    return plan


def _plan_cell(cell: GridCell, config, *, path: Path, scale: str, root: str | Path,
               manifest_sha256: str | None, force: bool) -> Plan:
    action, why = "run", ""
    if force:
        action, why = ("rerun", "--force") if path.exists() else ("run", "")
    elif path.exists():
        try:
            record = read_record(path)
        except ValueError as err:
            action, why = "rerun", f"unreadable record ({err})"
        else:
            diff = settings_differences(record, result_settings(config, manifest_sha256),
                                        defaults=_config_defaults())
            gaps = record_gaps(record)
            broken = [] if diff or gaps else _record_problems(path.parent)
            if not diff and not gaps and not broken:
                return Plan(cell, "skip", "a record with these settings exists", config=config)
            if broken:
                action, why = "rerun", "broken record: " + "; ".join(broken)
            elif diff:
                action, why = "rerun", "record made with other settings: " + "; ".join(diff)
            else:
                action, why = "rerun", ("record made by older code, without "
                                        + ", ".join(gaps))
    if not force:
        twin = twin_record(cell, config, scale=scale, root=root,
                           manifest_sha256=manifest_sha256)
        if twin is not None:
            return Plan(cell, "copy", f"the same run as the tuning winner {twin.name}: "
                        "its record is copied", config=config)
    folder = checkpoint_dir(root, scale, cell)
    if force:
        return Plan(cell, action, why, fresh=True, config=config)
    state, detail = _checkpoint_state(folder, config)
    if state == "same" and action == "run":
        return Plan(cell, "resume", detail, config=config)
    if state == "same":
        return Plan(cell, action, f"{why}; resumes {detail}", config=config)
    if state == "other":
        return Plan(cell, action, "; ".join(x for x in (why, detail) if x), fresh=True,
                    config=config)
    return Plan(cell, action, why, config=config)


def _record_stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _record_problems(folder: Path) -> list[str]:
    """What makes a readable record unusable (wrong field types, a missing or wrong-shape
    codes file): :func:`hashlib_core.results.record_problems` where it exists."""
    from hashlib_core import results

    check = getattr(results, "record_problems", None)
    if check is None:
        return []
    try:
        return list(check(folder))
    except Exception as err:  # noqa: BLE001 - a check that fails is a problem of the record
        return [f"{folder}: cannot be checked ({type(err).__name__}: {err})"]


def _checkpoint_state(folder: Path, config) -> tuple[str, str]:
    """``("none"|"same"|"other", detail)`` for the cell's ``last.pt``."""
    path = folder / "last.pt"
    if not path.is_file():
        return "none", ""
    from hashlib_core.engine.checkpoint import safe_load

    try:  # weights_only: a planted file in a shared checkpoint folder runs nothing
        state = safe_load(path, mmap=True)
        key, stored, epoch = state["result_key"], state["config"], int(state["epoch"])
    except ValueError as err:
        return "other", f"its checkpoint is not loaded ({err}): discarded"
    except Exception as err:  # noqa: BLE001 - any unreadable checkpoint is discarded
        return "other", f"its checkpoint {path} is unreadable ({type(err).__name__}): discarded"
    made, now = state.get("method_revision", 1), current_revision(config.method)
    if now is not None and made != now:
        return "other", (f"its checkpoint was made with {config.method} revision {made} (the "
                         f"code is at revision {now}): discarded")
    if key == config.result_key():
        return "same", f"after epoch {epoch + 1} of {config.epochs}"
    diff = settings_differences({"config": stored}, result_settings(config, None),
                                defaults=_config_defaults(), stored_as="checkpoint")
    return "other", (f"its checkpoint was made with other settings "
                     f"({'; '.join(diff) or 'result key differs'}): discarded")


def _rechecked(plan: Plan, *, scale: str, root: str | Path, logs: str | Path) -> Plan | None:
    """After claiming: None when another runner wrote the cell's record since it was
    planned (a record where there was none, or one replacing the record this plan was to
    replace), else the plan, made again when the record changed but does not do."""
    path = record_dir(root, **plan.cell.key(scale)) / RECORD
    if plan.action in ("run", "resume"):
        return None if path.exists() else plan
    if plan.action != "rerun" or plan.config is None or plan.why == "--force":
        return plan
    if _record_stamp(path) == plan.record_stamp:
        return plan
    again = plan_cell(plan.cell, plan.config, scale=scale, root=root, logs=logs,
                      manifest_sha256=plan.manifest_sha256)
    return None if again.action == "skip" else again


def _with_claim(plan: Plan, root: str | Path, scale: str) -> Plan:
    """A dry run's view of a cell to train: ``claimed`` when another runner holds a live
    claim on it (who, how long ago refreshed, the file); a stale claim is named in ``why``."""
    if plan.action == "skip":
        return plan
    held = locking.read_claim(claim_path(root, scale, plan.cell))
    if held is None:
        return plan
    if not held.stale:
        return Plan(plan.cell, "claimed", held.describe(), config=plan.config)
    note = f"a stale claim is taken over: {held.describe()}"
    return Plan(plan.cell, plan.action, "; ".join(x for x in (plan.why, note) if x),
                fresh=plan.fresh, config=plan.config)
