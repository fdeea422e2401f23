"""GIST-512: shape, orientation selectivity, invariances, cache, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hashlib_core.features import cached_gist, gabor_bank, gist


def grating(angle_deg: float, period: float = 4.0, size: int = 32) -> np.ndarray:
    """A sinusoidal grating whose intensity varies along the direction ``angle_deg``
    (0: along x, i.e. vertical stripes), as a (size, size, 3) uint8 image."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    t = np.deg2rad(angle_deg)
    img = 128 + 100 * np.cos(2 * np.pi * (xx * np.cos(t) + yy * np.sin(t)) / period)
    return np.repeat(img[..., None], 3, axis=2).astype(np.uint8)


def orientation_energy(feat: np.ndarray) -> np.ndarray:
    """(4 scales, 8 orientations) energy summed over the 16 blocks."""
    return feat.reshape(4, 8, 16).sum(axis=2)


def test_shape_dtype_and_channel_handling():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    g = gist(rgb)
    assert g.shape == (3, 512) and g.dtype == np.float32 and np.isfinite(g).all()
    grey = rgb.astype(np.float32).mean(axis=3)
    np.testing.assert_allclose(gist(grey), g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gist(grey[..., None]), g, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("angle", "orientation"), [(0, 0), (90, 4), (45, 6), (135, 2)])
def test_grating_peaks_at_matching_orientation(angle, orientation):
    energy = orientation_energy(gist(grating(angle)[None])[0])
    # period 4 px = 0.25 cycles/px: the finest scale (0.3 cycles/px) responds most
    assert np.unravel_index(energy.argmax(), energy.shape) == (0, orientation)


def test_vertical_grating_is_uniform_over_blocks_and_contrast_invariant():
    img = grating(0)
    f = gist(img[None])[0].reshape(32, 16)[0]  # finest scale, vertical orientation
    assert f.std() < 0.1 * f.mean()  # a grating looks the same in every block
    low = (128 + (img.astype(np.float64) - 128) * 0.5).astype(np.uint8)  # half contrast
    np.testing.assert_allclose(gist(low[None]), gist(img[None]), rtol=0.05, atol=1e-3)


def test_constant_image_gives_zero_descriptor():
    assert np.abs(gist(np.full((1, 32, 32, 3), 77, np.uint8))).max() < 1e-6


def test_larger_images_are_resized_to_image_size():
    big = np.kron(grating(90), np.ones((2, 2, 1), np.uint8))[None]  # 64 x 64, period 8 px
    e = orientation_energy(gist(big)[0])
    assert e.shape == (4, 8) and e.sum(axis=0).argmax() == 4


def test_gabor_bank_layout():
    g = gabor_bank(64)
    assert g.shape == (32, 64, 64) and g.max() <= 1.0 + 1e-12
    # orientation 0 of the finest scale peaks on the positive fx axis at 0.3 cycles/px
    r, c = np.unravel_index(g[0].argmax(), g[0].shape)
    assert r == 0 and abs(c - 0.3 * 64) <= 1


def test_real_cifar_images_differ_and_batching_does_not_matter(shared_data):
    npz = np.load(shared_data / "cifar10-exact-subset" / "cifar10_exact_1017perbatch.npz")
    x = npz["test_batch_x"][:40]
    a = gist(x, batch_size=7)
    np.testing.assert_allclose(a, gist(x, batch_size=40), rtol=1e-5, atol=1e-6)
    d = np.linalg.norm(a[:, None] - a[None], axis=2)
    assert d[~np.eye(40, dtype=bool)].min() > 0  # no two real images share a descriptor


def test_cached_gist_writes_once_and_keys_on_content(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    a = cached_gist(x, key="toy", cache_dir=tmp_path)
    files = list(tmp_path.glob("gist_toy_*.npy"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    np.testing.assert_array_equal(np.load(files[0]), a)
    mtime = files[0].stat().st_mtime_ns
    np.testing.assert_array_equal(cached_gist(x, key="toy", cache_dir=tmp_path), a)
    assert files[0].stat().st_mtime_ns == mtime  # read, not recomputed
    y = x.copy()
    y[4, 31, 31, 2] ^= 1  # one changed bit: a new cache entry
    cached_gist(y, key="toy", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("gist_toy_*.npy"))) == 2


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"shape \(n, H, W\)"):
        gist(np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match="no images"):
        gist(np.zeros((0, 32, 32, 3), np.uint8))
    bad = np.zeros((2, 32, 32), np.float32)
    bad[1, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"1 non-finite values .* \[1, 3, 4\]"):
        gist(bad)
    with pytest.raises(ValueError, match="key"):
        cached_gist(np.zeros((1, 32, 32), np.uint8), key="a/b", cache_dir=".")
