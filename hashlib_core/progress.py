"""Live progress of one training run, as plain lines and as a small file a runner polls.

The engine (:func:`hashlib_core.engine.run` with ``progress="lines"``, as the runner's
notebook calls it) prints one plain line per epoch to its output (no carriage returns,
so a log file or an executed notebook reads line by line) and, when the run has a
checkpoint folder, rewrites :data:`FILE` there (``progress.json``, atomically). The
runner (:mod:`hashlib_core.runner.cli`) polls that file while the cell's notebook runs and
prints each new state on its console::

    cifar10-smoke/dpsh/32b_seed0: 3/4 epochs done, loss 0.4123, val mAP 0.312 (epoch 2),
    41 s elapsed, about 14 s left

No torch here: the runner reads it without importing the engine.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

FILE = "progress.json"


def format_seconds(seconds: float | None) -> str:
    """``41 s``, ``12 min 5 s``, ``3 h 02 min``."""
    if seconds is None:
        return "?"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def state(*, epoch: int, epochs: int, loss: float | None, val_map: float | None,
          val_epoch: int | None, elapsed_s: float, epoch_seconds: list[float],
          phase: str = "training") -> dict[str, Any]:
    """The progress after ``epoch`` epochs done (1-based count) of ``epochs``; time left
    from the mean of this process's epoch times."""
    left = None
    if epoch_seconds:
        left = (epochs - epoch) * sum(epoch_seconds) / len(epoch_seconds)
    return {"phase": phase, "epoch": int(epoch), "epochs": int(epochs),
            "loss": None if loss is None else float(loss),
            "val_map": None if val_map is None else float(val_map),
            "val_epoch": val_epoch, "elapsed_s": float(elapsed_s), "left_s": left,
            "time": time.time()}


def format_state(info: dict[str, Any]) -> str:
    """One plain line of a :func:`state` dict."""
    if info.get("phase") == "encoding":
        return (f"training done ({info.get('epochs')} epochs, "
                f"{format_seconds(info.get('elapsed_s'))}): encoding and evaluating")
    parts = [f"{info.get('epoch')}/{info.get('epochs')} epochs done"]
    if info.get("loss") is not None:
        parts.append(f"loss {info['loss']:.4f}")
    if info.get("val_map") is not None:
        parts.append(f"val mAP {info['val_map']:.3f} (epoch {info.get('val_epoch')})")
    parts.append(f"{format_seconds(info.get('elapsed_s'))} elapsed")
    if info.get("left_s") is not None:
        parts.append(f"about {format_seconds(info['left_s'])} left")
    return ", ".join(parts)


def write(folder: str | os.PathLike, info: dict[str, Any]) -> None:
    """Rewrite ``folder/progress.json`` atomically; a failure is not the run's."""
    from hashlib_core.atomic import atomic_write

    try:
        atomic_write(Path(folder) / FILE, json.dumps(info).encode())
    except OSError:
        pass


def read(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The last state written under ``folder``, or None."""
    try:
        info = json.loads((Path(folder) / FILE).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None
