"""One run on several GPUs: ``run_torchrun(cfg, nproc)`` launches ``torchrun`` and returns
rank 0's :class:`~hashlib_core.engine.RunResult`.

The runner's ``--gpus-per-cell N`` and the notebook's ``gpus`` parameter use it, so each
cell of a grid can train with DistributedDataParallel on N GPUs while the notebook (run
log) and the record stay as for one GPU. The configuration travels as JSON, the result
comes back as a ``torch.save`` file written by rank 0; a failed launch raises
``RuntimeError`` with the end of torchrun's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hashlib_core.engine.config import RunConfig


def torchrun_command(cfg_json: str | Path, out: str | Path, nproc: int) -> list[str]:
    """The command line that runs :func:`_worker` in ``nproc`` processes on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc-per-node", str(int(nproc)), "-m", "hashlib_core.engine.torchrun",
            str(cfg_json), str(out)]


def run_torchrun(cfg: RunConfig, nproc: int, *, timeout: float | None = None):
    """Train and evaluate ``cfg`` under torchrun with ``nproc`` processes (see module doc)."""
    import torch

    if int(nproc) < 2:
        raise ValueError(f"run_torchrun: nproc must be at least 2, got {nproc}")
    # the machine's loader workers are shared by the processes
    cfg = cfg.replace(num_workers=max(0, cfg.num_workers // int(nproc)))
    with tempfile.TemporaryDirectory(prefix="hashlib-torchrun-") as tmp:
        cfg_json, out = Path(tmp) / "config.json", Path(tmp) / "result.pt"
        cfg_json.write_text(json.dumps(cfg.to_dict()))
        proc = subprocess.run(torchrun_command(cfg_json, out, nproc), capture_output=True,
                              text=True, timeout=timeout, env={**os.environ})
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-15:]
            raise RuntimeError(f"torchrun with {nproc} processes failed (exit "
                               f"{proc.returncode}):\n" + "\n".join(tail))
        return torch.load(out, map_location="cpu", weights_only=False)


def _worker(cfg_json: str, out: str) -> int:
    import torch

    from hashlib_core.engine.distributed import env_info
    from hashlib_core.engine.train import run

    cfg = RunConfig(**json.loads(Path(cfg_json).read_text()))
    result = run(cfg, progress=False)
    if env_info().rank == 0:
        torch.save(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(_worker(*sys.argv[1:3]))
