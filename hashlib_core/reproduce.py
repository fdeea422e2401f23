"""The batch runner: train every cell of a scale's grid, then rebuild the book.

``python -m hashlib_core.reproduce --scale smoke|cpu|paper`` executes
``notebooks/train_eval.ipynb`` with papermill once per cell of
:func:`hashlib_core.grids.grid` (optionally restricted by ``--datasets``, ``--methods``,
``--bits``, ``--seeds``). Each executed notebook is a run log: it is written to
``runs/logs/<scale>/...`` (not committed) and, when the run succeeded and the notebook is
small, copied next to the record as ``run.ipynb``. A cell whose record exists is skipped
unless ``--force``; a failing cell is reported and the others still run; the command
ends with a summary and exits 1 if any cell failed. Then (unless ``--no-book``) it
executes the book's notebooks on the results and builds the HTML book.

The run is resumable: interrupt it at any time and run the same command again.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hashlib_core import grids
from hashlib_core.atomic import atomic_write
from hashlib_core.grids import GridCell
from hashlib_core.results import has_record, record_dir, run_id

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "notebooks" / "train_eval.ipynb"
#: executed notebooks above this size stay in runs/logs only (keeps results/ small)
MAX_COMMITTED_LOG = 256 * 1024


@dataclass
class Summary:
    """Outcome of a grid run: cell labels by status, and wall seconds per ran cell."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def report(self) -> str:
        total = sum(self.seconds.values())
        lines = [f"{len(self.done)} ran, {len(self.skipped)} skipped (record exists), "
                 f"{len(self.failed)} failed; {total / 60:.1f} min of runs"]
        for label in self.done:
            lines.append(f"  ok      {self.seconds[label]:7.1f} s  {label}")
        for label, msg in self.failed.items():
            lines.append(f"  FAILED  {self.seconds.get(label, 0):7.1f} s  {label}: {msg}")
        return "\n".join(lines)


def log_path(logs: str | Path, scale: str, cell: GridCell) -> Path:
    """Where the executed notebook of a cell goes."""
    return (Path(logs) / scale / cell.protocol / cell.method
            / f"{run_id(cell.n_bits, cell.seed, cell.variant)}.ipynb")


def _error_message(err: BaseException) -> str:
    name = getattr(err, "ename", None) or type(err).__name__
    value = getattr(err, "evalue", None) or str(err)
    return f"{name}: {value}".strip().splitlines()[0][:300]


def run_cell(cell: GridCell, *, scale: str, root: str | Path = "results",
             artifacts: str | Path = "runs/artifacts", logs: str | Path = "runs/logs",
             device: str = "cpu", epochs: int | None = None, fresh: bool = False) -> Path:
    """Execute ``train_eval.ipynb`` for one cell; returns the record folder.

    Training checkpoints go to ``<logs>/../checkpoints/...`` so an interrupted run resumes
    from its last epoch; ``fresh=True`` deletes them first (``--force``).

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
    ckpt = Path(logs).parent / "checkpoints" / out.relative_to(logs).with_suffix("")
    if fresh and ckpt.exists():
        shutil.rmtree(ckpt)
    params = {
        "scale": scale, "method": cell.method, "protocol": cell.protocol,
        "n_bits": cell.n_bits, "seed": cell.seed, "device": device, "variant": cell.variant,
        "overrides": dict(cell.overrides), "epochs": epochs, "run_dir": str(ckpt.resolve()),
        "root": str(Path(root).resolve()), "artifacts": str(Path(artifacts).resolve()),
    }
    pm.execute_notebook(str(TEMPLATE), str(out), parameters=params, kernel_name="python3",
                        cwd=str(REPO), progress_bar=False, log_output=False,
                        extra_arguments=["--log-level=CRITICAL"])
    key = cell.key(scale)
    if not has_record(root, **key):
        raise RuntimeError(f"{out}: the notebook finished but wrote no record for {key}")
    folder = record_dir(root, **key)
    if out.stat().st_size <= MAX_COMMITTED_LOG:
        atomic_write(folder / "run.ipynb", out.read_bytes())
    else:
        (folder / "run.ipynb").unlink(missing_ok=True)
    return folder


def run_grid(cells: list[GridCell], *, scale: str, root: str | Path = "results",
             artifacts: str | Path = "runs/artifacts", logs: str | Path = "runs/logs",
             device: str = "cpu", epochs: int | None = None, force: bool = False,
             progress: bool = True) -> Summary:
    """Run every cell (skipping those with a record unless ``force``), never stopping
    at a failure; a tqdm bar shows the cells done and the estimated time left."""
    from tqdm.auto import tqdm

    summary = Summary()
    todo = []
    for cell in cells:
        if not force and has_record(root, **cell.key(scale)):
            summary.skipped.append(cell.label)
        else:
            todo.append(cell)
    bar = tqdm(todo, desc=f"{scale} grid", unit="run", disable=not progress,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} runs "
                          "[{elapsed} elapsed, {remaining} left]{postfix}")
    for cell in bar:
        bar.set_postfix_str(cell.label)
        start = time.perf_counter()
        try:
            run_cell(cell, scale=scale, root=root, artifacts=artifacts, logs=logs,
                     device=device, epochs=epochs, fresh=force)
            summary.done.append(cell.label)
        except Exception as err:  # noqa: BLE001 - a failed cell must not stop the grid
            summary.failed[cell.label] = _error_message(err)
            bar.write(f"FAILED {cell.label}: {summary.failed[cell.label]} "
                      f"(log: {log_path(logs, scale, cell)})")
        summary.seconds[cell.label] = time.perf_counter() - start
    bar.close()
    return summary


def build_book(scale: str, *, root: str | Path = "results",
               artifacts: str | Path = "runs/artifacts") -> int:
    """Execute the book's notebooks on ``root`` (database codes in ``artifacts``) and build
    the HTML book; 0 on success."""
    from hashlib_core.book import build_notebooks

    failed = build_notebooks(scale, root=root, artifacts=artifacts)
    for name, msg in failed.items():
        print(f"book page {name} FAILED: {msg}", file=sys.stderr)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(REPO), "-W", "--keep-going"]
    print("$ " + " ".join(cmd), flush=True)
    rc = subprocess.run(cmd, cwd=REPO).returncode
    return 1 if (failed or rc) else 0


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m hashlib_core.reproduce",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=grids.SCALES, required=True)
    ap.add_argument("--datasets", nargs="+", help="datasets (cifar10 ...) or protocol names")
    ap.add_argument("--methods", nargs="+", help="registry names (default: the whole grid)")
    ap.add_argument("--bits", nargs="+", type=int, help="code lengths")
    ap.add_argument("--seeds", nargs="+", type=int, help="seeds")
    ap.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 ...")
    ap.add_argument("--epochs", type=int, default=None,
                    help="override the scale's number of epochs (default: the scale's)")
    ap.add_argument("--force", action="store_true", help="rerun cells that have a record")
    ap.add_argument("--no-book", action="store_true", help="do not rebuild the book")
    ap.add_argument("--dry-run", action="store_true", help="list the cells and exit")
    ap.add_argument("--root", default="results", help="results folder (default: results)")
    ap.add_argument("--artifacts", default="runs/artifacts",
                    help="database codes folder, not committed (default: runs/artifacts)")
    ap.add_argument("--logs", default="runs/logs", help="run logs (default: runs/logs)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cells = grids.select(grids.grid(args.scale), datasets=args.datasets,
                             methods=args.methods, bits=args.bits, seeds=args.seeds,
                             scale=args.scale)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not cells:
        print("error: the selection matches no cell of the grid", file=sys.stderr)
        return 2
    if args.dry_run:
        for cell in cells:
            mark = "done" if has_record(args.root, **cell.key(args.scale)) else "todo"
            print(f"{mark}  {cell.label}")
        return 0
    print(f"{args.scale} grid: {len(cells)} cells, device {args.device}", flush=True)
    summary = run_grid(cells, scale=args.scale, root=args.root, artifacts=args.artifacts,
                       logs=args.logs, device=args.device, epochs=args.epochs,
                       force=args.force)
    print(summary.report(), flush=True)
    rc = 0 if summary.ok else 1
    if not args.no_book:
        rc = build_book(args.scale, root=args.root, artifacts=args.artifacts) or rc
    return rc


if __name__ == "__main__":
    sys.exit(main())
