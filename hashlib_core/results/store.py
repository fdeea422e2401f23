"""Reading the results store: every valid record under a root, and the records as tables
(:func:`load_results`: one row per run; :func:`load_curves`), their codes and their
protocol manifest; an unreadable or invalid record is skipped with a warning naming it."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashlib_core.results.codes import _read_codes
from hashlib_core.results.records import KEY_COLUMNS, RECORD, read_record, record_dir
from hashlib_core.results.revisions import stale_revision
from hashlib_core.results.validation import _validated, record_problems


class CorruptRecordWarning(UserWarning):
    """A stored record could not be read and was skipped (the message names the file)."""


def iter_records(
    root: str | Path = "results", *, scale: str | None = None,
    skipped: list[str] | None = None, strict: bool = False, validate: bool = True,
    stale: list[str] | None = None,
) -> Iterator[dict]:
    """Every readable and valid record under ``root`` (of one scale if given), in sorted
    path order.

    Parameters
    ----------
    validate : bool
        Skip (with the warning) a record that :func:`record_problems` finds fault with:
        wrong types, a missing or altered codes file, codes of another shape. Default
        True: a page never reads such a record.
    skipped : list, optional
        Receives one message (file and reason) per record that could not be read.
    strict : bool
        Raise the ``ValueError`` of an unreadable record instead of skipping it.
    stale : list, optional
        Receives one message (file and why) per record made before its method's current
        revision (:func:`~hashlib_core.results.revisions.stale_revision`); such a record
        is left out, without a warning (it is not broken: the runner makes it again).

    Warns
    -----
    CorruptRecordWarning
        Once per skipped record, naming its file and the reason.
    """
    base = Path(root) / scale if scale else Path(root)
    pattern = f"*/*/*/{RECORD}" if scale else f"*/*/*/*/{RECORD}"
    for path in sorted(base.glob(pattern)):
        try:
            record = read_record(path)
            if validate:
                found = _validated(record)
                if found:
                    raise ValueError(f"{path}: invalid result record: " + "; ".join(
                        p.removeprefix(f"{path}: ") for p in found))
        except ValueError as err:
            if strict:
                raise
            warnings.warn(f"skipped: {err}", CorruptRecordWarning, stacklevel=2)
            if skipped is not None:
                skipped.append(str(err))
            continue
        why = stale_revision(record)
        if why:
            if stale is not None:
                stale.append(f"{path}: {why}")
            continue
        yield record


def skipped_note(df: pd.DataFrame) -> str:
    """A sentence for a page whose table or figure left out unreadable records ("" if none).

    Examples
    --------
    >>> skipped_note(pd.DataFrame())
    ''
    """
    from html import escape

    skipped = df.attrs.get("skipped_records") or []
    notes = []
    if skipped:
        files = "; ".join(escape(m.split(": ", 1)[0], quote=False) for m in skipped)
        n = len(skipped)
        notes.append(f"{n} stored run{'s were' if n > 1 else ' was'} left out: "
                     f"{'their records are' if n > 1 else 'its record is'} unreadable ({files}).")
    notes += stale_sentences(df.attrs.get("stale_records") or [])
    return " ".join(notes)


def stale_runs(stale: list[str]) -> list[dict[str, Any]]:
    """The runs behind :func:`iter_records`' ``stale`` messages, one dict each:
    ``protocol``, ``method``, ``n_bits``, ``seed``, ``variant`` (None for a default run),
    read from the record's folder (``<protocol>/<method>/<n_bits>b_seed<seed>[_<variant>]``),
    and ``note``, what changed in the code (the method's ``revision_note``).

    Examples
    --------
    >>> stale_runs(["r/cpu/cifar10-i/shnet/32b_seed1_parallel/record.json: made with "
    ...             "SHNet revision 1; the code is at revision 2: a fix"])[0]["variant"]
    'parallel'
    """
    import re

    out = []
    for message in stale:
        path, _, why = message.partition(": ")
        parts = Path(path).parts
        found = re.fullmatch(r"(\d+)b_seed(\d+)(?:_(.+))?", parts[-2]) \
            if len(parts) >= 4 else None
        note = why.split(": ", 1)[-1] if why.startswith("made with ") else why
        if found is None:  # not a record folder of the store's layout: the note alone
            method = why.removeprefix("made with ").split(" ", 1)[0].lower()
            out.append({"protocol": None, "method": method, "n_bits": None, "seed": None,
                        "variant": None, "note": note})
            continue
        out.append({"protocol": parts[-4], "method": parts[-3], "n_bits": int(found[1]),
                    "seed": int(found[2]), "variant": found[3], "note": note})
    return out


def _and(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def seed_list(seeds) -> str:
    """``[0, 1, 2, 4]`` -> ``"seeds 0–2 and 4"``; one seed -> ``"seed 3"``."""
    seeds = sorted(set(seeds))
    spans: list[list[int]] = []
    for s in seeds:
        if spans and s == spans[-1][-1] + 1:
            spans[-1].append(s)
        else:
            spans.append([s])
    words = [w for g in spans
             for w in ([f"{g[0]}–{g[-1]}"] if len(g) > 2 else [str(x) for x in g])]
    return f"seed{'s' * (len(seeds) > 1)} {_and(words)}"


def _variant_words(variant: str) -> str:
    """A variant's folder name in words for a sentence."""
    import re

    budget = re.fullmatch(r"budget-epochs(\d+)", variant)
    if budget:
        return f"the {budget[1]}-epoch budget runs"
    if variant.startswith("alt-"):
        return f"the alternative `{variant}`"
    return f"the variant `{variant}`"


def describe_runs(runs: list[dict[str, Any]]) -> str:
    """Which runs (dicts with ``n_bits``, ``seed``, ``variant``), compactly: the default
    runs first, then the variants, each with its code lengths and seeds; variants of the
    same lengths and seeds are named together.

    Examples
    --------
    >>> describe_runs([{"n_bits": b, "seed": s, "variant": None}
    ...                for b in (16, 32) for s in (3, 4)])
    'the default runs at 16 and 32 bits, seeds 3 and 4'
    """
    known = [r for r in runs if r.get("n_bits") is not None]
    # per variant: seeds -> code lengths; then variants with the same lengths and seeds
    per_variant: dict[str | None, dict[tuple, list[int]]] = {}
    for v in dict.fromkeys(r["variant"] for r in known):
        by_bits: dict[int, set] = {}
        for r in known:
            if r["variant"] == v:
                by_bits.setdefault(r["n_bits"], set()).add(r["seed"])
        seeds_bits: dict[tuple, list[int]] = {}
        for b, seeds in sorted(by_bits.items()):
            seeds_bits.setdefault(tuple(sorted(seeds)), []).append(b)
        per_variant[v] = seeds_bits

    def where(seeds_bits: dict[tuple, list[int]]) -> str:
        return ", and ".join(f"at {_and([str(b) for b in bits])} bits, {seed_list(seeds)}"
                             for seeds, bits in seeds_bits.items())

    parts = [f"the default runs {where(per_variant.pop(None))}"] if None in per_variant \
        else []
    plain: dict[str, list[str]] = {}  # where -> the plain variants made there
    for v, seeds_bits in sorted(per_variant.items()):
        words = _variant_words(v)
        if words.startswith("the variant "):
            plain.setdefault(where(seeds_bits), []).append(f"`{v}`")
        else:
            parts.append(f"{words} {where(seeds_bits)}")
    parts += [f"the variant{'s' * (len(vs) > 1)} {_and(vs)} {w}" for w, vs in plain.items()]
    if len(known) < len(runs):
        parts.append(f"{len(runs) - len(known)} more outside the store's layout")
    return "; ".join(parts)


def changed_code(method: str) -> str:
    """What changed for ``method``'s stale runs: "its code", or "CSQ's loss, which SHNet
    shares" when the change is in code ``method``'s class inherits from another method's."""
    try:
        from hashlib_core.methods import get_method_class  # loads torch: lazily

        cls = get_method_class(method)
    except (ImportError, KeyError, ValueError):
        return "its code"
    owner = next((c for c in cls.__mro__ if "revision" in vars(c)), cls)
    if owner is cls:
        return "its code"
    what = "loss" if "loss" not in vars(cls) and "loss" in vars(owner) else "code"
    return f"{owner.__name__}'s {what}, which {cls.__name__} shares"


def stale_sentences(stale: list[str]) -> list[str]:
    """One sentence per method whose stored runs were made with an earlier version of its
    code, from the messages :func:`iter_records` gathers in its ``stale`` list: how many,
    which (:func:`describe_runs`), what changed, and that the grid makes them again."""
    from html import escape

    from hashlib_core.results.revisions import current_revision

    by_method: dict[str, list[dict]] = {}
    for run in stale_runs(stale):
        by_method.setdefault(run["method"], []).append(run)
    out = []
    for method, runs in sorted(by_method.items()):
        name = _display(method)
        n = len(runs)
        known = current_revision(method) is not None
        out.append(
            f"{n} stored run{'s' * (n > 1)} of {escape(name)} "
            f"({escape(describe_runs(runs), quote=False)}) "
            f"{'were' if n > 1 else 'was'} made before a change to "
            f"{changed_code(method) if known else 'its code'} ({escape(runs[0]['note'], quote=False)}) "
            f"and {'are' if n > 1 else 'is'} left out until the grid makes "
            f"{'them' if n > 1 else 'it'} again.")
    return out


def _display(method: str) -> str:
    """The papers' spelling of a method (its class name), else the name as given."""
    try:
        from hashlib_core.methods import get_method_class

        return get_method_class(method).__name__
    except (ImportError, KeyError, ValueError):
        return method


def _select(records, *, variant: str | None = "any", **where) -> list[dict]:
    """Records whose key matches ``where`` (None = any value); ``variant="any"`` = any."""
    out = []
    for rec in records:
        key = rec["key"]
        if any(v is not None and key[k] != v for k, v in where.items()):
            continue
        if variant != "any" and key["variant"] != variant:
            continue
        out.append(rec)
    return out


def _row(rec: dict) -> dict[str, Any]:
    prov = rec["provenance"]
    row = dict(rec["key"])
    row.update(
        best_epoch=rec.get("best_epoch"),
        wall_time_s=prov.get("wall_time_s"),
        copied_from=prov.get("copied_from"),  # the tuning run this record is a copy of
        device=prov.get("device"),
        git_commit=prov.get("git_commit"),
        manifest_sha256=prov.get("manifest_sha256"),
        path=rec["_path"],
        # a run on a protocol whose sizes are not the paper's (allowed explicitly)
        protocol_deviation=bool((prov.get("run") or {}).get("protocol_deviation_allowed")),
    )
    for name, value in rec["scalars"].items():
        row[name] = np.nan if value is None else float(value)
    return row


def load_results(
    scale: str | None = None,
    *,
    root: str | Path = "results",
    protocol: str | None = None,
    method: str | None = None,
    variant: str | None = "any",
) -> pd.DataFrame:
    """All stored runs as a DataFrame, one row per run.

    Parameters
    ----------
    scale, protocol, method : str, optional
        Filters (None = all).
    variant : str or None
        ``"any"`` (default) keeps every run; ``None`` only the default (non-ablation) runs;
        a name only that variant.

    Returns
    -------
    pandas.DataFrame
        Columns ``scale, protocol, method, variant, n_bits, seed`` (the key),
        ``best_epoch, wall_time_s, device, git_commit, manifest_sha256, path``, then one
        float column per scalar metric (``map``, ``precision_top5000``, ``precision_r2``,
        ``mac`` ...; NaN where a run lacks it). Empty (with the key columns) if no run.
        ``df.attrs["skipped_records"]``: one message (file: reason) per unreadable record
        left out (under ``root``/``scale``, whatever the other filters); each was also
        warned about (:class:`CorruptRecordWarning`). ``df.attrs["stale_records"]``: the
        same for records made before their method's current revision.
    """
    skipped: list[str] = []
    stale: list[str] = []
    recs = _select(iter_records(root, scale=scale, skipped=skipped, stale=stale),
                   protocol=protocol, method=method, variant=variant)
    rows = [_row(r) for r in recs]
    base = KEY_COLUMNS + ["best_epoch", "wall_time_s", "device", "git_commit",
                          "manifest_sha256", "path", "protocol_deviation"]
    df = pd.DataFrame(rows, columns=base + sorted({k for r in rows for k in r} - set(base)))
    if len(df):
        df = df.astype({"n_bits": "int64", "seed": "int64"})
    df.attrs["skipped_records"] = skipped
    df.attrs["stale_records"] = stale
    return df


def load_curves(
    scale: str | None = None,
    *,
    root: str | Path = "results",
    protocol: str | None = None,
    method: str | None = None,
    n_bits: int | None = None,
    variant: str | None = None,
) -> pd.DataFrame:
    """The curves of the stored runs: one row per run, one column per curve.

    Returns
    -------
    pandas.DataFrame
        The key columns, then one column per curve name (``pr_radius``,
        ``pr_precision``, ``pr_recall``, ``pn_n``, ``pn_precision``,
        ``bit_correlation`` ...), each cell a float NumPy array (NaN for a stored null).
        By default only non-ablation runs (``variant=None``); pass ``"any"`` for all.
        ``df.attrs["skipped_records"]`` as for :func:`load_results`.
    """
    skipped: list[str] = []
    recs = _select(iter_records(root, scale=scale, skipped=skipped), protocol=protocol,
                   method=method, n_bits=n_bits, variant=variant)
    rows = []
    for rec in recs:
        row = dict(rec["key"])
        for name, values in rec["curves"].items():
            # a stored null (NaN when written) becomes NaN again
            row[name] = np.asarray(values if values is not None else [], dtype=float)
        rows.append(row)
    df = pd.DataFrame(rows, columns=KEY_COLUMNS + sorted(
        {k for r in rows for k in r} - set(KEY_COLUMNS)))
    df.attrs["skipped_records"] = skipped
    return df


def _one_record(root, where) -> dict:
    skipped: list[str] = []
    recs = _select(iter_records(root, scale=where["scale"], skipped=skipped), **where)
    if not recs:  # the record is there but invalid: say why, naming the file
        wanted = str(record_dir(root, **where) / RECORD)
        why = next((m for m in skipped if m.startswith(wanted)), None)
        if why is not None:
            raise ValueError(why)
    if len(recs) != 1:
        raise ValueError(f"{len(recs)} records under {root} match {where} (need exactly 1)")
    return recs[0]


def load_query_codes(
    scale: str, protocol: str, method: str, n_bits: int, *, seed: int = 0,
    variant: str | None = None, root: str | Path = "results",
) -> tuple[np.ndarray, np.ndarray]:
    """Query codes (n_query, n_bits) int8 in {-1,+1} and query labels of one run."""
    where = dict(scale=scale, protocol=protocol, method=method, n_bits=n_bits, seed=seed,
                 variant=variant)
    rec = _one_record(root, where)
    entry = rec["files"]["query_codes"]
    return _read_codes(Path(rec["_path"]) / entry["name"], entry["sha256"])


def load_db_codes(
    scale: str, protocol: str, method: str, n_bits: int, *, seed: int = 0,
    variant: str | None = None, root: str | Path = "results",
    artifacts: str | Path = "runs/artifacts",
) -> tuple[np.ndarray, np.ndarray]:
    """Database codes (n_db, n_bits) and labels of one run, from the artifacts folder.

    Raises FileNotFoundError when the artifacts are absent (they are not committed).
    """
    where = dict(scale=scale, protocol=protocol, method=method, n_bits=n_bits, seed=seed,
                 variant=variant)
    rec = _one_record(root, where)
    entry = rec["files"].get("db_codes")
    if not entry:
        raise FileNotFoundError(f"{rec['_path']}: the run stored no database codes")
    folder = record_dir(artifacts, **rec["key"])
    return _read_codes(folder / entry["name"], entry["sha256"])


def has_record(root: str | Path, **key: Any) -> bool:
    """True if a readable and valid record (:func:`record_problems`) exists for ``key``
    (scale, protocol, method, n_bits, seed, variant), whatever settings it was made with
    (see :func:`hashlib_core.engine.settings.settings_differences`)."""
    path = record_dir(root, **key) / RECORD
    if not path.is_file():
        return False
    return not record_problems(path)



def load_manifest(scale: str, protocol: str, *, root: str | Path = "results") -> dict:
    """The protocol manifest stored beside the runs of ``scale``/``protocol``.

    Raises
    ------
    FileNotFoundError
        If the folder holds no manifest.
    ValueError
        If it holds several (runs of one protocol made on different splits), or the file
        cannot be read (the message names it).
    """
    folder = Path(root) / scale / protocol
    found = sorted(folder.glob("manifest-*.json"))
    if not found:
        raise FileNotFoundError(f"{folder}: no manifest-*.json (no run of this protocol stored)")
    if len(found) > 1:
        raise ValueError(f"{folder}: {len(found)} manifests ({', '.join(p.name for p in found)}); "
                         "the runs of one protocol were made on different splits")
    try:
        return json.loads(found[0].read_bytes().decode("utf-8"))
    except (ValueError, OSError) as err:
        raise ValueError(f"{found[0]}: unreadable protocol manifest ({err})") from None
