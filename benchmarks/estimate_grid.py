"""Estimated GPU time of each part of the paper grid, from throughput figures.

    python benchmarks/estimate_grid.py                          # the stated default figures
    python benchmarks/estimate_grid.py --train-ips 2400 --encode-ips 5200 --gpus 4
    python benchmarks/estimate_grid.py --from-bench runs/gpu_check/bench_train.json

The work of a deep cell is counted from the grid (:func:`hashlib_core.runner.grids.grid`), the
paper preset's schedule (:mod:`hashlib_core.scales`, with the per-method epochs) and the
paper's split sizes (:data:`hashlib_core.data.protocols.PAPER_SIZES`):

* training images: epochs x images per epoch (the training set without its 10 %
  validation split; ADSH and DSAH: ``inner_epochs`` passes over ``num_samples`` sampled
  items per outer iteration);
* encoded images: at each validation (every ``eval_every`` epochs and after the last) the
  validation split and the training items (asymmetric methods: the validation split
  only), then the queries and the database (asymmetric methods: less the training items);

and turned into hours with ``--train-ips`` (images/s of a training step, loader
included) and ``--encode-ips`` (images/s of encoding); shallow cells cost what their runs
of the ``cpu`` scale cost (same protocol and GIST features: the committed records' wall
times), or ``--shallow-s`` each. Evaluation (seconds per cell) is left out.

Default figures (stated, to be replaced by the measured ones of ``gpu_check.sh``): 2,000
training and 4,000 encoding images/s for ResNet50 at 224 px in bf16 on one H100-class
GPU with 16 loader workers. They come from NVIDIA's published ResNet-50 v1.5 PyTorch
training throughput in mixed precision (about 2,700 images/s on an A100 80 GB at batch
256, DeepLearningExamples), lowered for the papers' batch of 64, and from this project's
measured JPEG decoding at 224 px (160-240 images/s per core: 16 workers feed 2,500-3,800
images/s, which caps encoding).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cell_work(cell, scale: str = "paper") -> tuple[int, int]:
    """(training images, encoded images) of one deep cell of the grid."""
    from hashlib_core import scales
    from hashlib_core.data.protocols import PAPER_SIZES
    from hashlib_core.methods import get_method_class

    pre = scales.preset(scale, cell.method)
    sizes = PAPER_SIZES[cell.protocol]
    n_val = round(sizes["train"] * 0.1)
    n_train = sizes["train"] - n_val
    cls = get_method_class(cell.method)
    hp = {**cls.defaults, **cell.overrides}
    if "num_samples" in hp and "inner_epochs" in hp:
        per_epoch = min(int(hp["num_samples"]), n_train) * int(hp["inner_epochs"])
        asymmetric = True
    else:
        per_epoch, asymmetric = n_train, False
    epochs = int(pre["epochs"])
    n_evals = len({e for e in range(epochs) if (e + 1) % pre["eval_every"] == 0} | {epochs - 1})
    per_eval = n_val + (0 if asymmetric else n_train)
    final = sizes["query"] + sizes["database"] - (n_train + n_val if asymmetric else 0)
    return epochs * per_epoch, n_evals * per_eval + final


def shallow_seconds(default: float | None) -> dict[str, float]:
    """Mean wall seconds per shallow method in the committed cpu records."""
    if default is not None:
        return defaultdict(lambda: default)
    from hashlib_core.results import load_results

    df = load_results("cpu", root=REPO / "results", protocol="cifar10-i")
    out = df.groupby("method").wall_time_s.mean().to_dict() if len(df) else {}
    return defaultdict(lambda: 120.0, out)


def estimate(train_ips: float, encode_ips: float, *, gpus: int = 1,
             shallow_s: float | None = None) -> list[dict]:
    from hashlib_core.runner import grids

    shallow = shallow_seconds(shallow_s)
    parts: dict[tuple[str, str], dict] = {}
    for cell in grids.grid("paper"):
        dataset = next((d for d, p in grids.BOOK_PROTOCOLS["paper"].items() if p == cell.protocol),
                       "cifar10")  # cifar10-adsh: the DSAH table's asymmetric cells
        if cell.variant:
            part = "SHNet ablation, 32 bits"
        elif cell.method in grids.SHALLOW:
            part = "shallow methods (GIST, on the CPU)"
        elif cell.n_bits in (12, 24, 36, 48):
            part = "DSAH table, 12/24/36/48 bits (deep methods)"
        else:
            part = "deep methods, 16/32/64 bits"
        row = parts.setdefault((dataset, part), {"dataset": dataset, "part": part, "cells": 0,
                                                 "train_images": 0, "encode_images": 0,
                                                 "seconds": 0.0})
        row["cells"] += 1
        if cell.method in grids.SHALLOW:
            row["seconds"] += shallow[cell.method]
            continue
        t, e = cell_work(cell)
        row["train_images"] += t
        row["encode_images"] += e
        row["seconds"] += t / train_ips + e / encode_ips
    out = list(parts.values())
    for row in out:
        row["hours"] = row["seconds"] / 3600 / gpus
    return out


def table(rows: list[dict]) -> str:
    lines = ["| dataset | part of the grid | cells | training images | encoded images | hours |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['part']} | {r['cells']} | "
                     f"{r['train_images'] / 1e6:.1f} M | {r['encode_images'] / 1e6:.1f} M | "
                     f"{r['hours']:.1f} |")
    by = defaultdict(float)
    for r in rows:
        by[r["dataset"]] += r["hours"]
    total = sum(by.values())
    lines.append(f"| **all** | {', '.join(f'{d} {h:.1f} h' for d, h in by.items())} | "
                 f"{sum(r['cells'] for r in rows)} | "
                 f"{sum(r['train_images'] for r in rows) / 1e6:.0f} M | "
                 f"{sum(r['encode_images'] for r in rows) / 1e6:.0f} M | **{total:.0f}** |")
    return "\n".join(lines)


def bench_figures(path: str | Path) -> tuple[float, float]:
    """(training, encoding) images/s of the paper preset in a ``bench_train.py --json``
    file; ``ValueError`` naming the file and what is wrong with it."""
    try:
        rows = json.loads(Path(path).read_text())
    except OSError as err:
        raise ValueError(f"--from-bench {path}: cannot be read ({err.strerror or err})") from None
    except ValueError as err:
        raise ValueError(f"--from-bench {path}: not JSON ({err})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"--from-bench {path}: expected the list of results that "
                         "benchmarks/bench_train.py --json writes")
    presets = [str(r.get("preset")) for r in rows]
    paper = [r for r in rows if r.get("preset") == "paper"]
    if not paper:
        raise ValueError(f"--from-bench {path}: no result of the paper preset (it has: "
                         f"{', '.join(presets) or 'none'}); run benchmarks/bench_train.py "
                         "--preset paper --json FILE on the GPU box")
    figures = []
    for key in ("train_ips", "encode_ips"):
        value = paper[0].get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError(f"--from-bench {path}: the paper preset's {key} is {value!r}, "
                             "not a positive number")
        figures.append(float(value))
    return figures[0], figures[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-ips", type=float, default=2000.0)
    ap.add_argument("--encode-ips", type=float, default=4000.0)
    ap.add_argument("--from-bench", help="bench_train.json: take the paper preset's figures")
    ap.add_argument("--gpus", type=int, default=1, help="GPUs sharing the grid (--shard)")
    ap.add_argument("--shallow-s", type=float, help="seconds per shallow cell (default: the "
                    "committed cpu records)")
    args = ap.parse_args(argv)
    train, enc = args.train_ips, args.encode_ips
    for flag, value in (("--train-ips", train), ("--encode-ips", enc), ("--gpus", args.gpus),
                        ("--shallow-s", args.shallow_s)):
        if value is not None and not (math.isfinite(value) and value > 0):
            print(f"error: {flag} {value:g}: must be a positive number", file=sys.stderr)
            return 2
    if args.from_bench:
        try:
            train, enc = bench_figures(args.from_bench)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    print(f"training {train:,.0f} images/s, encoding {enc:,.0f} images/s, {args.gpus} GPU(s)\n")
    print(table(estimate(train, enc, gpus=args.gpus, shallow_s=args.shallow_s)))
    return 0 if math.isfinite(train) else 1


if __name__ == "__main__":
    sys.exit(main())
