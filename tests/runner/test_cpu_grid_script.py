"""``scripts/cpu_grid.sh`` commits every finished run while its chunk goes on: a session
that ends loses at most the runs in progress, never a finished one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cpu_grid.sh"


def _functions() -> str:
    """The script's ``finished`` and ``commit`` functions, as bash source."""
    text = SCRIPT.read_text()
    return "\n".join(re.search(rf"^{name}\(\) {{.*?^}}", text, re.S | re.M).group(0)
                     for name in ("finished", "commit"))


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_finished_runs_are_committed_and_runs_in_progress_wait(tmp_path):
    repo = tmp_path / "grid"
    (repo / "results/cpu/p/m/done").mkdir(parents=True)
    (repo / "results/cpu/p/m/running").mkdir(parents=True)
    _git(repo, "init", "-q")
    for key, value in (("user.email", "grid@example.org"), ("user.name", "grid")):
        _git(repo, "config", key, value)
    _git(repo, "commit", "-q", "--allow-empty", "-m", "start")
    (repo / "results/cpu/p/m/done/codes.npz").write_text("codes")
    (repo / "results/cpu/p/m/done/record.json").write_text("{}")
    (repo / "results/cpu/p/m/running/codes.npz").write_text("codes, no record yet")
    (repo / "results/cpu/p/manifest.json").write_text("{}")
    script = _functions() + '\ncommit "so far"\n'
    subprocess.run(["bash", "-c", script], cwd=repo, check=True)
    committed = set(_git(repo, "show", "--name-only", "--format=", "HEAD").split())
    assert committed == {"results/cpu/p/m/done/codes.npz", "results/cpu/p/m/done/record.json"}
    assert _git(repo, "log", "-1", "--format=%s").strip() == "cpu grid: so far"
    # at the chunk's end everything under results/cpu is committed
    subprocess.run(["bash", "-c", _functions() + '\ncommit "chunk" all\n'], cwd=repo, check=True)
    assert set(_git(repo, "show", "--name-only", "--format=", "HEAD").split()) == {
        "results/cpu/p/m/running/codes.npz", "results/cpu/p/manifest.json"}
    # nothing new: no empty commit
    subprocess.run(["bash", "-c", _functions() + '\ncommit "again" all\n'], cwd=repo, check=True)
    assert _git(repo, "log", "-1", "--format=%s").strip() == "cpu grid: chunk"
