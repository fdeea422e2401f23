"""Rewrite stored records so that none holds an absolute path (issue 26).

Records written before the results store made its paths portable hold the author's
absolute folders (``config.run_dir``: ``/work/main/results.checkpoints/...``). This script
applies the rule :func:`hashlib_core.results.save_run` applies now
(:mod:`hashlib_core.results.portable`): a folder inside the results root is stored
relative to it, any other absolute folder becomes null (``run_dir``, ``data_root`` and
``cache_dir`` decide no result); an absolute notebook or weights file keeps its name.

Usage::

    python scripts/strip_record_paths.py [ROOT] [--scale cpu --scale smoke] [--dry-run]

The executed notebook stored beside a record (``run.ipynb``) is made portable too: its
repository and results-root paths become relative (:func:`portable_log`, as the runner
stores a new run's log).

``ROOT`` defaults to ``results``; by default the scales ``cpu`` and ``smoke`` (those
present). Each changed record is replaced atomically (:func:`hashlib_core.atomic.atomic_write`)
with only those fields changed: every other byte stays as it was. Running it again
changes nothing (it prints ``0 changed``). One line per changed record and a summary;
exit 1 (naming the file) if a record cannot be read or rewritten, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hashlib_core.atomic import atomic_write
from hashlib_core.results import RECORD
from hashlib_core.results.portable import (
    absolute_paths,
    portable_config,
    portable_log,
    portable_provenance,
    site_packages_named,
)

SCALES = ("cpu", "smoke")


def _dumps(record: Any) -> bytes:
    """A record as :func:`hashlib_core.results.save_run` writes it (compact JSON)."""
    return json.dumps(record, separators=(",", ":"), allow_nan=False).encode()


def _replace_tokens(data: bytes, changes: list[tuple[str, Any, Any]]) -> bytes:
    """``data`` with each ``"field":old`` token replaced by ``"field":new``; each token
    must occur exactly once (a record not written compactly is rewritten this way)."""
    text = data.decode("utf-8")
    for name, old, new in changes:
        found = [f'{json.dumps(name)}{sep}{json.dumps(old)}' for sep in (":", ": ")]
        hits = [tok for tok in found if text.count(tok) == 1]
        if len(hits) != 1 or sum(text.count(tok) for tok in found) != 1:
            raise ValueError(f"{name} {old!r} does not occur exactly once")
        sep = ":" if hits[0] == found[0] else ": "
        text = text.replace(hits[0], f"{json.dumps(name)}{sep}{json.dumps(new)}")
    return text.encode("utf-8")


def _changes(before: Any, after: Any, name: str = "") -> list[tuple[str, Any, Any]]:
    """The (field name, old value, new value) of every leaf that differs."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [c for k in before for c in _changes(before[k], after.get(k), k)]
    return [] if before == after else [(name, before, after)]


def strip_record(path: Path, root: Path) -> list[str]:
    """Make the record at ``path`` portable in place; the paths it changed (``[]`` when
    none), as ``"field: old -> new"``."""
    data = path.read_bytes()
    record = json.loads(data.decode("utf-8"))
    if not isinstance(record, dict):
        raise ValueError("top level is not an object")
    new = dict(record)
    if isinstance(record.get("config"), dict):
        new["config"] = portable_config(record["config"], root)
    if isinstance(record.get("provenance"), dict):
        new["provenance"] = portable_provenance(record["provenance"], root)
    changes = _changes({"config": record.get("config"), "provenance": record.get("provenance")},
                       {"config": new.get("config"), "provenance": new.get("provenance")})
    if not changes:
        return []
    out = _dumps(new) if _dumps(record) == data else _replace_tokens(data, changes)
    if json.loads(out.decode("utf-8")) != new:
        raise ValueError("the rewritten record would differ in more than its paths")
    atomic_write(path, out)
    return [f"{name}: {old} -> {json.dumps(value)}" for name, old, value in changes]


def strip_log(path: Path) -> bool:
    """Make a stored ``run.ipynb`` portable in place (:func:`portable_log`), with the
    repository and the results root it was run with, read from its papermill metadata;
    True when it changed."""
    text = path.read_text(encoding="utf-8")
    papermill = json.loads(text).get("metadata", {}).get("papermill", {})
    template = papermill.get("input_path")
    root = (papermill.get("parameters") or {}).get("root")
    if isinstance(template, str) and isinstance(root, str) and Path(template).is_absolute():
        new = portable_log(text, repo=Path(template).parents[1], root=root)
    else:  # made portable before site-packages were named
        new = site_packages_named(text)
    if new == text:
        return False
    json.loads(new)  # still a notebook
    atomic_write(path, new.encode("utf-8"))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="results", help="results root")
    parser.add_argument("--scale", action="append", help="scale folder (repeatable); "
                        f"default: {', '.join(SCALES)}")
    parser.add_argument("--dry-run", action="store_true", help="only list what would change")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not root.is_dir():
        print(f"error: {root}: no such results folder", file=sys.stderr)
        return 1
    changed = seen = failed = 0
    for scale in args.scale or SCALES:
        for path in sorted((root / scale).glob(f"*/*/*/{RECORD}")):
            seen += 1
            try:
                if args.dry_run:
                    record = json.loads(path.read_bytes().decode("utf-8"))
                    found = absolute_paths({k: record.get(k) for k in ("config", "provenance")})
                else:
                    found = strip_record(path, root)
            except (OSError, ValueError) as err:
                print(f"error: {path}: {err}", file=sys.stderr)
                failed += 1
                continue
            log = path.with_name("run.ipynb")
            try:
                if log.is_file() and not args.dry_run and strip_log(log):
                    found.append("run.ipynb: absolute paths made relative")
            except (OSError, ValueError) as err:
                print(f"error: {log}: {err}", file=sys.stderr)
                failed += 1
            if found:
                changed += 1
                print(f"{path}: {'; '.join(found)}")
    verb = "would change" if args.dry_run else "changed"
    print(f"{seen} records under {root} ({', '.join(args.scale or SCALES)}): {changed} {verb}"
          + (f", {failed} failed" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
