"""Tables of the book: reported beside reproduced, ablations, run counts.

Every function reads the tidy frames of :func:`hashlib_core.results.load_results` and
:func:`hashlib_core.report.reported.load_reported`; nothing here trains or reads images. A
missing cell (a run not yet in the store, a cell the paper did not print) is NaN in the
numeric tables and "—" in the formatted ones; nothing raises because a grid is
unfinished.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashlib_core.runner.grids import DEEP, REPORTED_PROTOCOLS, SHALLOW, GridCell

MISSING = "—"
_REPO = Path(__file__).resolve().parents[2]
DISPLAY_NAMES: dict[str, str] = {
    "cnnh": "CNNH", "dnnh": "DNNH", "dhn": "DHN", "dpsh": "DPSH", "dtsh": "DTSH",
    "hashnet": "HashNet", "dch": "DCH", "csq": "CSQ", "adsh": "ADSH", "daph": "DAPH",
    "shnet": "SHNet", "dheh": "DHEH", "csdh": "CSDH", "dsah": "DSAH",
    "lsh": "LSH", "sh": "SH", "itq": "ITQ", "ksh": "KSH", "sdh": "SDH", "fasth": "FastH",
}
DATASET_NAMES = {"cifar10": "CIFAR-10", "imagenet100": "ImageNet-100",
                 "nuswide": "NUS-WIDE", "coco": "MS-COCO"}
METRIC_NAMES = {"map": "mAP", "precision_top5000": "precision of the top 5,000",
                "precision_r2": "precision within Hamming radius 2", "mac": "mAC"}


#: plain-text formulas of the grid's descriptions (hashlib_core.runner.grids) -> MyST inline math
_PLAIN_MATH: tuple[tuple[str, str], ...] = (
    ("tanh(W·φ + b)", r"$\tanh(W\phi + b)$"),
    ("tanh(W phi + b)", r"$\tanh(W\phi + b)$"),
    ("[a; phi]", r"$[a;\,\phi]$"),
    ("[a; φ]", r"$[a;\,\phi]$"),
    ("K/2", "$K/2$"),
)


def math_label(text: str) -> str:
    """A description with its plain-text formulas (``"tanh(W phi + b)"``, ``"[a; phi]"``)
    written as inline math, for a Markdown table row or caption.

    >>> print(math_label("CSQ's parallel head tanh(W phi + b)"))
    CSQ's parallel head $\\tanh(W\\phi + b)$
    """
    for plain, math in _PLAIN_MATH:
        text = text.replace(plain, math)
    return text


def display_name(method: str) -> str:
    """The papers' spelling of a registry name (``"fasth"`` -> ``"FastH"``)."""
    return DISPLAY_NAMES.get(method, method)


def metric_label(metric: str, topk: int | None = None) -> str:
    """``"mAP@ALL"``, ``"mAP@1000"``, ``"precision of the top 5,000"`` ..."""
    if metric == "map":
        return "mAP@ALL" if topk is None else f"mAP@{int(topk)}"
    return METRIC_NAMES.get(metric, metric)


def reproduced(results: pd.DataFrame, *, protocol: str, metric: str) -> pd.DataFrame:
    """Mean, std and number of seeds of ``metric`` per (method, n_bits), default runs only.

    Returns
    -------
    pandas.DataFrame
        Columns ``method, n_bits, mean, std, n_seeds`` (std NaN for a single seed).
    """
    cols = ["method", "n_bits", "mean", "std", "n_seeds"]
    if results.empty or metric not in results.columns:
        return pd.DataFrame(columns=cols)
    sel = results[(results.protocol == protocol) & results.variant.isna()]
    sel = sel[sel[metric].notna()]
    if sel.empty:
        return pd.DataFrame(columns=cols)
    g = sel.groupby(["method", "n_bits"])[metric]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "n_seeds": g.size()})
    return out.reset_index()[cols]


def comparison(
    results: pd.DataFrame,
    reported: pd.DataFrame,
    *,
    dataset: str,
    protocol: str,
    metric: str,
    methods: list[str],
    bits: list[int],
    source: str | None = None,
) -> pd.DataFrame:
    """Reported beside reproduced, one row per (method, n_bits).

    Parameters
    ----------
    results : DataFrame
        From :func:`hashlib_core.results.load_results`.
    reported : DataFrame
        From :func:`hashlib_core.report.reported.load_reported`.
    dataset : str
        The papers' dataset (``"cifar10"`` ...): selects the reported cells.
    protocol : str
        The protocol the reproduced runs used (at the smoke scale not the paper's).
    metric : str
        A scalar key, ``"map"`` or ``"precision_top5000"``.
    methods, bits : list
        Rows of the table, in order.
    source : str, optional
        Only the reported cells of this source (``"shnet_table2"``, ``"dsah_table1"``).

    Returns
    -------
    pandas.DataFrame
        Columns ``method, n_bits, reported, mean, std, n_seeds, difference``
        (difference = reproduced mean - reported; NaN where either is missing).
    """
    rep = reported[(reported.protocol == REPORTED_PROTOCOLS[dataset])
                   & (reported.metric == metric)]
    if source is not None:
        rep = rep[rep.source == source]
    rep = rep.groupby(["method", "n_bits"]).value.first().rename("reported")
    grid = pd.MultiIndex.from_product([methods, bits], names=["method", "n_bits"])
    rpr = reproduced(results, protocol=protocol, metric=metric).set_index(["method", "n_bits"])
    out = pd.DataFrame(index=grid).join(rep).join(rpr)
    out["n_seeds"] = out["n_seeds"].fillna(0).astype(int)
    out["difference"] = out["mean"] - out["reported"]
    return out.reset_index()[["method", "n_bits", "reported", "mean", "std", "n_seeds",
                              "difference"]]


def _fmt(x: float, *, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return MISSING
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def format_comparison(table: pd.DataFrame, *, reported_name: str = "paper") -> pd.DataFrame:
    """The comparison as strings: rows = methods, columns (``"<K> bits"``, part) with
    parts ``paper`` (reported), ``here`` (reproduced) and ``Δ`` (here − paper).

    Reproduced cells read ``0.612`` for one seed and ``0.612 ± 0.008 (3)`` for several;
    missing cells read "—".
    """
    rows = {}
    bits = list(dict.fromkeys(table.n_bits))
    for method, sub in table.groupby("method", sort=False):
        cells = {}
        for _, r in sub.iterrows():
            col = f"{int(r.n_bits)} bits"
            val = _fmt(r["mean"])
            if r.n_seeds > 1:
                val = f"{val} ± {r['std']:.3f} ({int(r.n_seeds)})"
            cells[(col, reported_name)] = _fmt(r.reported)
            cells[(col, "here")] = val
            cells[(col, "Δ")] = _fmt(r.difference, signed=True)
        rows[display_name(method)] = cells
    columns = pd.MultiIndex.from_product(
        [[f"{b} bits" for b in bits], [reported_name, "here", "Δ"]])
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)


def count_runs(results: pd.DataFrame, cells: list[GridCell]) -> tuple[int, int]:
    """(number of ``cells`` that have a record in ``results``, number of ``cells``)."""
    if results.empty:
        return 0, len(cells)
    have = {(r.protocol, r.method, int(r.n_bits), int(r.seed),
             r.variant if isinstance(r.variant, str) else None)
            for r in results.itertuples()}
    n = sum((c.protocol, c.method, c.n_bits, c.seed, c.variant) in have for c in cells)
    return n, len(cells)


def ablation(results: pd.DataFrame, *, protocol: str, n_bits: int, method: str = "shnet",
             baseline: str = "csq", metrics: tuple[str, ...] = ("map", "precision_r2", "mac"),
             variants: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per variant of ``method`` (default first), plus ``baseline``'s default run.

    Returns
    -------
    pandas.DataFrame
        Index: variant descriptions; columns: the metrics (mean over seeds) and ``n_runs``.
    """
    variants = variants or {}
    sel = results[(results.protocol == protocol) & (results.n_bits == n_bits)] \
        if not results.empty else results
    rows = {}
    order = [(method, None, f"{display_name(method)} (default)")]
    order += [(method, v, f"{display_name(method)}: {d}") for v, d in variants.items()]
    order += [(baseline, None, f"{display_name(baseline)} (the registered method, for reference)")]
    for m, v, desc in order:
        if sel.empty:
            sub = sel
        else:
            sub = sel[(sel.method == m) & (sel.variant.isna() if v is None else sel.variant == v)]
        row = {k: (sub[k].mean() if (k in sub.columns and len(sub)) else np.nan)
               for k in metrics}
        row["n_runs"] = len(sub)
        rows[desc] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def readable_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Metric keys as column headers a reader knows (``map`` -> ``mAP`` ...)."""
    names = {"map": "mAP", "precision_top5000": "precision of the top 5,000",
             "precision_r2": "precision within radius 2", "recall_r2": "recall within radius 2",
             "mac": "mAC", "n_runs": "runs", "bit_balance": "bit balance"}
    return table.rename(columns=names)


def format_numbers(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Floats as fixed-point strings, NaN and None as "—", booleans as yes/no (integers
    kept)."""
    out = table.copy().astype(object)
    for col in table.columns:
        if pd.api.types.is_bool_dtype(table[col]):
            out[col] = ["yes" if x else "no" for x in table[col]]
        elif pd.api.types.is_float_dtype(table[col]):
            out[col] = [MISSING if pd.isna(x) else f"{x:.{digits}f}" for x in table[col]]
        elif table[col].dtype == object:
            out[col] = [MISSING if x is None or (isinstance(x, float) and np.isnan(x))
                        else ("yes" if x is True else "no" if x is False else x)
                        for x in table[col]]
    return out


def dataset_tables(
    results: pd.DataFrame, reported: pd.DataFrame, *, dataset: str, scale: str,
) -> list[tuple[str, pd.DataFrame]]:
    """The tables of a dataset's results page: ``[(caption, formatted table), ...]``.

    CIFAR-10: mAP@ALL of every method at 16/32/64 bits beside the SHNet paper's Table 2,
    and the precision of the top 5,000 at 12/24/36/48 bits beside the DSAH paper's
    Table 1. Other datasets: the SHNet paper's Table 2 methods (and the other source
    methods) at 16/32/64 bits.
    """
    from hashlib_core.report.reported import SOURCES
    from hashlib_core.runner import grids

    protocol = grids.BOOK_PROTOCOLS[scale][dataset]
    rep_protocol = REPORTED_PROTOCOLS[dataset]
    cells = [c for c in grids.grid(scale) if c.protocol == protocol]
    have, total = count_runs(results[results.protocol == protocol] if len(results) else results,
                             cells)
    topk = reported[reported.protocol == rep_protocol].query("metric == 'map'").topk
    topk = topk.iloc[0] if len(topk) else None
    specs = []
    if dataset == "cifar10":
        methods = list(grids.SHALLOW) + [m for m in grids.DEEP if m not in grids.SOURCE_METHODS] \
            + list(grids.SOURCE_METHODS)
        specs.append(("map", methods, [16, 32, 64], "shnet_table2"))
        specs.append(("precision_top5000", list(grids.DSAH_TABLE), [12, 24, 36, 48],
                      "dsah_table1"))
    else:
        methods = list(grids.SHNET_TABLE) + [m for m in grids.SOURCE_METHODS if m != "shnet"]
        specs.append(("map", methods, [16, 32, 64], "shnet_table2"))
    out = []
    for metric, methods, bits, source in specs:
        comp = comparison(results, reported, dataset=dataset, protocol=protocol, metric=metric,
                          methods=methods, bits=bits, source=source)
        n_cells = int((comp.n_seeds > 0).sum())
        label = metric_label(metric, topk if metric == "map" else None)
        label = label[0].upper() + label[1:] if label.startswith("precision") else label
        # compared by what the runs recorded (their protocol's sizes), not by the name only
        deviating = 0
        if len(results) and "protocol_deviation" in results.columns:
            sel = results[(results.protocol == protocol) & results.method.isin(methods)
                          & results.n_bits.isin(bits)]
            deviating = int(sel.protocol_deviation.fillna(False).astype(bool).sum())
        same = protocol == rep_protocol and not deviating
        caption = (
            f"**{label} on {DATASET_NAMES[dataset]}.** Reported: {SOURCES[source]}, "
            f"protocol `{rep_protocol}`. Reproduced: protocol `{protocol}`, scale `{scale}`"
            + ("" if same else " (a smaller protocol than the paper's: compare rankings, "
                               "not absolute values)")
            + (f"; **{deviating} run(s) here used split sizes that differ from the paper's "
               "protocol** (run with `--allow-protocol-deviation`; see each record)"
               if deviating else "")
            + f"; {n_cells} of {len(comp)} cells have a run ("
            + (f"{have} of {total} runs of the `{scale}` grid on `{protocol}` exist"
               if total else f"the `{scale}` grid has no run on `{protocol}`")
            + "). *paper* = reported; *here* = reproduced, "
            f"the value of one seed or mean ± std (number of seeds); Δ = here − paper; "
            f"{MISSING} = not printed by the paper, or not run."
        )
        out.append((caption, format_comparison(comp)))
    return out


def runs_table(results: pd.DataFrame, *, protocol: str) -> pd.DataFrame:
    """Every stored run of a protocol (all of them: defaults, ablation variants, tuning
    runs), one row each, with its metrics, schedule, wall time, commit and record.

    Returns
    -------
    pandas.DataFrame
        Plain values, one row per run sorted by method, variant, code length, seed:
        ``method, variant, n_bits, seed, map, precision_top5000, mac, epochs,
        best_epoch, wall_time_min, copied_from, git_commit, record, deviates``
        (``wall_time_min``: the total of the record's timings, every session of a resumed
        run; ``deviates``: what differs from the paper's setting, "" if nothing;
        ``copied_from``:
        the tuning run a copied record comes from, else None; ``record``: the run's
        ``record.json`` path; ``epochs``: epochs trained, None for a shallow method;
        ``best_epoch`` 0-based, -1 for a shallow method).
    """
    cols = ["method", "variant", "n_bits", "seed", "map", "precision_top5000", "mac",
            "epochs", "best_epoch", "wall_time_min", "copied_from", "git_commit", "record",
            "deviates"]
    if results.empty:
        return pd.DataFrame(columns=cols)
    sel = results[results.protocol == protocol].copy()
    sel["variant"] = sel.variant.fillna("")
    info = [_record_info(p) for p in sel.path]
    sel["epochs"] = [i[0] for i in info]
    # the record's timings cover every session of a resumed run; the provenance's wall
    # time only the last one
    sel["wall_time_min"] = [t / 60 if t is not None else
                            (w / 60 if w is not None and not pd.isna(w) else np.nan)
                            for (_, t, _), w in zip(info, sel.get("wall_time_s", [None] * len(sel)))]
    sel["deviates"] = ["; ".join(i[2]) for i in info]
    sel["record"] = [str(Path(p) / "record.json") for p in sel.path]
    for c in cols:
        if c not in sel.columns:
            sel[c] = np.nan
    rank = {m: i for i, m in enumerate(RESULTS_ORDER)}
    sel["_order"] = [rank.get(m, len(rank)) for m in sel.method]
    sel = sel.sort_values(["_order", "method", "variant", "n_bits", "seed"])
    return sel[cols].reset_index(drop=True)


def _record_info(path: str) -> tuple[int | None, float | None, list[str]]:
    """(epochs trained, None for a method without epochs; the total of the record's
    timings in seconds over all sessions; what deviates from the paper's setting)."""
    import json

    from hashlib_core.results.records import _wall_time

    try:
        rec = json.loads((Path(path) / "record.json").read_text())
    except (OSError, ValueError):
        return None, None, []
    history = rec.get("history")
    return (len(history) if history else None, _wall_time(rec.get("timings") or {}),
            record_deviations(rec))


def _epochs_run(path: str) -> int | None:
    """Epochs a run trained (its history's length); None for a method without epochs."""
    return _record_info(path)[0]


def method_link(method: str, *, base: str = "../methods/") -> str:
    """Markdown link from a generated page to a method's page (shallow methods share one);
    ``method`` is a registry name or the papers' spelling (``"fasth"`` or ``"FastH"``)."""
    from hashlib_core.runner.grids import SHALLOW

    method = {v: k for k, v in DISPLAY_NAMES.items()}.get(method, method)
    page = "shallow" if method in SHALLOW else method
    if not (_REPO / "book" / "methods" / f"{page}.md").is_file():
        return display_name(method)
    return f"[{display_name(method)}]({base}{page}.md)"


def cell(mean: float, std: float = np.nan, n: int = 1) -> str:
    """``0.540`` for one seed, ``0.540 ± 0.012 (3)`` for several, "—" when missing."""
    if mean is None or pd.isna(mean):
        return MISSING
    if n and n > 1 and not pd.isna(std):
        return f"{mean:.3f} ± {std:.3f} ({int(n)})"
    return f"{mean:.3f}"


def no_break(table: pd.DataFrame) -> pd.DataFrame:
    """The table with ``"0.560 ± 0.006"`` kept on one line (no-break spaces around ±)."""
    return table.map(lambda v: v.replace(" ± ", "\u00a0±\u00a0") if isinstance(v, str)
                     else v)


def markdown_table(table: pd.DataFrame, *, index: bool = False) -> str:
    """A pipe table (MyST/GFM) of the frame's values as strings; ``|`` escaped, and
    ``& < >`` as HTML entities (a value read from a record never becomes markup)."""
    from html import escape

    frame = table.reset_index() if index else table

    def esc(x) -> str:
        return escape(str(x), quote=False).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(esc(c) for c in frame.columns) + " |"
    rule = "|" + "|".join(":--" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(esc(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def provenance(runs: pd.DataFrame) -> str:
    """"12 runs, 3 commits (a1b2c3d, ...)": which runs a table comes from."""
    if runs is None or runs.empty:
        return "no stored run"
    commits = sorted({str(c)[:7] for c in runs.git_commit.fillna("unknown")})
    shown = ", ".join(f"`{c}`" for c in commits[:4])
    more = f" and {len(commits) - 4} more" if len(commits) > 4 else ""
    return (f"{len(runs)} run{'s' * (len(runs) != 1)} made at {len(commits)} "
            f"commit{'s' * (len(commits) != 1)} ({shown}{more})")


def runs_behind(results: pd.DataFrame, *, protocol: str, methods=None, n_bits=None,
                seed: int | None = None, variants: str = "default") -> str:
    """:func:`provenance` of the runs a table is computed from: those of ``protocol``
    (and of ``methods``, ``n_bits``, ``seed`` when given); ``variants`` is ``"default"``
    (no ablation or tuning run) or ``"any"``."""
    if results.empty:
        return provenance(results)
    sel = results[results.protocol == protocol]
    if variants == "default":
        sel = sel[sel.variant.isna()]
    if methods is not None:
        sel = sel[sel.method.isin(list(methods))]
    if n_bits is not None:
        sel = sel[sel.n_bits.isin([n_bits] if np.isscalar(n_bits) else list(n_bits))]
    if seed is not None:
        sel = sel[sel.seed == seed]
    return provenance(sel)


@dataclass
class LengthTable:
    """One table of a results page: one metric at one code length, methods as rows."""

    metric: str
    n_bits: int
    title: str
    caption: str
    table: pd.DataFrame  # strings for the page (links, best marked)
    data: pd.DataFrame  # the numbers behind it (the CSV)
    runs: pd.DataFrame  # the runs it comes from

    @property
    def csv_name(self) -> str:
        return f"{self.metric}_{self.n_bits}bits.csv"


#: ADSH's CIFAR-10 protocol, that of the DSAH paper's table (used once it has runs)
ADSH_PROTOCOL = "cifar10-adsh"


def dsah_protocol(results: pd.DataFrame, scale: str) -> str:
    """The protocol of the DSAH table at ``scale``: ADSH's CIFAR-10 protocol when runs
    exist there, else the scale's CIFAR-10 protocol of the book."""
    from hashlib_core.runner import grids

    if len(results) and (results.protocol == ADSH_PROTOCOL).any():
        return ADSH_PROTOCOL
    return grids.BOOK_PROTOCOLS[scale]["cifar10"]


#: the order of the rows of a results table: the compared pair of the SHNet paper first,
#: the other methods of the source papers, the deep baselines, then the shallow ones
RESULTS_ORDER: tuple[str, ...] = (
    ("shnet", "csq", "dheh", "csdh", "dsah", "adsh")
    + tuple(m for m in DEEP if m not in ("shnet", "csq", "dheh", "csdh", "dsah", "adsh"))
    + SHALLOW)


def results_order(methods) -> list[str]:
    """``methods`` in :data:`RESULTS_ORDER` (unknown names last, as given)."""
    rank = {m: i for i, m in enumerate(RESULTS_ORDER)}
    return sorted(methods, key=lambda m: rank.get(m, len(rank)))


def table_protocols(scale: str, methods, bits, default: str) -> dict[str, str]:
    """The protocol of each method's main runs at ``bits`` in the ``scale`` grid (the DSAH
    table mixes ``cifar10-adsh`` for ADSH and DSAH with ``cifar10-i`` for the others);
    ``default`` for a method the grid does not run there."""
    from hashlib_core.runner import grids

    out = {}
    for m in methods:
        protos = [c.protocol for c in grids.grid(scale)
                  if c.kind == "main" and c.method == m and c.n_bits in bits]
        out[m] = max(set(protos), key=protos.count) if protos else default
    return out


#: the name of the page that lists every stored run (hashlib_core.report.book.PAGES)
RUNS_PAGE = "runs"


def length_tables(results: pd.DataFrame, reported: pd.DataFrame, *, dataset: str,
                  scale: str) -> list[LengthTable]:
    """The results page's tables, one per metric and code length: methods as rows (in
    :data:`RESULTS_ORDER`), the paper's value, ours (mean ± std (seeds)), the difference;
    the best value of each column in bold. Default runs only (no ablation variant, no
    tuning run).

    CIFAR-10: mAP@ALL at 16/32/64 bits (SHNet paper, Table 2, every method), the
    precision of the top 5,000 at 12/24/36/48 bits (DSAH paper, Table 1; each method on
    the protocol the grid runs it on) and the precision within Hamming radius 2 at
    16/32/64 bits (no paper prints it as a table); other datasets: mAP at 16/32/64 bits
    of the SHNet table's methods and the source methods. A caption names the paper's
    cells that are missing (illegible) or doubtful (:mod:`hashlib_core.report.reported`) and
    the runs that deviate from the paper's setting (:func:`deviations`).
    """
    from hashlib_core.report.reported import SOURCES, doubtful_note, unprinted
    from hashlib_core.runner import grids

    protocol = grids.BOOK_PROTOCOLS[scale][dataset]
    rep_protocol = REPORTED_PROTOCOLS[dataset]
    topk = reported[reported.protocol == rep_protocol].query("metric == 'map'").topk
    topk = topk.iloc[0] if len(topk) else None
    if dataset == "cifar10":
        methods = results_order(grids.SHALLOW + grids.DEEP)
        dsah = results_order(grids.DSAH_TABLE)
        specs = [("map", methods, [16, 32, 64], "shnet_table2"),
                 ("precision_top5000", dsah, [12, 24, 36, 48], "dsah_table1"),
                 ("precision_r2", methods, [16, 32, 64], None)]
    else:
        methods = results_order(list(grids.SHNET_TABLE)
                                + [m for m in grids.SOURCE_METHODS if m != "shnet"])
        specs = [("map", methods, [16, 32, 64], "shnet_table2")]
    out = []
    for metric, ms, bits, source in specs:
        where = table_protocols(scale, ms, bits, protocol) if metric == "precision_top5000" \
            else dict.fromkeys(ms, protocol)
        label = metric_label(metric, topk if metric == "map" else None)
        parts, used = [], []
        for proto in dict.fromkeys(where.values()):
            group = [m for m in ms if where[m] == proto]
            parts.append(comparison(results, reported, dataset=dataset, protocol=proto,
                                    metric=metric, methods=group, bits=bits,
                                    source=source or "none"))
            if len(results):
                used.append(results[(results.protocol == proto) & results.variant.isna()
                                    & results.method.isin(group)])
        comp = pd.concat(parts, ignore_index=True)
        comp["protocol"] = comp.method.map(where)
        comp["_order"] = comp.method.map({m: i for i, m in enumerate(ms)})
        comp = comp.sort_values(["_order", "n_bits"], kind="stable").drop(columns="_order")
        main = pd.concat(used, ignore_index=True) if used else results.iloc[0:0]
        missing = unprinted(reported, source, dataset) if source else []
        missing = [m for m in missing if m in ms]
        for b in bits:
            sub = comp[comp.n_bits == b].reset_index(drop=True)
            if sub.reported.isna().all() and (sub.n_seeds == 0).all():
                continue
            runs = main[(main.n_bits == b)] if len(main) else main
            best_rep, best_here = sub.reported.max(), sub["mean"].max()
            rows, notes = [], []
            for r in sub.itertuples():
                paper = _fmt(r.reported)
                here = cell(r.mean, r.std, r.n_seeds)
                if not pd.isna(r.reported) and r.reported == best_rep:
                    paper = f"**{paper}**"
                if not pd.isna(r.mean) and r.mean == best_here:
                    here = f"**{here}**"
                doubt = doubtful_note(reported, source, r.method, dataset, b) if source else ""
                if doubt:
                    paper += " †"
                    notes.append(f"† {doubt[0].upper()}{doubt[1:]}.")
                dev = deviations_of(runs[runs.method == r.method]) if len(runs) else []
                if dev:
                    here += " ‡"
                rows.append({"method": method_link(r.method), "paper": paper,
                             "ours": here, "ours − paper": _fmt(r.difference, signed=True)})
            columns = ["method", "paper", "ours", "ours − paper"] if source \
                else ["method", "ours"]
            table = pd.DataFrame(rows, columns=["method", "paper", "ours", "ours − paper"])
            table = table[columns]
            data = sub.assign(method=sub.method.map(display_name), scale=scale, metric=metric)
            protos = list(dict.fromkeys(sub.protocol))
            adsh = (" (the queries and database of `cifar10-i`, with the whole database as "
                    "their training set)")
            if len(protos) == 1:
                ours = f"protocol `{protos[0]}`, scale `{scale}`"
            else:
                ours = f"scale `{scale}`; " + "; ".join(
                    f"{', '.join(display_name(m) for m in sub.method[sub.protocol == p])} "
                    f"on protocol `{p}`" + (adsh if p == "cifar10-adsh" else "")
                    for p in protos)
            smaller = scale != "paper"
            if source:
                paper_part = f"Paper: {SOURCES[source]}" + (
                    f", protocol `{rep_protocol}`" if source != "dsah_table1" else
                    " (its CIFAR-10 setting: ADSH's protocol for the asymmetric methods)")
            else:
                paper_part = ("Paper: none of the source papers prints this metric as a "
                              "table (the SHNet paper draws it against code length on "
                              "ImageNet-100)")
            caption = (
                f"{paper_part}. Ours: {ours}"
                + (" (a smaller setting than the paper's: compare rankings, not values)"
                   if smaller and source else "")
                + (f"; {int((sub.n_seeds > 0).sum())} of {len(sub)} methods have a run, "
                   f"from {provenance(runs)}" if len(runs) else
                   f"; none of the {len(sub)} methods has a run yet")
                + (". *Ours* is one run, or mean ± std (number of seeds); the best value of "
                   f"each column is in bold; {MISSING} = not printed by the paper, or not "
                   "run" if source else ". *Ours* is one run, or mean ± std (number of "
                   f"seeds); the best value is in bold; {MISSING} = not run")
                + "." + (f" The paper's table lists "
                         f"{' and '.join(display_name(m) for m in missing)}, but their "
                         f"{DATASET_NAMES[dataset]} cells are illegible in the scan "
                         "(`reported_results.csv` holds none), so their paper value is "
                         f"{MISSING}." if missing else "")
                + ("".join(f" {n}" for n in dict.fromkeys(notes)))
                + deviation_note(runs)
                + f" Every run behind the table: [run list]({RUNS_PAGE}).")
            title = f"{label[0].upper() + label[1:] if label.startswith('p') else label}, {b} bits"
            out.append(LengthTable(metric, b, title, caption, table, data, runs))
    return out


def _paper_weights_prefix() -> str | None:
    """The first hex digits of the SHA-256 of torchvision's ImageNet ResNet50 weights (in
    their file name, ``resnet50-0676ba61.pth``), or None when torchvision is absent."""
    try:
        from hashlib_core.models.weights import hub_file

        return Path(hub_file("resnet50", "IMAGENET1K_V1")).stem.rsplit("-", 1)[-1]
    except Exception:  # noqa: BLE001 - no torchvision: weights are not checked
        return None


def record_deviations(record: dict) -> list[str]:
    """What one run changed from the paper's setting, in words (empty when nothing):
    split sizes other than the paper's (``provenance.run.protocol_sizes`` against
    ``paper_sizes``), and at the ``paper`` scale also fewer or more epochs than the
    preset's and start weights that are not torchvision's ImageNet weights (by SHA-256)."""
    from hashlib_core.scales import preset

    prov = record.get("provenance") or {}
    run = prov.get("run") or {}
    key, cfg = record.get("key") or {}, record.get("config") or {}
    out = [str(d) for d in run.get("protocol_deviations") or []]
    sizes, paper = run.get("protocol_sizes") or {}, run.get("paper_sizes") or {}
    if not out and sizes and paper:
        out = [f"{k} {sizes[k]:,} instead of {paper[k]:,}" for k in paper
               if k in sizes and sizes[k] != paper[k]]
    if key.get("scale") == "paper":
        want = preset("paper", key.get("method")).get("epochs")
        got = cfg.get("epochs")
        if want and got and int(got) != int(want):
            out.append(f"{int(got)} epoch{'s' * (int(got) != 1)} instead of {int(want)}")
        sha = (run.get("weights") or {}).get("sha256")
        prefix = _paper_weights_prefix()
        if sha and prefix and not str(sha).startswith(prefix):
            out.append(f"start weights not ImageNet's (sha256 {str(sha)[:12]}…)")
        elif not sha and cfg.get("backbone") == "resnet50":
            out.append("no pre-trained start weights recorded")
    return out


def deviations_of(runs: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """``[(run label, deviations), ...]`` for the runs of ``runs`` (a slice of
    :func:`hashlib_core.results.load_results`) that deviate from the paper's setting."""
    import json

    out = []
    if runs is None or not len(runs) or "path" not in runs.columns:
        return out
    for r in runs.itertuples():
        try:
            rec = json.loads((Path(r.path) / "record.json").read_text())
        except (OSError, ValueError):
            continue
        dev = record_deviations(rec)
        if dev:
            label = (f"{display_name(r.method)} {int(r.n_bits)} bits seed {int(r.seed)}"
                     + (f" ({r.variant})" if isinstance(r.variant, str) else ""))
            out.append((label, dev))
    return out


def deviation_note(runs: pd.DataFrame) -> str:
    """The caption sentence that marks the runs deviating from the paper's setting
    (" ‡ N runs deviate ...: label (what); ..."), or "" when none does."""
    dev = deviations_of(runs)
    if not dev:
        return ""
    shown = "; ".join(f"{label}: {', '.join(d)}" for label, d in dev[:6])
    more = f"; and {len(dev) - 6} more" if len(dev) > 6 else ""
    return (f" ‡ **{len(dev)} run{'s' * (len(dev) != 1)} here deviate"
            f"{'s' * (len(dev) == 1)} from the paper's setting** (run with "
            f"`--allow-protocol-deviation` or changed settings; see each record): "
            f"{shown}{more}.")


def runs_page_table(runs: pd.DataFrame, *, repo: str | Path | None = None,
                    link_base: str = "../../") -> pd.DataFrame:
    """:func:`runs_table` as strings for the page, narrow enough for a 1,280 px screen: the
    run (method link, code length, seed, variant), its metrics, epochs trained with the
    best epoch (1-based) in brackets, wall time, the commit shortened, and the record as a
    download link when it lies inside ``repo`` ("—" for missing values)."""
    repo = Path(repo or _REPO).resolve()

    several = "protocol" in runs.columns and runs.protocol.nunique() > 1

    def run(r) -> str:
        text = f"{method_link(r.method)}, {int(r.n_bits)} bits, seed {int(r.seed)}"
        text = f"{text}, *{r.variant}*" if r.variant else text
        text = f"{text}, `{r.protocol}`" if several else text
        dev = getattr(r, "deviates", "")
        return f"{text} (**deviates:** {dev})" if isinstance(dev, str) and dev else text

    def epochs(r) -> str:
        if r.epochs is None or pd.isna(r.epochs):
            return MISSING
        best = r.best_epoch
        return str(int(r.epochs)) + ("" if best is None or pd.isna(best) or best < 0
                                     else f" ({int(best) + 1})")

    return pd.DataFrame({
        "run": [run(r) for r in runs.itertuples()],
        "mAP": [_fmt(x) for x in runs["map"]],
        "precision, top 5,000": [_fmt(x) for x in runs.precision_top5000],
        "mAC": [_fmt(x) for x in runs.mac],
        "epochs (best)": [epochs(r) for r in runs.itertuples()],
        "wall time (min)": [_wall(r) for r in runs.itertuples()],
        "commit": [f"`{str(c)[:7]}`" if isinstance(c, str) else MISSING
                   for c in runs.git_commit],
        "record": [_record_link(p, repo, link_base) for p in runs.record],
    }, columns=["run", "mAP", "precision, top 5,000", "mAC", "epochs (best)",
                "wall time (min)", "commit", "record"])


def _wall(run) -> str:
    copied = getattr(run, "copied_from", None)
    if isinstance(copied, str) and copied:
        return "none: a copy of its tuning run"
    return MISSING if pd.isna(run.wall_time_min) else f"{run.wall_time_min:.1f}"


def _record_link(path: str, repo: Path, link_base: str) -> str:
    try:
        rel = Path(path).resolve().relative_to(repo)
    except ValueError:
        return MISSING  # a results folder outside the repository: not in the book
    return f"[json]({link_base}{rel.as_posix()})"


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV atomically; returns the path."""
    from hashlib_core.atomic import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, table.to_csv(index=False).encode())
    return path


def fill_in_command(dataset: str) -> str:
    """Markdown: the exact command that fills the reproduced columns of ``dataset``."""
    from hashlib_core.runner import grids

    protocol = grids.BOOK_PROTOCOLS["paper"][dataset]
    return (
        f"The images of {DATASET_NAMES[dataset]} were not available where this book was "
        f"built, so the column *ours* below is empty. With the images (see [Rerun it]"
        f"(../rerun.md)), this command trains every method at every code length of the "
        f"`paper` scale on protocol `{protocol}`, stores the runs under "
        f"`results/paper/{protocol}/` and rebuilds the book:\n\n"
        f"```bash\npython -m hashlib_core.reproduce --scale paper --datasets {dataset} "
        f"--device cuda\n```\n"
    )


def metric_conventions() -> pd.DataFrame:
    """The evaluation conventions of the stored numbers, read from the code.

    The keyword defaults of :func:`hashlib_core.evaluation.evaluate` (what the engine
    calls for every run) and of the ranking metrics of :mod:`hashlib_core.metrics`, so
    that the book states the conventions the code actually uses.

    Returns
    -------
    pandas.DataFrame
        Columns ``function, option, default``.
    """
    import inspect

    from hashlib_core import evaluation, metrics

    rows = []
    for fname, fn in (("evaluation.evaluate", evaluation.evaluate),
                      *((f"metrics.{n}", getattr(metrics, n, None)) for n in
                        ("mean_average_precision", "precision_at_n",
                         "precision_within_radius", "precision_recall_curve"))):
        if fn is None:
            continue
        for name, p in inspect.signature(fn).parameters.items():
            if (p.kind is inspect.Parameter.KEYWORD_ONLY and name != "chunk_size"
                    and p.default is not inspect.Parameter.empty):
                rows.append({"function": fname, "option": name, "default": repr(p.default)})
    return pd.DataFrame(rows, columns=["function", "option", "default"])


def results_page(results: pd.DataFrame, reported: pd.DataFrame, *, dataset: str, scale: str,
                 out_dir: str | Path, page: str, first: int = 1) -> list[str]:
    """The Markdown blocks of a dataset's results page, one per table, each table also
    written as CSV into ``out_dir`` (beside the generated page) and linked; every caption
    links the run list (:func:`runs_page`). ``first``: the number of the first table.

    Returns
    -------
    list of str
        The tables of :func:`length_tables`, numbered, captioned, with their provenance
        and a CSV link.
    """
    blocks = []
    for n, t in enumerate(length_tables(results, reported, dataset=dataset, scale=scale),
                          first):
        name = f"{page}_{t.csv_name}"
        write_csv(t.data, Path(out_dir) / name)
        blocks.append(f"**Table {n}. {t.title}.** {t.caption} Download: [CSV]({name}).\n\n"
                      + markdown_table(t.table))
    return blocks


def runs_page(results: pd.DataFrame, *, scale: str, out_dir: str | Path,
              page: str = RUNS_PAGE) -> list[str]:
    """The run list: one table per protocol with stored runs at ``scale`` (every run: the
    default runs of the results tables, the ablation variants, the tuning runs, the budget
    checks, the diagnoses and the alternatives), each also written as CSV."""
    if results.empty:
        return [f"No run of the `{scale}` scale is stored yet."]
    blocks = []
    protocols = sorted(set(results.protocol), key=lambda p: (-int((results.protocol == p)
                                                                  .sum()), p))
    for n, p in enumerate(protocols, 1):
        runs = runs_table(results, protocol=p)
        name = f"{page}_{p}.csv"
        write_csv(runs, Path(out_dir) / name)
        kinds = sorted({v.split("-")[0] for v in runs.variant if v})
        dev = int((runs.deviates != "").sum()) if "deviates" in runs else 0
        blocks.append(
            f"**Table {n}. Every stored run on protocol `{p}`** (scale `{scale}`): "
            f"{provenance(results[results.protocol == p])}"
            + (f"; variants: {', '.join(f'`{k}…`' for k in kinds)} (left out of the "
               "results tables)" if kinds else "")
            + (f"; **{dev} run{'s' * (dev != 1)} deviate{'s' * (dev == 1)} from the "
               "paper's setting**, marked in the first column" if dev else "")
            + ". *Epochs (best)*: the epochs trained and, in brackets, the epoch whose "
            "weights were kept (by validation mAP); *wall time*: the total of the record's "
            "timings, every session of a resumed run included; *record* holds the run's "
            "configuration, data-split manifest hash, package versions and all its "
            f"metrics. Download: [CSV]({name}).\n\n"
            + markdown_table(runs_page_table(runs.assign(protocol=p))))
    return blocks


def not_run_here(dataset: str, reported: pd.DataFrame, *, scale: str) -> str:
    """Markdown for a dataset with no run at ``scale``: what the papers printed (the SHNet
    paper's mAP, one row per method) and what a GPU box needs to fill the results: the
    images and lists (:data:`hashlib_core.data.__main__.LAYOUT`), the weights, the grid's
    cells for the dataset, the check and the command."""
    from hashlib_core.data.__main__ import LAYOUT
    from hashlib_core.report.reported import doubtful_note
    from hashlib_core.runner import grids

    protocol = grids.BOOK_PROTOCOLS["paper"][dataset]
    rep = reported[(reported.protocol == REPORTED_PROTOCOLS[dataset])
                   & (reported.metric == "map")]
    topk = rep.topk.iloc[0] if len(rep) else None
    wide = rep.pivot_table(index="method", columns="n_bits", values="value")
    wide = wide.reindex(results_order(list(wide.index)))
    notes = {(m, b): doubtful_note(reported, "shnet_table2", m, dataset, b)
             for m in wide.index for b in wide.columns}
    table = pd.DataFrame({"method": [method_link(m) for m in wide.index],
                          **{f"{b} bits": [_fmt(v) + (" †" if notes[(m, b)] else "")
                                           for m, v in zip(wide.index, wide[b])]
                             for b in wide.columns}})
    flagged = " ".join(f"† {n[0].upper()}{n[1:]}." for n in notes.values() if n)
    cells = [c for c in grids.grid("paper") if c.protocol == protocol]
    return (
        f"### {DATASET_NAMES[dataset]}\n\n"
        f"No run on protocol `{protocol}` is stored at the `{scale}` scale: its images are "
        "not on the machines that built this book. The SHNet paper's values "
        f"({metric_label('map', topk)}, Table 2):\n\n" + markdown_table(table) + "\n\n"
        + (f"{flagged}\n\n" if flagged else "")
        + f"**What a GPU box needs** (the paper grid has {len(cells)} cells on `{protocol}`: "
        f"{len({c.method for c in cells})} deep methods at "
        f"{'/'.join(str(b) for b in sorted({c.n_bits for c in cells}))} bits):\n\n"
        "1. the images and the list files, in the layout below "
        "(`python -m hashlib_core.data layout` prints it);\n"
        "2. torchvision's ImageNet ResNet50 weights (`--pretrained`, see "
        "[Rerun it](../rerun.md));\n"
        "3. the data check, then the runs (the commands below; how long they take on one "
        "GPU: [Rerun it](../rerun.md)).\n\n"
        f"Layout:\n\n```text\n{LAYOUT[dataset]}\n```\n\nCheck and run:\n\n"
        f"```bash\npython -m hashlib_core.data check {dataset}\n"
        f"python -m hashlib_core.reproduce --scale paper --device cuda --datasets {dataset} "
        "--pretrained /path/to/resnet50.pth\n```\n")


#: what each evaluation option decides, and what its value means (for the reader)
_OPTION_MEANING: dict[str, tuple[str, dict[Any, str]]] = {
    "topk": ("how deep the ranking is read for mAP",
             {None: "the whole database (mAP@ALL), unless the protocol sets a cut-off"}),
    "ties": ("the order of items at the same Hamming distance",
             {"index": "by database index (deterministic)",
              "expected": "the average over all orders"}),
    "empty": ("a query with no relevant item in the database",
              {"zero": "counts 0", "skip": "is left out of the mean"}),
    "denominator": ("what AP@K divides by",
                    {"retrieved": "the relevant items within the top K",
                     "all": "all relevant items"}),
    "radius": ("the Hamming radius of the lookup precision", {}),
    "pn_cutoffs": ("the N of the P@N curve", {None: "1, 5, 10, 20, …, 1,000, then 1,500, …, 5,000"}),
    "average": ("how the P-R curve pools queries",
                {"micro": "pools (query, item) pairs over all queries",
                 "macro": "averages the per-query curves"}),
}


def conventions_table() -> pd.DataFrame:
    """The evaluation conventions as a table for readers: one row per option, what it
    decides, the value every stored number used (read from the code's defaults) and what
    that value means, and the functions that take the option."""
    import ast

    raw = metric_conventions()
    rows = []
    for option, sub in raw.groupby("option", sort=False):
        values = list(dict.fromkeys(sub.default))
        value = ast.literal_eval(values[0]) if len(values) == 1 else None
        decides, meanings = _OPTION_MEANING.get(option, ("", {}))
        if len(values) == 1:
            shown = "not set" if value is None else f"`{value}`" if isinstance(value, str) \
                else f"{value}"
            meaning = meanings.get(value, "")
            shown = f"{shown}: {meaning}" if meaning else shown
        else:
            shown = "; ".join(f"{f}: {v}" for f, v in zip(sub.function, sub.default))
        rows.append({"option": f"`{option}`", "decides": decides, "value used here": shown,
                     "taken by": ", ".join(f"`{f.split('.')[-1]}`" for f in sub.function)})
    return pd.DataFrame(rows, columns=["option", "decides", "value used here", "taken by"])


def protocol_usage(names: list[str], root: str | Path = "results") -> pd.DataFrame:
    """Per protocol and scale: the runs the scale's grid plans on it and the runs stored
    under ``root`` (every kind of run: main, tuning, ablation, ...).

    Returns
    -------
    pandas.DataFrame
        Index: ``names``; columns ``(scale, "planned")`` and ``(scale, "stored")``.
    """
    from hashlib_core.results import load_results
    from hashlib_core.runner import grids

    data = {}
    for scale in grids.SCALES:
        cells = grids.grid(scale)
        stored = load_results(scale, root=root)
        for name in names:
            data.setdefault(name, {})[(scale, "planned")] = sum(c.protocol == name
                                                                 for c in cells)
            data[name][(scale, "stored")] = int((stored.protocol == name).sum()) \
                if len(stored) else 0
    return pd.DataFrame.from_dict(data, orient="index")


def protocols_table(names: list[str], usage: pd.DataFrame) -> pd.DataFrame:
    """One row per protocol: its name, the scales whose grid plans runs on it with the
    runs planned and stored (:func:`protocol_usage`; "no run" where no grid uses it), and
    its description (from :func:`hashlib_core.data.describe_protocol`, one paragraph)."""
    import re

    from hashlib_core.data import describe_protocol

    rows = []
    for name in names:
        u = usage.loc[name]
        scales = sorted({s for s, _ in usage.columns})
        used = [f"`{s}`: {int(u[(s, 'stored')]):,} of {int(u[(s, 'planned')]):,} runs stored"
                + ("" if u[(s, "planned")] else " (none planned)")
                for s in scales if u[(s, "planned")] or u[(s, "stored")]]
        rows.append({"protocol": f"`{name}`", "runs (scale: stored of planned)":
                     "; ".join(used) or "no run planned at any scale",
                     "what it is": re.sub(r"\s*\(topk None\)", "",  # a Python value
                                          " ".join(describe_protocol(name).split()))})
    return pd.DataFrame(rows, columns=["protocol", "runs (scale: stored of planned)",
                                       "what it is"])


def book_protocols_text(results: pd.DataFrame, scale: str) -> str:
    """Which protocol each results page and table of ``scale`` reads, from the grid (the
    DSAH table's methods each on the protocol the grid runs them on) and, per protocol,
    how many runs are stored."""
    from hashlib_core.runner import grids

    def n(p: str) -> str:
        k = int((results.protocol == p).sum()) if len(results) else 0
        return f"{k:,} run{'s' * (k != 1)} stored" if k else "no run stored"

    p = grids.BOOK_PROTOCOLS[scale]["cifar10"]
    where = table_protocols(scale, grids.DSAH_TABLE, [12, 24, 36, 48], p)
    groups: dict[str, list[str]] = {}
    for m in results_order(list(where)):
        groups.setdefault(where[m], []).append(display_name(m))
    dsah = "; ".join(f"{', '.join(ms)} on `{q}` ({n(q)})" for q, ms in groups.items())
    others = "; ".join(f"{DATASET_NAMES[d]} `{grids.BOOK_PROTOCOLS[scale][d]}` "
                       f"({n(grids.BOOK_PROTOCOLS[scale][d])})"
                       for d in grids.DATASETS if d != "cifar10")
    return (f"This book shows the `{scale}` scale. On CIFAR-10, the mAP tables, the "
            f"radius-2 tables and every figure use protocol `{p}` ({n(p)}); the DSAH "
            f"paper's table (precision of the top 5,000) runs {dsah}. The other datasets' "
            f"protocols: {others}.")
