"""ADSH's soft targets against the training set: computed at every step (the direct
product, :func:`hashlib_core.losses.adsh.soft_similarity`) against gathered from one row
per label vector (:meth:`hashlib_core.methods.adsh.ADSH.train_similarity`).

One outer iteration of the cpu preset on CIFAR-10 under ADSH's protocol (59,000 training
items, 2,000 sampled, 3 passes in batches of 128): the ratio r, the targets of every
batch and the code step's targets, without the network (its cost is the same either
way). The two ways alternate, ``--repeats`` times each; the result (medians, and that both
give the same bits) goes to ``benchmarks/results/adsh_targets.json``.

    python benchmarks/bench_adsh_targets.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from hashlib_core.atomic import atomic_write
from hashlib_core.losses.adsh import similarity_ratio, soft_similarity
from hashlib_core.methods import create_method
from hashlib_core.models.backbones import create_backbone

N_TRAIN, N_CLASSES, SAMPLES, PASSES, BATCH, BITS = 59_000, 10, 2_000, 3, 128, 32


def _iteration(method, labels: torch.Tensor, omega: torch.Tensor, gathered: bool) -> float:
    t0 = time.perf_counter()
    sample = labels[omega]
    if gathered:
        r = method._sample_ratio(sample)
        method.sim_ratio.fill_(r)
        rows = [method.train_similarity(sample[i:i + BATCH])
                for _ in range(PASSES) for i in range(0, SAMPLES, BATCH)]
        code_step = method.train_similarity(sample)
    else:
        r = similarity_ratio(sample, labels)
        rows = [soft_similarity(sample[i:i + BATCH], labels, ratio=r)
                for _ in range(PASSES) for i in range(0, SAMPLES, BATCH)]
        code_step = soft_similarity(sample, labels, ratio=r)
    seconds = time.perf_counter() - t0
    method._last = (rows[0], code_step)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="benchmarks/results/adsh_targets.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    labels = torch.eye(N_CLASSES)[torch.randint(0, N_CLASSES, (N_TRAIN,), generator=g)]
    method = create_method("adsh", BITS, N_CLASSES)
    method.build(lambda: create_backbone("smallcnn", image_size=32))
    method.setup(labels, g)
    omega = torch.randperm(N_TRAIN, generator=g)[:SAMPLES]
    times = {"direct": [], "gathered": []}
    same = True
    for _ in range(args.repeats):
        outs = {}
        for way in ("direct", "gathered"):
            times[way].append(_iteration(method, labels, omega, way == "gathered"))
            outs[way] = method._last
        same &= all(torch.equal(a, b) for a, b in zip(outs["direct"], outs["gathered"]))
    med = {w: sorted(t)[len(t) // 2] for w, t in times.items()}
    result = {"what": "ADSH targets of one outer iteration (cpu preset, ADSH protocol), "
                      "one thread, seconds", "n_train": N_TRAIN, "samples": SAMPLES,
              "passes": PASSES, "batch": BATCH, "seconds": times, "median": med,
              "speedup": med["direct"] / med["gathered"], "identical": bool(same),
              "host": platform.processor() or platform.machine()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, (json.dumps(result, indent=1) + "\n").encode())
    print(f"direct {med['direct']:.2f} s, gathered {med['gathered']:.2f} s per outer "
          f"iteration (x{result['speedup']:.1f}); identical: {same}")


if __name__ == "__main__":
    main()
