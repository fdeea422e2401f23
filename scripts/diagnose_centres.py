"""Where do a CSQ run's codes sit relative to its hash centres?

For each record directory given (a trained CSQ cell with its stored query codes), per
class: the majority (most frequent) query code, its Hamming distance to the class's
centre, the centre nearest to it, the share of the class's queries whose code is nearest
to their own centre (ties split), and the mean distance to the own centre. Centres are
rebuilt exactly as the method builds them (``CSQ(n_bits, n_classes, **overrides)``).

Usage::

    .venv/bin/python scripts/diagnose_centres.py results/cpu/cifar10-i/csq/16b_seed*

Prints one block per record and a one-line summary (mAP, merged class pairs).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from hashlib_core.methods import create_method


def load_codes(run_dir: Path, kind: str = "query_codes") -> tuple[np.ndarray, np.ndarray]:
    """Codes in {-1,+1} (n, n_bits) int8 and labels (n, n_classes) of a record directory."""
    files = sorted(run_dir.glob(f"{kind}-*.npz"))
    if len(files) != 1:
        raise SystemExit(f"error: {run_dir}: expected one {kind}-*.npz, found {len(files)}")
    z = np.load(files[0])
    n_bits = int(z["n_bits"])
    bits = np.unpackbits(z["packed"], axis=1, count=n_bits)
    return bits.astype(np.int8) * 2 - 1, np.asarray(z["labels"])


def centre_report(codes: np.ndarray, labels: np.ndarray, centers: np.ndarray) -> dict:
    """Per-class statistics of single-label codes against the class centres."""
    n_classes = centers.shape[0]
    cls = labels.argmax(1)
    dist = (codes[:, None, :] != centers[None, :, :]).sum(-1)  # (n, n_classes)
    nearest_min = dist.min(1, keepdims=True)
    is_near = dist == nearest_min
    # share of queries nearest to their own centre, ties split evenly
    own_share = is_near[np.arange(len(cls)), cls] / is_near.sum(1)
    rows = []
    for k in range(n_classes):
        sel = cls == k
        counts = Counter(map(tuple, codes[sel].tolist()))
        top, n_top = counts.most_common(1)[0]
        top = np.array(top)
        d_top = (top != centers).sum(1)
        rows.append(
            {
                "class": k,
                "n": int(sel.sum()),
                "majority_share": n_top / int(sel.sum()),
                "majority_to_own": int(d_top[k]),
                "majority_nearest": [int(j) for j in np.flatnonzero(d_top == d_top.min())],
                "own_nearest_share": float(own_share[sel].mean()),
                "mean_dist_own": float(dist[sel, k].mean()),
                "n_distinct": len(counts),
            }
        )
    # a class is "captured" by j when most of its queries are nearest (strictly) to centre j
    strict = (dist == nearest_min) & (is_near.sum(1, keepdims=True) == 1)
    captured = {}
    for k in range(n_classes):
        votes = strict[cls == k].sum(0)
        j = int(votes.argmax())
        if j != k and votes[j] > votes[k]:
            captured[k] = j
    return {"classes": rows, "captured": captured}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="record directories")
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        rec_path = run_dir / "record.json"
        if not rec_path.is_file():
            print(f"error: {rec_path}: no record", file=sys.stderr)
            return 2
        rec = json.loads(rec_path.read_text())
        cfg = rec["config"]
        codes, labels = load_codes(run_dir)
        n_classes = labels.shape[1]
        method = create_method(cfg["method"], int(cfg["n_bits"]), n_classes, **cfg.get("method_overrides", {}))
        centers = method.criterion.centers.numpy().astype(np.int8)
        rep = centre_report(codes, labels, centers)
        print(f"== {run_dir}  mAP {rec['scalars']['map']:.4f}  distinct query codes "
              f"{len(set(map(tuple, codes.tolist())))}")
        print(" cls   n  maj%  d(maj,own)  nearest-to-maj  own-nearest%  mean d(own)  #codes")
        for r in rep["classes"]:
            print(f" {r['class']:3d} {r['n']:4d} {100 * r['majority_share']:5.1f} {r['majority_to_own']:8d}"
                  f"    {str(r['majority_nearest']):14s} {100 * r['own_nearest_share']:9.1f}"
                  f" {r['mean_dist_own']:11.2f} {r['n_distinct']:7d}")
        own = np.mean([r["own_nearest_share"] for r in rep["classes"]])
        print(f" mean own-nearest share {100 * own:.1f}%; classes captured by another centre: "
              f"{rep['captured'] or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
