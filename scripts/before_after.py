"""What issue 13's fixes changed: the first cpu grid's records against the new grid's.

    python scripts/before_after.py                 # 32 bits, markdown table on stdout
    python scripts/before_after.py --bits 16 32 64 --csv before_after.csv

The first cpu grid (30 epochs, the methods before the fixes, the preset's Adam at 1e-3)
was removed from ``results/cpu`` in commit 27d08a6; its records and query codes are read
back from git at the commit before it (``--before``), unpacked into a temporary folder.
Both sides are read with the same code: mAP@ALL (mean over the seeds stored, protocol
``cifar10-i``, default variant) and the health of the query codes
(:func:`hashlib_core.metrics.code_health`: distinct bits up to sign, mAC), recomputed
from the stored query codes for the old records, which did not store it.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: the commit whose parent holds the first cpu grid's deep records
REMOVAL = "27d08a6"


def unpack(commit: str, folder: Path) -> Path:
    """``results/cpu`` at ``commit`` into ``folder``; returns the results root."""
    try:
        blob = subprocess.run(["git", "-C", str(REPO), "archive", commit, "results/cpu"],
                              check=True, capture_output=True).stdout
    except subprocess.CalledProcessError as err:
        raise SystemExit(f"git archive {commit} results/cpu failed: "
                         f"{err.stderr.decode().strip()}") from None
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "results"


def summary(root: Path, bits: list[int], protocol: str = "cifar10-i") -> pd.DataFrame:
    """Per (method, n_bits): mean mAP@ALL, seeds, worst-seed distinct bits, effective bits
    (:func:`hashlib_core.metrics.effective_bits`: constant and near-copied bits add none)
    and mAC of the query codes (recomputed from the stored codes)."""
    from hashlib_core.metrics import code_health, effective_bits
    from hashlib_core.results import load_query_codes, load_results
    from hashlib_core.runner.grids import DEEP

    res = load_results("cpu", root=root)
    sel = res[(res.protocol == protocol) & res.variant.isna() & res.method.isin(DEEP)
              & res.n_bits.isin(bits)]
    rows = []
    for (m, b), runs in sel.groupby(["method", "n_bits"]):
        codes = [load_query_codes("cpu", protocol, m, int(b), seed=int(s), root=root)[0]
                 for s in runs.seed]
        health = [code_health(c) for c in codes]
        rows.append({"method": m, "n_bits": int(b), "map": runs["map"].mean(),
                     "seeds": len(runs),
                     "distinct_bits": min(h["distinct_bits"] for h in health),
                     "effective_bits": min(effective_bits(c) for c in codes),
                     "mac": max(h["mac"] for h in health)})
    return pd.DataFrame(rows)


def compare(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    out = before.merge(after, on=["method", "n_bits"], how="outer",
                       suffixes=("_before", "_after"))
    out["map_change"] = out.map_after - out.map_before
    from hashlib_core.runner.grids import DEEP

    order = {m: i for i, m in enumerate(DEEP)}
    out["_o"] = out.method.map(order)
    return out.sort_values(["n_bits", "_o"]).drop(columns="_o").reset_index(drop=True)


def markdown(table: pd.DataFrame) -> str:
    def num(v, fmt):
        return "—" if pd.isna(v) else format(v, fmt)

    lines = ["| method | bits | mAP before (seeds) | mAP after (seeds) | change | "
             "distinct bits before → after | effective bits before → after | "
             "mAC before → after |",
             "|:--|--:|--:|--:|--:|--:|--:|--:|"]
    for r in table.itertuples():
        lines.append(
            f"| {r.method} | {r.n_bits} | {num(r.map_before, '.3f')} ({num(r.seeds_before, '.0f')}) "
            f"| {num(r.map_after, '.3f')} ({num(r.seeds_after, '.0f')}) "
            f"| {num(r.map_change, '+.3f')} "
            f"| {num(r.distinct_bits_before, '.0f')} → {num(r.distinct_bits_after, '.0f')} "
            f"| {num(r.effective_bits_before, '.0f')} → {num(r.effective_bits_after, '.0f')} "
            f"| {num(r.mac_before, '.2f')} → {num(r.mac_after, '.2f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bits", type=int, nargs="+", default=[32])
    ap.add_argument("--before", default=f"{REMOVAL}^",
                    help=f"commit holding the old records (default: {REMOVAL}^)")
    ap.add_argument("--after", default=str(REPO / "results"), help="results root now")
    ap.add_argument("--csv", help="also write the table as CSV")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        before = summary(unpack(args.before, Path(tmp)), args.bits)
        after = summary(Path(args.after), args.bits)
    table = compare(before, after)
    print(markdown(table))
    if args.csv:
        table.to_csv(args.csv, index=False)
    n = int(np.sum(table.map_after.notna() & table.map_before.notna()))
    print(f"\n{n} of {len(table)} (method, bits) pairs have runs on both sides.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
