"""Named protocols: sizes, class balance, disjointness, seeds and manifests (real data)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hashlib_core.data import (
    Protocol,
    describe_protocol,
    list_protocols,
    load_protocol,
    manifest_digest,
)
from hashlib_core.data.cifar import load_cifar10


def _per_class(split) -> list[int]:
    return split.labels.sum(axis=0).astype(int).tolist()


def _check_consistency(p: Protocol) -> None:
    """Invariants every protocol must satisfy."""
    q, tr, va, db = (set(s.indices.tolist()) for s in (p.query, p.train, p.val, p.database))
    assert not q & tr and not q & va and not q & db, "queries leak into train/val/database"
    assert not tr & va, "validation items are also training items"
    for split in p.splits().values():
        assert split.labels.shape == (len(split), p.n_classes) and split.labels.dtype == np.uint8
        assert split.indices.dtype == np.int64 and np.all(np.diff(split.indices) > 0)
        assert split.labels.sum(axis=1).min() >= 1
    pos = p.train_in_database
    assert pos.shape == (len(p.train),) and pos.dtype == np.int64
    hit = pos >= 0
    assert np.array_equal(p.database.indices[pos[hit]], p.train.indices[hit])
    assert not set(p.train.indices[~hit].tolist()) & db
    assert p.manifest_sha256 == manifest_digest(p.manifest)
    for name, split in p.splits().items():
        assert p.manifest["splits"][name]["indices"] == split.indices.tolist()


@pytest.fixture(scope="module")
def cifar_root(shared_data, cache_dir):
    load_cifar10(root=shared_data, cache_dir=cache_dir)  # decode once (cached for the session)
    return {"root": shared_data, "cache_dir": cache_dir}


def test_registry_lists_the_papers_protocols():
    names = list_protocols()
    for name in (
        "cifar10-i",
        "cifar10-ii",
        "cifar10-adsh",
        "cifar10-smoke",
        "mnist-small",
        "nuswide-21",
        "coco",
        "imagenet100",
    ):
        assert name in names
    assert "INCLUDES the 5,000 training images" in describe_protocol("cifar10-i")
    assert "database.txt where given" in describe_protocol("coco")
    with pytest.raises(ValueError, match="unknown protocol 'cifar-10'.*cifar10-i"):
        load_protocol("cifar-10")
    with pytest.raises(ValueError, match="seed"):
        load_protocol("mnist-small", seed=-1)


@pytest.mark.slow  # the first CIFAR-10 test of a session decodes 60,000 JPEGs (5-8 s)
def test_cifar10_smoke(cifar_root):
    p = load_protocol("cifar10-smoke", seed=0, **cifar_root)
    _check_consistency(p)
    assert (p.dataset, p.n_classes, p.multi_label, p.topk) == ("cifar10", 10, False, None)
    assert (len(p.query), len(p.train), len(p.val), len(p.database)) == (100, 450, 50, 2000)
    assert _per_class(p.query) == [10] * 10 and _per_class(p.val) == [5] * 10
    assert _per_class(p.train) == [45] * 10 and _per_class(p.database) == [200] * 10
    assert np.all(p.train_in_database >= 0)  # the training images are in the database
    # validation items are training images, so they are in the database too
    assert set(p.val.indices.tolist()) <= set(p.database.indices.tolist())
    pool = load_cifar10(**cifar_root)
    assert np.array_equal(p.query.images, pool.images[p.query.indices])
    assert np.array_equal(p.database.labels.argmax(1), pool.labels[p.database.indices])


@pytest.mark.slow  # the first CIFAR-10 test of a session decodes 60,000 JPEGs (5-8 s)
def test_same_seed_same_manifest_other_seed_other(cifar_root, tmp_path):
    a = load_protocol("cifar10-smoke", seed=1, **cifar_root)
    b = load_protocol("cifar10-smoke", seed=1, **cifar_root)
    c = load_protocol("cifar10-smoke", seed=2, **cifar_root)
    assert a.manifest_sha256 == b.manifest_sha256 and a.manifest == b.manifest
    assert a.manifest_sha256 != c.manifest_sha256
    assert not np.array_equal(a.query.indices, c.query.indices)
    assert not np.array_equal(a.val.indices, c.val.indices)
    path = a.write_manifest(tmp_path / "run" / "manifest.json")
    saved = json.loads(path.read_text())
    assert saved["manifest_sha256"] == a.manifest_sha256 == manifest_digest(saved["manifest"])
    assert saved["manifest"]["splits"]["query"]["indices"] == a.query.indices.tolist()
    assert saved["manifest"]["source"]["files"]["cifar10-jpeg/cifar10_jpeg.zip"][
        "sha256"
    ].startswith("ead45e06")
    assert not [f for f in path.parent.iterdir() if f.name != "manifest.json"]  # no temp file


@pytest.mark.slow  # the first CIFAR-10 test of a session decodes 60,000 JPEGs (5-8 s)
def test_cifar10_i(cifar_root):
    p = load_protocol("cifar10-i", seed=0, **cifar_root)
    _check_consistency(p)
    assert (len(p.query), len(p.train), len(p.val), len(p.database)) == (1000, 4500, 500, 59000)
    assert _per_class(p.query) == [100] * 10
    assert _per_class(p.train) == [450] * 10 and _per_class(p.val) == [50] * 10
    assert _per_class(p.database) == [5900] * 10
    assert np.all(p.train_in_database >= 0)
    # drawn from the pooled 60,000: both CIFAR-10 training and test images are queries
    assert (p.query.indices < 50_000).any() and (p.query.indices >= 50_000).any()
    assert p.database.images.shape == (59000, 32, 32, 3)


@pytest.mark.slow  # the first CIFAR-10 test of a session decodes 60,000 JPEGs (5-8 s)
@pytest.mark.parametrize("seed", [0, 3])
def test_cifar10_adsh_shares_protocol_i_queries_database_and_validation(cifar_root, seed):
    """ADSH's protocol: protocol I's queries and database, the whole database (minus the
    validation split) as the asymmetric methods' training set."""
    a = load_protocol("cifar10-adsh", seed=seed, **cifar_root)
    i = load_protocol("cifar10-i", seed=seed, **cifar_root)
    _check_consistency(a)
    for part in ("query", "database", "val"):
        assert np.array_equal(getattr(a, part).indices, getattr(i, part).indices), part
    assert (len(a.query), len(a.train), len(a.val), len(a.database)) == (1000, 58500, 500, 59000)
    assert np.array_equal(a.train.indices, np.setdiff1d(a.database.indices, a.val.indices))
    assert np.all(a.train_in_database >= 0)
    assert a.manifest["splits"]["query"] == i.manifest["splits"]["query"]


@pytest.mark.slow  # the first CIFAR-10 test of a session decodes 60,000 JPEGs (5-8 s)
def test_cifar10_ii(cifar_root):
    p = load_protocol("cifar10-ii", seed=0, **cifar_root)
    _check_consistency(p)
    assert np.array_equal(p.query.indices, np.arange(50_000, 60_000))
    assert np.array_equal(p.database.indices, np.arange(50_000))
    assert (len(p.train), len(p.val)) == (45_000, 5_000) and _per_class(p.val) == [500] * 10
    assert np.array_equal(p.train_in_database, p.train.indices)


@pytest.mark.slow  # the first CIFAR-10 test of a session decodes 60,000 JPEGs (5-8 s)
def test_val_fraction_zero_keeps_all_training(cifar_root):
    p = load_protocol("cifar10-smoke", seed=0, val_fraction=0.0, **cifar_root)
    assert (len(p.train), len(p.val)) == (500, 0)
    with pytest.raises(ValueError, match="val_fraction"):
        load_protocol("cifar10-smoke", val_fraction=1.0, **cifar_root)


def test_mnist_small(shared_data):
    p = load_protocol("mnist-small", seed=0, root=shared_data)
    _check_consistency(p)
    assert (len(p.query), len(p.train), len(p.val), len(p.database)) == (500, 900, 100, 9500)
    assert _per_class(p.query) == [50] * 10 and _per_class(p.train) == [90] * 10
    assert p.query.images.shape == (500, 28, 28, 3) and p.dataset == "mnist"
    assert np.all(p.train_in_database >= 0)


@pytest.mark.parametrize(
    ("name", "n_classes", "topk", "multi", "sizes"),
    [
        ("nuswide-21", 21, 5000, True, (2100, 9450, 1050, 10500)),
        ("nuswide-81-m", 81, 5000, True, (5000, 9000, 1000, 10000)),
        ("coco", 80, 5000, True, (5000, 9000, 1000, 10000)),
        ("imagenet100", 100, 1000, False, (5000, 11700, 1300, 13000)),
        ("voc2012", 20, None, True, (1000, 3600, 400, 6540)),
    ],
)
def test_list_protocols_on_real_lists(shared_data, name, n_classes, topk, multi, sizes):
    p = load_protocol(name, seed=0, root=shared_data)
    _check_consistency(p)
    assert (p.n_classes, p.topk, p.multi_label) == (n_classes, topk, multi)
    assert (len(p.query), len(p.train), len(p.val), len(p.database)) == sizes
    assert p.query.images is None and p.query.paths[0].startswith(str(shared_data))
    rel = p.manifest["splits"]["train"]["paths"]
    assert all(full.endswith("/" + r) for full, r in zip(p.train.paths, rel))
    assert p.train.origins[0].endswith("train.txt line 1") or "train.txt line" in p.train.origins[0]
    if name == "imagenet100":
        assert _per_class(p.query) == [50] * 100 and _per_class(p.val) == [13] * 100
    if name == "voc2012":  # database.txt is given and excludes the training images
        assert p.manifest["policy"]["database"] == "database.txt"
        assert np.all(p.train_in_database == -1)
    else:  # no database.txt here: the training list is the database
        assert p.manifest["policy"]["database"].startswith("train.txt")
        assert np.all(p.train_in_database >= 0)


def test_mirflickr_all_zero_rows_are_dropped_and_counted(shared_data):
    with pytest.warns(UserWarning) as record:
        p = load_protocol("mirflickr", seed=0, root=shared_data)
    messages = sorted(str(w.message).split("hashing-lists/")[-1].split(" with")[0] for w in record)
    assert messages == [
        "mirflickr/database.txt: dropped 328 items",
        "mirflickr/test.txt: dropped 19 items",
        "mirflickr/train.txt: dropped 72 items",
    ]
    _check_consistency(p)
    assert p.manifest["policy"]["all_zero_rows_dropped"] == {
        "test.txt": 19,
        "train.txt": 72,
        "database.txt": 328,
    }
    assert (len(p.query), len(p.train) + len(p.val), len(p.database)) == (981, 3928, 19672)
