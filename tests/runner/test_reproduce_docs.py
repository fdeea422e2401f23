"""The runner commands that README.md and the rerun page document work in a fresh clone
(issue 25 item 3): their flags parse, and the folder they redirect output into exists."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from hashlib_core.runner.cli import _parser
from hashlib_core.runner.execution import REPO

PAGES = [REPO / "README.md", REPO / "book" / "rerun.md"]


def _commands(page: Path) -> list[str]:
    """Shell lines of the page's code blocks (continuations joined)."""
    lines, inside, out = page.read_text().splitlines(), False, []
    for line in lines:
        if line.startswith("```"):
            inside = not inside
            continue
        if inside:
            if out and out[-1].endswith("\\"):
                out[-1] = out[-1][:-1] + " " + line.strip()
            else:
                out.append(line.strip())
    return out


def _runner_args(line: str) -> list[str] | None:
    if "hashlib_core.reproduce" not in line:
        return None
    words = shlex.split(line.split("#")[0].replace("$i", "0"))
    args = words[words.index("hashlib_core.reproduce") + 1:]
    stop = next((k for k, w in enumerate(args) if w[0] in "<>&|;" or w.startswith("2>")),
                len(args))
    return args[:stop]


def test_documented_runner_lines_parse():
    found = 0
    for page in PAGES:
        for line in _commands(page):
            args = _runner_args(line)
            if args is None:
                continue
            found += 1
            try:
                _parser().parse_args(args)
            except SystemExit as err:  # pragma: no cover - the message says which
                pytest.fail(f"{page.name}: {line!r} does not parse (exit {err.code})")
    assert found >= 3


def test_redirections_into_runs_work_in_a_fresh_clone():
    """``> runs/shard$i.log`` failed in a clone (no runs/ folder): runs/ is now in the
    repository (runs/.gitkeep), its contents ignored."""
    tracked = subprocess.run(["git", "ls-files", "runs/.gitkeep"], cwd=REPO,
                             capture_output=True, text=True).stdout.split()
    assert tracked == ["runs/.gitkeep"]
    targets = [m.group(1) for page in PAGES for line in _commands(page)
               for m in re.finditer(r"(?<![0-9&])>\s*(runs/\S+)", line)]
    assert targets, "no documented command redirects into runs/"
    for target in targets:
        assert Path(target.replace("$i", "0")).parent == Path("runs"), target
        ignored = subprocess.run(["git", "check-ignore", "-q", target.replace("$i", "0")],
                                 cwd=REPO)
        assert ignored.returncode == 0, f"{target} would be committed"
