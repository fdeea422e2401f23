"""The batch runner: train every cell of a scale's grid, then rebuild the book.

``python -m hashlib_core.reproduce --scale smoke|cpu|paper`` executes
``notebooks/train_eval.ipynb`` with papermill once per cell of
:func:`hashlib_core.runner.grids.grid` (optionally restricted by ``--datasets``, ``--methods``,
``--bits``, ``--seeds``, ``--kinds``). At the cpu scale a deep method's cells use the
optimiser settings that won its tuning runs (:mod:`hashlib_core.runner.tuning`); until those
runs are all done its other cells wait (reported, not failed). Each executed notebook is a run log: it is written to
``runs/logs/<scale>/...`` (not committed) and, when the run succeeded and the notebook is
small, copied next to the record as ``run.ipynb``. A failing cell is reported and the
others still run; the command ends with a summary naming every cell it skipped, resumed,
ran, replaced or failed, and exits 1 if any cell failed. Then (unless ``--no-book``) it
executes the book's notebooks on the results and builds the HTML book.

What counts as done. A cell is done when its record was made with the settings this
command asks for: every setting that changes the result (the scale's preset with the
cell's hyper-parameter overrides, ``--epochs``, the pre-trained weights; everything of
:class:`~hashlib_core.engine.RunConfig` but device, paths and workers, and for a shallow
method also but the network's training settings, which it never reads) and the
protocol's manifest (its splits and the data they were drawn from), and it holds what
the book reads (code health; per-query values for a default run:
:func:`~hashlib_core.results.record_gaps`). A record made with other settings or by older
code, or one that cannot be read, is not done: the cell runs again and its record is
replaced; the runner lists these cells, with the differing settings, before it starts and
in the summary. ``--dry-run`` shows the same plan without running anything.

The tuning winner's own cell. A tuned cell at the tuning length and seed (32 bits, seed
0) is the very run that won its method's tuning: the same settings in every field but the
variant name, and training is seeded and deterministic. The runner does not train it
again: it copies the winner's record (and codes) to the cell, marks the copy in its
provenance (``copied_from``; no wall time of its own, so the grid's cost counts the run
once) and lists it as copied. ``--force`` trains it anyway.

Resuming. Checkpoints go to ``<root>.checkpoints/...`` after every epoch, so an interrupted
run resumes from its last epoch when the same command runs again. A checkpoint made with
other settings (or unreadable) is discarded and the cell starts afresh; ``--force`` starts
every selected cell afresh.

Many runners (GPUs, machines): ``--shard I/N`` keeps every N-th unit of the selection
starting at the I-th (0-based), so N runners with ``--shard 0/N`` ... ``--shard N-1/N``
cover the grid exactly once; their ``results/`` folders merge by copying. A unit is one
cell, except at a scale with tuning runs (cpu): there all the cells of a method whose
cells use its tuning winner (its tuning runs and its tuned cells) form one unit, so one
shard holds them and never waits for tuning runs another shard (without a shared file
system) would make. Runners that share a results folder also claim each cell before
training it, with a file created atomically (``O_CREAT | O_EXCL``) under
``<root>.checkpoints/claims/`` (:mod:`hashlib_core.runner.locking`): a claimed cell is
skipped by the others; the holder refreshes its claim every minute while the cell runs
(a heartbeat), and a claim not refreshed for ten of its intervals is stale on any host
and taken over (at once for a dead process on the same machine); ``--release-claims``
removes the claims of the selected cells. After claiming, a runner checks the cell again:
a record another runner wrote meanwhile (also one replacing the record this runner meant
to replace) makes it skip the cell. ``--dry-run`` and the summary name each claimed cell
with its host, the claim's age and its file; a run that left cells to other runners'
claims and failed none exits with code 75 (``EX_TEMPFAIL``: run the same command again
later), never 0. ``--gpus-per-cell N`` trains each cell on N GPUs through ``torchrun``.

Progress. While a cell trains, its engine writes ``progress.json`` in the cell's checkpoint
folder after every epoch (:mod:`hashlib_core.progress`) and the runner prints each new
state: epochs done, loss, the last validation mAP, time elapsed and left. The cell's log
notebook gets the same as plain lines. On a terminal the grid's bar is shown; when the
output is a file (``> runs/x.log``) every line is plain (no carriage returns). Each
runner writes its log notebook under a name of its own and renames it into place at the
end, so two runners never write one log.

Checkpoints live beside the results root, in ``<root>.checkpoints/<scale>/...`` (a new
``--root`` never resumes from another root's), and are deleted once the cell's record is
written, unless ``--keep-checkpoints``.

Before any training one preflight (:mod:`hashlib_core.preflight`,
:mod:`hashlib_core.runner.checks`) checks the settings of every cell, that every folder the
run writes (results, ``<root>.checkpoints`` with its claims, artifacts, logs) is a folder
and can be written, creating those missing, that the device and the pre-trained weights
exist and that the images of each protocol are present; each problem is one ``error:``
line and the exit code is 2 (``--dry-run`` checks the folders without creating them).

Stopping. Ctrl-C, SIGTERM (``kill``, a scheduler's time limit) and SIGHUP (a closed
terminal; ignored under ``nohup``) stop cleanly: the running cell's notebook kernel is
interrupted, its checkpoint (written after every epoch) is kept and its claim released,
the summary says what finished, and the same command resumes. Exit codes: 130 (Ctrl-C),
143 (SIGTERM), 129 (SIGHUP). A disk that fills fails the cell it happens in (``FAILED``,
with "no space left on device" and the file); a cell that failed after its notebook wrote
the record has that record moved aside (``record.json.failed``), so nothing that failed
counts as done at the next run.

Exit codes: 0 all selected cells done; 1 a cell failed (or the book); 2 preflight or
command-line error; 75 cells left to other runners' claims; 129/130/143 stopped by a
signal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hashlib_core import preflight
from hashlib_core import progress as live
from hashlib_core.atomic import atomic_write
from hashlib_core.engine.settings import result_settings, settings_differences
from hashlib_core.results import (
    RECORD,
    has_record,
    read_record,
    record_dir,
    record_gaps,
    run_id,
)
from hashlib_core.runner import checks as runner_checks
from hashlib_core.runner import grids, locking
from hashlib_core.runner.checks import (  # noqa: F401 - the runner's preflight, re-exported
    _images_checked,
    preflight_protocols,
    preflight_weights,
)
from hashlib_core.runner.execution import (  # noqa: F401 - re-exported: tests and callers use them
    CLAIMED_ELSEWHERE,
    INTERRUPTED,
    MAX_MESSAGE,
    STOP_SIGNALS,
    Summary,
    _error_message,
    _execute,
    _is_interrupt,
    _KernelShutdownAfterCtrlC,
    _quiet_kernel_shutdown_after_ctrl_c,
    _stop_kernel,
)
from hashlib_core.runner.grids import GridCell
from hashlib_core.runner.twins import _config_defaults, copy_twin, twin_record  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "notebooks" / "train_eval.ipynb"
#: executed notebooks above this size stay in runs/logs only (keeps results/ small)
MAX_COMMITTED_LOG = 256 * 1024


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


def protocol_key(config) -> tuple:
    """What a protocol build depends on: name, protocol seed, data and cache folders."""
    return (config.protocol, config.protocol_seed, config.data_root, config.cache_dir)


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


def claim_path(root: str | Path, scale: str, cell: GridCell) -> Path:
    return (checkpoint_root(root) / "claims" / scale / cell.protocol / cell.method
            / f"{run_id(cell.n_bits, cell.seed, cell.variant)}.claim")


try_claim = locking.try_claim  # a Claim (truthy) or None: see hashlib_core.runner.locking


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
    if key == config.result_key():
        return "same", f"after epoch {epoch + 1} of {config.epochs}"
    diff = settings_differences({"config": stored}, result_settings(config, None),
                                defaults=_config_defaults(), stored_as="checkpoint")
    return "other", (f"its checkpoint was made with other settings "
                     f"({'; '.join(diff) or 'result key differs'}): discarded")


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


# --------------------------------------------------------------------------- running
def _quarantine_record(folder: Path, since: float) -> Path | None:
    """Move aside a record written at or after ``since`` (by the cell that then failed), so
    it does not count as done; returns where it went."""
    path = folder / RECORD
    try:
        if path.stat().st_mtime < since:
            return None
        target = folder / (RECORD + ".failed")
        os.replace(path, target)
        return target
    except OSError:
        return None


def run_cell(cell: GridCell, *, scale: str, root: str | Path = "results",
             artifacts: str | Path = "runs/artifacts", logs: str | Path = "runs/logs",
             device: str = "cpu", epochs: int | None = None, fresh: bool = False,
             pretrained: str | None = None, allow_protocol_deviation: bool = False,
             gpus: int = 1, keep_checkpoints: bool = False, claim=None,
             echo=print) -> Path:
    """Execute ``train_eval.ipynb`` for one cell; returns the record folder.

    ``pretrained`` replaces the scale's weights (a torchvision name or a state-dict file),
    ``gpus`` > 1 trains through torchrun; the checkpoints are deleted after the record is
    written unless ``keep_checkpoints``. While the notebook runs (in a worker thread:
    :func:`_execute`) the ``claim`` is refreshed and each epoch's progress goes to ``echo``.
    The log notebook is written under a name of this process's
    (:func:`hashlib_core.runner.checks.running_log`) and renamed into place when it ends.
    A failure after the notebook wrote the record moves the record aside
    (``record.json.failed``): what failed never counts as done.

    Training checkpoints go to :func:`checkpoint_dir` so an interrupted run resumes
    from its last epoch; ``fresh=True`` deletes them first.

    Raises
    ------
    papermill.PapermillExecutionError
        If a cell of the notebook raised (the executed notebook is in ``logs``).
    RuntimeError
        If the notebook finished without writing the record.
    """
    import papermill as pm

    out = log_path(logs, scale, cell)
    out.parent.mkdir(parents=True, exist_ok=True)
    runner_checks.sweep_leftovers(out.parent)
    ckpt = checkpoint_dir(root, scale, cell)
    if fresh and ckpt.exists():
        shutil.rmtree(ckpt)
    (ckpt / live.FILE).unlink(missing_ok=True)  # an earlier process's last state
    params = {
        "scale": scale, "method": cell.method, "protocol": cell.protocol,
        "n_bits": cell.n_bits, "seed": cell.seed, "device": device, "variant": cell.variant,
        "overrides": dict(cell.overrides), "settings": cell_settings(cell, scale, root),
        "epochs": epochs, "run_dir": str(ckpt.resolve()),
        "root": str(Path(root).resolve()), "artifacts": str(Path(artifacts).resolve()),
        "pretrained": pretrained, "allow_protocol_deviation": bool(allow_protocol_deviation),
        "gpus": int(gpus),
    }
    key = cell.key(scale)
    folder = record_dir(root, **key)
    start = time.time() - 1  # the record's mtime may be rounded down
    running = runner_checks.running_log(out)

    def execute():
        pm.execute_notebook(str(TEMPLATE), str(running), parameters=params,
                            kernel_name="python3", cwd=str(REPO), progress_bar=False,
                            log_output=False, extra_arguments=["--log-level=CRITICAL"])

    try:
        try:
            _execute(execute, claim=claim, progress_dir=ckpt, label=cell.label, echo=echo)
        finally:
            if running.exists():
                os.replace(running, out)
        if not has_record(root, **key):
            raise RuntimeError(f"{out}: the notebook finished but wrote no record for {key}")
        if out.stat().st_size <= MAX_COMMITTED_LOG:
            try:
                atomic_write(folder / "run.ipynb", out.read_bytes())
            except OSError as err:
                raise OSError(err.errno, f"cannot copy the log to {folder / 'run.ipynb'}: "
                              f"{err.strerror or err}") from err
        else:
            (folder / "run.ipynb").unlink(missing_ok=True)
    except BaseException as err:
        if not _is_interrupt(err):
            _quarantine_record(folder, start)
        raise
    if not keep_checkpoints and ckpt.exists():
        shutil.rmtree(ckpt, ignore_errors=True)
    return folder


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


def run_grid(cells: list[GridCell], *, scale: str, root: str | Path = "results",
             artifacts: str | Path = "runs/artifacts", logs: str | Path = "runs/logs",
             device: str = "cpu", epochs: int | None = None, force: bool = False,
             progress: bool = True, plans: list[Plan] | None = None,
             **cell_options: Any) -> Summary:
    """Run every cell that is not done (see the module docstring), never stopping at a
    failure; a tqdm bar shows the cells done and the estimated time left. Ctrl-C stops
    the grid and returns the summary so far (``interrupted``).

    ``plans`` (from :func:`plan_cell`, as the command line makes them after its
    preflight) replaces the planning of ``cells``. A cell another runner has claimed is
    skipped (``claimed``); ``cell_options`` go to :func:`run_cell`.
    """
    from tqdm.auto import tqdm

    summary = Summary()
    if plans is None:
        plans = []
        configs = {}
        for cell in cells:
            try:
                configs[cell] = cell_config(cell, scale, epochs=epochs, device=device, root=root)
            except TuningPending as err:
                plans.append(Plan(cell, "wait", str(err)))
            except ValueError as err:
                summary.failed[cell.label] = _error_message(err)
        manifests, problems = protocol_manifests(list(configs.values()), check_images=False)
        for cell, config in configs.items():
            key = protocol_key(config)
            if key in problems:
                summary.failed[cell.label] = "\n".join(problems[key])
                continue
            plans.append(plan_cell(cell, config, scale=scale, root=root, logs=logs,
                                   manifest_sha256=manifests.get(key), force=force))
    todo = []
    for plan in plans:
        if plan.action == "skip":
            summary.skipped.append(plan.label)
        else:
            todo.append(plan)
    # a terminal gets the bar; a log file (> runs/x.log) gets plain lines only
    terminal = progress and _is_terminal(sys.stderr)
    bar = tqdm(todo, desc=f"{scale} grid", unit="run", disable=not terminal,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} runs "
                          "[{elapsed} elapsed, {remaining} left]{postfix}")
    k = 0
    with _quiet_kernel_shutdown_after_ctrl_c() as quiet:
        try:
            for k, plan in enumerate(bar):  # noqa: B007 - k is read after an interrupt
                path = claim_path(root, scale, plan.cell)
                claim = locking.try_claim(path)
                if claim is None:
                    summary.claimed.append(plan.label)
                    held = locking.read_claim(path)
                    summary.claimed_by[plan.label] = (held.describe() if held else
                                                      f"claim file {path}")
                    continue
                try:
                    _run_one(plan, summary, bar, scale=scale, root=root, artifacts=artifacts,
                             logs=logs, device=device, epochs=epochs, claim=claim,
                             **cell_options)
                finally:
                    claim.release()
        except KeyboardInterrupt:
            summary.interrupted = True
            summary.signal = STOP_SIGNALS.get(quiet.signum, ("Ctrl-C", 130))[0]
            finished = set(summary.done) | set(summary.failed)
            left = [p.label for p in todo[k:] if p.label not in finished]
            if left and left[0] in summary.seconds:  # it was running when Ctrl-C came
                summary.stopped = left.pop(0)
            summary.not_run = left
    bar.close()
    return summary


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


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


def _run_one(plan: Plan, summary: Summary, bar, *, scale, root, artifacts, logs, device,
             epochs, claim=None, **cell_options) -> None:
    """Run one planned cell and record its outcome; Ctrl-C is raised as KeyboardInterrupt.
    A cell that waited for its method's tuning is planned again first."""
    label = plan.label
    echo = bar.write if not bar.disable else (lambda line: print(line, flush=True))
    fields = {k: cell_options[k] for k in ("pretrained", "allow_protocol_deviation")
              if cell_options.get(k)}
    if plan.action == "wait":
        try:
            config = cell_config(plan.cell, scale, epochs=epochs, device=device, root=root,
                                 **fields)
        except TuningPending as err:
            summary.waiting[label] = str(err)
            return
        manifests, _ = protocol_manifests([config], check_images=False)
        plan = plan_cell(plan.cell, config, scale=scale, root=root, logs=logs,
                         manifest_sha256=manifests.get(protocol_key(config)))
        if plan.action == "skip":
            summary.skipped.append(label)
            return
    if plan.action == "copy":
        start = time.perf_counter()
        twin = twin_record(plan.cell, plan.config, scale=scale, root=root,
                           manifest_sha256=protocol_manifests([plan.config], check_images=False)
                           [0].get(protocol_key(plan.config)))
        if twin is not None:
            copy_twin(twin, plan.cell, scale=scale, root=root, artifacts=artifacts)
            summary.seconds[label] = time.perf_counter() - start
            summary.done.append(label)
            summary.copied[label] = plan.why
            return
        plan = Plan(plan.cell, "run", config=plan.config)  # the winner changed meanwhile
    # another runner sharing this results folder finished it meanwhile (a cell planned to
    # resume from a checkpoint too: the other runner started from the same one; a cell
    # planned to rerun: the other runner replaced the record)
    plan = _rechecked(plan, scale=scale, root=root, logs=logs)
    if plan is None:
        summary.skipped.append(label)
        return
    bar.set_postfix_str(label)
    if bar.disable:
        echo(f"{time.strftime('%H:%M:%S')} {plan.action} {label}")
    start = time.perf_counter()
    try:
        run_cell(plan.cell, scale=scale, root=root, artifacts=artifacts, logs=logs,
                 device=device, epochs=epochs, fresh=plan.fresh, claim=claim, echo=echo,
                 **cell_options)
    except Exception as err:  # noqa: BLE001 - a failed cell must not stop the grid
        summary.seconds[label] = time.perf_counter() - start
        if _is_interrupt(err):
            raise KeyboardInterrupt from err
        summary.failed[label] = _error_message(err)
        summary.logs[label] = str(log_path(logs, scale, plan.cell))
        echo(f"FAILED {label}: {summary.failed[label].splitlines()[0]} "
             f"(log: {summary.logs[label]})")
        return
    except KeyboardInterrupt:
        summary.seconds[label] = time.perf_counter() - start
        raise
    summary.seconds[label] = time.perf_counter() - start
    summary.done.append(label)
    if plan.action == "resume":
        summary.resumed[label] = plan.why
    elif plan.action == "rerun":
        summary.replaced[label] = plan.why


# --------------------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    ap = preflight.ArgumentParser(
        prog="python -m hashlib_core.reproduce", description=__doc__.split("\n\n")[0],
        epilog="exit codes: 0 done; 1 a cell (or the book) failed; 2 preflight or argument "
               f"error; {CLAIMED_ELSEWHERE} cells left to other runners' claims (run again "
               "later); 130, 143, 129 stopped by Ctrl-C, SIGTERM, SIGHUP (the same command "
               "resumes)")
    ap.add_argument("--scale", choices=grids.SCALES, required=True)
    ap.add_argument("--datasets", nargs="+", help="datasets (cifar10 ...) or protocol names")
    ap.add_argument("--methods", nargs="+", help="registry names (default: the whole grid)")
    ap.add_argument("--bits", nargs="+", type=preflight.positive_int, help="code lengths")
    ap.add_argument("--seeds", nargs="+", type=preflight.non_negative_int, help="seeds")
    ap.add_argument("--kinds", nargs="+", choices=grids.KINDS,
                    help="tune (tuning runs), main, ablation (SHNet variants), budget (a "
                         "longer schedule for the budget check) (default: all)")
    ap.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 ...")
    ap.add_argument("--epochs", type=preflight.positive_int, default=None,
                    help="override the scale's number of epochs (default: the scale's)")
    ap.add_argument("--force", action="store_true",
                    help="rerun selected cells from scratch, even those with a record")
    ap.add_argument("--no-book", action="store_true", help="do not rebuild the book")
    ap.add_argument("--dry-run", action="store_true",
                    help="show what each cell needs (done, run, rerun and why, resume, claimed "
                    "by another runner: host, age, claim file), each line as soon as it is "
                    "known, the counts last; and exit")
    ap.add_argument("--quiet", action="store_true",
                    help="with --dry-run: list only the cells that need something (not the "
                    "done ones), then the counts")
    ap.add_argument("--release-claims", action="store_true",
                    help="remove the claims of the selected cells (left by runners that "
                    "died, e.g. on a failed node) and exit (with --dry-run: only list them); "
                    "a claim not refreshed for "
                    f"{locking.STALE_AFTER} heartbeat intervals is taken over anyway")
    ap.add_argument("--root", default="results", help="results folder (default: results)")
    ap.add_argument("--artifacts", default="runs/artifacts",
                    help="database codes folder, not committed (default: runs/artifacts)")
    ap.add_argument("--logs", default="runs/logs", help="run logs (default: runs/logs)")
    ap.add_argument("--shard", metavar="I/N", help="run only shard I of N (0-based) of the "
                    "selected cells: N runners with 0/N ... N-1/N cover the grid once; at "
                    "the cpu scale a method's tuning runs and the cells that use their "
                    "winner stay in one shard")
    ap.add_argument("--pretrained", metavar="NAME_OR_PATH",
                    help="backbone weights: a torchvision weights name (the paper scale's "
                    "IMAGENET1K_V1) or a local state-dict file; the record keeps its sha256")
    ap.add_argument("--gpus-per-cell", type=int, default=1, metavar="N",
                    help="train each cell on N GPUs through torchrun (global batch unchanged)")
    ap.add_argument("--keep-checkpoints", action="store_true",
                    help="keep each cell's checkpoints after its record is written")
    ap.add_argument("--allow-protocol-deviation", action="store_true",
                    help="run the paper scale on datasets whose split sizes differ from the "
                    "paper's (the records and the book's tables say so)")
    return ap


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
             "--seeds": "seeds"}
    valid = {
        "--datasets": sorted({d for d, p in protocols.items() if any(c.protocol == p for c in cells)}
                             | {c.protocol for c in cells}),
        "--methods": sorted({c.method for c in cells}),
        "--bits": sorted({c.n_bits for c in cells}),
        "--seeds": sorted({c.seed for c in cells}),
    }
    for flag, attr in names.items():
        given = getattr(args, attr)
        if given is None:
            continue
        unknown = [v for v in given if v not in valid[flag]]
        if unknown:
            raise ValueError(f"{flag} {_values(unknown)}: not in the {args.scale} grid; "
                             f"valid: {_values(valid[flag])}")
    selected = grids.select(cells, datasets=args.datasets, methods=args.methods,
                            bits=args.bits, seeds=args.seeds, kinds=args.kinds,
                            scale=args.scale)
    if selected:
        return selected
    given = {flag: getattr(args, attr) for flag, attr in names.items()
             if getattr(args, attr) is not None}
    hints = []
    for flag in given:
        others = {names[f]: v for f, v in given.items() if f != flag}
        rest = grids.select(cells, scale=args.scale, **others)
        field_of = {"--datasets": lambda c: c.protocol, "--methods": lambda c: c.method,
                    "--bits": lambda c: c.n_bits, "--seeds": lambda c: c.seed}[flag]
        cond = " ".join(f"{f} {_values(v)}" for f, v in given.items() if f != flag)
        hints.append(f"with {cond} it has {flag} {_values({field_of(c) for c in rest}) or '(none)'}")
    raise ValueError(f"the selection matches no cell of the {args.scale} grid: "
                     + "; ".join(hints))


_WORD = {"skip": "done", "run": "todo", "rerun": "rerun", "resume": "resume", "wait": "wait",
         "copy": "copy", "claimed": "claimed"}


def _plan_line(plan: Plan) -> str:
    why = f"  ({plan.why})" if plan.why and plan.action != "skip" else ""
    return f"{_WORD[plan.action]:<6}  {plan.label}{why}"


def _print_plan(plans: list[Plan], *, dry_run: bool) -> None:
    for plan in plans:
        if dry_run or plan.action in ("rerun", "resume", "wait", "copy") or plan.fresh:
            print(_plan_line(plan), flush=True)


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


def _release(args: argparse.Namespace, cells: list[GridCell]) -> int:
    """``--release-claims``: remove the claim files of the selected cells."""
    paths = [claim_path(args.root, args.scale, c) for c in cells]
    if args.dry_run:  # name them, remove nothing
        held = [info for info in map(locking.read_claim, paths) if info is not None]
        for info in held:
            print(f"would release  {info.describe()}", flush=True)
        print(f"{len(held)} claim(s) among {len(cells)} selected cells (--dry-run: none "
              "removed)", flush=True)
        return 0
    removed = locking.release_claims(paths)
    for info in removed:
        print(f"released  {info.describe()}", flush=True)
    print(f"{len(removed)} claim(s) removed of {len(cells)} selected cells (a runner still "
          "training one of them goes on, and warns that its claim is gone)", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _main(args)
    except KeyboardInterrupt:
        print("\ninterrupted (Ctrl-C) before any training; nothing was run", file=sys.stderr)
        return INTERRUPTED


def _main(args: argparse.Namespace) -> int:
    try:
        cells = select_cells(args)
        if args.shard:
            cells = shard_cells(cells, parse_shard(args.shard), args.scale)
    except ValueError as err:
        return preflight.report([str(err)])
    if args.release_claims:
        return _release(args, cells)
    # the folders first: a file where a folder goes, before any slow step (the dry run
    # writes nothing: it only refuses a path that is or lies under a file)
    found = runner_checks.folder_problems(args.root, args.artifacts, args.logs, create=False)
    if found:
        return preflight.report(found)
    if not args.dry_run and preflight.report(preflight.check_device(args.device)):
        return preflight.EXIT_CODE
    if args.gpus_per_cell < 1:
        return preflight.report([f"--gpus-per-cell {args.gpus_per_cell}: must be at least 1"])
    fields = {}
    if args.pretrained is not None:
        fields["pretrained"] = args.pretrained
    if args.allow_protocol_deviation:
        fields["allow_protocol_deviation"] = True
    if args.dry_run:
        print(f"{args.scale} grid: {len(cells)} cells selected; checking each against its "
              f"record{' (cells to do only: --quiet)' if args.quiet else ''} ...", flush=True)
    problems, configs, waiting = [], {}, {}
    for cell in cells:
        try:
            configs[cell] = cell_config(cell, args.scale, epochs=args.epochs, device=args.device,
                                        root=args.root, **fields)
        except TuningPending as err:
            waiting[cell] = str(err)
        except ValueError as err:
            problems.append(f"{cell.label}: {err}" if len(cells) == 1 else str(err))
    if problems:
        return preflight.report(problems)
    if args.dry_run:  # build only the protocols a record must be compared with
        wanted = [c for cell, c in configs.items()
                  if (record_dir(args.root, **cell.key(args.scale)) / RECORD).exists()]
        manifests, missing = protocol_manifests(wanted, check_images=False)
        for found in missing.values():
            print(f"note: {found[0].splitlines()[0]} (records of it are compared without "
                  "the protocol manifest)", file=sys.stderr)
    else:
        problem = preflight_weights(args.scale, cells, args.pretrained)
        if problem:
            return preflight.report([problem])
        found = preflight_protocols(args.scale, cells, args.allow_protocol_deviation, args.root)
        if found:
            return preflight.report(found)
        manifests, missing = protocol_manifests(list(configs.values()))
        if missing:
            return preflight.report([p for found in missing.values() for p in found])

    def plan_of(cell: GridCell) -> Plan:
        if cell in waiting:
            return Plan(cell, "wait", waiting[cell])
        return plan_cell(cell, configs[cell], scale=args.scale, root=args.root, logs=args.logs,
                         manifest_sha256=manifests.get(protocol_key(configs[cell])),
                         force=args.force)

    selected = [c for c in cells if c in waiting or c in configs]
    if args.dry_run:  # each cell's line as soon as it is planned, the counts last
        plans = []
        for cell in selected:
            plan = _with_claim(plan_of(cell), args.root, args.scale)
            plans.append(plan)
            if not (args.quiet and plan.action == "skip"):
                print(_plan_line(plan), flush=True)
        counts = {a: sum(p.action == a for p in plans) for a in _WORD}
        print(f"{len(plans)} cells: {counts['skip']} done, {counts['run']} to run, "
              f"{counts['rerun']} to rerun, {counts['resume']} to resume, "
              f"{counts['copy']} to copy from their tuning winner, "
              f"{counts['wait']} waiting for their method's tuning"
              + (f", {counts['claimed']} claimed by another runner" if counts["claimed"]
                 else ""), flush=True)
        return 0
    plans = [plan_of(cell) for cell in selected]
    todo = [p for p in plans if p.action != "skip"]
    for cell in selected:  # what a runner killed in a cell's folders left there
        runner_checks.sweep_leftovers(record_dir(args.root, **cell.key(args.scale)))
    if todo:
        from hashlib_core.engine.config import method_problems

        checks = runner_checks.folder_problems(args.root, args.artifacts, args.logs)
        caches = {plan.config.cache_dir for plan in todo if plan.config is not None}
        from hashlib_core.data.cache import cache_folder

        for cache in sorted(caches, key=str):  # the data and feature cache the runs write
            checks += preflight.check_writable(cache_folder(cache),
                                               "cache folder ($HASHLIB_CACHE or --cache-dir)")
        for plan in todo:
            if plan.config is not None:  # weights, then the method's hyper-parameters
                checks += preflight.check_weights(plan.config)
                checks += [f"{plan.cell.label}: {p}" for p in method_problems(plan.config)]
        if checks:
            return preflight.report(checks)
    print(f"{args.scale} grid: {len(plans)} cells, device {args.device}: "
          f"{len(plans) - len(todo)} done, {len(todo)} to run", flush=True)
    _print_plan(plans, dry_run=False)
    options = dict(fields)
    if args.gpus_per_cell > 1:
        options["gpus"] = args.gpus_per_cell
    if args.keep_checkpoints:
        options["keep_checkpoints"] = True
    summary = run_grid(cells, scale=args.scale, root=args.root, artifacts=args.artifacts,
                       logs=args.logs, device=args.device, epochs=args.epochs,
                       force=args.force, plans=plans, **options)
    print(summary.report(), flush=True)
    rc = summary.exit_code
    if summary.interrupted:
        return rc
    if not args.no_book:
        from hashlib_core.report.build import build_book  # the book after the grid

        rc = build_book(args.scale, root=args.root, artifacts=args.artifacts) or rc
    return rc
