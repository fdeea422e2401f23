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

Many runners (GPUs, machines): ``--shard I/N`` keeps every N-th cell of the selection
starting at the I-th (0-based), so N runners with ``--shard 0/N`` ... ``--shard N-1/N``
cover the grid exactly once; their ``results/`` folders merge by copying. Runners that
share a results folder also claim each cell before training it, with a file created
atomically (``O_CREAT | O_EXCL``) under ``<root>.checkpoints/claims/``: a claimed cell
is skipped by the others, and a claim is removed when its cell ends (a claim left by a
killed runner on the same machine is recognised by its dead process and taken over).
``--gpus-per-cell N`` trains each cell on N GPUs through ``torchrun``.

Checkpoints live beside the results root, in ``<root>.checkpoints/<scale>/...`` (a new
``--root`` never resumes from another root's), and are deleted once the cell's record is
written, unless ``--keep-checkpoints``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
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
    claimed: list[str] = field(default_factory=list)  # being trained by another runner

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
        for label in self.claimed:
            lines.append(f"  claimed by another runner, skipped: {label}")
        return "\n".join(lines)


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


def shard_cells(cells: list[GridCell], shard: tuple[int, int] | None) -> list[GridCell]:
    """The cells of shard ``(I, N)``: positions I, I+N, I+2N ... of the list (round robin,
    so every shard gets a share of each dataset and method)."""
    if shard is None:
        return list(cells)
    i, n = shard
    return [c for k, c in enumerate(cells) if k % n == i]


def claim_path(root: str | Path, scale: str, cell: GridCell) -> Path:
    return (checkpoint_root(root) / "claims" / scale / cell.protocol / cell.method
            / f"{run_id(cell.n_bits, cell.seed, cell.variant)}.claim")


def _claim_is_stale(path: Path) -> bool:
    """A claim of a process of this machine that no longer runs, or unreadable and old."""
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        try:
            return time.time() - path.stat().st_mtime > 60
        except OSError:
            return True
    if info.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(info.get("pid", -1)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


def try_claim(path: Path) -> bool:
    """Create the claim file atomically; False when another live runner holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not _claim_is_stale(path):
                return False
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump({"host": socket.gethostname(), "pid": os.getpid(),
                       "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}, fh)
        return True
    return False


def _error_message(err: BaseException) -> str:
    name = getattr(err, "ename", None) or type(err).__name__
    value = getattr(err, "evalue", None) or str(err)
    return f"{name}: {value}".strip().splitlines()[0][:300]


def run_cell(cell: GridCell, *, scale: str, root: str | Path = "results",
             artifacts: str | Path = "runs/artifacts", logs: str | Path = "runs/logs",
             device: str = "cpu", epochs: int | None = None, fresh: bool = False,
             pretrained: str | None = None, allow_protocol_deviation: bool = False,
             gpus: int = 1, keep_checkpoints: bool = False) -> Path:
    """Execute ``train_eval.ipynb`` for one cell; returns the record folder.

    Training checkpoints go to :func:`checkpoint_dir` (beside ``root``) so an interrupted
    run resumes from its last epoch; ``fresh=True`` deletes them first (``--force``), and
    they are deleted after the record is written unless ``keep_checkpoints``.
    ``pretrained`` replaces the scale's weights (a torchvision name or a state-dict
    file), ``gpus`` > 1 trains through torchrun.

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
    ckpt = checkpoint_dir(root, scale, cell)
    if fresh and ckpt.exists():
        shutil.rmtree(ckpt)
    params = {
        "scale": scale, "method": cell.method, "protocol": cell.protocol,
        "n_bits": cell.n_bits, "seed": cell.seed, "device": device, "variant": cell.variant,
        "overrides": dict(cell.overrides), "epochs": epochs, "run_dir": str(ckpt.resolve()),
        "root": str(Path(root).resolve()), "artifacts": str(Path(artifacts).resolve()),
        "pretrained": pretrained, "allow_protocol_deviation": bool(allow_protocol_deviation),
        "gpus": int(gpus),
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
    if not keep_checkpoints and ckpt.exists():
        shutil.rmtree(ckpt, ignore_errors=True)
    return folder


def run_grid(cells: list[GridCell], *, scale: str, root: str | Path = "results",
             artifacts: str | Path = "runs/artifacts", logs: str | Path = "runs/logs",
             device: str = "cpu", epochs: int | None = None, force: bool = False,
             progress: bool = True, **cell_options) -> Summary:
    """Run every cell (skipping those with a record unless ``force``, and those another
    runner has claimed), never stopping at a failure; a tqdm bar shows the cells done and
    the estimated time left. ``cell_options`` go to :func:`run_cell`."""
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
        claim = claim_path(root, scale, cell)
        if not try_claim(claim):
            summary.claimed.append(cell.label)
            continue
        start = time.perf_counter()
        try:
            if not force and has_record(root, **cell.key(scale)):  # done meanwhile
                summary.skipped.append(cell.label)
                continue
            run_cell(cell, scale=scale, root=root, artifacts=artifacts, logs=logs,
                     device=device, epochs=epochs, fresh=force, **cell_options)
            summary.done.append(cell.label)
        except Exception as err:  # noqa: BLE001 - a failed cell must not stop the grid
            summary.failed[cell.label] = _error_message(err)
            bar.write(f"FAILED {cell.label}: {summary.failed[cell.label]} "
                      f"(log: {log_path(logs, scale, cell)})")
        finally:
            claim.unlink(missing_ok=True)
        summary.seconds[cell.label] = time.perf_counter() - start
    bar.close()
    return summary


MATHJAX = REPO / "book" / "_mathjax" / "mathjax" / "tex-chtml.js"
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-chtml.js"


def ensure_mathjax() -> str:
    """The book's MathJax: the local copy when present (``make mathjax`` puts one there),
    else the stated fallback of the Makefile: a loader that fetches MathJax from the CDN
    when a page is read. Returns a one-line note of which."""
    if MATHJAX.is_file() and not (MATHJAX.parent.parent / "FALLBACK").exists():
        return f"MathJax: local copy in {MATHJAX.parent}"
    MATHJAX.parent.mkdir(parents=True, exist_ok=True)
    (MATHJAX.parent.parent / "FALLBACK").touch()
    atomic_write(MATHJAX, (
        "/* Fallback written by hashlib_core.reproduce: no local MathJax copy. */\n"
        "(function(){var s=document.createElement('script');s.async=true;"
        f"s.src='{MATHJAX_CDN}';document.head.appendChild(s);}})();\n").encode())
    return ("NOTE: no local MathJax: the book loads MathJax from the jsDelivr CDN when a page "
            "is read (formulas show as TeX source offline); `make mathjax` or "
            "MATHJAX_DIR=/path/to/mathjax/es5 make mathjax installs a local copy")


def build_book(scale: str, *, root: str | Path = "results") -> int:
    """Execute the book's notebooks on ``root`` and build the HTML book; 0 on success."""
    from hashlib_core.book import build_notebooks

    print(ensure_mathjax(), flush=True)
    failed = build_notebooks(scale, root=root)
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
    ap.add_argument("--shard", metavar="I/N", help="run only shard I of N (0-based) of the "
                    "selected cells: N runners with 0/N ... N-1/N cover the grid once")
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


def _images_checked(name: str, root: str | Path) -> tuple[bool, Path | None]:
    """Whether the images of list protocol ``name`` passed ``data check`` already (a stamp
    keyed by the list files' contents and the image folder), and the stamp's path."""
    import hashlib

    from hashlib_core.data.cache import sha256_file
    from hashlib_core.data.listfile import LIST_PROTOCOLS, _image_root, find_list_folder

    if name not in LIST_PROTOCOLS:
        return True, None
    try:
        lists = find_list_folder(LIST_PROTOCOLS[name][0])
    except FileNotFoundError:
        return True, None  # load_protocol names what is missing
    parts = [str(_image_root(lists, None).resolve())]
    parts += [sha256_file(f) for f in sorted(lists.glob("*.txt"))]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    stamp = checkpoint_root(root) / "data-checks" / f"{name}-{key}.ok"
    return stamp.is_file(), stamp


def preflight_protocols(scale: str, cells: list[GridCell], allow: bool,
                        root: str | Path = "results") -> list[str]:
    """Paper scale: the problems that stop the grid before any training, one line each:
    a protocol that cannot be built, split sizes that differ from the paper's (unless
    ``allow``), and, for the list datasets, a missing or corrupt image or a bad list line
    (``python -m hashlib_core.data check``, run once per version of the lists and image
    folder: a stamp beside the results root remembers a passed check)."""
    from hashlib_core.data import load_protocol
    from hashlib_core.data.__main__ import check
    from hashlib_core.data.protocols import size_deviations

    if scale != "paper":
        return []
    problems = []
    for name in dict.fromkeys(c.protocol for c in cells):
        done, stamp = _images_checked(name, root)
        if not done:
            print(f"{name}: checking every listed image once (python -m hashlib_core.data "
                  f"check {name})", file=sys.stderr, flush=True)
            report = check(name, out=sys.stderr)
            errors = report.errors
            for line in errors[:20]:
                problems.append(f"{name}: {line}")
            if len(errors) > 20:
                problems.append(f"{name}: {len(errors) - 20} more problems: python -m "
                                f"hashlib_core.data check {name} lists them all")
            if errors:
                continue
            stamp.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(stamp, "\n".join(report.deviations).encode() + b"\n")
        try:
            p = load_protocol(name)
        except (OSError, ValueError) as err:
            problems.append(f"{name}: {' '.join(str(err).split())}")
            continue
        dev = size_deviations(p)
        if dev and not allow:
            problems.append(f"{name}: not the paper's protocol ({'; '.join(dev)}); check it "
                            f"with python -m hashlib_core.data check {name}, or pass "
                            "--allow-protocol-deviation to run on it (records and tables "
                            "then say so)")
    return problems


def preflight_weights(scale: str, cells: list[GridCell], pretrained: str | None) -> str | None:
    """Resolve (download once when online) the weights the cells need; the one-line error
    when they cannot be had, else None."""
    from hashlib_core import scales
    from hashlib_core.methods import get_method_class
    from hashlib_core.models.weights import resolve_weights

    if not any(get_method_class(c.method).kind != "shallow" for c in cells):
        return None
    preset = scales.preset(scale)
    spec = pretrained if pretrained is not None else preset.get("pretrained")
    try:
        resolve_weights(spec, preset["backbone"])
    except ValueError as err:
        return str(err)
    return None


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
    if args.shard:
        try:
            cells = shard_cells(cells, parse_shard(args.shard))
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.dry_run:
        for cell in cells:
            mark = "done" if has_record(args.root, **cell.key(args.scale)) else "todo"
            print(f"{mark}  {cell.label}")
        return 0
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print(f"error: --device {args.device}: CUDA is not available on this machine "
                  f"(torch {torch.__version__}); use --device cpu", file=sys.stderr)
            return 2
    if args.gpus_per_cell < 1:
        print("error: --gpus-per-cell must be at least 1", file=sys.stderr)
        return 2
    problem = preflight_weights(args.scale, cells, args.pretrained)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    problems = preflight_protocols(args.scale, cells, args.allow_protocol_deviation, args.root)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        return 2
    print(f"{args.scale} grid: {len(cells)} cells, device {args.device}", flush=True)
    options = {}
    if args.pretrained is not None:
        options["pretrained"] = args.pretrained
    if args.allow_protocol_deviation:
        options["allow_protocol_deviation"] = True
    if args.gpus_per_cell > 1:
        options["gpus"] = args.gpus_per_cell
    if args.keep_checkpoints:
        options["keep_checkpoints"] = True
    summary = run_grid(cells, scale=args.scale, root=args.root, artifacts=args.artifacts,
                       logs=args.logs, device=args.device, epochs=args.epochs,
                       force=args.force, **options)
    print(summary.report(), flush=True)
    rc = 0 if summary.ok else 1
    if not args.no_book:
        rc = build_book(args.scale, root=args.root) or rc
    return rc


if __name__ == "__main__":
    sys.exit(main())
