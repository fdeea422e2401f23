"""List-file datasets: ``relative/path l_1 ... l_C`` per line (NUS-WIDE, MS-COCO, ...).

The format used by the deep hashing code of the last decade (DeepHash-pytorch, CSQ,
ADSH, ...): one image per line, a path relative to an image root, then a 0/1 multi-hot
label vector. A dataset folder holds ``test.txt`` (the queries), ``train.txt`` and,
where the authors published it, ``database.txt``.

Policies (each reported, none silent):

* the file is UTF-8 (a byte-order mark is dropped) or UTF-16 with its mark; the labels
  are the last columns, so a path may contain spaces; other text, or a list that is a
  folder, is a ``ValueError`` naming the file (and line);

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
import re
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


def _decode(path: Path, data: bytes) -> str:
    """The text of a list file: UTF-8 (a byte-order mark is dropped) or UTF-16 with its
    mark; anything else is a ``ValueError`` naming the line and the bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: starts with a UTF-16 mark but is not UTF-16 ({err})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        line = data.count(b"\n", 0, err.start + start) + 1
        column = err.start + start - (data.rfind(b"\n", 0, err.start + start) + 1) + 1
        raise ValueError(
            f"{path} line {line}: not UTF-8 text (byte 0x{data[err.start + start]:02x} at "
            f"column {column}); save the list as UTF-8"
        ) from None


def _is_label(token: str) -> bool:
    return token in ("0", "1")


def _looks_numeric(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _split_line(line: str, n_classes: int | None, where: str) -> tuple[str, list[str]]:
    """``path l_1 ... l_C`` -> (path, labels). The labels are the last columns, so a path
    may hold spaces; the width is ``n_classes`` or, when None, the trailing 0/1 columns."""
    parts = line.split()
    if len(parts) == 1:
        raise ValueError(f"{where}: a path with no labels: {parts[0]!r}")
    trailing = 0
    while trailing < len(parts) - 1 and _is_label(parts[-1 - trailing]):
        trailing += 1
    if n_classes is None:
        if trailing == 0:
            bad = parts[-1]
            if _looks_numeric(bad):
                raise ValueError(f"{where}: labels must be 0 or 1, found {bad!r}")
            raise ValueError(f"{where}: a path with no labels: {line.strip()!r}")
        n_classes = trailing
    if trailing != n_classes:
        window = parts[-n_classes:] if len(parts) > n_classes else parts[1:]
        bad = next((t for t in reversed(window) if not _is_label(t)), None)
        if trailing < n_classes and bad is not None and _looks_numeric(bad):
            raise ValueError(f"{where}: labels must be 0 or 1, found {bad!r}")
        raise ValueError(f"{where}: {trailing} labels, expected {n_classes}")
    # the path: everything before the label columns, its inner spaces kept
    head = re.fullmatch(rf"\s*(.+?)(?:\s+[01]){{{n_classes}}}\s*", line)
    return head.group(1), parts[-n_classes:]


class ListLine(NamedTuple):
    """One line of a list file as :func:`scan_list_text` reads it: ``problem`` is None
    for an item (``name``, ``labels``), else what is wrong with the line (``"empty line"``
    for a blank one, which the loader skips)."""

    line: int
    name: str | None
    labels: list[str] | None
    problem: str | None


def read_list_text(path: str | os.PathLike) -> str:
    """The text of a list file, decoded as the loader does (UTF-8, a byte-order mark
    dropped, or UTF-16 with its mark); ``ValueError`` naming the file otherwise."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"list file {path} is a folder, not a file")
    if not path.is_file():
        raise ValueError(f"list file missing: {path}")
    try:
        return _decode(path, path.read_bytes())
    except OSError as err:
        raise ValueError(f"list file {path} cannot be read: {err.strerror or err}") from None


def scan_list_text(text: str, *, n_classes: int | None = None, path: str | os.PathLike = "",
                   sep: str = " line ") -> list[ListLine]:
    """Every line of a list file's text, parsed as the loader parses it (labels the last
    columns, a path may hold spaces, CRLF or LF), with what is wrong with each: the one
    reader of :func:`read_list_file` and of ``python -m hashlib_core.data check``.

    Problems are ``"<path><sep><line>: <problem>"`` (``sep`` " line " for the loader's
    errors, ":" for the data check's); a path seen twice in the file is a problem of the
    second line; an all-zero label row is an item (the loader drops it).
    """
    out: list[ListLine] = []
    seen: dict[str, int] = {}
    for k, line in enumerate(text.splitlines(), start=1):
        where = f"{path}{sep}{k}"
        if not line.strip():
            out.append(ListLine(k, None, None, f"{where}: empty line"))
            continue
        try:
            name, values = _split_line(line, n_classes, where)
        except ValueError as err:
            out.append(ListLine(k, None, None, str(err)))
            continue
        n_classes = len(values)
        if name in seen:
            out.append(ListLine(k, name, values, f"{where}: {name} already listed on line {seen[name]}"))
            continue
        seen[name] = k
        out.append(ListLine(k, name, values, None))
    return out


def read_list_file(path: str | os.PathLike, *, n_classes: int | None = None) -> ListFile:
    """Parse a ``relative/path l_1 ... l_C`` list file.

    Parameters
    ----------
    path : path-like
        UTF-8 text (a byte-order mark is dropped; UTF-16 with its mark is read too).
    n_classes : int, optional
        Expected label width; default: the number of trailing 0/1 columns of the first
        item.

    Returns
    -------
    ListFile
        All-zero label rows are dropped with a ``UserWarning`` giving their count.

    Notes
    -----
    The labels are the last ``n_classes`` columns, and the path is everything before
    them (spaces inside a path are kept; leading and trailing blanks are not). Blank
    lines are skipped. Lines are read by :func:`scan_list_text`, as the data check reads
    them.
    """
    path = Path(path)
    text = read_list_text(path)
    rel: list[str] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    dropped: list[int] = []
    for item in scan_list_text(text, n_classes=n_classes, path=path):
        if item.problem is not None:
            if item.name is None and item.labels is None and item.problem.endswith(": empty line"):
                continue  # blank line: no item
            raise ValueError(item.problem)
        n_classes = len(item.labels)
        if "1" not in item.labels:
            dropped.append(item.line)
            continue
        rel.append(item.name)
        rows.append(item.labels)
        lines.append(item.line)
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
    """``<root>/hashing-lists/<folder>`` or ``<root>/<folder>``, whichever holds the lists
    (``test.txt`` and ``train.txt`` files).

    Raises
    ------
    ValueError
        If a list there is a folder or another non-file.
    FileNotFoundError
        If neither place holds both lists; the message says what each place lacks.
    """
    base = data_root(root)
    tried = [base / "hashing-lists" / folder, base / folder]
    lacking = []
    for candidate in tried:
        for name in ("test.txt", "train.txt", "database.txt"):
            entry = candidate / name
            if entry.exists() and not entry.is_file():
                raise ValueError(f"list {entry} is a {'folder' if entry.is_dir() else 'special file'}, "
                                 "not a list file")
        absent = [n for n in ("test.txt", "train.txt") if not (candidate / n).is_file()]
        if not absent:
            return candidate
        what = "no such folder" if not candidate.is_dir() else f"no {' or '.join(absent)}"
        lacking.append(f"{candidate} ({what})")
    places = "\n  ".join(lacking)
    raise FileNotFoundError(
        f"lists of {folder!r} not found. Tried:\n  {places}\nPass root= or set HASHLIB_DATA."
    )


def _image_root(folder: Path, image_root: str | os.PathLike | None) -> Path:
    if image_root is not None:
        return Path(image_root).expanduser()
    if os.environ.get("HASHLIB_IMAGES"):
        return Path(os.environ["HASHLIB_IMAGES"]).expanduser() / folder.name
    return folder


def _standard_order(parsed: dict) -> tuple[list[str], list[np.ndarray], list[str],
                                           dict[str, np.ndarray]]:
    """The distinct paths of the parsed lists by first appearance, their label rows and
    where each was first read, and each split's indices into them. A path listed twice
    with other labels is refused, naming both lines."""
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
    return rel_paths, label_rows, origins, members


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
    for part, lst in parsed.items():
        if not lst.relative_paths:  # every row all-zero: the split would be empty
            raise ValueError(f"{lst.path}: all {lst.n_dropped:,} items have all-zero label rows "
                             f"(dropped), so the {part} split would be empty")
    rel_paths, label_rows, origins, members = _standard_order(parsed)
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
