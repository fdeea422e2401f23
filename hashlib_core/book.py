"""Execute the book's table and figure notebooks on the stored results (no training).

``python -m hashlib_core.book --scale cpu`` runs every notebook of :data:`PAGES` with
papermill, with the scale and the results folder as parameters, into
``book/generated/<page>.ipynb``; ``jupyter-book build .`` then renders them (the book
does not execute notebooks itself: ``execute_notebooks: off``). The generated folder is
not committed: ``make book`` regenerates it from ``results/``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from hashlib_core.grids import SCALES
from hashlib_core.tables import DATASET_NAMES

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Page:
    """A generated page: output name, template notebook, parameters, title."""

    name: str
    template: str
    title: str
    parameters: dict[str, Any] = field(default_factory=dict)


PAGES: tuple[Page, ...] = (
    Page("protocols", "protocols", "Protocols and metric conventions"),
    *(Page(f"results_{d}", "tables", f"Results: {DATASET_NAMES[d]}", {"dataset": d})
      for d in ("cifar10", "imagenet100", "nuswide", "coco")),
    Page("curves", "curves", "P-R curves, P@N and radius-2 precision"),
    Page("tsne", "tsne", "t-SNE of the codes"),
    Page("bit_correlation", "bit_correlation", "Bit correlation"),
    Page("shnet_ablation", "shnet_ablation", "SHNet ablation"),
    Page("discussion", "discussion", "Discussion"),
)


def _prepare(template: Path, title: str) -> nbformat.NotebookNode:
    """The template with its ``title``-tagged cell set to ``# <title>``."""
    nb = nbformat.read(template, as_version=4)
    for cell in nb.cells:
        if "title" in cell.get("metadata", {}).get("tags", []):
            cell.source = f"# {title}"
    return nb


def _finish(path: Path) -> None:
    """Tag the executed notebook for the book: code hidden behind a toggle, the
    template's default parameters removed (the injected ones stay, hidden)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        tags.add("remove-cell" if "parameters" in tags else "hide-input")
        cell.metadata["tags"] = sorted(tags)
    nbformat.write(nb, path)


def execute_page(page: Page, *, scale: str, root: str | Path = "results",
                 out: str | Path = "book/generated", kernel: str = "python3") -> Path:
    """Execute one page's notebook with papermill; returns the executed notebook's path.

    Raises
    ------
    papermill.PapermillExecutionError
        If a cell fails (the partly executed notebook is written for inspection).
    """
    import papermill as pm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    template = REPO / "notebooks" / f"{page.template}.ipynb"
    if not template.is_file():
        raise ValueError(f"page {page.name!r}: template {template} not found")
    path = out / f"{page.name}.ipynb"
    params = {"scale": scale, "root": str(Path(root).resolve()), **page.parameters}
    pm.execute_notebook(
        _prepare(template, page.title), str(path), parameters=params, kernel_name=kernel,
        cwd=str(REPO), progress_bar=False, log_output=False,
        extra_arguments=["--log-level=CRITICAL"],  # no kernel start-up chatter
    )
    _finish(path)
    return path


def build_notebooks(scale: str, *, root: str | Path = "results",
                    out: str | Path = "book/generated", pages: tuple[Page, ...] = PAGES,
                    verbose: bool = True) -> dict[str, str]:
    """Execute every page; returns ``{page name: error message}`` for the failed ones."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; known: {', '.join(SCALES)}")
    failed = {}
    for page in pages:
        start = time.perf_counter()
        try:
            execute_page(page, scale=scale, root=root, out=out)
            status = "ok"
        except Exception as err:  # noqa: BLE001 - reported, the other pages still run
            # a papermill error's own text starts with a blank line: name its exception
            name = getattr(err, "ename", None) or type(err).__name__
            value = getattr(err, "evalue", None) or str(err)
            failed[page.name] = f"{name}: {value}".strip()
            status = "FAILED"
        if verbose:
            print(f"  {page.name:<22} {status:<7} {time.perf_counter() - start:6.1f} s",
                  flush=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hashlib_core.book", description=__doc__)
    ap.add_argument("--scale", choices=SCALES, default="cpu",
                    help="which results the tables and figures show (default: cpu)")
    ap.add_argument("--root", default="results", help="results folder (default: results)")
    ap.add_argument("--out", default=str(REPO / "book" / "generated"),
                    help="where the executed notebooks go (default: book/generated)")
    args = ap.parse_args(argv)
    print(f"Executing the book's notebooks on the {args.scale} results in {args.root}")
    start = time.perf_counter()
    failed = build_notebooks(args.scale, root=args.root, out=args.out)
    print(f"{len(PAGES) - len(failed)} of {len(PAGES)} pages in "
          f"{time.perf_counter() - start:.0f} s")
    for name, msg in failed.items():
        print(f"FAILED {name}: {msg}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
