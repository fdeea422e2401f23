"""MNIST from the original idx files (gzip or plain).

The idx format: a big-endian header ``0x00 0x00 <dtype 0x08 = uint8> <ndim>``, then one
uint32 per dimension, then the data. Image files have magic 2051 (``0x00000803``, three
dimensions n x 28 x 28), label files 2049 (``0x00000801``, one dimension n).

On these machines only the test set (``t10k``, 10,000 digits) is available, under
``<root>/mnist-t10k``; torchvision's layout ``<root>/MNIST/raw`` is also searched, and
``download=True`` lets torchvision fetch it there.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from hashlib_core.data.cache import download_root, search_roots, sha256_file
from hashlib_core.data.cifar import InMemoryData

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


def read_idx(path: str | os.PathLike, *, magic: int) -> np.ndarray:
    """Read an idx file (``.gz`` or plain) with the expected magic number.

    Parameters
    ----------
    path : path-like
    magic : int
        2051 for images, 2049 for labels.

    Returns
    -------
    ndarray, uint8
        Shape given by the header: (n, rows, cols) for images, (n,) for labels.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: cannot read ({err})") from err
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for an idx header")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise ValueError(
            f"{path}: magic number {found} (0x{found:08x}), expected {magic} (0x{magic:08x})"
        )
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise ValueError(
            f"{path}: header says {dims} = {expected} bytes, file holds {len(raw) - offset}"
        )
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(dims)


def load_mnist(
    *,
    root: str | os.PathLike | None = None,
    split: str = "t10k",
    download: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> InMemoryData:
    """MNIST images as 3 identical channels (n, 28, 28, 3) uint8 and labels (n,) int64.

    Parameters
    ----------
    root : path-like or None
        Folder holding ``mnist-t10k/`` (or torchvision's ``MNIST/raw/``).
    split : {"t10k", "train"}
        The 10,000 test digits or the 60,000 training digits.
    download : bool
        Fetch through torchvision into ``<root>/MNIST/raw`` (or ``<cache>/downloads``
        when no root is configured) if not found.
    cache_dir : path-like or None
        Only for the download folder; MNIST decodes in a fraction of a second.
    """
    if split not in ("t10k", "train"):
        raise ValueError(f"split must be 't10k' or 'train', got {split!r}")
    names = (f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte")
    folders = [
        folder
        for base in search_roots(root, cache_dir)
        for folder in (base / f"mnist-{split}", base / "mnist", base / "MNIST" / "raw", base)
    ]
    tried: list[Path] = []

    def find() -> tuple[Path, Path] | None:
        for folder in folders:
            for suffix in (".gz", ""):
                img, lab = (folder / (n + suffix) for n in names)
                tried.append(img)
                if img.is_file() and lab.is_file():
                    return img, lab
        return None

    found = find()
    if found is None and download:
        import torchvision

        target = download_root(root, cache_dir)
        folders.insert(0, target / "MNIST" / "raw")
        torchvision.datasets.MNIST(str(target), train=split == "train", download=True)
        found = find()
    if found is None:
        places = "\n  ".join(str(p) for p in tried)
        raise FileNotFoundError(
            f"MNIST ({split}) not found. Tried:\n  {places}\n"
            "Pass root=, set HASHLIB_DATA, or use download=True."
        )
    img_path, lab_path = found
    images = read_idx(img_path, magic=IMAGES_MAGIC)
    labels = read_idx(lab_path, magic=LABELS_MAGIC).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{img_path} {images.shape} and {lab_path} {labels.shape} do not match")
    if labels.max() > 9:
        raise ValueError(f"{lab_path}: label {labels.max()} outside 0..9")
    rgb = np.repeat(images[..., None], 3, axis=3)
    files = {
        f"mnist-{split}/{p.name}": {"sha256": sha256_file(p), "size": p.stat().st_size}
        for p in (img_path, lab_path)
    }
    info = {
        "dataset": "mnist",
        "source": "idx",
        "files": files,
        "classes": [str(k) for k in range(10)],
    }
    return InMemoryData(rgb, labels, info)
