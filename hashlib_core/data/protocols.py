"""Named, seeded split protocols: ``load_protocol(name, seed=...)``, ``list_protocols()``.

Every protocol draws with ``numpy.random.default_rng(seed)``, in a fixed order: first the
query/train/database sample (where random), then the validation split. So the same
seed gives the same manifest, and another seed another.

Validation (all protocols): a seeded 10% of the training set (``val_fraction``) becomes
``val``, stratified per class for single-label data, uniformly at random for multi-label
data; ``train`` excludes it. The engine uses ``val`` as queries against ``train`` to
select models (epochs, hyper-parameters); the ``query`` split is never used for
selection. Validation items stay in the database wherever the training set does.

Standard order (``Split.indices``): CIFAR-10 train 0..49999 then test 50000..59999;
MNIST the file order; list-file datasets the lines of ``test.txt``, then ``train.txt``,
then ``database.txt`` (index = offset of the file + line number - 1; see
:mod:`hashlib_core.data.listfile`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hashlib_core.data.cifar import load_cifar10
from hashlib_core.data.mnist import load_mnist
from hashlib_core.data.splits import (
    Protocol,
    Split,
    carve_validation,
    manifest_digest,
    one_hot,
    per_class_draw,
    positions_in,
)

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class _Spec:
    name: str
    build: Callable[..., Protocol]
    doc: str


_PROTOCOLS: dict[str, _Spec] = {}


def _register(name: str, doc: str) -> Callable[[Callable[..., Protocol]], Callable[..., Protocol]]:
    def deco(fn: Callable[..., Protocol]) -> Callable[..., Protocol]:
        _PROTOCOLS[name] = _Spec(name, fn, doc)
        return fn

    return deco


def list_protocols() -> list[str]:
    """Names of all protocols, sorted."""
    _load_list_protocols()
    return sorted(_PROTOCOLS)


def describe_protocol(name: str) -> str:
    """A protocol's description (sizes, sources, policies)."""
    _load_list_protocols()
    return _spec(name).doc


def _spec(name: str) -> _Spec:
    if name not in _PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; known: {sorted(_PROTOCOLS)}")
    return _PROTOCOLS[name]


def _load_list_protocols() -> None:
    from hashlib_core.data import listfile  # noqa: F401 - registers the list-file protocols


def load_protocol(
    name: str,
    *,
    seed: int = 0,
    root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = False,
    val_fraction: float = 0.1,
    image_root: str | os.PathLike | None = None,
) -> Protocol:
    """Build a named protocol.

    Parameters
    ----------
    name : str
        One of :func:`list_protocols` (``cifar10-i``, ``cifar10-ii``, ``cifar10-smoke``,
        ``mnist-small``, ``nuswide-21``, ``coco``, ``imagenet100``, ...).
    seed : int
        Seeds every random draw of the protocol.
    root : path-like or None
        Data folder (default ``$HASHLIB_DATA`` or ``<repo>/../shared/data``).
    cache_dir : path-like or None
        Where decoded arrays are cached (default ``$HASHLIB_CACHE`` or the user cache).
    download : bool
        Let torchvision download CIFAR-10 / MNIST when no copy is found.
    val_fraction : float
        Share of the training set carved out as the validation split (0 = none).
    image_root : path-like or None
        List-file datasets only: the folder the list's relative paths start from.

    Returns
    -------
    Protocol
    """
    _load_list_protocols()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    spec = _spec(name)
    return spec.build(
        seed=int(seed),
        root=root,
        cache_dir=cache_dir,
        download=download,
        val_fraction=float(val_fraction),
        image_root=image_root,
    )


def assemble(
    *,
    name: str,
    dataset: str,
    seed: int,
    topk: int | None,
    labels: np.ndarray,
    query: np.ndarray,
    train: np.ndarray,
    database: np.ndarray,
    rng: np.random.Generator,
    val_fraction: float,
    source: dict[str, Any],
    images: np.ndarray | None = None,
    paths: list[str] | None = None,
    relative_paths: list[str] | None = None,
    origins: list[str] | None = None,
    policy: dict[str, Any] | None = None,
    validation: np.ndarray | None = None,
) -> Protocol:
    """Assemble a :class:`Protocol` from index arrays into a dataset's standard order.

    Parameters
    ----------
    labels : ndarray of shape (N, n_classes), uint8
        Multi-hot labels of the whole dataset in standard order.
    query, train, database : ndarray of int
        Standard-order indices; ``train`` is the full training set before the
        validation split is carved out of it.
    images / paths, relative_paths, origins
        Pixels (N, H, W, 3) or absolute paths (N) of the whole dataset; relative paths go
        into the manifest (portable), origins into error messages.
    validation : ndarray of int, optional
        Standard-order indices of a validation split the caller drew (a subset of
        ``train``); by default a seeded ``val_fraction`` of ``train`` is carved out here.
    """
    query, train, database = (np.asarray(a, dtype=np.int64) for a in (query, train, database))
    _check_disjoint(name, {"query": query, "train": train, "database": database},
                    relative_paths)
    multi_label = bool((labels.sum(axis=1) > 1).any())
    train_idx, val_idx = _validation_split(name, labels, train, validation, val_fraction,
                                           rng, multi_label)

    def split(idx: np.ndarray) -> Split:
        return Split(
            labels=np.ascontiguousarray(labels[idx]),
            images=None if images is None else images[idx],
            paths=None if paths is None else [paths[i] for i in idx],
            indices=idx,
            dataset=dataset,
            origins=None if origins is None else [origins[i] for i in idx],
        )

    parts = {"train": train_idx, "val": val_idx, "query": query, "database": database}
    manifest = _manifest(parts, labels, relative_paths, name=name, seed=seed, dataset=dataset,
                         multi_label=multi_label, topk=topk, val_fraction=val_fraction,
                         source=source, policy=policy)
    return Protocol(
        name=name,
        dataset=dataset,
        seed=seed,
        n_classes=int(labels.shape[1]),
        multi_label=multi_label,
        topk=topk,
        train=split(train_idx),
        val=split(val_idx),
        query=split(query),
        database=split(database),
        train_in_database=positions_in(train_idx, database),
        manifest=manifest,
        manifest_sha256=manifest_digest(manifest),
    )


def _check_disjoint(name: str, named: dict[str, np.ndarray],
                    relative_paths: list[str] | None) -> None:
    """No split repeats an item; the query set shares none with training or database."""
    for part, idx in named.items():
        if np.unique(idx).size != idx.size:
            raise ValueError(f"{name}: the {part} split holds repeated items")
    for a, b in (("query", "train"), ("query", "database")):
        both = np.intersect1d(named[a], named[b])
        if both.size:
            example = relative_paths[both[0]] if relative_paths else int(both[0])
            raise ValueError(f"{name}: {both.size} items are in both {a} and {b}, e.g. {example}")


def _validation_split(name: str, labels: np.ndarray, train: np.ndarray,
                      validation: np.ndarray | None, val_fraction: float,
                      rng: np.random.Generator,
                      multi_label: bool) -> tuple[np.ndarray, np.ndarray]:
    """The training and validation indices: the caller's validation split, or a seeded
    ``val_fraction`` of ``train`` (stratified by class for single-label data)."""
    if validation is None:
        train_pos, val_pos = carve_validation(
            labels[train], val_fraction, rng, stratify=not multi_label
        )
        return train[train_pos], train[val_pos]
    val_idx = np.sort(np.asarray(validation, dtype=np.int64))
    if np.setdiff1d(val_idx, train).size:
        raise ValueError(f"{name}: the validation split must be a subset of the training set")
    return np.setdiff1d(train, val_idx), val_idx


def _manifest(parts: dict[str, np.ndarray], labels: np.ndarray,
              relative_paths: list[str] | None, *, name: str, seed: int, dataset: str,
              multi_label: bool, topk: int | None, val_fraction: float,
              source: dict[str, Any], policy: dict[str, Any] | None) -> dict[str, Any]:
    """The protocol manifest: settings, source, class counts and the indices (and
    relative paths) of every split, with the digest of the chosen items."""
    splits_json: dict[str, Any] = {}
    for key, idx in parts.items():
        entry: dict[str, Any] = {"indices": idx.tolist(), "n": int(idx.size)}
        if relative_paths is not None:
            entry["paths"] = [relative_paths[i] for i in idx]
        splits_json[key] = entry
    return {
        "format": MANIFEST_FORMAT,
        "protocol": name,
        "seed": seed,
        "dataset": dataset,
        "n_classes": int(labels.shape[1]),
        "multi_label": multi_label,
        "topk": topk,
        "val_fraction": val_fraction,
        "source": source,
        "policy": policy or {},
        "class_counts": {k: labels[v].sum(axis=0).astype(int).tolist() for k, v in parts.items()},
        "splits": splits_json,
        # depends on the chosen items only, not on which copy of the data was read
        "splits_sha256": manifest_digest({k: v.tolist() for k, v in parts.items()}),
    }


def _cifar_source(info: dict[str, Any]) -> dict[str, Any]:
    return {"copy": info["source"], "files": info["files"], "classes": info["classes"]}


def _complement(n: int, *exclude: np.ndarray) -> np.ndarray:
    mask = np.ones(n, bool)
    for idx in exclude:
        mask[idx] = False
    return np.flatnonzero(mask).astype(np.int64)


_CIFAR_I_DOC = """CIFAR-10 protocol I (DPSH, HashNet, CSQ, ...): from all 60,000 images (train and
test pooled, standard order), 1,000 queries (100 per class) and 5,000 training images
(500 per class) drawn without overlap; database = the other 59,000 images, which
INCLUDES the 5,000 training images (and so the validation ones). Validation: 10% of the
training images (50 per class), so train has 4,500. mAP@ALL (topk None)."""


@_register("cifar10-i", _CIFAR_I_DOC)
def _cifar10_i(*, seed, root, cache_dir, download, val_fraction, image_root):
    data = load_cifar10(root=root, cache_dir=cache_dir, download=download)
    rng = np.random.default_rng(seed)
    query, train = per_class_draw(data.labels, [100, 500], rng)
    return assemble(
        name="cifar10-i",
        dataset="cifar10",
        seed=seed,
        topk=None,
        labels=one_hot(data.labels, 10),
        images=data.images,
        query=query,
        train=train,
        database=_complement(data.labels.size, query),
        rng=rng,
        val_fraction=val_fraction,
        source=_cifar_source(data.info),
    )


_CIFAR_ADSH_DOC = """CIFAR-10 under ADSH's protocol (Jiang & Li, AAAI 2018; the DSAH paper's table):
the same 1,000 queries (100 per class) and 59,000-image database as protocol I with the
same seed, but the asymmetric methods (ADSH, DSAH) learn the codes of the WHOLE labelled
database: their training set is the database minus the validation split. The
validation split is protocol I's (50 per class of protocol I's 5,000 training images), so
train has 58,500 images. The symmetric baselines of ADSH's comparison train on 5,000
images sampled from the database, which is protocol I's training set: their runs use
``cifar10-i``, with identical queries and database. mAP@ALL (topk None)."""


@_register("cifar10-adsh", _CIFAR_ADSH_DOC)
def _cifar10_adsh(*, seed, root, cache_dir, download, val_fraction, image_root):
    data = load_cifar10(root=root, cache_dir=cache_dir, download=download)
    labels = one_hot(data.labels, 10)
    rng = np.random.default_rng(seed)
    # protocol I's draws, in protocol I's order: queries and training sample, then its
    # validation carve-out
    query, train_i = per_class_draw(data.labels, [100, 500], rng)
    _, val_pos = carve_validation(labels[train_i], val_fraction, rng, stratify=True)
    database = _complement(data.labels.size, query)
    return assemble(
        name="cifar10-adsh",
        dataset="cifar10",
        seed=seed,
        topk=None,
        labels=labels,
        images=data.images,
        query=query,
        train=database,
        database=database,
        rng=rng,
        val_fraction=val_fraction,
        source=_cifar_source(data.info),
        validation=train_i[val_pos],
        policy={"asymmetric_training_set": "database minus validation",
                "symmetric_baselines": "cifar10-i (5,000 training images from the database)"},
    )


_CIFAR_II_DOC = """CIFAR-10 protocol II (DSDH, ...): the 10,000 test images are the queries, the
50,000 training images are both the training set and the database. Validation: 10% of
the training images (500 per class), so train has 45,000; the database keeps all
50,000. Only the validation draw is random. mAP@ALL (topk None)."""


@_register("cifar10-ii", _CIFAR_II_DOC)
def _cifar10_ii(*, seed, root, cache_dir, download, val_fraction, image_root):
    data = load_cifar10(root=root, cache_dir=cache_dir, download=download)
    rng = np.random.default_rng(seed)
    train = np.arange(50_000, dtype=np.int64)
    return assemble(
        name="cifar10-ii",
        dataset="cifar10",
        seed=seed,
        topk=None,
        labels=one_hot(data.labels, 10),
        images=data.images,
        query=np.arange(50_000, 60_000, dtype=np.int64),
        train=train,
        database=train,
        rng=rng,
        val_fraction=val_fraction,
        source=_cifar_source(data.info),
    )


_CIFAR_SMOKE_DOC = """A small real CIFAR-10 subset for CI (seconds per run): from the 60,000 images,
100 queries (10 per class), 500 training images (50 per class) and 1,500 further images
(150 per class), all disjoint; database = the 500 training + 1,500 further images
(2,000, 200 per class; training images INCLUDED, queries excluded). Validation: 50
training images (5 per class), so train has 450. mAP@ALL (topk None)."""


@_register("cifar10-smoke", _CIFAR_SMOKE_DOC)
def _cifar10_smoke(*, seed, root, cache_dir, download, val_fraction, image_root):
    data = load_cifar10(root=root, cache_dir=cache_dir, download=download)
    rng = np.random.default_rng(seed)
    query, train, extra = per_class_draw(data.labels, [10, 50, 150], rng)
    return assemble(
        name="cifar10-smoke",
        dataset="cifar10",
        seed=seed,
        topk=None,
        labels=one_hot(data.labels, 10),
        images=data.images,
        query=query,
        train=train,
        database=np.union1d(train, extra),
        rng=rng,
        val_fraction=val_fraction,
        source=_cifar_source(data.info),
    )


_MNIST_DOC = """A small fast protocol on the 10,000 MNIST test digits (28x28, as 3 identical
channels): 500 queries (50 per class), 1,000 training images (100 per class); database =
the other 9,500 digits, training images INCLUDED. Validation: 100 training images (10
per class), so train has 900. mAP@ALL (topk None)."""


@_register("mnist-small", _MNIST_DOC)
def _mnist_small(*, seed, root, cache_dir, download, val_fraction, image_root):
    data = load_mnist(root=root, split="t10k", download=download, cache_dir=cache_dir)
    rng = np.random.default_rng(seed)
    query, train = per_class_draw(data.labels, [50, 100], rng)
    return assemble(
        name="mnist-small",
        dataset="mnist",
        seed=seed,
        topk=None,
        labels=one_hot(data.labels, 10),
        images=data.images,
        query=query,
        train=train,
        database=_complement(data.labels.size, query),
        rng=rng,
        val_fraction=val_fraction,
        source={"copy": "idx", "files": data.info["files"], "classes": data.info["classes"]},
    )


#: the split sizes of the papers' protocols (query, training set before the validation
#: split, database) and their label widths; a protocol whose sizes differ is not the
#: paper's and a paper-scale run on it needs ``allow_protocol_deviation``
PAPER_SIZES: dict[str, dict[str, int]] = {
    "cifar10-i": {"query": 1_000, "train": 5_000, "database": 59_000, "n_classes": 10},
    # ADSH's: the asymmetric methods learn the codes of the whole database
    "cifar10-adsh": {"query": 1_000, "train": 59_000, "database": 59_000, "n_classes": 10},
    "imagenet100": {"query": 5_000, "train": 13_000, "database": 128_495, "n_classes": 100},
    "nuswide-21": {"query": 2_100, "train": 10_500, "database": 193_734, "n_classes": 21},
    "coco": {"query": 5_000, "train": 10_000, "database": 122_218, "n_classes": 80},
}


def protocol_sizes(protocol: Protocol) -> dict[str, int]:
    """A protocol's sizes as :data:`PAPER_SIZES` counts them (train includes val)."""
    return {"query": len(protocol.query), "train": len(protocol.train) + len(protocol.val),
            "database": len(protocol.database), "n_classes": int(protocol.n_classes)}


def size_deviations(protocol: Protocol) -> list[str]:
    """How a protocol's sizes differ from the paper's (empty: same sizes, or no paper sizes).

    Returns
    -------
    list of str
        One entry per differing size, e.g. ``"database: 10,500 images, the paper's 193,734"``.
    """
    paper = PAPER_SIZES.get(protocol.name)
    if paper is None:
        return []
    have = protocol_sizes(protocol)
    out = []
    for part, want in paper.items():
        if have[part] != want:
            unit = "labels" if part == "n_classes" else "images"
            out.append(f"{part}: {have[part]:,} {unit}, the paper's {want:,}")
    return out
