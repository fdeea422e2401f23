"""Store the database codes of the runs the retrieval-examples page shows (issue 27).

    python scripts/store_db_codes.py ARTIFACTS [--root results] [--scale cpu]
        [--protocol cifar10-i] [--methods shnet csq] [--bits 32] [--seeds 3] [--dry-run]

A run writes its database codes (bit-packed, ``np.packbits``, uint8, with the database
labels) to an artifacts folder that is not committed (``runs/artifacts``, or the one a
grid runner was given). This script copies, for every stored default run that matches
the filters, the file its record names under ``files.db_codes`` from ARTIFACTS into the
run's own record folder, after checking its SHA-256 against the record and its shape
against the run (one ``error:`` line and exit status 1 otherwise). The retrieval-examples
page then searches the protocol's whole database with those codes
(:func:`hashlib_core.report.examples.runs_with_db_codes`). At 32 bits one run's file is about
0.25 MB (59,000 codes x 4 bytes, plus the compressed labels).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/store_db_codes.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("artifacts", help="the artifacts folder the runs wrote their database "
                                      "codes to (e.g. runs/artifacts)")
    ap.add_argument("--root", default="results", help="results store (default: results)")
    ap.add_argument("--scale", default="cpu", help="scale (default: cpu)")
    ap.add_argument("--protocol", default=None, help="only this protocol")
    ap.add_argument("--methods", nargs="+", default=None, help="only these methods")
    ap.add_argument("--bits", nargs="+", type=int, default=None, help="only these lengths")
    ap.add_argument("--seeds", nargs="+", type=int, default=None, help="only these seeds")
    ap.add_argument("--dry-run", action="store_true", help="say what would be copied")
    args = ap.parse_args(argv)
    if not Path(args.artifacts).is_dir():
        print(f"error: {args.artifacts}: no such folder", file=sys.stderr)
        return 1
    from hashlib_core.report.examples import store_db_codes

    try:
        lines = store_db_codes(args.artifacts, root=args.root, scale=args.scale,
                               methods=args.methods, bits=args.bits, seeds=args.seeds,
                               protocol=args.protocol, dry_run=args.dry_run)
    except ValueError as err:
        print(str(err), file=sys.stderr)
        return 1
    print("\n".join(lines) if lines else "no stored run matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
