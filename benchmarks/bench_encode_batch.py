"""Encoding speed of the cpu preset's network against the encoding batch size.

    OMP_NUM_THREADS=1 python benchmarks/bench_encode_batch.py            # one thread, as the grid
    python benchmarks/bench_encode_batch.py --sizes 64 128 1000 --images 8000 --repeats 3

The small CNN in eval mode (inference mode, channels-last, random weights: speed does not
depend on them) encodes ``--images`` resident 32 px images in batches of each size; the
best of ``--repeats`` passes is reported as images/s. On one thread here, batches of 128
encode about 1.5x faster than batches of 1,000 (the activations of a small batch stay in
cache), which is why the cpu preset encodes in batches of 128. The batch does not change
any code: in eval mode each image's output depends on that image alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def encode_speed(sizes: list[int], images: int, repeats: int, n_bits: int = 32) -> dict[int, float]:
    """Best images/s over ``repeats`` passes, per batch size."""
    from hashlib_core.methods import get_method_class
    from hashlib_core.models import create_backbone

    torch.manual_seed(0)
    method = get_method_class("csq")(n_bits, 10)
    method.build(lambda: create_backbone("smallcnn", pretrained=None))
    method.eval().to(memory_format=torch.channels_last)
    x = torch.randn(images, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    best: dict[int, float] = {}
    with torch.inference_mode():
        method.encode_database(x[:64])  # warm-up
        for _ in range(repeats):
            for bs in sizes:
                t0 = time.perf_counter()
                for i in range(0, images, bs):
                    method.encode_database(x[i : i + bs])
                best[bs] = max(best.get(bs, 0.0), images / (time.perf_counter() - t0))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 256, 1000])
    ap.add_argument("--images", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if min(args.sizes) <= 0 or args.images <= 0 or args.repeats <= 0:
        ap.error("--sizes, --images and --repeats must be positive")
    speed = encode_speed(args.sizes, args.images, args.repeats)
    top = max(speed.values())
    print(f"small CNN, 32 px, {torch.get_num_threads()} thread(s), {args.images} images, "
          f"best of {args.repeats}")
    for bs, ips in speed.items():
        print(f"  batch {bs:5d}: {ips:8.0f} images/s  ({ips / top:.2f} of the fastest)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
