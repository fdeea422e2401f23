"""The atomic writer: files get the umask's permissions; temporary files of killed writes
are removed by the next write into the folder (issue 16, case 7)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from hashlib_core.atomic import _HOST, STALE_AFTER_S, atomic_write

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_get_the_umask_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = atomic_write(tmp_path / "record.json", b"{}")
        atomic_write(tmp_path / "record.json", b"{}")  # replacing keeps the rule
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode


def _killed_write(folder) -> None:
    """A process killed (SIGKILL) in the middle of an atomic write into ``folder``."""
    code = ("import os, signal, sys\n"
            "from hashlib_core.atomic import atomic_write\n"
            "def half(fh):\n"
            "    fh.write(b'{\"schema\": 1, \"key\"')\n"
            "    fh.flush()\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "atomic_write(sys.argv[1], half)\n")
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.run([sys.executable, "-c", code, str(folder / "record.json")], env=env)
    assert proc.returncode == -9


def test_temporary_file_of_a_killed_write_is_removed_by_the_next_write(tmp_path):
    _killed_write(tmp_path)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".record.json.") and left[0].endswith(".tmp")
    assert not (tmp_path / "record.json").exists()
    atomic_write(tmp_path / "query_codes.npz", b"codes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["query_codes.npz"]


def test_old_temporaries_go_and_a_write_in_progress_stays(tmp_path):
    # the name of the writer before this fix (no host/pid): removed once older than a day
    old = tmp_path / ".record.json.k3j2h1x9.tmp"
    old.write_bytes(b"half")
    recent = tmp_path / ".cache.npy.a8b7c6d5.tmp"
    recent.write_bytes(b"half")
    t = time.time() - STALE_AFTER_S - 60
    os.utime(old, (t, t))
    # a live writer (this very test's parent process stands in for one) keeps its file
    live = tmp_path / f".other.json.{_HOST}-{os.getppid()}.zz99yy.tmp"
    live.write_bytes(b"in progress")
    atomic_write(tmp_path / "record.json", b"{}")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert old.name not in names
    assert recent.name in names and live.name in names and "record.json" in names


def test_failed_write_leaves_nothing(tmp_path):
    def boom(fh):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(tmp_path / "x.bin", boom)
    assert list(tmp_path.iterdir()) == []
