"""Backfill the query-code redundancy of every stored run (issue 24).

For every ``record.json`` under the given roots (default ``results``), recompute from the
run's stored query codes (``query_codes-*.npz``) the measures of
:func:`hashlib_core.metrics.code_redundancy` and store them as ``query_n_constant_bits``,
``query_varying_bits``, ``query_mac_varying``, ``query_dup_groups``,
``query_redundant_bits`` and ``query_effective_bits`` (and the code health of
:func:`hashlib_core.metrics.code_health`, ``query_distinct_bits`` ..., where a record
made by older code lacks it). Records are rewritten atomically
and compactly, every other field unchanged; a record that already holds the right values
is left alone, so the script is safe to re-run (after the grid adds runs).

Only the *query* codes are stored with the committed records; their database codes are
not (they live under ``runs/``, uncommitted), so the database values (``effective_bits``
and the rest, without prefix) exist only for runs evaluated after issue 24, which compute
them themselves. The book labels each number with the codes it comes from.

Usage::

    python scripts/code_health.py [ROOT ...] [--check]

``--check`` writes nothing and exits 1 when a record lacks or has stale values. A record
that cannot be read prints one ``error:`` line naming the file, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import sys

from hashlib_core.report.code_health import backfill


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="*", default=["results"],
                        help="folders searched for record.json (default: results)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a record would change")
    args = parser.parse_args(argv)
    status = 0
    for root in args.roots:
        out = backfill(root, write=not args.check)
        for line in out["failed"]:
            print(line, file=sys.stderr)
        verb = "would update" if args.check else "updated"
        print(f"{root}: {verb} {len(out['updated'])}, unchanged {len(out['unchanged'])}, "
              f"failed {len(out['failed'])}")
        if out["failed"]:
            status = 2
        elif args.check and out["updated"] and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
