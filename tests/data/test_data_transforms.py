"""Torch datasets per scale: shapes, normalisation, augmentation, reproducibility, speed."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
import torch

from hashlib_core.data import load_protocol, make_torch_dataset
from hashlib_core.data.transforms import IMAGENET_MEAN, IMAGENET_STD, NORMALISATION

pytestmark = pytest.mark.slow  # the first CIFAR-10 load of a session decodes 60,000 JPEGs


@pytest.fixture(scope="module")
def smoke(shared_data, cache_dir):
    return load_protocol("cifar10-smoke", seed=0, root=shared_data, cache_dir=cache_dir)


def _unnormalise(image: torch.Tensor, mean, std) -> np.ndarray:
    m, s = torch.tensor(mean).view(3, 1, 1), torch.tensor(std).view(3, 1, 1)
    return ((image * s + m) * 255).round().permute(1, 2, 0).numpy().astype(np.int64)


def test_eval_items_are_the_normalised_pixels(smoke):
    ds = make_torch_dataset(smoke.query, scale="cpu", train=False)
    assert len(ds) == 100
    image, label, index = ds[7]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert label.dtype == torch.float32 and torch.equal(
        label, torch.from_numpy(smoke.query.labels[7]).float()
    )
    assert index == 7
    assert np.array_equal(_unnormalise(image, *NORMALISATION["cifar10"]), smoke.query.images[7])
    batch = torch.stack([ds[i][0] for i in range(100)])
    assert abs(batch.mean().item()) < 0.2 and 0.8 < batch.std().item() < 1.2


def test_train_items_are_padded_crops_and_flips(smoke):
    torch.manual_seed(0)
    ds = make_torch_dataset(smoke.train, scale="smoke", train=True)
    padded = np.pad(smoke.train.images, ((0, 0), (4, 4), (4, 4), (0, 0)))
    seen_flip = seen_shift = False
    for i in range(20):
        got = _unnormalise(ds[i][0], *NORMALISATION["cifar10"])
        matches = [
            (dy, dx, flip)
            for dy in range(9)
            for dx in range(9)
            for flip in (False, True)
            if np.array_equal(
                got, (lambda c: c[:, ::-1] if flip else c)(padded[i, dy : dy + 32, dx : dx + 32])
            )
        ]
        assert matches, f"item {i} is no crop/flip of its padded image"
        seen_flip |= any(m[2] for m in matches)
        seen_shift |= any(m[:2] != (4, 4) for m in matches)
    assert seen_flip and seen_shift


def test_augmentation_reproducible_from_torch_seed_only(smoke):
    ds = make_torch_dataset(smoke.train, scale="cpu", train=True)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    torch.manual_seed(123)
    a = torch.stack([ds[i][0] for i in range(50)])
    torch.manual_seed(123)
    b = torch.stack([ds[i][0] for i in range(50)])
    torch.manual_seed(124)
    c = torch.stack([ds[i][0] for i in range(50)])
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert random.getstate() == py_state
    torch.manual_seed(5)
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)
    images, labels, index = next(iter(loader))
    assert (
        images.shape == (64, 3, 32, 32) and labels.shape == (64, 10) and index.dtype == torch.int64
    )
    assert torch.equal(labels, torch.from_numpy(smoke.train.labels[index.numpy()]).float())


def test_per_item_time_does_not_bottleneck_an_epoch(shared_data, cache_dir):
    """A 5,000-image training epoch (cifar10-i) is read in well under a second."""
    p = load_protocol("cifar10-i", seed=0, root=shared_data, cache_dir=cache_dir, val_fraction=0.0)
    start = time.perf_counter()
    ds = make_torch_dataset(p.train, scale="cpu", train=True)
    build = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(len(ds)):
        ds[i]
    per_item = (time.perf_counter() - start) / len(ds)
    print(f"\nbuild {build * 1e3:.0f} ms, {per_item * 1e6:.0f} us per training item (5,000 items)")
    assert len(ds) == 5000 and per_item < 300e-6 and build < 1.0


def test_paper_scale_224(smoke):
    for train in (False, True):
        ds = make_torch_dataset(smoke.query, scale="paper", train=train)
        torch.manual_seed(0)
        image, _, _ = ds[3]
        assert image.shape == (3, 224, 224)
        pixels = _unnormalise(image, IMAGENET_MEAN, IMAGENET_STD)
        assert pixels.min() >= 0 and pixels.max() <= 255
        # an upsampled 32 px image: its mean colour stays close to the original's
        assert np.allclose(
            pixels.mean(axis=(0, 1)), smoke.query.images[3].mean(axis=(0, 1)), atol=12
        )
    eval_ds = make_torch_dataset(smoke.query, scale="paper", train=False)
    assert torch.equal(eval_ds[3][0], eval_ds[3][0])
    with pytest.raises(ValueError, match="scale must be one of"):
        make_torch_dataset(smoke.query, scale="gpu", train=False)


def test_mnist_is_resized_to_32(shared_data):
    p = load_protocol("mnist-small", seed=0, root=shared_data)
    ds = make_torch_dataset(p.query, scale="cpu", train=False)
    image = ds[0][0]
    assert image.shape == (3, 32, 32)
    assert torch.equal(image[0], image[2])  # grey: three identical channels
    assert image.min().item() == pytest.approx(-0.1307 / 0.3081, abs=1e-4)  # black background
