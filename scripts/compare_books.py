"""Compare two builds of the book's generated pages: every CSV byte for byte, and every
table and text output of every page notebook (issue 26: a restructuring changes no number).

Usage::

    python -m hashlib_core.report.book --scale cpu --root R --out /tmp/before   # old code
    python -m hashlib_core.report.book --scale cpu --root R --out /tmp/after    # new code
    python scripts/compare_books.py /tmp/before /tmp/after

What is compared, per page notebook: the text outputs (``text/html``, ``text/markdown``,
``text/plain``, ``text/latex`` and printed streams) in cell order. Figures (``image/*``)
are compared by count only (their bytes carry matplotlib's metadata); execution
timings, counts and ids are not outputs. Files other than notebooks (the CSVs, the
Markdown pages) are compared byte for byte. Exit 0 when everything agrees, 1 with one
line per difference otherwise, 2 on a missing folder.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

TEXT_TYPES = ("text/html", "text/markdown", "text/plain", "text/latex")


def page_outputs(path: Path) -> tuple[list[str], int]:
    """The text outputs of a page notebook in cell order, and its number of figures."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    texts: list[str] = []
    figures = 0
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append(f"cell {i} {out.get('name')}: " + "".join(out.get("text", "")))
            if out.get("output_type") == "error":
                texts.append(f"cell {i} error: {out.get('ename')}: {out.get('evalue')}")
            data = out.get("data") or {}
            figures += sum(1 for kind in data if kind.startswith("image/"))
            for kind in TEXT_TYPES:
                if kind in data:
                    value = data[kind]
                    texts.append(f"cell {i} {kind}: " + ("".join(value) if isinstance(value, list)
                                                         else str(value)))
    return texts, figures


def _first_difference(a: list[str], b: list[str]) -> str:
    for x, y in zip(a, b):
        if x != y:
            diff = difflib.unified_diff(x.splitlines(), y.splitlines(), lineterm="", n=0)
            lines = [ln for ln in diff if not ln.startswith(("---", "+++", "@@"))]
            return " | ".join(lines[:4])[:400]
    return f"{len(a)} outputs vs {len(b)}"


def compare(before: Path, after: Path) -> list[str]:
    """One line per difference between the two generated folders; [] when identical."""
    problems = []
    names_a = {p.relative_to(before) for p in before.rglob("*") if p.is_file()}
    names_b = {p.relative_to(after) for p in after.rglob("*") if p.is_file()}
    for name in sorted(names_a - names_b):
        problems.append(f"{name}: only in {before}")
    for name in sorted(names_b - names_a):
        problems.append(f"{name}: only in {after}")
    for name in sorted(names_a & names_b):
        a, b = before / name, after / name
        if name.suffix == ".ipynb":
            (ta, fa), (tb, fb) = page_outputs(a), page_outputs(b)
            if ta != tb:
                problems.append(f"{name}: outputs differ: {_first_difference(ta, tb)}")
            if fa != fb:
                problems.append(f"{name}: {fa} figures vs {fb}")
        elif a.read_bytes() != b.read_bytes():
            problems.append(f"{name}: bytes differ")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path, help="generated pages of the old code")
    ap.add_argument("after", type=Path, help="generated pages of the new code")
    args = ap.parse_args(argv)
    for folder in (args.before, args.after):
        if not folder.is_dir():
            print(f"error: {folder}: no such folder", file=sys.stderr)
            return 2
    problems = compare(args.before, args.after)
    for line in problems:
        print(line)
    n = sum(1 for p in args.before.rglob("*") if p.is_file())
    print(f"{n} files compared: " + ("identical tables, CSVs and text" if not problems
                                     else f"{len(problems)} differences"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
