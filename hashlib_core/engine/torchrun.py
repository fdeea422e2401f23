"""One run on several GPUs: ``run_torchrun(cfg, nproc)`` launches ``torchrun`` and returns
rank 0's :class:`~hashlib_core.engine.RunResult`.

The runner's ``--gpus-per-cell N`` and the notebook's ``gpus`` parameter use it, so each
cell of a grid can train with DistributedDataParallel on N GPUs while the notebook (run
log) and the record stay as for one GPU. The configuration travels as JSON, the result
comes back as a ``torch.save`` file written by rank 0 in plain values (tensors, numbers,
strings, dicts and lists: :func:`to_plain`) and read with ``weights_only=True``
(:func:`hashlib_core.engine.checkpoint.safe_load`), so nothing in that file can run code;
a failed launch raises ``RuntimeError`` with the end of torchrun's output.
"""

from __future__ import annotations

import dataclasses
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
        from hashlib_core.engine.checkpoint import safe_load

        return from_plain(safe_load(out))


#: the classes a result file may name (rebuilt from their fields by :func:`from_plain`)
def _classes() -> dict[str, type]:
    from hashlib_core.engine.result import RunResult
    from hashlib_core.evaluation import EvalResult

    return {"RunResult": RunResult, "RunConfig": RunConfig, "EvalResult": EvalResult}


def to_plain(obj):
    """``obj`` in values ``torch.load(weights_only=True)`` reads: numpy arrays as
    ``{"__ndarray__": tensor}``, numpy scalars as numbers, the dataclasses of
    :func:`_classes` as ``{"__class__": name, field: value ...}``, tuples as
    ``{"__tuple__": [...]}``."""
    import numpy as np
    import torch

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        name = type(obj).__name__
        if name not in _classes():
            raise TypeError(f"to_plain: {name} is not a result class")
        return {"__class__": name, **{f.name: to_plain(getattr(obj, f.name))
                                      for f in dataclasses.fields(obj)}}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError("to_plain: an object array has no plain form")
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return {"__tuple__": [to_plain(v) for v in obj]}
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor)):
        return obj
    raise TypeError(f"to_plain: {type(obj).__name__} has no plain form")


def from_plain(obj):
    """The inverse of :func:`to_plain`."""
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return obj["__ndarray__"].numpy()
        if "__tuple__" in obj:
            return tuple(from_plain(v) for v in obj["__tuple__"])
        if "__class__" in obj:
            cls = _classes()[obj["__class__"]]
            return cls(**{k: from_plain(v) for k, v in obj.items() if k != "__class__"})
        return {k: from_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_plain(v) for v in obj]
    return obj


def _worker(cfg_json: str, out: str) -> int:
    import torch

    from hashlib_core.engine.distributed import env_info
    from hashlib_core.engine.train import run

    cfg = RunConfig(**json.loads(Path(cfg_json).read_text()))
    result = run(cfg, progress=False)
    if env_info().rank == 0:
        torch.save(to_plain(result), out)
    return 0


if __name__ == "__main__":
    sys.exit(_worker(*sys.argv[1:3]))
