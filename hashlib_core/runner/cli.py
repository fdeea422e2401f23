"""The batch runner's command line: train every cell of a scale's grid, then rebuild
the book.

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
import sys
from typing import Any

from hashlib_core import cli_args, preflight
from hashlib_core.results import RECORD, record_dir
from hashlib_core.runner import checks as runner_checks
from hashlib_core.runner import grids, locking
from hashlib_core.runner.checks import preflight_protocols, preflight_weights
from hashlib_core.runner.execution import run_grid
from hashlib_core.runner.grids import GridCell
from hashlib_core.runner.plan import (
    Plan,
    TuningPending,
    _with_claim,
    cell_config,
    claim_path,
    parse_shard,
    plan_cell,
    protocol_key,
    protocol_manifests,
    select_cells,
    shard_cells,
)
from hashlib_core.runner.summary import CLAIMED_ELSEWHERE, INTERRUPTED

#: the ``--help`` description
DESCRIPTION = "The batch runner: train every cell of a scale's grid, then rebuild the book."


# --------------------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    ap = cli_args.ArgumentParser(
        prog="python -m hashlib_core.reproduce", description=DESCRIPTION,
        epilog="exit codes: 0 done; 1 a cell (or the book) failed; 2 preflight or argument "
               f"error; {CLAIMED_ELSEWHERE} cells left to other runners' claims (run again "
               "later); 130, 143, 129 stopped by Ctrl-C, SIGTERM, SIGHUP (the same command "
               "resumes)")
    ap.add_argument("--scale", choices=grids.SCALES, required=True)
    ap.add_argument("--datasets", nargs="+", help="datasets (cifar10 ...) or protocol names")
    ap.add_argument("--methods", nargs="+", help="registry names (default: the whole grid)")
    ap.add_argument("--bits", nargs="+", type=cli_args.positive_int, help="code lengths")
    ap.add_argument("--seeds", nargs="+", type=cli_args.non_negative_int, help="seeds")
    ap.add_argument("--kinds", nargs="+", choices=grids.KINDS,
                    help="tune (tuning runs), main, ablation (SHNet variants), budget (a "
                         "longer schedule for the budget check) (default: all)")
    ap.add_argument("--variants", nargs="+", metavar="NAME",
                    help="variant names, e.g. parallel (an ablation) or budget-epochs80 "
                         "(default: all; a default cell has no variant)")
    ap.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 ...")
    ap.add_argument("--epochs", type=cli_args.positive_int, default=None,
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _main(args)
    except KeyboardInterrupt:
        print("\ninterrupted (Ctrl-C) before any training; nothing was run", file=sys.stderr)
        return INTERRUPTED


def _main(args: argparse.Namespace) -> int:
    """The command's steps: the selection, the checks of the command line, the cells'
    settings, the preflight of data and weights, then the dry run or the grid."""
    try:
        cells = select_cells(args)
        if args.shard:
            cells = shard_cells(cells, parse_shard(args.shard), args.scale)
    except ValueError as err:
        return preflight.report([str(err)])
    if args.release_claims:
        return _release(args, cells)
    rc = _check_command(args)
    if rc:
        return rc
    fields = _config_fields(args)
    if args.dry_run:
        print(f"{args.scale} grid: {len(cells)} cells selected; checking each against its "
              f"record{' (cells to do only: --quiet)' if args.quiet else ''} ...", flush=True)
    configs, waiting, problems = _configs(args, cells, fields)
    if problems:
        return preflight.report(problems)
    if args.dry_run:
        return _dry_run(args, cells, configs, waiting, _dry_run_manifests(args, configs))
    manifests, problems = _preflight_data(args, cells, configs)
    if problems:
        return preflight.report(problems)
    plans = list(_plans(args, cells, configs, waiting, manifests))
    problems = _before_training(args, plans)
    if problems:
        return preflight.report(problems)
    return _run(args, cells, plans, fields)


# --------------------------------------------------------------------------- the steps
def _check_command(args: argparse.Namespace) -> int:
    """The folders first: a file where a folder goes, before any slow step (the dry run
    writes nothing: it only refuses a path that is or lies under a file); then the device
    (not for a dry run) and ``--gpus-per-cell``. Returns the exit code, 0 when fine."""
    found = runner_checks.folder_problems(args.root, args.artifacts, args.logs, create=False)
    if found:
        return preflight.report(found)
    if not args.dry_run and preflight.report(preflight.check_device(args.device)):
        return preflight.EXIT_CODE
    if args.gpus_per_cell < 1:
        return preflight.report([f"--gpus-per-cell {args.gpus_per_cell}: must be at least 1"])
    return 0


def _config_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The RunConfig fields the command line sets for every cell."""
    fields = {}
    if args.pretrained is not None:
        fields["pretrained"] = args.pretrained
    if args.allow_protocol_deviation:
        fields["allow_protocol_deviation"] = True
    return fields


def _configs(args: argparse.Namespace, cells: list[GridCell],
             fields: dict[str, Any]) -> tuple[dict, dict, list[str]]:
    """Each cell's RunConfig: ``(configs, waiting, problems)``, ``waiting`` the cells whose
    method's tuning runs are not done (cell -> why), ``problems`` the bad settings."""
    problems, configs, waiting = [], {}, {}
    for cell in cells:
        try:
            configs[cell] = cell_config(cell, args.scale, epochs=args.epochs, device=args.device,
                                        root=args.root, **fields)
        except TuningPending as err:
            waiting[cell] = str(err)
        except ValueError as err:
            problems.append(f"{cell.label}: {err}" if len(cells) == 1 else str(err))
    return configs, waiting, problems


def _dry_run_manifests(args: argparse.Namespace, configs: dict) -> dict:
    """A dry run builds only the protocols a record must be compared with (and checks no
    image); one it cannot build is a note, its records are compared without it."""
    wanted = [c for cell, c in configs.items()
              if (record_dir(args.root, **cell.key(args.scale)) / RECORD).exists()]
    manifests, missing = protocol_manifests(wanted, check_images=False)
    for found in missing.values():
        print(f"note: {found[0].splitlines()[0]} (records of it are compared without "
              "the protocol manifest)", file=sys.stderr)
    return manifests


def _preflight_data(args: argparse.Namespace, cells: list[GridCell],
                    configs: dict) -> tuple[dict, list[str]]:
    """Before a run: the pre-trained weights, each protocol's data (and the paper's split
    sizes), then each protocol built once with its images checked. Returns
    ``(manifests, problems)``: the first step's problems, or none."""
    problem = preflight_weights(args.scale, cells, args.pretrained)
    if problem:
        return {}, [problem]
    found = preflight_protocols(args.scale, cells, args.allow_protocol_deviation, args.root)
    if found:
        return {}, found
    manifests, missing = protocol_manifests(list(configs.values()))
    return manifests, [p for found in missing.values() for p in found]


def _plans(args: argparse.Namespace, cells: list[GridCell], configs: dict, waiting: dict,
           manifests: dict):
    """Each cell's :class:`Plan`, one at a time (a dry run prints each as it comes)."""
    for cell in cells:
        if cell in waiting:
            yield Plan(cell, "wait", waiting[cell])
        elif cell in configs:
            yield plan_cell(cell, configs[cell], scale=args.scale, root=args.root,
                            logs=args.logs,
                            manifest_sha256=manifests.get(protocol_key(configs[cell])),
                            force=args.force)


_WORD = {"skip": "done", "run": "todo", "rerun": "rerun", "resume": "resume", "wait": "wait",
         "copy": "copy", "claimed": "claimed"}


def _plan_line(plan: Plan) -> str:
    why = f"  ({plan.why})" if plan.why and plan.action != "skip" else ""
    return f"{_WORD[plan.action]:<6}  {plan.label}{why}"


def _print_plan(plans: list[Plan], *, dry_run: bool) -> None:
    for plan in plans:
        if dry_run or plan.action in ("rerun", "resume", "wait", "copy") or plan.fresh:
            print(_plan_line(plan), flush=True)


def _dry_run(args: argparse.Namespace, cells: list[GridCell], configs: dict, waiting: dict,
             manifests: dict) -> int:
    """``--dry-run``: each cell's line as soon as it is planned (with the claim another
    runner holds on it), the counts last."""
    plans = []
    for plan in _plans(args, cells, configs, waiting, manifests):
        plan = _with_claim(plan, args.root, args.scale)
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


def _before_training(args: argparse.Namespace, plans: list[Plan]) -> list[str]:
    """What a runner killed in a cell's folders left there is removed; when a cell is to
    run: the folders (created), the data and feature caches, each cell's weights and its
    method's hyper-parameters. Returns the problems."""
    todo = [p for p in plans if p.action != "skip"]
    for plan in plans:  # what a runner killed in a cell's folders left there
        runner_checks.sweep_leftovers(record_dir(args.root, **plan.cell.key(args.scale)))
    if not todo:
        return []
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
    return checks


def _run(args: argparse.Namespace, cells: list[GridCell], plans: list[Plan],
         fields: dict[str, Any]) -> int:
    """The grid (:func:`~hashlib_core.runner.execution.run_grid`), its summary, then the
    book (unless ``--no-book`` or a stop signal). Returns the exit code."""
    todo = [p for p in plans if p.action != "skip"]
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
