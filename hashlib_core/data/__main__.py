"""Check a dataset before training: ``python -m hashlib_core.data check DATASET``.

``check`` reads every line of the dataset's list files with the loader's own reader
(:func:`hashlib_core.data.listfile.scan_list_text`: UTF-8 or UTF-16 with its mark, CRLF,
paths with spaces), opens and decodes every listed image (in parallel worker processes),
then compares the split sizes with the paper's protocol. It prints one line per problem
and occurrence, ``<file>:<line>: <problem>``, sorted by file and line (the first
:data:`MAX_LINES`, then how many more; ``--all`` prints every one), an image folder where
no listed image exists as one line with the likely cause, then a summary, and exits 1
when anything is wrong: an error, or a deviation from the paper's sizes. Notes (an empty
line, an all-zero label row: the loader skips them) are printed but do not fail it. It
never stops at the first problem.

``layout`` prints where each dataset's list files come from, the folder layout the
loaders expect, and the variable or flag that points at it.

DATASET is a paper dataset (``cifar10``, ``imagenet100``, ``nuswide``, ``coco``) or any
protocol name of :func:`hashlib_core.data.list_protocols` (``nuswide-21``, ``mirflickr``...).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path


class Report(list):
    """The problems found (a list of ``<file>:<line>: <problem>`` lines, sorted by file and
    line); ``deviations`` are those that only make the protocol differ from the paper's
    (sizes, a missing database.txt), which a run may accept with
    ``--allow-protocol-deviation``; ``notes`` are reported but do not stop a run (an
    empty line, which the loader skips); every other line is an error."""

    def __init__(self) -> None:
        super().__init__()
        self.deviations: list[str] = []
        self.notes: list[str] = []
        #: the split sizes found, and the paper's (None when the protocol has none)
        self.sizes: dict[str, int] = {}
        self.paper: dict[str, int] | None = None

    def deviation(self, line: str) -> None:
        self.append(line)
        self.deviations.append(line)

    def note(self, line: str) -> None:
        self.append(line)
        self.notes.append(line)

    @property
    def errors(self) -> list[str]:
        return [p for p in self if p not in self.deviations and p not in self.notes]

    def sort_lines(self) -> Report:
        """Sort in place by file, then line number (file-level lines first)."""
        def key(text: str):
            m = re.match(r"(.+?):(\d+): ", text)
            return (m.group(1), int(m.group(2)), text) if m else (text.split(": ", 1)[0], 0, text)

        self.sort(key=key)
        return self


#: ``data check`` prints at most this many problem lines, then how many more there are
MAX_LINES = 50

#: the paper datasets and the protocol that stands for each (as in hashlib_core.runner.grids)
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


def _scan_list(path: Path, n_classes: int, problems: Report) -> dict[str, tuple[int, str]]:
    """Every item of a list file, read by the loader's own reader
    (:func:`hashlib_core.data.listfile.scan_list_text`: UTF-8 or UTF-16 with a mark, CRLF,
    paths with spaces): relative path -> (line, label string); problems appended."""
    from hashlib_core.data.listfile import read_list_text, scan_list_text

    items: dict[str, tuple[int, str]] = {}
    try:
        text = read_list_text(path)
    except ValueError as err:
        problems.append(" ".join(str(err).split()))
        return items
    for item in scan_list_text(text, n_classes=n_classes, path=path, sep=":"):
        if item.problem is not None:
            if item.name is None and item.problem.endswith(": empty line"):
                problems.note(item.problem + " (the loader skips it)")
            else:
                problems.append(item.problem)
            continue
        if "1" not in item.labels:
            problems.note(f"{path}:{item.line}: all-zero label row ({item.name}; "
                          "the loader drops it)")
        items[item.name] = (item.line, " ".join(item.labels))
    if not items:
        problems.append(f"{path}: no items")
    elif all("1" not in labels.split() for _, labels in items.values()):
        problems.append(f"{path}: all {len(items):,} items have all-zero label rows; the "
                        "loader drops them all, so the split would be empty")
    return items


def _images_hint(images_dir: Path, image_root) -> str:
    """The likely cause of an image folder where no listed image exists."""
    if image_root is not None:
        return f"is --images {image_root} the folder the lists' paths start from?"
    env = os.environ.get("HASHLIB_IMAGES")
    if env:
        return (f"HASHLIB_IMAGES is {env}, so the images are looked for under "
                f"{images_dir}: is that where they are?")
    return ("is HASHLIB_IMAGES set? (it is not: the images are looked for beside the "
            "lists, under the list folder)")


def _probe_listed(protocol: str, names: list[str], occurrences: dict, parts: dict,
                  images_dir, *, image_root, workers: int | None, problems: Report,
                  out) -> None:
    """Decode every listed image; one problem per failed image and list occurrence (one
    line when none exists), and a decode summary printed to ``out``."""
    from hashlib_core.data.images import probe_images

    paths = [str(images_dir / n) for n in names]
    t0 = time.perf_counter()
    n_workers = max(1, workers or (os.cpu_count() or 1))
    results = probe_images(paths, workers=n_workers)
    failed = sum(why is not None for why in results)
    missing = sum(why == "image file missing" for why in results)
    if missing == len(paths):  # no image at all: one line, with the likely cause
        problems.append(f"{images_dir}: all {len(paths):,} images missing: "
                        f"{_images_hint(images_dir, image_root)}")
    else:
        for name, path, why in zip(names, paths, results):
            if why is not None:
                for part, line in occurrences[name]:  # once per list occurrence
                    problems.append(f"{parts[part]}:{line}: {why}: {path}")
    took = time.perf_counter() - t0
    if missing == len(paths):
        print(f"{protocol}: none of the {len(paths):,} listed images exists under "
              f"{images_dir} ({took:.0f} s)", file=out)
    elif failed:
        print(f"{protocol}: {len(paths) - failed:,} of {len(paths):,} images decoded under "
              f"{images_dir}, {failed:,} failed ({missing:,} missing) in {took:.0f} s "
              f"({n_workers} processes)", file=out)
    else:
        print(f"{protocol}: all {len(paths):,} images decoded under {images_dir} in "
              f"{took:.0f} s ({n_workers} processes)", file=out)


def check_list_dataset(protocol: str, *, root=None, image_root=None, workers: int | None = None,
                       images: bool = True, out=None) -> Report:
    """Check a list-file protocol's lists, images and sizes; return the problems, one per
    occurrence as ``<file>:<line>: <problem>``, sorted (the decode summary is printed)."""
    from hashlib_core.data.listfile import LIST_PROTOCOLS, _image_root, find_list_folder
    from hashlib_core.data.protocols import PAPER_SIZES

    folder, n_classes, _, _ = LIST_PROTOCOLS[protocol]
    problems = Report()
    out = out or sys.stdout
    try:
        lists_dir = find_list_folder(folder, root)
    except (FileNotFoundError, ValueError) as err:
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
    occurrences: dict[str, list[tuple[str, int]]] = {}
    for part, items in scanned.items():
        for name, (line, labels) in items.items():
            if name in first and first[name][2] != labels:
                f_part, f_line, _ = first[name]
                problems.append(f"{parts[part]}:{line}: {name} has other labels than on "
                                f"{parts[f_part]}:{f_line}")
            first.setdefault(name, (part, line, labels))
            occurrences.setdefault(name, []).append((part, line))
    query = scanned.get("query", {})
    for part in ("train", "database"):
        for name, (line, _) in scanned.get(part, {}).items():
            if name in query:
                problems.append(f"{parts[part]}:{line}: {name} is also a query "
                                f"({parts['query']}:{query[name][0]})")
    if images and first:
        _probe_listed(protocol, list(first), occurrences, parts, images_dir,
                      image_root=image_root, workers=workers, problems=problems, out=out)
    have = {"query": len(scanned.get("query", {})), "train": len(scanned.get("train", {})),
            "database": len(scanned.get("database", scanned.get("train", {})))}
    problems.sizes, problems.paper = have, paper
    if paper:
        for part, n in have.items():
            if part == "database" and "database" not in scanned:
                continue  # described once, as missing
            if n != paper[part]:
                problems.deviation(f"{parts[part]}: {n:,} items, the paper's protocol has "
                                   f"{paper[part]:,}")
    return problems.sort_lines()


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
    from hashlib_core.data.protocols import PAPER_SIZES, protocol_sizes

    problems.sizes = {k: v for k, v in protocol_sizes(p).items() if k != "n_classes"}
    problems.paper = PAPER_SIZES.get("cifar10-i")
    return problems


def check(dataset: str, *, root=None, image_root=None, workers=None, images=True,
          out=None) -> Report:
    """Run the check of ``dataset`` (paper dataset or protocol name); return the problems."""
    from hashlib_core.data.listfile import LIST_PROTOCOLS

    protocol = PAPER_PROTOCOLS.get(dataset, dataset)
    if protocol.startswith("cifar10"):
        return check_cifar10(root=root, out=out)
    if protocol not in LIST_PROTOCOLS:
        known = sorted(PAPER_PROTOCOLS) + sorted(set(LIST_PROTOCOLS) - set(PAPER_PROTOCOLS))
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(known)}")
    return check_list_dataset(protocol, root=root, image_root=image_root, workers=workers,
                              images=images, out=out)


def _sizes(sizes: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {'queries' if part == 'query' else part}"
                     for part, n in sizes.items())


def main(argv: list[str] | None = None) -> int:
    from hashlib_core.cli_args import ArgumentParser, positive_int

    ap = ArgumentParser(prog="python -m hashlib_core.data", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check a dataset's lists, images and sizes")
    c.add_argument("dataset", help="cifar10, imagenet100, nuswide, coco, or a protocol name")
    c.add_argument("--root", help="data folder with hashing-lists/ (default: $HASHLIB_DATA)")
    c.add_argument("--images", help="image folder the lists' paths start from "
                                    "(default: $HASHLIB_IMAGES/<list folder>, else the list folder)")
    c.add_argument("--workers", type=positive_int, help="decoding processes (default: all cores)")
    c.add_argument("--no-images", action="store_true", help="check the lists and sizes only")
    c.add_argument("--all", action="store_true",
                   help=f"print every problem line (default: the first {MAX_LINES})")
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
    shown = problems if args.all else problems[:MAX_LINES]
    for line in shown:
        print(line)
    if len(problems) > len(shown):
        print(f"... and {len(problems) - len(shown):,} more (--all prints them all)")
    took = time.perf_counter() - t0
    n_err, n_dev, n_note = len(problems.errors), len(problems.deviations), len(problems.notes)
    if n_err or n_dev:
        then = ("a run stops on the errors: fix them (python -m hashlib_core.data layout)"
                if n_err else "a paper-scale run on it needs --allow-protocol-deviation")
        print(f"{args.dataset}: {len(problems):,} problem(s) found in {took:.0f} s "
              f"({n_err:,} error(s), {n_dev:,} deviation(s) from the paper's protocol, "
              f"{n_note:,} note(s)); {then}", file=sys.stderr)
        return 1
    sizes = _sizes(problems.sizes) if problems.sizes else "sizes unknown"
    if n_note:
        sizes += f"; {n_note:,} note(s) above: the loader reads the lists as they are"
    what = "lists sound (images not checked: --no-images)" if args.no_images else \
        "lists and images sound"
    if problems.paper is None:
        print(f"{args.dataset}: ok, {what} ({sizes}); no paper sizes are known for it, so "
              f"they are not compared ({took:.0f} s)")
    else:
        print(f"{args.dataset}: ok, {what}, the paper's protocol ({sizes}; {took:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
