"""The HTML book: MathJax served from the book itself (or a stated CDN fallback), the page
notebooks executed on the results (:mod:`hashlib_core.report.book`), then ``jupyter-book
build``. ``make book`` and the runner after its grid (``python -m hashlib_core.reproduce``)
both end here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hashlib_core.atomic import atomic_write
from hashlib_core.report.book import build_notebooks

REPO = Path(__file__).resolve().parents[2]

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


def build_book(scale: str, *, root: str | Path = "results",
               artifacts: str | Path = "runs/artifacts") -> int:
    """Execute the book's notebooks on ``root`` (database codes in ``artifacts``) and build
    the HTML book; 0 on success."""
    print(ensure_mathjax(), flush=True)
    failed = build_notebooks(scale, root=root, artifacts=artifacts)
    for name, msg in failed.items():
        print(f"book page {name} FAILED: {msg}", file=sys.stderr)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(REPO), "-W", "--keep-going"]
    print("$ " + " ".join(cmd), flush=True)
    rc = subprocess.run(cmd, cwd=REPO).returncode
    return 1 if (failed or rc) else 0
