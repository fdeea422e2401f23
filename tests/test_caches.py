"""Decoded-data and GIST caches carry a stamp; a corrupt cache is named and rebuilt once
(issue 16, case 4), instead of numpy's "Failed to read all data" on every rerun."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from hashlib_core.data.cache import CorruptCacheWarning, load_array, save_array
from hashlib_core.data.cifar import BATCH_FILES, load_cifar10
from hashlib_core.features.cache import cached_gist


def _fake_cifar_batches(root):
    """Six CIFAR-10 python batches (10,000 rows each) with a recognisable pattern."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for b, name in enumerate(BATCH_FILES):
        data = np.zeros((10_000, 3072), np.uint8)
        data[:, b] = np.arange(10_000) % 251
        entry = {b"data": data, b"labels": [(i + b) % 10 for i in range(10_000)]}
        with open(folder / name, "wb") as fh:
            pickle.dump(entry, fh, protocol=4)


def _no_warnings(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptCacheWarning)
        return call()


def test_a_corrupt_cifar_cache_is_named_and_rebuilt(tmp_path):
    _fake_cifar_batches(tmp_path)
    cache = tmp_path / "cache"
    first = load_cifar10(root=tmp_path, cache_dir=cache)
    images_npy = cache / "cifar10-pickles-v1-images.npy"
    assert images_npy.is_file() and (cache / "cifar10-pickles-v1-images.npy.stamp.json").is_file()
    # cut mid-way (a full disk, a copy that stopped): named and rebuilt, once
    data = images_npy.read_bytes()
    images_npy.write_bytes(data[: len(data) // 2])
    with pytest.warns(CorruptCacheWarning, match=rf"cache file {images_npy} is unreadable"):
        again = load_cifar10(root=tmp_path, cache_dir=cache)
    assert np.array_equal(again.images, first.images) and np.array_equal(again.labels, first.labels)
    _no_warnings(lambda: load_cifar10(root=tmp_path, cache_dir=cache))
    # same size, one byte altered: the digest of the stamp catches it
    data = bytearray(images_npy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    images_npy.write_bytes(bytes(data))
    with pytest.warns(CorruptCacheWarning, match="does not match its stamp"):
        again = load_cifar10(root=tmp_path, cache_dir=cache)
    assert np.array_equal(again.images, first.images)
    _no_warnings(lambda: load_cifar10(root=tmp_path, cache_dir=cache))


def test_a_corrupt_gist_cache_is_named_and_recomputed(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    feats = cached_gist(x, key="toy", cache_dir=tmp_path)
    (path,) = tmp_path.glob("gist_toy_*.npy")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.warns(CorruptCacheWarning, match=rf"cache file {path} is unreadable"):
        np.testing.assert_array_equal(cached_gist(x, key="toy", cache_dir=tmp_path), feats)
    np.testing.assert_array_equal(
        _no_warnings(lambda: cached_gist(x, key="toy", cache_dir=tmp_path)), feats)


def test_load_array_stamps(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = save_array(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(load_array(path), a)
    assert load_array(tmp_path / "absent.npy") is None
    # a cache from before stamps: accepted when whole, and stamped
    np.save(tmp_path / "old.npy", a)
    np.testing.assert_array_equal(load_array(tmp_path / "old.npy"), a)
    assert (tmp_path / "old.npy.stamp.json").is_file()
    # a stamp that no longer fits (another array written without save_array)
    np.save(path, a + 1)
    with pytest.warns(CorruptCacheWarning, match="does not match its stamp"):
        assert load_array(path) is None
    assert not path.exists()  # deleted, so the rebuild is written afresh
