"""Provenance of a run for its record: the git commit of the code, the host it ran on,
and the versions of the packages its result depends on."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[2]
_VERSIONED = ("torch", "torchvision", "numpy", "scikit-learn", "pandas", "hashlib_core")


def git_commit(repo: str | Path = _REPO) -> str:
    """``git rev-parse HEAD`` of ``repo``, or ``"unknown"`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def host_info() -> dict[str, Any]:
    """The machine a run was made on: host name, CPU model, logical cores, OS, and (when
    torch is already imported) its build: CUDA version, BLAS and threads. The same seed
    gives bit-identical codes on one machine, and codes within seed noise on another."""
    import os
    import sys

    info: dict[str, Any] = {"hostname": platform.node() or "unknown", "cpu": _cpu_model(),
                            "logical_cores": os.cpu_count(), "machine": platform.machine(),
                            "os": platform.platform(terse=True)}
    torch = sys.modules.get("torch")
    if torch is not None:
        build = ""
        try:
            build = torch.__config__.show()
        except Exception:  # noqa: BLE001 - a build string is informative, never required
            pass
        blas = [part.split("=", 1)[1] for line in build.splitlines()
                for part in line.replace(",", " ").split() if part.startswith("BLAS_INFO=")]
        info.update({"torch_cuda": getattr(torch.version, "cuda", None),
                     "blas": blas[0] if blas else "unknown",
                     "torch_threads": torch.get_num_threads()})
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on (``"absent"`` if not installed)."""
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions
