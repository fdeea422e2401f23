"""List-file datasets: ``relative/path l_1 ... l_C`` per line (NUS-WIDE, MS-COCO, ...).

The format used by the deep hashing code of the last decade (DeepHash-pytorch, CSQ,
ADSH, ...): one image per line, a path relative to an image root, then a 0/1 multi-hot
label vector. A dataset folder holds ``test.txt`` (the queries), ``train.txt`` and,
where the authors published it, ``database.txt``.

Policies (each reported, none silent):

* wrong label width, a label other than 0/1, a path with no labels, one path twice in a
  file, or one path with two different label vectors in two files: ``ValueError``
  naming the file and line;
* all-zero label rows (MIRFlickr has them; some NUS-WIDE lists too): dropped, with a
  ``UserWarning`` giving the count per file; the counts go into the manifest
  (``policy.all_zero_rows_dropped``). Such an item has no relevant item in any database;
* a query also in the training set or the database: ``ValueError``;
* a missing or corrupt image: ``ValueError`` naming the file and its list line, when the
  image is read (:func:`~hashlib_core.data.transforms.read_image`) or checked up front
  (:func:`~hashlib_core.data.transforms.check_images`); building a protocol does not
  need the images.

Standard order (``Split.indices``): the distinct image paths in order of first appearance
in ``test.txt``, then ``train.txt``, then ``database.txt``; an image listed in both
``train.txt`` and ``database.txt`` has one index, so ``train_in_database`` finds it.

Database: ``database.txt`` where given (MIRFlickr, VOC2012 here: there it excludes the
training images). Without it (the large ``database.txt`` files of NUS-WIDE, MS-COCO and
ImageNet-100 are not on these machines) the database is ``train.txt``, i.e. the training
set is the database (as in CIFAR-10 protocol II). The papers' databases are larger
(e.g. 193,734 NUS-WIDE images; 122,218 MS-COCO; 128,495 ImageNet-100), so mAP@K on such a
protocol is not comparable with the papers' numbers; the manifest records the choice.
Pass ``root`` to a folder with the full lists to get the papers' protocols.

Image root: ``image_root`` if given, else ``$HASHLIB_IMAGES/<list folder name>`` if that
variable is set, else the list folder itself.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from hashlib_core.data.cache import data_root, sha256_file
from hashlib_core.data.protocols import _register, assemble


class ListFile(NamedTuple):
    """The parsed contents of one list file.

    Attributes
    ----------
    path : pathlib.Path
    relative_paths : list of str, length n
    labels : ndarray of shape (n, n_classes), uint8
    lines : ndarray of shape (n,), int64
        1-based line number of each kept item.
    n_dropped : int
        All-zero label rows dropped.
    """

    path: Path
    relative_paths: list[str]
    labels: np.ndarray
    lines: np.ndarray
    n_dropped: int


def read_list_file(path: str | os.PathLike, *, n_classes: int | None = None) -> ListFile:
    """Parse a ``relative/path l_1 ... l_C`` list file.

    Parameters
    ----------
    path : path-like
    n_classes : int, optional
        Expected label width; default: the width of the first line.

    Returns
    -------
    ListFile
        All-zero label rows are dropped with a ``UserWarning`` giving their count.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"list file missing: {path}")
    rel: list[str] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    seen: dict[str, int] = {}
    dropped: list[int] = []
    with open(path, encoding="utf-8") as fh:
        for k, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue  # blank line: no item
            if len(parts) == 1:
                raise ValueError(f"{path} line {k}: a path with no labels: {parts[0]!r}")
            name, values = parts[0], parts[1:]
            if n_classes is None:
                n_classes = len(values)
            if len(values) != n_classes:
                raise ValueError(f"{path} line {k}: {len(values)} labels, expected {n_classes}")
            bad = [v for v in values if v not in ("0", "1")]
            if bad:
                raise ValueError(f"{path} line {k}: labels must be 0 or 1, found {bad[0]!r}")
            if name in seen:
                raise ValueError(f"{path} line {k}: {name} already listed on line {seen[name]}")
            seen[name] = k
            if "1" not in values:
                dropped.append(k)
                continue
            rel.append(name)
            rows.append(values)
            lines.append(k)
    if not rows and not dropped:
        raise ValueError(f"{path}: no items")
    labels = np.array(rows, dtype=np.uint8).reshape(len(rows), n_classes or 0)
    if dropped:
        warnings.warn(
            f"{path}: dropped {len(dropped)} items with all-zero label rows "
            f"(lines {dropped[:5]}{' ...' if len(dropped) > 5 else ''})",
            UserWarning,
            stacklevel=2,
        )
    return ListFile(path, rel, labels, np.asarray(lines, np.int64), len(dropped))


def find_list_folder(folder: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/hashing-lists/<folder>`` or ``<root>/<folder>``, whichever holds ``test.txt``."""
    base = data_root(root)
    tried = [base / "hashing-lists" / folder, base / folder]
    for candidate in tried:
        if (candidate / "test.txt").is_file() and (candidate / "train.txt").is_file():
            return candidate
    places = "\n  ".join(str(p / "test.txt") for p in tried)
    raise FileNotFoundError(
        f"lists of {folder!r} not found. Tried:\n  {places}\nPass root= or set HASHLIB_DATA."
    )


def _image_root(folder: Path, image_root: str | os.PathLike | None) -> Path:
    if image_root is not None:
        return Path(image_root).expanduser()
    if os.environ.get("HASHLIB_IMAGES"):
        return Path(os.environ["HASHLIB_IMAGES"]).expanduser() / folder.name
    return folder


def build_list_protocol(
    *,
    name: str,
    folder: str,
    n_classes: int,
    topk: int | None,
    seed: int,
    root: str | os.PathLike | None,
    val_fraction: float,
    image_root: str | os.PathLike | None,
):
    """A protocol over ``test.txt`` (queries), ``train.txt`` and ``database.txt``."""
    lists_dir = find_list_folder(folder, root)
    images_dir = _image_root(lists_dir, image_root)
    files = {"query": "test.txt", "train": "train.txt"}
    if (lists_dir / "database.txt").is_file():
        files["database"] = "database.txt"
    parsed = {
        part: read_list_file(lists_dir / fname, n_classes=n_classes)
        for part, fname in files.items()
    }
    index: dict[str, int] = {}
    rel_paths: list[str] = []
    label_rows: list[np.ndarray] = []
    origins: list[str] = []
    members: dict[str, np.ndarray] = {}
    for part, lst in parsed.items():
        idx = np.empty(len(lst.relative_paths), np.int64)
        for j, (rel, line) in enumerate(zip(lst.relative_paths, lst.lines)):
            where = f"{lst.path} line {line}"
            if rel in index:
                first = index[rel]
                if not np.array_equal(label_rows[first], lst.labels[j]):
                    raise ValueError(f"{where}: {rel} has other labels than in {origins[first]}")
            else:
                index[rel] = len(rel_paths)
                rel_paths.append(rel)
                label_rows.append(lst.labels[j])
                origins.append(where)
            idx[j] = index[rel]
        members[part] = idx
    database_choice = "database.txt"
    if "database" not in members:
        members["database"] = members["train"]
        database_choice = "train.txt (no database.txt: the training set is the database)"
    labels = np.stack(label_rows).astype(np.uint8)
    prefix = lists_dir.relative_to(lists_dir.parents[1]).as_posix()
    source = {
        "lists": {
            f"{prefix}/{fname}": {
                "sha256": sha256_file(lists_dir / fname),
                "size": (lists_dir / fname).stat().st_size,
            }
            for fname in files.values()
        }
    }
    dropped = {fname: parsed[part].n_dropped for part, fname in files.items()}
    policy = {
        "database": database_choice,
        "all_zero_rows_dropped": dropped,
        "standard_order": "distinct paths by first appearance in test.txt, train.txt, database.txt",
    }
    return assemble(
        name=name,
        dataset=folder,
        seed=seed,
        topk=topk,
        labels=labels,
        query=members["query"],
        train=members["train"],
        database=members["database"],
        rng=np.random.default_rng(seed),
        val_fraction=val_fraction,
        source=source,
        paths=[str(images_dir / p) for p in rel_paths],
        relative_paths=rel_paths,
        origins=origins,
        policy=policy,
    )


#: name -> (list folder, n_classes, topk, description)
LIST_PROTOCOLS = {
    "nuswide-21": (
        "nuswide_21",
        21,
        5000,
        "NUS-WIDE, the 21 most frequent concepts (DeepHash-pytorch's lists): 2,100 "
        "queries, 10,500 training images; mAP@5000.",
    ),
    "nuswide-21-m": (
        "nuswide_21_m",
        21,
        5000,
        "NUS-WIDE-21, the lists with Flickr-named files (ADSH/DPSH style): 2,100 "
        "queries, 10,500 training images; mAP@5000.",
    ),
    "nuswide-81-m": (
        "nuswide_81_m",
        81,
        5000,
        "NUS-WIDE, all 81 concepts: 5,000 queries, 10,000 training images; mAP@5000.",
    ),
    "coco": (
        "coco",
        80,
        5000,
        "MS-COCO 2014, 80 categories: 5,000 queries, 10,000 training images; mAP@5000.",
    ),
    "imagenet100": (
        "imagenet",
        100,
        1000,
        "ImageNet-100 (HashNet's 100 classes, single-label): 5,000 queries (ILSVRC "
        "2012 validation images), 13,000 training images (130 per class); mAP@1000.",
    ),
    "mirflickr": (
        "mirflickr",
        38,
        None,
        "MIRFlickr-25K, 38 labels: 1,000 queries, 4,000 training images, 20,000 "
        "database images (database.txt, disjoint from train); all-zero rows dropped; "
        "mAP@ALL as in DeepHash-pytorch.",
    ),
    "voc2012": (
        "voc2012",
        20,
        None,
        "PASCAL VOC 2012, 20 classes: 1,000 queries, 4,000 training images, 6,540 "
        "database images (database.txt, disjoint from train); mAP@ALL as in DeepHash-pytorch.",
    ),
}


def _make_builder(name: str, folder: str, n_classes: int, topk: int | None):
    def build(*, seed, root, cache_dir, download, val_fraction, image_root):
        return build_list_protocol(
            name=name,
            folder=folder,
            n_classes=n_classes,
            topk=topk,
            seed=seed,
            root=root,
            val_fraction=val_fraction,
            image_root=image_root,
        )

    return build


for _name, (_folder, _c, _k, _doc) in LIST_PROTOCOLS.items():
    _register(
        _name,
        _doc + " Database: database.txt where given, else train.txt; "
        "validation: 10% of train. See hashlib_core.data.listfile.",
    )(_make_builder(_name, _folder, _c, _k))
