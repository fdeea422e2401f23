"""CIFAR-10 (JPEG zip and original pickles) and MNIST readers on the real shared data."""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from hashlib_core.data import load_cifar10, load_mnist, load_protocol, read_cifar_batch, read_idx
from hashlib_core.data.cifar import BATCH_FILES, CLASSES, read_cifar_meta

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def cifar(shared_data, cache_dir):
    """All 60,000 images from the JPEG zip: decoded once per session, then cached."""
    start = time.perf_counter()
    data = load_cifar10(root=shared_data, cache_dir=cache_dir, source="jpeg")
    print(f"\nCIFAR-10 JPEG load (decode or cache): {time.perf_counter() - start:.2f} s")
    return data


@pytest.mark.slow
def test_cifar_jpeg_standard_order(cifar, shared_data, cache_dir):
    assert cifar.images.shape == (60_000, 32, 32, 3) and cifar.images.dtype == np.uint8
    assert cifar.labels.shape == (60_000,)
    assert np.bincount(cifar.labels, minlength=10).tolist() == [6000] * 10
    assert np.bincount(cifar.labels[:50_000]).tolist() == [5000] * 10
    assert np.bincount(cifar.labels[50_000:]).tolist() == [1000] * 10
    # the first training images of CIFAR-10 are a frog and two trucks (std_order_index.csv)
    assert cifar.labels[:3].tolist() == [6, 9, 9]
    assert cifar.info["source"] == "jpeg" and cifar.info["classes"] == list(CLASSES)
    sha = cifar.info["files"]["cifar10-jpeg/cifar10_jpeg.zip"]["sha256"]
    assert sha.startswith("ead45e06")
    # a second load reads the cache: under 2 s, same arrays, no temporary files left
    start = time.perf_counter()
    again = load_cifar10(root=shared_data, cache_dir=cache_dir, source="jpeg")
    seconds = time.perf_counter() - start
    print(f"cached load: {seconds:.2f} s")
    assert seconds < 2.0
    assert np.array_equal(again.images, cifar.images) and np.array_equal(again.labels, cifar.labels)
    assert not [p for p in os.listdir(cache_dir) if p.endswith(".tmp")]


@pytest.mark.slow
def test_jpeg_copy_agrees_with_exact_pixels(cifar, shared_data):
    exact = np.load(shared_data / "cifar10-exact-subset" / "cifar10_exact_1017perbatch.npz")
    for b, name in enumerate(BATCH_FILES):
        x, y = exact[f"{name}_x"], exact[f"{name}_y"]
        start = b * 10_000
        ours = cifar.images[start : start + len(x)].astype(np.int16)
        assert np.array_equal(cifar.labels[start : start + len(x)], y), name
        err = np.abs(ours - x.astype(np.int16))
        # README: mean absolute error about 5.8 / 255 for quality-75 JPEG
        assert 3.0 < err.mean() < 8.0, (name, err.mean())
        assert err.reshape(len(x), -1).mean(axis=1).max() < 25.0, name


def _write_batches(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    folder.mkdir(parents=True)
    for b, name in enumerate(BATCH_FILES):
        x = images[b * 10_000 : (b + 1) * 10_000]
        entry = {
            b"batch_label": name.encode(),
            b"labels": labels[b * 10_000 : (b + 1) * 10_000].tolist(),
            b"data": x.transpose(0, 3, 1, 2).reshape(len(x), 3072),
            b"filenames": [b"x.png"] * len(x),
        }
        with open(folder / name, "wb") as fh:
            pickle.dump(entry, fh, protocol=2)


@pytest.mark.slow
def test_pickle_copy_gives_same_order_and_same_split(cifar, shared_data, cache_dir, tmp_path):
    """Original-format batches (exact real pixels where known, the JPEG pixels elsewhere)
    are read in the same standard order, and a protocol selects the same images."""
    exact = np.load(shared_data / "cifar10-exact-subset" / "cifar10_exact_1017perbatch.npz")
    images = cifar.images.copy()
    for b, name in enumerate(BATCH_FILES):
        images[b * 10_000 : b * 10_000 + 1017] = exact[f"{name}_x"]
    folder = tmp_path / "cifar-10-batches-py"
    _write_batches(folder, images, cifar.labels)
    shutil.copy(shared_data / "cifar10-exact-subset" / "batches.meta", folder / "batches.meta")
    x, y = read_cifar_batch(folder / "data_batch_2")
    assert np.array_equal(x[:1017], exact["data_batch_2_x"]) and np.array_equal(
        y[:1017], exact["data_batch_2_y"]
    )
    assert read_cifar_meta(folder / "batches.meta") == list(CLASSES)
    cache = tmp_path / "cache"
    data = load_cifar10(root=tmp_path, cache_dir=cache)  # "auto" prefers the pickles
    assert data.info["source"] == "pickles"
    assert np.array_equal(data.images, images) and np.array_equal(data.labels, cifar.labels)
    from_pickles = load_protocol("cifar10-smoke", seed=3, root=tmp_path, cache_dir=cache)
    from_jpeg = load_protocol("cifar10-smoke", seed=3, root=shared_data, cache_dir=cache_dir)
    assert from_pickles.manifest["splits_sha256"] == from_jpeg.manifest["splits_sha256"]
    assert np.array_equal(from_pickles.query.indices, from_jpeg.query.indices)
    assert from_pickles.manifest_sha256 != from_jpeg.manifest_sha256  # the source differs


def test_pickle_reader_rejects_bad_files(tmp_path):
    bad = tmp_path / "data_batch_1"
    with open(bad, "wb") as fh:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, fh)
    with pytest.raises(ValueError, match=r"data_batch_1.*3072"):
        read_cifar_batch(bad)
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="data_batch_1"):
        read_cifar_batch(bad)


def test_cifar_missing_lists_places_tried(tmp_path):
    with pytest.raises(FileNotFoundError, match="Tried") as err:
        load_cifar10(root=tmp_path / "nowhere", cache_dir=tmp_path / "c")
    assert "cifar10_jpeg.zip" in str(err.value) and "data_batch_1" in str(err.value)


def test_cifar_truncated_zip_is_refused(shared_data, tmp_path):
    folder = tmp_path / "cifar10-jpeg"
    folder.mkdir()
    src = shared_data / "cifar10-jpeg"
    with open(src / "cifar10_jpeg.zip", "rb") as fh:
        (folder / "cifar10_jpeg.zip").write_bytes(fh.read(1 << 20))
    shutil.copy(src / "std_order_index.csv", folder / "std_order_index.csv")
    with pytest.raises(ValueError, match=r"cifar10_jpeg.zip: size 1048576 bytes"):
        load_cifar10(root=tmp_path, cache_dir=tmp_path / "c")


def test_mnist_t10k(shared_data):
    data = load_mnist(root=shared_data)
    assert data.images.shape == (10_000, 28, 28, 3) and data.images.dtype == np.uint8
    assert np.array_equal(data.images[..., 0], data.images[..., 2])
    assert np.bincount(data.labels).tolist() == MNIST_TEST_COUNTS
    assert data.labels[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test digits
    assert data.images.max() == 255 and data.images[:, 0, 0].max() == 0


def test_mnist_bad_magic_and_truncation(shared_data, tmp_path):
    labels = shared_data / "mnist-t10k" / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz: magic number 2049"):
        read_idx(labels, magic=2051)
    short = tmp_path / "short-idx1-ubyte.gz"
    with gzip.open(labels) as src, gzip.open(short, "wb") as dst:
        dst.write(src.read()[:500])
    with pytest.raises(ValueError, match=r"short-idx1-ubyte.gz: header says \[10000\]"):
        read_idx(short, magic=2049)
    with pytest.raises(FileNotFoundError, match="Tried"):
        load_mnist(root=tmp_path)
