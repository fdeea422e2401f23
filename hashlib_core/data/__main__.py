"""Check a dataset before training: ``python -m hashlib_core.data check DATASET``.

``check`` reads every line of the dataset's list files and opens and decodes every
listed image (in parallel worker processes), then compares the split sizes and label
widths with the paper's protocol. It prints one line per problem, naming the list file
and line (``<file>:<line>: <problem>``), then a summary, and exits 1 when anything is
wrong (0 when the dataset is exactly the paper's). It never stops at the first problem.

``layout`` prints where each dataset's list files come from, the folder layout the
loaders expect, and the variable or flag that points at it.

DATASET is a paper dataset (``cifar10``, ``imagenet100``, ``nuswide``, ``coco``) or any
protocol name of :func:`hashlib_core.data.list_protocols` (``nuswide-21``, ``mirflickr``...).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


class Report(list):
    """The problems found (a list of lines); ``deviations`` are those that only make the
    protocol differ from the paper's (sizes, a missing database.txt), which a run may
    accept with ``--allow-protocol-deviation``; every other line is an error."""

    def __init__(self) -> None:
        super().__init__()
        self.deviations: list[str] = []

    def deviation(self, line: str) -> None:
        self.append(line)
        self.deviations.append(line)

    @property
    def errors(self) -> list[str]:
        return [p for p in self if p not in self.deviations]

#: the paper datasets and the protocol that stands for each (as in hashlib_core.grids)
PAPER_PROTOCOLS = {"cifar10": "cifar10-i", "imagenet100": "imagenet100",
                   "nuswide": "nuswide-21", "coco": "coco"}

LAYOUT = {
    "cifar10": """CIFAR-10 (protocol cifar10-i: 1,000 queries, 5,000 training images, database 59,000)
  source: torchvision's CIFAR-10 (python -c "import torchvision; torchvision.datasets.CIFAR10('DATA', download=True)")
          or the JPEG copy cifar10_jpeg.zip (train/<class>/NNNN.jpg, test/<class>/NNNN.jpg)
  layout: $HASHLIB_DATA/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
          or $HASHLIB_DATA/cifar10-jpeg/{cifar10_jpeg.zip,std_order_index.csv}
  points at it: HASHLIB_DATA (or RunConfig.data_root / --data-root of the engine)""",
    "imagenet100": """ImageNet-100 (protocol imagenet100: 5,000 queries, 13,000 training images, database 128,495; mAP@1000)
  lists:  HashNet's / DeepHash-pytorch's data/imagenet/{test,train,database}.txt
  images: ILSVRC 2012 (image-net.org): the training images the lists name as image/<file>.JPEG
          and the validation images as val_image/<file>.JPEG
  layout: $HASHLIB_DATA/hashing-lists/imagenet/{test.txt,train.txt,database.txt}
          $HASHLIB_IMAGES/imagenet/image/n01440764_10026.JPEG ...
          $HASHLIB_IMAGES/imagenet/val_image/ILSVRC2012_val_00000007.JPEG ...
  points at it: HASHLIB_DATA (lists) and HASHLIB_IMAGES (images; default: the list folder)""",
    "nuswide": """NUS-WIDE, 21 concepts (protocol nuswide-21: 2,100 queries, 10,500 training images, database 193,734; mAP@5000)
  lists:  DeepHash-pytorch's data/nuswide_21/{test,train,database}.txt
  images: NUS-WIDE's Flickr images (lms.comp.nus.edu.sg/research/NUS-WIDE.htm), as images/<file>.jpg
  layout: $HASHLIB_DATA/hashing-lists/nuswide_21/{test.txt,train.txt,database.txt}
          $HASHLIB_IMAGES/nuswide_21/images/0484_1544502940.jpg ...
  points at it: HASHLIB_DATA (lists) and HASHLIB_IMAGES (images; default: the list folder)""",
    "coco": """MS-COCO 2014, 80 categories (protocol coco: 5,000 queries, 10,000 training images, database 122,218; mAP@5000)
  lists:  DeepHash-pytorch's data/coco/{test,train,database}.txt
  images: cocodataset.org train2014.zip and val2014.zip, unpacked as train2014/ and val2014/
  layout: $HASHLIB_DATA/hashing-lists/coco/{test.txt,train.txt,database.txt}
          $HASHLIB_IMAGES/coco/train2014/COCO_train2014_000000566612.jpg ...
          $HASHLIB_IMAGES/coco/val2014/COCO_val2014_000000000042.jpg ...
  points at it: HASHLIB_DATA (lists) and HASHLIB_IMAGES (images; default: the list folder)""",
}


def _decode(path: str) -> str | None:
    """None when ``path`` opens and decodes completely, else the reason."""
    from PIL import Image

    if not os.path.isfile(path):
        return "image file missing"
    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("RGB", (64, 64))  # decodes the whole stream at 1/8 scale: fast
            im.load()
            if im.size[0] < 1 or im.size[1] < 1:
                return "empty image"
    except Exception as err:  # noqa: BLE001 - every failure is a finding
        return f"unreadable or corrupt image ({type(err).__name__}: {err})"
    return None


def _scan_list(path: Path, n_classes: int, problems: list[str]) -> dict[str, tuple[int, str]]:
    """Every item of a list file: relative path -> (line, label string); problems appended."""
    items: dict[str, tuple[int, str]] = {}
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        problems.append(f"{path}: not UTF-8 text ({err})")
        return items
    for k, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"{path}:{k}"
        if len(parts) == 1:
            problems.append(f"{where}: a path with no labels: {parts[0]!r}")
            continue
        name, values = parts[0], parts[1:]
        if len(values) != n_classes:
            problems.append(f"{where}: {len(values)} labels, expected {n_classes}")
            continue
        bad = [v for v in values if v not in ("0", "1")]
        if bad:
            problems.append(f"{where}: labels must be 0 or 1, found {bad[0]!r}")
            continue
        if name in items:
            problems.append(f"{where}: {name} already listed on line {items[name][0]}")
            continue
        if "1" not in values:
            problems.append(f"{where}: all-zero label row ({name}; the loader drops it)")
        items[name] = (k, " ".join(values))
    if not items:
        problems.append(f"{path}: no items")
    return items


def check_list_dataset(protocol: str, *, root=None, image_root=None, workers: int | None = None,
                       images: bool = True, out=None) -> Report:
    """Check a list-file protocol's lists, images and sizes; return the problems (printed)."""
    from hashlib_core.data.listfile import LIST_PROTOCOLS, _image_root, find_list_folder
    from hashlib_core.data.protocols import PAPER_SIZES

    folder, n_classes, _, _ = LIST_PROTOCOLS[protocol]
    problems = Report()
    try:
        lists_dir = find_list_folder(folder, root)
    except FileNotFoundError as err:
        problems.append(" ".join(str(err).split()))
        return problems
    images_dir = _image_root(lists_dir, image_root)
    parts = {"query": lists_dir / "test.txt", "train": lists_dir / "train.txt",
             "database": lists_dir / "database.txt"}
    paper = PAPER_SIZES.get(protocol)
    scanned: dict[str, dict[str, tuple[int, str]]] = {}
    for part, path in parts.items():
        if part == "database" and not path.is_file():
            want = f" (the paper's database has {paper['database']:,} images)" if paper else ""
            problems.deviation(f"{path}: missing; without it the database is train.txt{want}")
            continue
        scanned[part] = _scan_list(path, n_classes, problems)
    # one path, two label vectors; queries inside the training set or database
    first: dict[str, tuple[str, int, str]] = {}
    for part, items in scanned.items():
        for name, (line, labels) in items.items():
            if name in first and first[name][2] != labels:
                f_part, f_line, _ = first[name]
                problems.append(f"{parts[part]}:{line}: {name} has other labels than on "
                                f"{parts[f_part]}:{f_line}")
            first.setdefault(name, (part, line, labels))
    query = scanned.get("query", {})
    for part in ("train", "database"):
        for name, (line, _) in scanned.get(part, {}).items():
            if name in query:
                problems.append(f"{parts[part]}:{line}: {name} is also a query "
                                f"({parts['query']}:{query[name][0]})")
    if images and first:
        names = list(first)
        paths = [str(images_dir / n) for n in names]
        t0 = time.perf_counter()
        n_workers = max(1, workers or (os.cpu_count() or 1))
        if n_workers == 1 or len(paths) < 64:
            results = list(map(_decode, paths))
        else:
            with ProcessPoolExecutor(n_workers) as pool:
                results = list(pool.map(_decode, paths, chunksize=64))
        for name, path, why in zip(names, paths, results):
            if why is not None:
                part, line, _ = first[name]
                problems.append(f"{parts[part]}:{line}: {why}: {path}")
        print(f"{protocol}: decoded {len(paths):,} images under {images_dir} in "
              f"{time.perf_counter() - t0:.0f} s ({n_workers} processes)", file=out or sys.stdout)
    if paper:
        have = {"query": len(scanned.get("query", {})), "train": len(scanned.get("train", {})),
                "database": len(scanned.get("database", scanned.get("train", {})))}
        for part, n in have.items():
            if n != paper[part]:
                problems.deviation(f"{parts[part]}: {n:,} items, the paper's protocol has "
                                   f"{paper[part]:,}")
    return problems


def check_cifar10(*, root=None, out=None) -> Report:
    """CIFAR-10: every image decodes (the loader checks its copy) and protocol I's sizes."""
    from hashlib_core.data import load_protocol
    from hashlib_core.data.protocols import size_deviations

    problems = Report()
    try:
        p = load_protocol("cifar10-i", root=root)
    except (FileNotFoundError, ValueError) as err:
        problems.append(" ".join(str(err).split()))
        return problems
    print(f"cifar10: {len(p.query) + len(p.database):,} images decoded", file=out or sys.stdout)
    for d in size_deviations(p):
        problems.deviation(f"cifar10-i: {d}")
    return problems


def check(dataset: str, *, root=None, image_root=None, workers=None, images=True,
          out=None) -> Report:
    """Run the check of ``dataset`` (paper dataset or protocol name); return the problems."""
    from hashlib_core.data.listfile import LIST_PROTOCOLS

    protocol = PAPER_PROTOCOLS.get(dataset, dataset)
    if protocol.startswith("cifar10"):
        return check_cifar10(root=root, out=out)
    if protocol not in LIST_PROTOCOLS:
        known = sorted(PAPER_PROTOCOLS) + sorted(LIST_PROTOCOLS)
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(known)}")
    return check_list_dataset(protocol, root=root, image_root=image_root, workers=workers,
                              images=images, out=out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hashlib_core.data",
                                 description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check a dataset's lists, images and sizes")
    c.add_argument("dataset", help="cifar10, imagenet100, nuswide, coco, or a protocol name")
    c.add_argument("--root", help="data folder with hashing-lists/ (default: $HASHLIB_DATA)")
    c.add_argument("--images", help="image folder the lists' paths start from "
                                    "(default: $HASHLIB_IMAGES/<list folder>, else the list folder)")
    c.add_argument("--workers", type=int, help="decoding processes (default: all cores)")
    c.add_argument("--no-images", action="store_true", help="check the lists and sizes only")
    lay = sub.add_parser("layout", help="where each dataset comes from and where it goes")
    lay.add_argument("dataset", nargs="?", choices=sorted(LAYOUT))
    args = ap.parse_args(argv)
    if args.command == "layout":
        for name in [args.dataset] if args.dataset else list(LAYOUT):
            print(LAYOUT[name] + "\n")
        return 0
    t0 = time.perf_counter()
    try:
        problems = check(args.dataset, root=args.root, image_root=args.images,
                         workers=args.workers, images=not args.no_images)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in problems:
        print(line)
    took = time.perf_counter() - t0
    if problems:
        print(f"{args.dataset}: {len(problems)} problem(s) found in {took:.0f} s; a paper-scale "
              "run on it needs --allow-protocol-deviation (see python -m hashlib_core.data "
              "layout)", file=sys.stderr)
        return 1
    print(f"{args.dataset}: ok, the paper's protocol ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
