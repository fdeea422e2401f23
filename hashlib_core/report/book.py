"""Execute the book's table and figure notebooks on the stored results (no training).

``python -m hashlib_core.report.book --scale cpu`` runs every notebook of :data:`PAGES` with
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

from hashlib_core.report.names import DATASET_NAMES
from hashlib_core.runner.grids import SCALES

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Page:
    """A generated page: output name, template notebook, parameters, title."""

    name: str
    template: str
    title: str
    parameters: dict[str, Any] = field(default_factory=dict)


PAGES: tuple[Page, ...] = (
    Page("claims", "claims", "Claims and verdicts"),
    Page("protocols", "protocols", "Protocols and metric conventions"),
    Page("results_cifar10", "tables", f"Results: {DATASET_NAMES['cifar10']}",
         {"dataset": "cifar10"}),
    # the datasets whose images are not here share one page: their tables where runs of
    # the scale exist, else the papers' values and what a GPU box needs
    Page("results_other", "other_datasets",
         "Results: " + ", ".join(DATASET_NAMES[d] for d in ("imagenet100", "nuswide", "coco"))),
    Page("runs", "runs", "Every stored run"),
    Page("curves", "curves", "P-R curves, P@N and radius-2 precision"),
    Page("tsne", "tsne", "t-SNE of the codes"),
    Page("bit_correlation", "bit_correlation", "Bit correlation and code health"),
    Page("shnet_ablation", "shnet_ablation", "SHNet ablation"),
    Page("retrieval_examples", "retrieval_examples", "Retrieval examples: SHNet and CSQ"),
    Page("training", "training", "Training curves"),
    Page("tuning", "tuning", "Choosing the optimiser and learning rate"),
    Page("discussion", "discussion", "Discussion"),
)


def _prepare(template: Path, title: str) -> nbformat.NotebookNode:
    """The template with its ``title``-tagged cell set to ``# <title>``."""
    nb = nbformat.read(template, as_version=4)
    for cell in nb.cells:
        if "title" in cell.get("metadata", {}).get("tags", []):
            cell.source = f"# {title}"
    return nb


#: tags that keep a cell out of the book page (it stays in the downloadable notebook)
_REMOVED = ("parameters", "injected-parameters")


def _finish(path: Path, name: str | None = None) -> None:
    """Tag the executed notebook for the book page.

    * every code cell's input is removed from the page (``remove-input``: the page shows
      results, the downloaded notebook keeps and runs the code); the parameter cells
      (the template's defaults and papermill's injected values) are removed entirely;
    * a cell with one figure from :func:`hashlib_core.report.figures.style.show` becomes a numbered
      figure: its caption and alt text (in the image output's metadata) go to the cell's
      MyST-NB metadata, and the Markdown copy of the caption (for notebook readers) is
      dropped from the page's outputs.
    """
    nb = nbformat.read(path, as_version=4)
    name = name or path.stem
    run = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):  # no build machine's path in the download
        if isinstance(run.get(key), str):
            run[key] = _relative(run[key])
        elif key in run:  # papermill records a notebook object given as input in full
            run[key] = None
    n_fig = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", [])) - {"hide-input"}
        tags.add("remove-cell" if tags & set(_REMOVED) else "remove-input")
        cell.metadata["tags"] = sorted(tags)
        figs = [o for o in cell.get("outputs", [])
                if "hashlib_figure" in o.get("metadata", {})]
        if len(figs) != 1:
            continue
        n_fig += 1
        info = figs[0].metadata.pop("hashlib_figure")
        cell.metadata["mystnb"] = {
            "figure": {"caption": info["caption"], "name": f"fig-{name}-{n_fig}"},
            "image": {"alt": info["alt"], "width": info.get("width", "100%")}}
        cell.outputs = [o for o in cell.outputs
                        if not o.get("metadata", {}).get("hashlib_caption")]
    nbformat.write(nb, path)


def _parameter_names(nb: nbformat.NotebookNode) -> set[str]:
    """Names assigned in the template's ``parameters`` cell."""
    import ast

    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    return set()


def _relative(path: str | Path) -> str:
    """``path`` relative to the repository when it lies inside it (no build machine's
    absolute path on a page or in a downloaded notebook), else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def unreadable_note(scale: str, root: str | Path) -> str:
    """The note every page of a scale carries when some stored runs cannot be read ("" when
    all can): how many were left out and which files (relative to the results folder)."""
    from hashlib_core.results import RECORD, record_problems

    base = Path(root) / scale
    bad = []
    for path in sorted(base.glob(f"*/*/*/{RECORD}")):
        if record_problems(path.parent):  # unreadable, wrong types, codes file missing
            bad.append(path.relative_to(Path(root)).as_posix())
    if not bad:
        return ""
    n = len(bad)
    return (f"**Note.** {n} stored run{'s' if n > 1 else ''} of this scale could not be read "
            f"and {'are' if n > 1 else 'is'} left out of this page (truncated, corrupt or "
            f"wrongly typed record{'s' if n > 1 else ''}, or a missing codes file): " + ", ".join(f"`{b}`" for b in bad)
            + ". Rerunning the same `python -m hashlib_core.reproduce` command replaces "
            f"{'them' if n > 1 else 'it'}.")


def execute_page(page: Page, *, scale: str, root: str | Path = "results",
                 out: str | Path = "book/generated", kernel: str = "python3",
                 artifacts: str | Path = "runs/artifacts", note: str = "") -> Path:
    """Execute one page's notebook with papermill; returns the executed notebook's path.
    ``note`` (Markdown) is put at the top of the page, under its title.

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
    nb = _prepare(template, page.title)
    params = {"scale": scale, "root": _relative(root), **page.parameters}
    # what a page may also ask for: where its CSV files go (beside the page), its name,
    # and the database codes (not committed) behind per-query intervals
    extra = {"out_dir": _relative(out), "page": page.name, "artifacts": _relative(artifacts)}
    params.update({k: v for k, v in extra.items() if k in _parameter_names(nb)})
    pm.execute_notebook(
        nb, str(path), parameters=params, kernel_name=kernel,
        cwd=str(REPO), progress_bar=False, log_output=False,
        extra_arguments=["--log-level=CRITICAL"],  # no kernel start-up chatter
    )
    _finish(path, page.name)
    if note:
        nb = nbformat.read(path, as_version=4)
        nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0,
                        nbformat.v4.new_markdown_cell(note))
        nbformat.write(nb, path)
    return path


def build_notebooks(scale: str, *, root: str | Path = "results",
                    out: str | Path = "book/generated", pages: tuple[Page, ...] = PAGES,
                    verbose: bool = True,
                    artifacts: str | Path = "runs/artifacts") -> dict[str, str]:
    """Execute every page, then write the introduction's summary
    (:func:`write_summary`); returns ``{page name: error message}`` for the failed ones."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; known: {', '.join(SCALES)}")
    failed = {}
    note = unreadable_note(scale, root)
    for page in pages:
        start = time.perf_counter()
        try:
            execute_page(page, scale=scale, root=root, out=out, artifacts=artifacts, note=note)
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
    try:
        write_summary(scale, root=root, out=out, artifacts=artifacts)
    except Exception as err:  # noqa: BLE001 - reported like a page
        failed["summary"] = f"{type(err).__name__}: {err}".strip().splitlines()[0]
    return failed


def _build_commit() -> str:
    """The commit the book is built from, with a note when the checkout has changes."""
    import subprocess

    from hashlib_core.results import git_commit

    commit = git_commit(REPO)
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    return f"`{commit[:12]}`" + (" (with uncommitted changes)" if dirty.strip() else "")


def rebuild_command(page: Page, scale: str) -> str:
    """The one command that re-executes one page and rebuilds the HTML book."""
    return (f"python -m hashlib_core.report.book --scale {scale} --pages {page.name} "
            "&& jupyter-book build .")


def what_holds_criterion(scale: str) -> str:
    """The introduction's definition of *holds* (the verdict words of
    :mod:`hashlib_core.report.claims`, its interval level), said before the verdicts."""
    from hashlib_core.report import claims

    level = f"{100 * getattr(claims, 'LEVEL', 0.95):.0f}%"
    return (
        f"A claim of the source papers is **{claims.SUPPORTED}** (it holds here) when the "
        f"{level} interval of our difference, over the seeds of both methods and the "
        f"queries, lies wholly on the paper's side of zero at every code length the claim "
        f"rests on; **{claims.NOT_SUPPORTED}** when at one of those lengths it lies wholly "
        f"on the other side (with a Bonferroni correction over the lengths); "
        f"**{claims.INCONCLUSIVE}** otherwise, where the runs cannot tell the methods "
        f"apart. A paper's ranking of the methods holds when Kendall's τ between its "
        f"values and ours is above zero with a {level} interval at every code length, "
        f"over its deep methods where it also ranks shallow ones (a deep method above a "
        f"shallow one agrees at any scale). "
        f"The verdicts are about the `{scale}` scale's setting, not the papers' own, and "
        f"for SHNet, CSDH, DHEH and DSAH about this project's reconstruction of each "
        f"method (see above).")


def write_summary(scale: str, *, root: str | Path = "results",
                  out: str | Path = "book/generated",
                  artifacts: str | Path = "runs/artifacts") -> Path:
    """``<out>/summary.md`` and ``<out>/rebuild.md``, included by the introduction: the
    verdicts in three sentences (:func:`hashlib_core.report.claims_intro.intro_summary`)
    with the commit the book was built from, and the command that rebuilds each page."""
    from hashlib_core.atomic import atomic_write
    from hashlib_core.report import claims_intro
    from hashlib_core.results import iter_records

    sentences = claims_intro.intro_summary(root, scale=scale, artifacts=artifacts)
    n_records = sum(1 for _ in iter_records(root, scale=scale))
    rows = "\n".join(f"| [{p.title}](generated/{p.name}) | `{rebuild_command(p, scale)}` |"
                      for p in PAGES)
    text = (
        "## What holds\n\n" + what_holds_criterion(scale) + "\n\n" + " ".join(sentences)
        + " The [claims page](generated/claims) gives every claim with its interval.\n\n"
        f"This book was built from commit {_build_commit()} at the `{scale}` scale, from "
        f"{n_records} stored runs; the last section, *Rebuilding a page*, gives the "
        "command that re-executes any one page.\n"
    )
    rebuild = (
        "## Rebuilding a page\n\n"
        "The pages under *Claims*, *Setting*, *Results*, *Figures* and *Conclusions* are "
        "notebooks executed on the stored runs (nothing trains). One command re-executes "
        "a page and rebuilds the book:\n\n"
        "| page | command |\n|:--|:--|\n" + rows + "\n"
    )
    path = Path(out) / "summary.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode())
    atomic_write(Path(out) / "rebuild.md", rebuild.encode())
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hashlib_core.report.book", description=__doc__)
    ap.add_argument("--scale", choices=SCALES, default="cpu",
                    help="which results the tables and figures show (default: cpu)")
    ap.add_argument("--root", default="results", help="results folder (default: results)")
    ap.add_argument("--out", default=str(REPO / "book" / "generated"),
                    help="where the executed notebooks go (default: book/generated)")
    ap.add_argument("--artifacts", default="runs/artifacts",
                    help="database codes, for intervals over queries (default: runs/artifacts)")
    ap.add_argument("--pages", nargs="+", metavar="PAGE",
                    choices=[p.name for p in PAGES],
                    help="only these pages (default: all): " + ", ".join(p.name for p in PAGES))
    args = ap.parse_args(argv)
    pages = tuple(p for p in PAGES if args.pages is None or p.name in args.pages)
    print(f"Executing the book's notebooks on the {args.scale} results in {args.root}")
    start = time.perf_counter()
    failed = build_notebooks(args.scale, root=args.root, out=args.out, pages=pages,
                             artifacts=args.artifacts)
    print(f"{len(pages) - len(failed)} of {len(pages)} pages in "
          f"{time.perf_counter() - start:.0f} s")
    for name, msg in failed.items():
        print(f"FAILED {name}: {msg}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
