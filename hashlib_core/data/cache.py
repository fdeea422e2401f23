"""Where data lives and where decoded arrays are cached; atomic writes; checksums.

Data root (:func:`data_root`): an explicit ``root`` argument, else the environment
variable ``HASHLIB_DATA``, else ``../shared/data`` relative to the repository that holds
this package (``<repo>/../shared/data``). Only the first of these that is *defined* is
used; a loader that finds nothing there raises a ``FileNotFoundError`` that lists every
place it tried.

Cache folder (:func:`cache_root`): an explicit ``cache_dir``, else ``HASHLIB_CACHE``, else
``$XDG_CACHE_HOME/hashlib_core`` (``~/.cache/hashlib_core``). Every write into it goes
through a temporary file in the same folder and ``os.replace``, so a reader never sees a
half-written file, and two processes decoding at once do no harm.

Stamps: :func:`save_array` writes beside each ``.npy`` a ``.npy.stamp.json`` with the
file's size, the array's shape and dtype and a BLAKE2b digest of its bytes (about 0.2 s
for the 184 MB of CIFAR-10 here); :func:`load_array` checks them and answers None, with a
:class:`CorruptCacheWarning` naming the file, for a cache that is truncated, unreadable or
altered, and deletes it, so the caller rebuilds it (once, not on every rerun).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hashlib_core.atomic import atomic_write

#: ``<repo>/../shared/data``: the repository is two levels above this package's folder.
DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder to look for raw data in: ``root``, else ``$HASHLIB_DATA``, else the default.

    Parameters
    ----------
    root : path-like or None
        An explicit folder; wins over everything else.

    Returns
    -------
    pathlib.Path
        The folder (it may not exist: the loaders report what they tried).
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("HASHLIB_DATA")
    if env:
        return Path(env).expanduser()
    return DEFAULT_DATA_ROOT


def search_roots(
    root: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> list[Path]:
    """Folders searched for raw data: :func:`data_root`, then (when neither ``root`` nor
    ``$HASHLIB_DATA`` is given) ``<cache>/downloads``, where ``download=True`` puts files."""
    roots = [data_root(root)]
    if root is None and not os.environ.get("HASHLIB_DATA"):
        roots.append(download_root(None, cache_dir))
    return roots


def download_root(
    root: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> Path:
    """Where ``download=True`` stores files: ``root`` or ``$HASHLIB_DATA`` when given, else
    ``<cache>/downloads`` (the default data root may be read-only shared data)."""
    if root is not None or os.environ.get("HASHLIB_DATA"):
        return data_root(root)
    return cache_root(cache_dir) / "downloads"


def cache_folder(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder, not created: ``cache_dir``, ``$HASHLIB_CACHE`` or the user cache."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get("HASHLIB_CACHE"):
        return Path(os.environ["HASHLIB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hashlib_core"


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder (created if needed): ``cache_dir``, ``$HASHLIB_CACHE`` or the user cache.

    Raises
    ------
    ValueError
        One line naming the folder when it cannot be created.
    """
    path = cache_folder(cache_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cache folder {path} cannot be created ({err.strerror or err}); "
                         "set HASHLIB_CACHE or cache_dir to a writable folder") from None
    return path


class CorruptCacheWarning(UserWarning):
    """A cached file was unreadable or did not match its stamp; it is rebuilt."""


class CacheWriteWarning(UserWarning):
    """A cache file could not be written (read-only or full folder); the run goes on
    without it (the value is computed again next time)."""


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".stamp.json")


def _array_digest(array: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return h.hexdigest()


def array_stamp(path: str | os.PathLike, array: np.ndarray) -> dict[str, Any]:
    """The stamp of a saved array: file size, shape, dtype and the digest of its bytes."""
    return {"size": int(os.stat(path).st_size), "shape": list(array.shape),
            "dtype": str(array.dtype), "blake2b": _array_digest(array)}


def save_array(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Save one array as ``.npy`` atomically (no pickle), with its stamp beside it.

    A cache is an optimisation: when the folder is read-only or full, nothing is left
    behind and a :class:`CacheWriteWarning` names the file and the reason (the caller
    goes on with the array it has).
    """
    path = Path(path)
    array = np.ascontiguousarray(array)
    try:
        atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))
        save_json(_stamp_path(path), array_stamp(path, array))
    except OSError as err:
        for p in (path, _stamp_path(path)):
            try:
                p.unlink(missing_ok=True)
            except OSError:
                pass
        why = "no space left on the device" if err.errno == errno.ENOSPC else (err.strerror or err)
        warnings.warn(f"cache file {path} not written ({why}); going on without it",
                      CacheWriteWarning, stacklevel=2)
    return path


def _discard(path: Path, why: str) -> None:
    warnings.warn(f"cache file {path} {why}; it is deleted and rebuilt", CorruptCacheWarning,
                  stacklevel=3)
    for p in (path, _stamp_path(path)):
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass


def load_array(path: str | os.PathLike, *, finite: bool = False) -> np.ndarray | None:
    """A cached array written by :func:`save_array`; None when it must be (re)built.

    None without a warning when the file does not exist; None with a
    :class:`CorruptCacheWarning` naming the file (which is then deleted) when it cannot
    be read or differs from its stamp (size, shape, dtype, digest), or (``finite``)
    holds NaN or infinite values. A file without a stamp (written before stamps
    existed) is accepted when NumPy reads it whole, and stamped; an unreadable stamp is
    named and the file rebuilt.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        _discard(path, f"is unreadable ({err})")
        return None
    stamp_file = _stamp_path(path)
    try:
        stamp = json.loads(stamp_file.read_text()) if stamp_file.is_file() else None
    except (OSError, ValueError) as err:
        _discard(path, f"has an unreadable stamp {stamp_file.name} ({type(err).__name__})")
        return None
    if finite and array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        _discard(path, f"holds {bad:,} NaN or infinite value(s)")
        return None
    if stamp is None:
        save_json(stamp_file, array_stamp(path, array))
        return array
    if not isinstance(stamp, dict) or stamp != array_stamp(path, array):
        _discard(path, "does not match its stamp (altered or cut)")
        return None
    return array


def save_json(path: str | os.PathLike, obj: Any) -> Path:
    """Save JSON atomically (sorted keys, indented, UTF-8)."""
    text = json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def canonical_json(obj: Any) -> bytes:
    """The canonical JSON bytes of ``obj``: sorted keys, no spaces, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256_file(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """The SHA-256 hex digest of a file (about 0.3 s for 60 MB here)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 hex digest of bytes."""
    return hashlib.sha256(data).hexdigest()


def file_stamp(path: str | os.PathLike) -> dict[str, int]:
    """Size and modification time of a file: a cheap check that a cache is still current."""
    st = os.stat(path)
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def read_sha256sums(folder: Path) -> dict[str, str]:
    """Entries of a ``SHA256SUMS`` file in ``folder`` (or above it), keyed by absolute path.

    Returns an empty dict when no such file exists. Used to check the shared data copy.
    """
    for candidate in (folder, *folder.parents[:2]):
        sums = candidate / "SHA256SUMS"
        if sums.is_file():
            out: dict[str, str] = {}
            for line in sums.read_text().splitlines():
                parts = line.split(maxsplit=1)
                if len(parts) == 2:
                    out[str((candidate / parts[1].lstrip("*")).resolve())] = parts[0].lower()
            return out
    return {}
