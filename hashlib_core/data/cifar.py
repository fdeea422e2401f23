"""CIFAR-10 in its standard order, from the original python batches or the offline JPEG zip.

Standard order: ``data_batch_1`` .. ``data_batch_5`` concatenated (indices 0..49999,
CIFAR-10's training set), then ``test_batch`` (50000..59999). Both sources yield this
order, so a split defined by indices selects the same images from either copy:

* ``"pickles"``: ``<root>/cifar-10-batches-py`` as torchvision downloads it
  (``download=True`` asks torchvision to fetch it into ``root``, or into
  ``<cache>/downloads`` when no root is configured; torchvision checks the md5).
  Exact pixels.
* ``"jpeg"``: ``<root>/cifar10-jpeg/cifar10_jpeg.zip`` with ``std_order_index.csv``, the
  offline copy on these machines: a JPEG (quality 75) re-encoding, mean absolute pixel
  error about 5.8 / 255 against the originals. Its size and SHA-256 are checked against
  the known values (and ``SHA256SUMS`` when present) before decoding.

``source="auto"`` prefers the pickles when both exist (exact pixels). The pickles are the
dataset's own format; they are read with a restricted unpickler that accepts only the
types a CIFAR-10 batch holds (dicts, lists, bytes, numpy arrays), so a planted file cannot
run code: it is refused with an error naming it. Decoding happens once; the uint8
arrays are cached as ``.npy`` in the cache folder and later loads take well under 2 s.
"""

from __future__ import annotations

import csv
import io
import os
import pickle
import time
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image
from torchvision.io import ImageReadMode, decode_jpeg

from hashlib_core.data.cache import (
    cache_root,
    download_root,
    file_stamp,
    load_array,
    read_sha256sums,
    save_array,
    save_json,
    search_roots,
    sha256_file,
)

CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
N_TRAIN, N_TEST = 50_000, 10_000
BATCH_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
#: the offline JPEG copy: size in bytes and SHA-256 (from ../shared/data/SHA256SUMS)
JPEG_ZIP = (
    "cifar10-jpeg/cifar10_jpeg.zip",
    62_190_935,
    "ead45e06542622104d3e17a0e554f18656c4cf310408a9ee502d835a28cf897d",
)
JPEG_INDEX = (
    "cifar10-jpeg/std_order_index.csv",
    2_117_808,
    "664948c9498402355323c6fc450c3eec421a638967464addf9b1c9a087182eaf",
)
_CACHE_VERSION = 1


class InMemoryData(NamedTuple):
    """A whole dataset in its standard order.

    Attributes
    ----------
    images : ndarray of shape (n, H, W, 3), uint8
    labels : ndarray of shape (n,), int64 class indices
    info : dict
        ``dataset``, ``source``, ``files`` (name -> sha256 and size), ``classes``.
    """

    images: np.ndarray
    labels: np.ndarray
    info: dict


#: the only globals a CIFAR-10 python batch refers to (numpy's array reconstruction)
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("_codecs", "encode"),  # how pickle protocol 2 writes bytes from Python 3
}


class _DataOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds plain data and numpy arrays only: any other global (a
    function a crafted pickle would call) is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused global {module}.{name} (a CIFAR-10 batch "
                                     "holds only data)")


def _load_data_pickle(path: Path):
    with open(path, "rb") as fh:
        return _DataOnlyUnpickler(fh, encoding="bytes").load()


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one original CIFAR-10 python batch (``data_batch_k`` or ``test_batch``).

    Parameters
    ----------
    path : path-like
        A pickle with ``b"data"`` of shape (n, 3072) uint8 (channel-major 3x32x32 rows)
        and ``b"labels"`` (n ints in 0..9).

    Returns
    -------
    images : ndarray of shape (n, 32, 32, 3), uint8
    labels : ndarray of shape (n,), int64
    """
    path = Path(path)
    try:
        entry = _load_data_pickle(path)  # the CIFAR-10 format, data types only
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise ValueError(f"{path}: not a CIFAR-10 python batch ({err})") from err
    if not isinstance(entry, dict) or b"data" not in entry or b"labels" not in entry:
        keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ValueError(f"{path}: expected a dict with b'data' and b'labels', got {keys}")
    data = np.asarray(entry[b"data"])
    labels = np.asarray(entry[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(
            f"{path}: data must be uint8 of shape (n, 3072), got {data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],) or labels.min() < 0 or labels.max() > 9:
        raise ValueError(
            f"{path}: labels must be {data.shape[0]} ints in 0..9, got shape {labels.shape} "
            f"range [{labels.min()}, {labels.max()}]"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def read_cifar_meta(path: str | os.PathLike) -> list[str]:
    """Class names from the original ``batches.meta`` (CIFAR-10's label order)."""
    path = Path(path)
    try:
        meta = _load_data_pickle(path)  # the CIFAR-10 format, data types only
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise ValueError(f"{path}: not a CIFAR-10 meta file ({err})") from err
    names = meta.get(b"label_names") if isinstance(meta, dict) else None
    if not names:
        raise ValueError(f"{path}: no b'label_names' in the CIFAR-10 meta file")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _check_known(path: Path, size: int, sha: str) -> str:
    """Check a file's size (cheap) then SHA-256 against the known value and SHA256SUMS."""
    actual_size = path.stat().st_size
    if actual_size != size:
        raise ValueError(
            f"{path}: size {actual_size} bytes, expected {size} (truncated or another file?)"
        )
    digest = sha256_file(path)
    listed = read_sha256sums(path.parent).get(str(path.resolve()))
    for expected, where in ((sha, "the known value"), (listed, "SHA256SUMS")):
        if expected is not None and digest != expected:
            raise ValueError(f"{path}: sha256 {digest} differs from {where} {expected}")
    return digest


def _decode_jpeg(data: bytes, where: str) -> np.ndarray:
    """JPEG bytes -> (H, W, 3) uint8 with libjpeg-turbo through torchvision (about 2.5x
    faster than PIL here, identical pixels on this copy); PIL for anything else."""
    try:
        buf = torch.frombuffer(bytearray(data), dtype=torch.uint8)
        return decode_jpeg(buf, mode=ImageReadMode.RGB).permute(1, 2, 0).numpy()
    except RuntimeError:
        pass
    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    except OSError as err:
        raise ValueError(f"{where}: unreadable image: {err}") from err


def _decode_jpeg_zip(folder: Path) -> InMemoryData:
    zip_path, index_path = folder / Path(JPEG_ZIP[0]).name, folder / Path(JPEG_INDEX[0]).name
    files = {
        JPEG_ZIP[0]: {"sha256": _check_known(zip_path, *JPEG_ZIP[1:]), "size": JPEG_ZIP[1]},
        JPEG_INDEX[0]: {"sha256": _check_known(index_path, *JPEG_INDEX[1:]), "size": JPEG_INDEX[1]},
    }
    images = np.zeros((N_TRAIN + N_TEST, 32, 32, 3), np.uint8)
    labels = np.full(N_TRAIN + N_TEST, -1, np.int64)
    with open(index_path, newline="") as fh, zipfile.ZipFile(zip_path) as zf:
        reader = csv.reader(fh)
        header = next(reader)
        if header != ["split", "std_index", "path", "label"]:
            raise ValueError(f"{index_path} line 1: unexpected header {header}")
        for line, row in enumerate(reader, start=2):
            where = f"{index_path} line {line}"
            if len(row) != 4 or row[0] not in ("train", "test"):
                raise ValueError(f"{where}: expected split,std_index,path,label, got {row}")
            i = int(row[1]) + (N_TRAIN if row[0] == "test" else 0)
            label = int(row[3])
            if not 0 <= i < N_TRAIN + N_TEST or labels[i] != -1:
                raise ValueError(f"{where}: index {row[1]} out of range or repeated")
            if not 0 <= label <= 9 or Path(row[2]).parent.name != CLASSES[label]:
                raise ValueError(f"{where}: label {label} does not match the folder of {row[2]}")
            try:
                data = zf.read(row[2])
            except KeyError as err:
                raise ValueError(f"{where}: {row[2]} is not in {zip_path}") from err
            pixels = _decode_jpeg(data, f"{zip_path}:{row[2]} ({where})")
            if pixels.shape != (32, 32, 3):
                raise ValueError(f"{zip_path}:{row[2]}: shape {pixels.shape}, expected (32, 32, 3)")
            images[i], labels[i] = pixels, label
    missing = np.flatnonzero(labels < 0)
    if missing.size:
        raise ValueError(
            f"{index_path}: {missing.size} standard indices missing, e.g. {missing[:5]}"
        )
    info = {"dataset": "cifar10", "source": "jpeg", "files": files, "classes": list(CLASSES)}
    return InMemoryData(images, labels, info)


def _read_pickles(folder: Path) -> InMemoryData:
    parts = [read_cifar_batch(folder / name) for name in BATCH_FILES]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if images.shape[0] != N_TRAIN + N_TEST:
        raise ValueError(f"{folder}: {images.shape[0]} images in the 6 batches, expected 60000")
    files = {
        f"cifar-10-batches-py/{name}": {
            "sha256": sha256_file(folder / name),
            "size": (folder / name).stat().st_size,
        }
        for name in BATCH_FILES
    }
    classes = (
        read_cifar_meta(folder / "batches.meta") if (folder / "batches.meta").is_file() else CLASSES
    )
    info = {"dataset": "cifar10", "source": "pickles", "files": files, "classes": list(classes)}
    return InMemoryData(images, labels, info)


def _find_source(root: Path, source: str) -> tuple[str, Path, list[Path]]:
    """Which copy to read: ('pickles', folder) or ('jpeg', folder); also the places tried."""
    tried: list[Path] = []
    if source in ("auto", "pickles"):
        for folder in (root / "cifar-10-batches-py", root):
            tried.append(folder / "data_batch_1")
            if all((folder / name).is_file() for name in BATCH_FILES):
                return "pickles", folder, tried
    if source in ("auto", "jpeg"):
        for folder in (root / "cifar10-jpeg", root):
            tried.append(folder / "cifar10_jpeg.zip")
            if (folder / "cifar10_jpeg.zip").is_file() and (
                folder / "std_order_index.csv"
            ).is_file():
                return "jpeg", folder, tried
    return "", root, tried


def _source_files(kind: str, folder: Path) -> list[Path]:
    if kind == "pickles":
        return [folder / name for name in BATCH_FILES]
    return [folder / "cifar10_jpeg.zip", folder / "std_order_index.csv"]


def _read_meta(path: Path) -> dict | None:
    """The decoded-copy cache's meta JSON, or None (the copy is rebuilt): absent, or
    unreadable (named in a :class:`~hashlib_core.data.cache.CorruptCacheWarning`)."""
    import json
    import warnings

    from hashlib_core.data.cache import CorruptCacheWarning

    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as err:
        warnings.warn(f"cache file {path} is unreadable ({type(err).__name__}: "
                      f"{' '.join(str(err).split())[:120]}); the decoded copy is rebuilt",
                      CorruptCacheWarning, stacklevel=3)
        return None
    return meta


def load_cifar10(
    *,
    root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = False,
    source: str = "auto",
    verbose: bool = False,
) -> InMemoryData:
    """All 60,000 CIFAR-10 images in the standard order (train 0..49999, test 50000..59999).

    Parameters
    ----------
    root : path-like or None
        Folder holding ``cifar-10-batches-py`` and/or ``cifar10-jpeg`` (see
        :func:`~hashlib_core.data.cache.data_root` for the default).
    cache_dir : path-like or None
        Where decoded arrays are cached (see :func:`~hashlib_core.data.cache.cache_root`).
    download : bool
        If no copy is found, let torchvision download the python batches into ``root``
        (or ``<cache>/downloads``, see :func:`~hashlib_core.data.cache.download_root`).
    source : {"auto", "pickles", "jpeg"}
        Which copy to read; ``"auto"`` prefers the exact pickles.
    verbose : bool
        Print the decode time.

    Returns
    -------
    InMemoryData
        ``images`` (60000, 32, 32, 3) uint8, ``labels`` (60000,) int64, ``info``.
    """
    if source not in ("auto", "pickles", "jpeg"):
        raise ValueError(f"source must be 'auto', 'pickles' or 'jpeg', got {source!r}")
    tried: list[Path] = []
    kind, folder = "", Path()
    for base in search_roots(root, cache_dir):
        kind, folder, tried_here = _find_source(base, source)
        tried += tried_here
        if kind:
            break
    if not kind and download and source != "jpeg":
        import torchvision

        target = download_root(root, cache_dir)
        target.mkdir(parents=True, exist_ok=True)
        for train in (True, False):
            torchvision.datasets.CIFAR10(str(target), train=train, download=True)
        kind, folder, _ = _find_source(target, "pickles")
    if not kind:
        places = "\n  ".join(str(p) for p in tried)
        raise FileNotFoundError(
            f"CIFAR-10 not found. Tried:\n  {places}\n"
            "Pass root=, set HASHLIB_DATA, or use download=True (torchvision's python batches)."
        )
    stamps = {str(p.resolve()): file_stamp(p) for p in _source_files(kind, folder)}
    cache = cache_root(cache_dir)
    stem = cache / f"cifar10-{kind}-v{_CACHE_VERSION}"
    meta_path = Path(f"{stem}-meta.json")
    meta = _read_meta(meta_path)
    if meta is not None:
        if meta.get("stamps") == stamps:
            images = load_array(f"{stem}-images.npy")  # None (named) when corrupt: rebuilt
            labels = load_array(f"{stem}-labels.npy") if images is not None else None
            if labels is not None and images.shape == (N_TRAIN + N_TEST, 32, 32, 3) and \
                    labels.shape == (N_TRAIN + N_TEST,):
                return InMemoryData(images, labels, meta.get("info") or {})
    start = time.perf_counter()
    data = _decode_jpeg_zip(folder) if kind == "jpeg" else _read_pickles(folder)
    seconds = time.perf_counter() - start
    if verbose:
        print(f"CIFAR-10 ({kind}) decoded in {seconds:.1f} s; caching in {cache}")
    save_array(f"{stem}-images.npy", data.images)
    save_array(f"{stem}-labels.npy", data.labels)
    save_json(meta_path, {"stamps": stamps, "info": data.info, "decode_seconds": seconds})
    return data
