"""Code health for the book (issue 24): how many bits of its length a method's codes use.

The measures are :func:`hashlib_core.metrics.code_health` (exact copies, distinct codes,
mAC, bit balance) and :func:`hashlib_core.metrics.code_redundancy` (constant bits each
counted, mAC over the varying bits, near-duplicate groups, effective bits). They are read
from a record's scalars (``query_*`` for the query codes; the bare names for the database
codes of runs made after issue 24) and otherwise recomputed from the query codes stored
with the run, so every stored run has a row. Database codes are stored (bit-packed) only
for the few runs the retrieval-examples page shows, so their redundancy is known only for
runs that computed it when they were evaluated; the book says which codes each number
comes from.

Also here: the backfill of the query-code measures into the records
(:func:`backfill_record`, :func:`backfill`; the command line is ``scripts/code_health.py``)
and the page section of the Bernoulli-centres alternative (:func:`alternatives_section`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashlib_core.metrics import (
    CODE_HEALTH_KEYS,
    CODE_REDUNDANCY_KEYS,
    DUPLICATE_THRESHOLD,
    EFFECTIVE_VARIANCE,
)
from hashlib_core.report.markdown import MISSING
from hashlib_core.report.names import display_name

__all__ = [
    "FLAG_SHARE",
    "HEALTH_COLUMNS",
    "alternative_rows",
    "alternatives_section",
    "backfill",
    "backfill_record",
    "flagged",
    "health_caption",
    "health_display",
    "health_from_records",
    "health_markdown_table",
    "health_table",
    "health_text",
    "hadamard_text",
    "least_correlated",
    "lengths_caption",
    "lengths_display",
    "lengths_table",
    "runs_health",
]

#: a method's codes are flagged when their effective bits fall below this share of the length
FLAG_SHARE = 0.5
#: the query-code values of a row, then the database values (``db_`` prefix)
HEALTH_COLUMNS = (*CODE_HEALTH_KEYS, *CODE_REDUNDANCY_KEYS)
_DB_COLUMNS = ("mac", "distinct_bits", *CODE_REDUNDANCY_KEYS)


# --------------------------------------------------------------------------- records
def _query_codes(rec: dict[str, Any]) -> np.ndarray:
    from hashlib_core.results.codes import _read_codes

    entry = rec["files"]["query_codes"]
    return _read_codes(Path(rec["_path"]) / entry["name"], entry["sha256"])[0]


def _quiet(fn, codes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(codes)


def _num(v: Any) -> float:
    return np.nan if v is None else float(v)


def health_from_records(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per record: the code health and redundancy of its query codes, and of its
    database codes where the record stores them.

    Parameters
    ----------
    records : iterable of dict
        Records as :func:`hashlib_core.results.read_record` returns them (with ``_path``).

    Returns
    -------
    pandas.DataFrame
        One row per record, in the given order. Columns: ``method``, ``variant``,
        ``n_bits``, ``seed``, ``n_queries``; the query-code values
        :data:`HEALTH_COLUMNS` (``distinct_bits``, ``distinct_codes``, ``mac``,
        ``bit_balance``, ``constant_bits`` (a fraction), ``n_constant_bits``,
        ``varying_bits``, ``mac_varying``, ``dup_groups``, ``redundant_bits``,
        ``effective_bits``); the database values ``db_mac``, ``db_distinct_bits`` and
        ``db_<redundancy key>`` (NaN when the record does not store them); ``source`` (``"record"`` when every
        query value was stored, ``"codes"`` when they were recomputed from the stored
        query codes).
    """
    from hashlib_core.metrics import code_health, code_redundancy

    rows = []
    for rec in records:
        key, sc = rec["key"], rec["scalars"]
        n_q = (rec.get("eval_info") or {}).get("n_queries")
        stored = {k: sc.get(f"query_{k}") for k in HEALTH_COLUMNS}
        # mac_varying may be stored as null (fewer than 2 varying bits): present all the same
        if all(f"query_{k}" in sc for k in HEALTH_COLUMNS) and all(
                v is not None for k, v in stored.items() if k != "mac_varying"):
            query, source = {k: _num(v) for k, v in stored.items()}, "record"
        else:
            codes = _query_codes(rec)
            query = {**_quiet(code_health, codes), **code_redundancy(codes)}
            source, n_q = "codes", len(codes)
        row = {"method": key["method"], "variant": key["variant"], "n_bits": key["n_bits"],
               "seed": key["seed"], "n_queries": n_q, **query}
        row.update({f"db_{k}": _num(sc.get(k)) for k in _DB_COLUMNS})
        row["source"] = source
        rows.append(row)
    cols = ["method", "variant", "n_bits", "seed", "n_queries", *HEALTH_COLUMNS,
            *(f"db_{k}" for k in _DB_COLUMNS), "source"]
    return pd.DataFrame(rows, columns=cols)


def health_table(root: str | Path = "results", *, scale: str, protocol: str, n_bits: int,
                 methods: list[str] | None = None, seed: int = 0,
                 variant: str | None = None) -> pd.DataFrame:
    """:func:`health_from_records` of each method's run (``variant``, ``seed``), indexed
    by method in ``methods`` order (all stored methods when None); methods without a run
    are left out."""
    from hashlib_core.results import iter_records

    recs = {}
    for rec in iter_records(root, scale=scale):
        k = rec["key"]
        if (k["protocol"], k["n_bits"], k["seed"], k["variant"]) != (protocol, n_bits, seed,
                                                                     variant):
            continue
        if methods is None or k["method"] in methods:
            recs[k["method"]] = rec
    order = [m for m in (methods or sorted(recs)) if m in recs]
    table = health_from_records([recs[m] for m in order])
    return table.set_index("method")


def runs_health(runs: Iterable[Any], protocol: str, methods: tuple[str, ...] | list[str],
                n_bits: int, *, seed: int = 0, variant: str | None = None) -> pd.DataFrame:
    """:func:`health_from_records` for objects with a ``record`` attribute (e.g.
    ``hashlib_core.report.claims.Run``): each method's run of ``variant`` (None: the
    default run; the claims' runs have theirs) at ``n_bits`` and ``seed`` on ``protocol``,
    indexed by method in ``methods`` order (methods without one left out). The drop-in for
    the claims page's code-health table."""
    recs = {}
    for run in runs:
        k = run.record["key"]
        if (k["protocol"], k["n_bits"], k["seed"], k["variant"]) == (protocol, n_bits, seed,
                                                                     variant):
            recs.setdefault(k["method"], run.record)
    order = [m for m in methods if m in recs]
    return health_from_records([recs[m] for m in order]).set_index("method")


def health_markdown_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`health_display` with the methods as links to their pages (a column, for
    :func:`hashlib_core.report.markdown.markdown_table`)."""
    from hashlib_core.report.names import method_link

    if table.empty:
        return pd.DataFrame()
    out = health_display(table).reset_index(drop=True)
    out.insert(0, "method", [method_link(m) for m in table.index])
    return out


# --------------------------------------------------------------------------- verdicts
def flagged(table: pd.DataFrame) -> pd.DataFrame:
    """The rows whose query codes carry fewer effective bits than :data:`FLAG_SHARE` of
    their length (:func:`hashlib_core.metrics.effective_bits`)."""
    if table.empty:
        return table
    return table[table.effective_bits < FLAG_SHARE * table.n_bits]


def least_correlated(table: pd.DataFrame) -> str | None:
    """The method with the lowest mAC over its varying bits among the rows that are not
    :func:`flagged` and have no near-duplicate bits (None when there is none): a code
    with redundant bits is never called the least correlated."""
    if table.empty:
        return None
    ok = table[(table.effective_bits >= FLAG_SHARE * table.n_bits)
               & (table.redundant_bits == 0) & table.mac_varying.notna()]
    return None if ok.empty else str(ok.mac_varying.idxmin())


def _why(r) -> str:
    n = int(r.n_bits)
    parts = [f"{int(r.effective_bits)} effective bits of {n}"]
    if r.n_constant_bits:
        parts.append(f"{int(r.n_constant_bits)} constant")
    if r.redundant_bits:
        parts.append(f"{int(r.redundant_bits)} redundant ({int(r.varying_bits)} varying bits "
                     f"in {int(r.dup_groups)} near-duplicate groups)")
    return ", ".join(parts)


def health_text(table: pd.DataFrame, n_bits: int) -> str:
    """Sentences computed from :func:`health_table`: which methods' query codes fall below
    half their length in effective bits (and why), which others have constant or
    near-duplicate bits, and which is the least correlated among the codes without them."""
    if table.empty:
        return f"No stored run at {n_bits} bits to check."
    out = []
    bad = flagged(table)
    if len(bad):
        out.append("Below half their length in effective bits (flagged): " + "; ".join(
            f"{display_name(m)} ({_why(r)})" for m, r in bad.iterrows()) + ".")
    else:
        out.append(f"Every method's query codes keep at least {FLAG_SHARE:.0%} of their "
                   f"{n_bits} bits as effective bits (the fewest: "
                   f"{int(table.effective_bits.min())}).")
    rest = table.drop(bad.index, errors="ignore")
    rest = rest[(rest.redundant_bits > 0) | (rest.n_constant_bits > 0)]
    if len(rest):
        rest = rest.assign(waste=rest.redundant_bits + rest.n_constant_bits).sort_values(
            "waste", ascending=False, kind="stable")
        out.append("Constant or near-duplicate bits, not flagged: " + "; ".join(
            f"{display_name(m)} ({_why(r)})" for m, r in rest.iterrows()) + ".")
    best = least_correlated(table)
    if best is not None:
        r = table.loc[best]
        out.append(f"Among the codes with no constant or near-duplicate bit and at least "
                   f"half their length in effective bits, {display_name(best)}'s bits are "
                   f"the least correlated (mAC over its varying bits "
                   f"{r.mac_varying:.3f}).")
    return " ".join(out)


def _health_headers() -> dict[str, str]:
    """The code-health table's columns, header -> what the caption says of it: one list
    for both, so the caption describes exactly the columns the table shows."""
    return {"effective bits": f"principal components explaining {EFFECTIVE_VARIANCE:.0%} "
                              f"of the codes' variance",
            "distinct bits": "different bit columns up to sign (every constant bit "
                             "together counts once)",
            "constant bits": "bits with one value on every query code, each counted",
            "near-copy groups (varying bits)": f"connected groups of varying bits with "
            f"|r| ≥ {DUPLICATE_THRESHOLD}, the number of varying bits in brackets",
            "mAC, query codes, varying bits": "mean absolute correlation over pairs of "
            "varying bits of the query codes (the bit-correlation matrices' mAC is over all "
            "bits of the database codes, where a constant bit counts as uncorrelated)",
            "flagged": f"fewer effective bits than {FLAG_SHARE:.0%} of the length"}


def health_display(table: pd.DataFrame) -> pd.DataFrame:
    """The table for the page: readable headers (:func:`_health_headers`), formatted
    numbers, display names. The distinct codes, the database codes' mAC and the bit
    balance are in the CSV: one table of every measure would not fit the page."""
    if table.empty:
        return table
    bad = set(flagged(table).index)

    def frac(v, n):
        return MISSING if pd.isna(v) else f"{int(v)} of {int(n)}"

    rows = list(table.itertuples())
    values = [
        [frac(r.effective_bits, r.n_bits) for r in rows],
        [frac(r.distinct_bits, r.n_bits) for r in rows],
        [str(int(r.n_constant_bits)) for r in rows],
        [f"{int(r.dup_groups)} ({int(r.varying_bits)})" for r in rows],
        [MISSING if pd.isna(r.mac_varying) else f"{r.mac_varying:.3f}" for r in rows],
        ["yes" if r.Index in bad else "no" for r in rows],
    ]
    out = pd.DataFrame(dict(zip(_health_headers(), values, strict=True)),
                       index=[display_name(m) for m in table.index])
    out.index.name = "method"
    return out


def health_caption(table: pd.DataFrame, *, scale: str, protocol: str, n_bits: int) -> str:
    """Caption of the code-health table: the computed sentences first, then each column
    of :func:`health_display` (the same header list)."""
    if table.empty:
        return health_text(table, n_bits)
    sources = set(table.source)
    how = ("read from the records" if sources == {"record"} else
           "computed from the stored query codes" if sources == {"codes"} else
           "read from the records or computed from the stored query codes")
    columns = "; ".join(f"*{h}* = {d}" for h, d in _health_headers().items())
    return (f"{health_text(table, n_bits)} **Code health, {n_bits} bits** (`{protocol}`, "
            f"scale `{scale}`, seed 0, one run per method, {len(table)} methods), on the "
            f"query codes ({how}): every run stores its query codes, while database codes "
            f"are stored, bit-packed, only for the few runs the retrieval-examples page "
            f"shows. {columns}.")


def lengths_table(root: str | Path = "results", *, scale: str, protocol: str,
                  methods: list[str], bits: tuple[int, ...] = (16, 32, 64),
                  seed: int = 0) -> pd.DataFrame:
    """:func:`health_table` of ``methods`` at every length of ``bits`` (default variant,
    ``seed``), one frame with a column ``n_bits``; lengths without a run are left out."""
    frames = [health_table(root, scale=scale, protocol=protocol, n_bits=b, methods=methods,
                           seed=seed) for b in bits]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames) if frames else health_table(
        root, scale=scale, protocol=protocol, n_bits=bits[0], methods=methods, seed=seed)


def lengths_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`lengths_table` for the page: per method and length, effective bits,
    constant bits, near-duplicate groups and distinct bits."""
    if table.empty:
        return pd.DataFrame()
    bad = set(zip(flagged(table).index, flagged(table).n_bits))
    out = pd.DataFrame([{
        "method": display_name(m), "bits": int(r.n_bits),
        "effective bits": int(r.effective_bits),
        "constant bits": int(r.n_constant_bits),
        "near-duplicate groups (varying bits)": f"{int(r.dup_groups)} ({int(r.varying_bits)})",
        "distinct bits": int(r.distinct_bits),
        "flagged": "yes" if (m, r.n_bits) in bad else "no",
    } for m, r in table.iterrows()])
    return out.set_index("method")


def lengths_caption(table: pd.DataFrame, *, scale: str, protocol: str) -> str:
    """Caption of :func:`lengths_display`, its first sentence computed from the table:
    each method's effective bits at every stored length."""
    if table.empty:
        return f"No stored run of these methods on `{protocol}` (scale `{scale}`)."
    parts = []
    for m in dict.fromkeys(table.index):
        sub = table.loc[[m]].sort_values("n_bits")
        parts.append(f"{display_name(m)} "
                     + " / ".join(str(int(v)) for v in sub.effective_bits) + " at "
                     + " / ".join(str(int(v)) for v in sub.n_bits) + " bits")
    take = ("Effective bits: " + "; ".join(parts) + ". " if parts else "")
    return (f"{take}**Effective bits at every stored length** (`{protocol}`, scale "
            f"`{scale}`, seed 0, query codes): a code whose effective bits barely grow "
            f"with its length gains little from the longer code. *Flagged*: fewer "
            f"effective bits than {FLAG_SHARE:.0%} of the length.")


def hadamard_text(n_classes: int = 10, bits: tuple[int, ...] = (32, 64)) -> str:
    """Why CSQ's Hadamard centres repeat on few classes, with the counts computed from
    :func:`hashlib_core.losses.csq.hash_centers` (the rows the runs train towards)."""
    from hashlib_core.losses.csq import hash_centers
    from hashlib_core.metrics import code_redundancy

    parts, periods = [], set()
    for b in bits:
        c = hash_centers(n_classes, b, method="hadamard").numpy()
        r = code_redundancy(c)
        periods.add(next(p for p in range(1, b + 1)
                         if b % p == 0 and (c == np.tile(c[:, :p], b // p)).all()))
        parts.append(f"at {b} bits {int(r['n_constant_bits'])} constant columns and "
                     f"{int(r['varying_bits'])} others in {int(r['dup_groups'])} groups of "
                     f"identical columns")
    import torch

    from hashlib_core.metrics import code_health

    alt = []
    for b in bits:  # the alternative's centres, drawn as the method draws them (center_seed 0)
        c = hash_centers(n_classes, b, generator=torch.Generator().manual_seed(0),
                         method="bernoulli").numpy()
        r = code_redundancy(c)
        alt.append(f"at {b} bits {int(_quiet(code_health, c)['distinct_bits'])} distinct "
                   f"columns of {b} (up to sign) and {int(r['n_constant_bits'])} constant")
    every = " or ".join(str(p) for p in sorted(periods))
    return ("With $H_1 = [1]$ and "
            "$H_{2n} = \\begin{bmatrix} H_n & H_n \\\\ H_n & -H_n \\end{bmatrix}$, every "
            "doubling beyond order 16 keeps rows 0 to 15 in its top half, where the matrix "
            "repeats its left half, and column 0 is all ones. So the first "
            f"{n_classes} rows repeat every {every} columns, and bit $j$ and bit $j + 16$ "
            "get the same target for every class. Counted on the centres the runs use: "
            + "; ".join(parts) + ". The Bernoulli centres of the alternative below (CSQ's "
            "own draw, every two centres at least K/2 apart, seed 0) have "
            + "; ".join(alt) + ".")


# --------------------------------------------------------------------------- backfill
def _same(a: Any, b: Any) -> bool:
    """Equal up to float rounding (a last-bit difference is not worth a rewrite)."""
    if a is None or b is None:
        return a is None and b is None
    return bool(np.isclose(float(a), float(b), rtol=1e-12, atol=1e-15))


def backfill_record(path: str | Path, *, write: bool = True) -> bool:
    """Add (or refresh) the query-code values ``query_<key>`` of
    :data:`hashlib_core.metrics.CODE_REDUNDANCY_KEYS` (redundancy) and
    :data:`hashlib_core.metrics.CODE_HEALTH_KEYS` (code health, which records made before
    issue 13 lack) to one record, recomputed from its stored query codes. Database values
    are not touched (most runs do not store their database codes).

    Idempotent: a record whose values are already right is not rewritten. The record is
    written atomically (:func:`hashlib_core.atomic.atomic_write`), compact as
    :func:`hashlib_core.results.write_record` writes it, every other field unchanged.

    Returns
    -------
    bool
        True if the record needed (``write=False``) or got new values.

    Raises
    ------
    ValueError, FileNotFoundError
        For an unreadable record or missing/altered codes (the message names the file).
    """
    from hashlib_core.atomic import atomic_write
    from hashlib_core.metrics import code_redundancy
    from hashlib_core.results import RECORD, read_record

    path = Path(path)
    if path.is_dir():
        path = path / RECORD
    rec = read_record(path)  # validated, with _path
    codes = _query_codes(rec)
    if len(codes) < 2:
        return False
    from hashlib_core.metrics import code_health

    values = {**_quiet(code_health, codes), **code_redundancy(codes)}
    new = {f"query_{k}": (None if np.isnan(v) else float(v)) for k, v in values.items()}
    raw = json.loads(path.read_bytes().decode("utf-8"))
    scalars = raw["scalars"]
    # code health the record already holds is its own (computed when it was evaluated)
    new = {k: v for k, v in new.items()
           if k[len("query_"):] in CODE_REDUNDANCY_KEYS or k not in scalars}
    if all(k in scalars and _same(scalars[k], v) for k, v in new.items()):
        return False
    if write:
        scalars.update(new)
        text = json.dumps(raw, separators=(",", ":"), allow_nan=False)
        atomic_write(path, text.encode())
    return True


def backfill(root: str | Path, *, write: bool = True) -> dict[str, list[str]]:
    """:func:`backfill_record` on every ``record.json`` under ``root`` (any depth).

    Returns
    -------
    dict
        ``updated``, ``unchanged`` (paths) and ``failed`` (one ``error:`` line each,
        naming the file).
    """
    out: dict[str, list[str]] = {"updated": [], "unchanged": [], "failed": []}
    for path in sorted(Path(root).rglob("record.json")):
        try:
            changed = backfill_record(path, write=write)
        except (ValueError, FileNotFoundError, KeyError, OSError) as err:
            out["failed"].append(f"error: {path}: {err}")
            continue
        out["updated" if changed else "unchanged"].append(str(path))
    return out


# --------------------------------------------------------------------------- alternatives
def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference of means a - b and its 95% Welch t interval (NaN with < 2 each)."""
    from scipy import stats

    diff = float(a.mean() - b.mean()) if len(a) and len(b) else np.nan
    if len(a) < 2 or len(b) < 2:
        return diff, np.nan, np.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.975, dof) * se)
    return diff, diff - half, diff + half


def _verdict(low: float, high: float) -> str:
    if not np.isfinite(low):
        return MISSING
    return "better" if low > 0 else "worse" if high < 0 else "no difference shown"


def alternative_rows(root: str | Path, scale: str, *, name: str = "bernoulli-centres",
                     protocol: str | None = None) -> pd.DataFrame:
    """The alternative ``name`` of :data:`hashlib_core.runner.grids.ALTERNATIVES` against the
    faithful default, per method and length of :data:`~hashlib_core.runner.grids.ALTERNATIVE_BITS`.

    Returns
    -------
    pandas.DataFrame
        One row per (method, n_bits); columns ``method, n_bits, runs_alt, runs_default,
        expected_alt`` (runs the scale's grid plans), ``map_alt, std_alt, map_default,
        std_default`` (mAP@ALL over seeds), ``eff_alt, eff_default`` (mean effective bits
        of the query codes), ``diff, low, high`` (alternative - default and its 95% Welch
        interval over seeds), ``verdict``.
    """
    from hashlib_core.results import load_results, read_record
    from hashlib_core.runner import grids

    protocol = protocol or grids.BOOK_PROTOCOLS[scale]["cifar10"]
    variant = grids.alternative_variant(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = load_results(scale, root=root, protocol=protocol)
    methods = [m for m, v in grids.ALTERNATIVES.items() if name in v]
    planned = [c for c in grids.grid(scale) if c.variant == variant and c.protocol == protocol]
    rows = []
    for m in methods:
        for b in grids.ALTERNATIVE_BITS:
            sub = res[(res.method == m) & (res.n_bits == b)] if len(res) else res
            alt = sub[sub.variant == variant] if len(sub) else sub
            dflt = sub[sub.variant.isna()] if len(sub) else sub
            col = "map_all" if "map_all" in res.columns else "map"
            a = alt[col].dropna().to_numpy(float) if len(alt) else np.array([])
            d = dflt[col].dropna().to_numpy(float) if len(dflt) else np.array([])
            diff, low, high = _welch(a, d)

            def eff(frame):
                return np.nan if frame.empty else float(
                    health_from_records([read_record(p) for p in frame.path]
                                        ).effective_bits.mean())

            rows.append({"method": m, "n_bits": b, "runs_alt": len(a), "runs_default": len(d),
                         "expected_alt": sum(c.method == m and c.n_bits == b
                                             for c in planned),
                         "map_alt": a.mean() if len(a) else np.nan,
                         "std_alt": a.std(ddof=1) if len(a) > 1 else np.nan,
                         "map_default": d.mean() if len(d) else np.nan,
                         "std_default": d.std(ddof=1) if len(d) > 1 else np.nan,
                         "eff_alt": eff(alt), "eff_default": eff(dflt),
                         "diff": diff, "low": low, "high": high,
                         "verdict": _verdict(low, high)})
    return pd.DataFrame(rows)


def _ms(mean: float, std: float, n: int) -> str:
    if pd.isna(mean):
        return MISSING
    return f"{mean:.3f} ± {std:.3f} ({n})" if n > 1 else f"{mean:.3f} (1)"


def alternatives_section(root: str | Path, scale: str, *,
                         name: str = "bernoulli-centres") -> str:
    """Markdown: the alternative ``name`` (default: CSQ's Bernoulli centres) against the
    faithful default for CSQ and SHNet at 32 and 64 bits, computed from the records.

    mAP@ALL mean ± std over seeds (runs in brackets), the mean effective bits of the query
    codes, the difference of means (alternative - default) with its 95% Welch t interval
    over seed values (``scipy.stats.t``), and a verdict: *better* / *worse* when the
    interval excludes 0, *no difference shown* otherwise. While the runs are incomplete
    the section says how many of the planned runs exist, and a row without two runs on
    each side gets no interval.
    """
    from hashlib_core.report.markdown import markdown_table
    from hashlib_core.report.names import method_link
    from hashlib_core.runner import grids

    protocol = grids.BOOK_PROTOCOLS[scale]["cifar10"]
    rows = alternative_rows(root, scale, name=name, protocol=protocol)
    desc = grids.ALTERNATIVE_DESCRIPTIONS.get(name, name)
    variant = grids.alternative_variant(name)
    planned = int(rows.expected_alt.sum()) if len(rows) else 0
    have = int(rows.runs_alt.sum()) if len(rows) else 0
    head = (f"**The `{variant}` alternative** ({desc}), protocol `{protocol}`, scale "
            f"`{scale}`: "
            + (f"{have} of {planned} planned runs exist." if planned else
               f"{have} runs exist; the `{scale}` grid plans none (the cpu grid runs it)."))
    if have == 0:
        return head + (" No run of the alternative has been stored yet, so there is "
                       "nothing to compare; the faithful default (the Hadamard rows, as "
                       "CSQ's official code) is what every other page shows.")
    table = pd.DataFrame([{
        "method": method_link(r.method),
        "bits": r.n_bits,
        "mAP@ALL, alternative": _ms(r.map_alt, r.std_alt, r.runs_alt),
        "mAP@ALL, default": _ms(r.map_default, r.std_default, r.runs_default),
        "effective bits (alt. / default)": " / ".join(
            MISSING if pd.isna(x) else f"{x:.1f}" for x in (r.eff_alt, r.eff_default)),
        "difference [95% interval]": (MISSING if pd.isna(r.diff) else f"{r.diff:+.3f}" + (
            "" if pd.isna(r.low) else f" [{r.low:+.3f}, {r.high:+.3f}]")),
        "verdict": r.verdict if r.verdict != MISSING else "fewer than 2 runs a side",
    } for r in rows.itertuples()])
    done = rows[rows.verdict != MISSING]
    words = "; ".join(f"{display_name(r.method)} at {r.n_bits} bits: {r.verdict}"
                      for r in done.itertuples())
    summary = (f" Verdicts: {words}." if words else
               " No row has two runs on each side yet, so no interval is shown.")
    note = (" mAP@ALL mean ± standard deviation over seeds (runs in brackets); effective "
            "bits of the query codes (principal components explaining "
            f"{EFFECTIVE_VARIANCE:.0%} of their variance), mean over seeds; difference = "
            "alternative − default, with a 95% Welch t interval over the seed values; "
            "*better*/*worse* when the interval excludes 0.")
    return head + summary + note + "\n\n" + markdown_table(table)
