"""Reported beside reproduced: the papers' numbers next to the mean over seeds of the
stored default runs, per method and code length.

Every function reads the tidy frames of :func:`hashlib_core.results.load_results` and
:func:`hashlib_core.report.reported.load_reported`; nothing here trains or reads images. A
missing cell (a run not yet in the store, a cell the paper did not print) is NaN in the
numeric tables and "—" in the formatted ones; nothing raises because a grid is
unfinished.
"""

from __future__ import annotations

import pandas as pd

from hashlib_core.report.grid_status import count_runs
from hashlib_core.report.markdown import MISSING, format_value
from hashlib_core.report.names import DATASET_NAMES, display_name, metric_label
from hashlib_core.runner.grids import REPORTED_PROTOCOLS


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
            val = format_value(r["mean"])
            if r.n_seeds > 1:
                val = f"{val} ± {r['std']:.3f} ({int(r.n_seeds)})"
            cells[(col, reported_name)] = format_value(r.reported)
            cells[(col, "here")] = val
            cells[(col, "Δ")] = format_value(r.difference, signed=True)
        rows[display_name(method)] = cells
    columns = pd.MultiIndex.from_product(
        [[f"{b} bits" for b in bits], [reported_name, "here", "Δ"]])
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)


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
