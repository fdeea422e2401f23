"""FastH's encoding (boosted trees, one ensemble per bit) with the OpenMP threads that
scikit-learn takes by default against one thread, on the same fitted model.

A FastH model is fitted on ``--train`` random 512-d items (the width of the GIST
features) at ``--bits`` bits, then ``--items`` items are encoded ``--repeats`` times each
way, alternating. The medians, the thread count and whether both give the same codes go
to ``benchmarks/results/fasth_encode.json``. Run it beside a busy worker to see what the
grid sees (two one-thread workers on two cores).

    python benchmarks/bench_fasth_encode.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from hashlib_core.atomic import atomic_write
from hashlib_core.methods import create_method


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/fasth_encode.json")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.train, 512)).astype(np.float32)
    y = np.eye(10)[rng.integers(0, 10, args.train)]
    model = create_method("fasth", args.bits, 10, seed=0)
    model.fit(x, y)
    items = rng.standard_normal((args.items, 512)).astype(np.float32)

    def default_threads() -> np.ndarray:  # what encode did before: the OpenMP default
        from hashlib_core.methods._shallow_utils import sign_codes
        return np.column_stack([sign_codes(t.decision_function(items)) for t in model.trees_])

    times: dict[str, list[float]] = {"default": [], "one_thread": []}
    codes = {}
    for _ in range(args.repeats):
        for name, fn in (("default", default_threads), ("one_thread", lambda: model.encode(items))):
            t0 = time.perf_counter()
            codes[name] = fn()
            times[name].append(time.perf_counter() - t0)
    openmp = [p.get("num_threads") for p in threadpool_info() if p.get("user_api") == "openmp"]
    out = {
        "host": platform.node(), "machine": platform.machine(), "bits": args.bits,
        "items": args.items, "openmp_default_threads": openmp[0] if openmp else None,
        "median_s": {k: statistics.median(v) for k, v in times.items()},
        "speedup": statistics.median(times["default"]) / statistics.median(times["one_thread"]),
        "same_codes": bool(np.array_equal(codes["default"], codes["one_thread"])),
    }
    atomic_write(Path(args.out), (json.dumps(out, indent=2) + "\n").encode())
    print(f"encode {args.items} x 512 at {args.bits} bits: default threads "
          f"{out['median_s']['default']:.2f} s, one thread {out['median_s']['one_thread']:.2f} s "
          f"(x{out['speedup']:.1f}); same codes: {out['same_codes']}")


if __name__ == "__main__":
    main()
