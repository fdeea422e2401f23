"""Checkpoints: atomic writes, RNG states, and the resume check.

A checkpoint is one ``torch.save`` file written to a temporary file in the same folder
and renamed over the old one with ``os.replace`` (atomic on POSIX), so a run killed at
any moment leaves either the previous checkpoint or the new one, never half a file. A
write that fails for lack of space raises ``OSError`` (``ENOSPC``) saying "no space left
on device" and naming the checkpoint (torch's own error would be ``RuntimeError:
[enforce fail ...]``).

Safe loading. A checkpoint folder (``<root>.checkpoints`` beside a shared results folder,
a run folder) is a place where a file the user did not make can appear, and unpickling
runs code. Every checkpoint is therefore read with :func:`safe_load`:
``torch.load(..., weights_only=True)``, which builds only tensors and plain Python values
(dicts, lists, numbers, strings). What a checkpoint holds is stored as such: the numpy
RNG state as a tensor and numbers (:func:`rng_state`). The one type allowed beyond those
(:data:`SAFE_GLOBALS`) is numpy's array, for checkpoints written before that change. A
file asking for anything else is refused with a ``ValueError`` naming it, and nothing of
it runs.
"""

from __future__ import annotations

import errno
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hashlib_core.atomic import atomic_write

FORMAT = 1
LAST = "last.pt"
BEST = "best.pt"


#: the types a checkpoint may hold beyond tensors and plain values: numpy arrays (the numpy
#: RNG state of checkpoints written before it was stored as a tensor)
_NP_CORE = getattr(np, "_core", None) or np.core  # numpy 2 / numpy 1
SAFE_GLOBALS = [_NP_CORE.multiarray._reconstruct, np.ndarray, np.dtype,
                type(np.dtype(np.uint32))]
_GLOBAL = re.compile(r"(?:GLOBAL|global:?)\s+([\w.]+)", re.IGNORECASE)


class _Writer:
    """A file handle that remembers the ``OSError`` of a failed write (torch's zip writer
    turns it into an ``[enforce fail ...]`` RuntimeError without errno or file)."""

    def __init__(self, fh) -> None:
        self.fh, self.error = fh, None

    def write(self, data) -> int:
        try:
            return self.fh.write(data)
        except OSError as err:
            self.error = err
            raise

    def flush(self) -> None:
        self.fh.flush()


def save_to(obj: Any, fh, path: str | os.PathLike) -> None:
    """``torch.save(obj, fh)``; a failed write raises ``OSError`` naming ``path`` (and, for
    a full disk, saying "no space left on device")."""
    writer = _Writer(fh)
    try:
        torch.save(obj, writer)
    except Exception as err:
        failed = writer.error
        if failed is None and isinstance(err, OSError):
            failed = err
        if failed is None:
            raise
        if failed.errno == errno.ENOSPC:
            raise OSError(errno.ENOSPC, f"no space left on device: cannot write checkpoint "
                          f"{path}") from err
        raise OSError(failed.errno, f"cannot write checkpoint {path}: "
                      f"{failed.strerror or failed}") from err


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` through a temporary file + ``os.replace``; a full
    disk (while writing, flushing or syncing) raises ``OSError`` saying "no space left on
    device" and naming ``path``."""
    try:
        return atomic_write(path, lambda fh: save_to(obj, fh, path))
    except OSError as err:
        if err.errno == errno.ENOSPC and str(path) not in str(err):
            raise OSError(errno.ENOSPC, f"no space left on device: cannot write checkpoint "
                          f"{path}") from err
        raise


def safe_load(path: str | os.PathLike, *, mmap: bool = False) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU: tensors, plain values and
    :data:`SAFE_GLOBALS` only; nothing in the file is executed.

    Raises
    ------
    ValueError
        Naming ``path``: unreadable, or asking for a type that is not allowed (a file not
        written by hashlib_core, possibly planted: it is not loaded).
    """
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
            except RuntimeError as err:
                if not mmap or "mmap" not in str(err):
                    raise
                # an old-style (not zip) file: no mmap, the same restricted unpickler
                return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised as one line naming the file
        text = " ".join(str(err).split())
        found = _GLOBAL.search(text)
        if "Weights only load failed" in text or found:
            what = found.group(1) if found else "a type that is not a tensor or plain value"
            raise ValueError(f"{path}: not loaded: it asks for {what}, which a hashlib_core "
                             "checkpoint never holds (files in run and checkpoint folders "
                             "are read with torch.load(weights_only=True); remove the file "
                             "if you did not make it)") from None
        raise ValueError(f"cannot read checkpoint {path}: {type(err).__name__}: "
                         f"{text[:300]}") from None


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
    obj = safe_load(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path} is not a hashlib_core checkpoint of format {FORMAT}")
    return obj


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """The states of every random source a run draws from."""
    state = {
        "torch": torch.get_rng_state(),
        "numpy": _numpy_state(),
        "python": random.getstate(),
        "generator": generator.get_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _numpy_state() -> dict[str, Any]:
    """numpy's legacy global RNG state (what third-party code draws from) as a tensor and
    numbers, so a checkpoint loads with ``weights_only=True``."""
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    if name != "MT19937":
        raise ValueError(f"numpy RNG state of kind {name!r}: only MT19937 is stored")
    return {"keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}


def set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    numpy = state["numpy"]
    if isinstance(numpy, dict):  # stored as plain values (safe to load)
        numpy = ("MT19937", numpy["keys"].numpy().astype(np.uint32), int(numpy["pos"]),
                 int(numpy["has_gauss"]), float(numpy["cached_gaussian"]))
    np.random.set_state(numpy)  # noqa: NPY002
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
