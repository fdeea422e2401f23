"""Speed and memory of hashlib_core.metrics against plain per-query mAP loops.

Run from the repository root::

    .venv/bin/python benchmarks/bench_metrics.py          # CIFAR-10 and ImageNet-100 scale
    .venv/bin/python benchmarks/bench_metrics.py --quick  # small sizes, a few seconds

Codes are synthetic but shaped like trained ones: each class has a random prototype code,
every item is its class prototype with each bit flipped with probability ``--flip``
(default 0.25: mAP@ALL about 0.7 at 64 bits), so every query sees thousands of tied
distances.

Two baselines, both ordering ties by database index with ``np.argsort(kind="stable")``:

* ``plain``: per query, Hamming distances ``(n_bits - B q) / 2`` on float32 {-1,+1}
  codes, the stable argsort, relevance by comparing integer labels, cumulative
  precision at the relevant ranks;
* ``CalcTopMap``: the per-query loop most deep hashing code copies (DPSH, HashNet,
  DeepHash-pytorch), with multi-hot float labels (relevance ``(L_db @ l_q) > 0``), again
  with a stable argsort.

The per-query AP values must agree (checked to 1e-12; bit-identity is reported). Times
are wall-clock and CPU time of this process (``time.process_time``: on a shared machine
the wall time of both sides grows with the load, CPU time much less). Ours is timed on
one thread and on :func:`hashlib_core.metrics.get_num_threads` threads; the baselines are
single-threaded loops, and BLAS is limited to one thread for them (threadpoolctl: a
multi-threaded matrix-vector product per query only adds synchronisation; it made the
plain loop 15x slower on a loaded 2-core machine). Large baselines run on a subset of
the queries and their times are extrapolated linearly (said so in the output).

Ours ranks with numba's compiled counting sort when numba is installed (the lock file
pins it), else with numpy's SIMD sort of integer keys; ``HASHLIB_METRICS_BACKEND=numpy``
times the numpy path. Both give the same per-query values.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

from hashlib_core.evaluation import evaluate
from hashlib_core.metrics import average_precision, get_num_threads, set_num_threads


def make_codes(n_query, n_db, n_bits, n_classes, flip, seed):
    """Single-label codes near class prototypes; {-1,+1} int8."""
    rng = np.random.default_rng(seed)
    protos = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_classes, n_bits))
    q_labels = rng.integers(0, n_classes, n_query)
    db_labels = rng.integers(0, n_classes, n_db)

    def noisy(labels):
        codes = protos[labels].copy()
        codes[rng.random(codes.shape) < flip] *= -1
        return codes

    return noisy(q_labels), noisy(db_labels), q_labels, db_labels


def baseline_ap(q_codes, db_codes, q_labels, db_labels, topk):
    """plain: per-query AP@topk, ties by index through a stable argsort."""
    n_bits = q_codes.shape[1]
    db = np.ascontiguousarray(db_codes, dtype=np.float32)
    q = q_codes.astype(np.float32)
    out = np.zeros(len(q))
    for i in range(len(q)):
        dist = 0.5 * (n_bits - db @ q[i])
        order = np.argsort(dist, kind="stable")[:topk]
        rel = db_labels[order] == q_labels[i]
        if rel.any():
            ranks = np.flatnonzero(rel) + 1
            out[i] = np.mean(np.arange(1, len(ranks) + 1) / ranks)
    return out


def calc_top_map(q_codes, db_codes, q_labels, db_labels, topk):
    """CalcTopMap as in DPSH / HashNet / DeepHash-pytorch (per-query values, stable sort)."""
    n_classes = int(max(q_labels.max(), db_labels.max())) + 1
    query_l = np.eye(n_classes, dtype=np.float32)[q_labels]
    retrieval_l = np.eye(n_classes, dtype=np.float32)[db_labels]
    q_b, r_b = q_codes.astype(np.float32), db_codes.astype(np.float32)
    out = np.zeros(len(q_b))
    for i in range(len(q_b)):
        gnd = (np.dot(query_l[i, :], retrieval_l.transpose()) > 0).astype(np.float32)
        hamm = 0.5 * (r_b.shape[1] - np.dot(q_b[i, :], r_b.transpose()))
        ind = np.argsort(hamm, kind="stable")
        tgnd = gnd[ind][0:topk]
        tsum = int(np.sum(tgnd))
        if tsum == 0:
            continue
        count = np.linspace(1, tsum, tsum)
        tindex = np.asarray(np.where(tgnd == 1)) + 1.0
        out[i] = np.mean(count / tindex)
    return out


def timed(fn, repeat=1):
    """Best wall and CPU seconds over ``repeat`` runs, and the last result."""
    best_wall = best_cpu = np.inf
    result = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu, result


def peak_traced(fn):
    """Peak memory traced by tracemalloc (numpy arrays included) during fn(), in MiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run_case(name, n_query, n_db, n_bits, n_classes, topk, n_base, args):
    print(
        f"\n== {name}: {n_query} queries x {n_db} database items, {n_bits} bits, "
        f"{n_classes} classes, mAP@{'ALL' if topk is None else topk}"
    )
    q, db, ql, dl = make_codes(n_query, n_db, n_bits, n_classes, args.flip, args.seed)
    k = n_db if topk is None else topk
    n_threads = get_num_threads()

    set_num_threads(1)
    wall1, cpu1, ours = timed(lambda: average_precision(q, db, ql, dl, topk=topk), args.repeat)
    peak = peak_traced(lambda: average_precision(q, db, ql, dl, topk=topk))
    set_num_threads(n_threads)
    wall_t, _, ours_t = timed(lambda: average_precision(q, db, ql, dl, topk=topk), args.repeat)
    assert np.array_equal(ours, ours_t), "results depend on the number of threads"

    rows = []
    for label, fn, n_sub in (
        ("plain", baseline_ap, n_base),
        ("CalcTopMap", calc_top_map, max(1, n_base // 2)),
    ):
        n_sub = min(n_sub, n_query)
        wall_b, cpu_b, base = timed(lambda fn=fn, n_sub=n_sub: fn(q[:n_sub], db, ql[:n_sub], dl, k))
        scale = n_query / n_sub
        diff = float(np.abs(ours[:n_sub] - base).max())
        identical = bool(np.array_equal(ours[:n_sub], base))
        assert diff <= 1e-12, f"{name}: ours and {label} disagree by {diff}"
        rows.append((label, wall_b * scale, cpu_b * scale, n_sub, diff, identical))

    tied = np.mean(
        [min(2000, n_db) - len(np.unique((n_bits - db[:2000] @ q[i]) // 2)) for i in range(5)]
    )
    print(f"mAP {ours.mean():.6f}; of 2,000 items, {tied:.0f} share a distance with another")
    print(
        f"ours, 1 thread        wall {wall1:8.3f} s   cpu {cpu1:8.3f} s   (best of {args.repeat})"
    )
    print(f"ours, {n_threads} threads       wall {wall_t:8.3f} s")
    print(f"ours, peak traced memory {peak:.1f} MiB (tracemalloc, numpy arrays included)")
    result = {
        "name": name,
        "peak_mib": peak,
        "map": float(ours.mean()),
        "wall1": wall1,
        "cpu1": cpu1,
        "wall_t": wall_t,
        "threads": n_threads,
    }
    for label, wall_b, cpu_b, n_sub, diff, identical in rows:
        note = "" if n_sub == n_query else f"  [timed on {n_sub} queries, x{n_query / n_sub:.0f}]"
        print(
            f"{label:<12}          wall {wall_b:8.3f} s   cpu {cpu_b:8.3f} s{note}\n"
            f"   per-query AP vs ours: max |diff| {diff:.1e}, bit-identical {identical}; "
            f"ratio cpu/cpu (1 thread) {cpu_b / cpu1:5.1f}x, "
            f"wall/wall ({n_threads} threads) {wall_b / wall_t:5.1f}x"
        )
        result[label] = (cpu_b / cpu1, wall_b / wall_t)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    parser.add_argument("--flip", type=float, default=0.25, help="bit flip probability")
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats of our code")
    parser.add_argument(
        "--baseline-queries",
        type=int,
        default=None,
        help="queries the baselines are timed on (default: all at CIFAR scale, 250 at "
        "ImageNet scale; CalcTopMap on half as many)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from hashlib_core.metrics._compiled import backend

    print(
        f"numpy {np.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine slows both sides); "
        f"ranking backend: {backend()} (HASHLIB_METRICS_BACKEND=numpy for the numpy path)"
    )
    if args.quick:
        cases = [
            ("CIFAR-10-like (quick)", 200, 5000, 64, 10, None, args.baseline_queries or 200),
            ("ImageNet-100-like (quick)", 300, 12000, 64, 100, 100, args.baseline_queries or 100),
        ]
    else:
        cases = [
            ("CIFAR-10 scale", 1000, 59000, 64, 10, None, args.baseline_queries or 1000),
            ("ImageNet-100 scale", 5000, 128495, 64, 100, 1000, args.baseline_queries or 250),
        ]
    with threadpool_limits(limits=1):
        results = [run_case(*case, args) for case in cases]
    name, nq, ndb, nbits, ncls, _, _ = cases[0]
    q, db, ql, dl = make_codes(nq, ndb, nbits, ncls, args.flip, args.seed)
    wall, cpu, res = timed(lambda: evaluate(q, db, ql, dl, topk=None))
    print(
        f"\n== evaluate() at {name} ({get_num_threads()} threads): every scalar and curve in "
        f"{wall:.2f} s wall, {cpu:.2f} s cpu;\n   "
        + ", ".join(f"{k}={v:.4f}" for k, v in res.scalars.items())
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess peak RSS (inputs, baselines and everything above): {rss:.0f} MiB")
    print("\nsummary (speed-up over plain: cpu 1 thread | wall all threads):")
    for r in results:
        print(
            f"  {r['name']}: mAP {r['map']:.4f}; plain {r['plain'][0]:.1f}x | "
            f"{r['plain'][1]:.1f}x; CalcTopMap {r['CalcTopMap'][0]:.1f}x | "
            f"{r['CalcTopMap'][1]:.1f}x; ours {r['cpu1']:.2f} s cpu (1 thread), "
            f"{r['wall_t']:.2f} s wall ({r['threads']} threads); peak {r['peak_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
