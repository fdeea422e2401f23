"""Tables of the book: reported beside reproduced, ablations, run counts.

Every function reads the tidy frames of :func:`hashlib_core.results.load_results` and
:func:`hashlib_core.reported.load_reported`; nothing here trains or reads images. A
missing cell (a run not yet in the store, a cell the paper did not print) is NaN in the
numeric tables and "—" in the formatted ones; nothing raises because a grid is
unfinished.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashlib_core.grids import REPORTED_PROTOCOLS, GridCell

MISSING = "—"

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
        From :func:`hashlib_core.reported.load_reported`.
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
    """Floats as fixed-point strings and NaN as "—" (integers kept)."""
    out = table.copy().astype(object)
    for col in table.columns:
        if pd.api.types.is_float_dtype(table[col]):
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
    from hashlib_core import grids
    from hashlib_core.reported import SOURCES

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
    """Every stored run of a protocol with its main metrics and wall time."""
    cols = ["method", "variant", "n_bits", "seed", "map", "precision_top5000",
            "precision_r2", "mac", "wall_time_s", "device"]
    if results.empty:
        return pd.DataFrame(columns=cols)
    sel = results[results.protocol == protocol].copy()
    sel["method"] = sel.method.map(display_name)
    sel["variant"] = sel.variant.fillna("")
    for c in cols:
        if c not in sel.columns:
            sel[c] = np.nan
    sel = sel[cols].sort_values(["method", "variant", "n_bits", "seed"])
    sel = format_numbers(sel.reset_index(drop=True))
    sel["wall_time_s"] = [x if x == MISSING else f"{float(x):.0f}" for x in sel.wall_time_s]
    return sel.rename(columns={"wall_time_s": "wall time (s)"}).set_index("method")


def fill_in_command(dataset: str) -> str:
    """Markdown: the exact command that fills the reproduced columns of ``dataset``."""
    from hashlib_core import grids

    protocol = grids.BOOK_PROTOCOLS["paper"][dataset]
    return (
        f"The images of {DATASET_NAMES[dataset]} are not on the machine that built this "
        f"book, so its reproduced columns are empty. On a machine that has them (see "
        f"*Rerun it*), this command trains every cell of the `paper` grid on `{protocol}`, "
        f"stores the records under `results/paper/{protocol}/` and rebuilds the book:\n\n"
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
