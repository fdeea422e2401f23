"""Checkpoints: atomic writes, RNG states, and the resume check.

A checkpoint is one ``torch.save`` file written to a temporary file in the same folder
and renamed over the old one with ``os.replace`` (atomic on POSIX), so a run killed at
any moment leaves either the previous checkpoint or the new one, never half a file.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hashlib_core.atomic import atomic_write

FORMAT = 1
LAST = "last.pt"
BEST = "best.pt"


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` through a temporary file + ``os.replace``."""
    return atomic_write(path, lambda fh: torch.save(obj, fh))


def load(path: str | os.PathLike) -> dict[str, Any] | None:
    """Read a checkpoint written by :func:`atomic_save`; None when the file is absent.

    Raises
    ------
    ValueError
        If the file exists but cannot be read or is not a checkpoint of this format.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path} is not a hashlib_core checkpoint of format {FORMAT}")
    return obj


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """The states of every random source a run draws from."""
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002 - the legacy global state is what third-party code draws from
        "python": random.getstate(),
        "generator": generator.get_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    random.setstate(state["python"])
    generator.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch, numpy and python; return a fresh generator seeded with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
