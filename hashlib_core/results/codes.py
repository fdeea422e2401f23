"""Packed codes files of the results store: -1/+1 codes bit-packed with their labels in a
NumPy archive named by its content hash, written for a record and read back checked."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _codes_npz(codes: Any, labels: Any, what: str) -> bytes:
    codes = np.asarray(codes.detach().cpu() if hasattr(codes, "detach") else codes)
    if codes.ndim != 2 or not np.isin(codes, (-1, 1)).all():
        raise ValueError(f"{what}: codes must be a 2-D array of -1/+1, got shape {codes.shape}")
    labels = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
    if labels.shape[0] != codes.shape[0]:
        raise ValueError(f"{what}: {codes.shape[0]} codes but {labels.shape[0]} labels")
    return _npz_bytes(
        packed=np.packbits(codes > 0, axis=1),
        n_bits=np.array(codes.shape[1]),
        labels=labels.astype(np.uint8) if labels.ndim == 2 else labels.astype(np.int64),
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _shape_problems(packed: np.ndarray, n_bits: Any, labels: np.ndarray,
                    record: Mapping[str, Any] | None = None) -> list[str]:
    """Shape checks of a packed codes archive (against its record when given)."""
    if packed.dtype != np.uint8 or packed.ndim != 2:
        return [f"packed codes must be a 2-D uint8 array, got {packed.dtype} of shape "
                f"{packed.shape}"]
    if np.ndim(n_bits) != 0 or not np.issubdtype(np.asarray(n_bits).dtype, np.integer):
        return [f"n_bits must be one integer, got {n_bits!r}"]
    n_bits = int(n_bits)
    out = []
    if n_bits <= 0 or packed.shape[1] != (n_bits + 7) // 8:
        out.append(f"codes of shape {packed.shape} (packed) cannot hold {n_bits} bits")
    if labels.ndim not in (1, 2) or labels.shape[0] != packed.shape[0]:
        out.append(f"{packed.shape[0]} codes but labels of shape {labels.shape}")
    if record is not None:
        key_bits = (record.get("key") or {}).get("n_bits")
        if _is_int(key_bits) and n_bits != key_bits:
            out.append(f"codes of {n_bits} bits, the record's key.n_bits is {key_bits}")
        n_queries = (record.get("eval_info") or {}).get("n_queries")
        if _is_int(n_queries) and packed.shape[0] != n_queries:
            out.append(f"{packed.shape[0]} query codes, the record's eval_info.n_queries "
                       f"is {n_queries}")
    if packed.shape[0] == 0:
        out.append("no query codes")
    return out

def _read_codes(path: Path, sha256: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Codes (n, n_bits) int8 in {-1,+1} and labels of a codes file, checked against
    ``sha256`` (when given) and for shape before use; errors name the file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: codes file not found")
    data = path.read_bytes()
    if sha256 and _sha256(data) != sha256:
        raise ValueError(f"{path}: codes file does not match the sha256 in its record")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            packed, n_bits, labels = z["packed"], z["n_bits"], z["labels"]
    except Exception as err:  # noqa: BLE001 - re-raised naming the file
        raise ValueError(f"{path}: codes file unreadable ({type(err).__name__}: "
                         f"{' '.join(str(err).split())[:120]})") from None
    wrong = _shape_problems(packed, n_bits, labels)  # before use: no kernel dies on it
    if wrong:
        raise ValueError(f"{path}: {'; '.join(wrong)}")
    bits = np.unpackbits(packed, axis=1, count=int(n_bits))
    return bits.astype(np.int8) * 2 - 1, labels

