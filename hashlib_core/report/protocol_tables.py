"""The protocols page's tables: the evaluation conventions read from the code, the
protocols with their runs planned and stored, and which protocol each results table reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from hashlib_core.report.names import DATASET_NAMES, display_name, results_order
from hashlib_core.report.results_tables import table_protocols


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


def pn_cutoffs_text(cutoffs=None) -> str:
    """The cut-offs N of the P@N curve in words, read from
    :data:`hashlib_core.evaluation.DEFAULT_PN_CUTOFFS` (or ``cutoffs``): each run of equal
    steps as "a, b, …, z", a change of step after such a run as ", then ", e.g.
    ``"1, 5, 10, 20, …, 1,000, then 1,500, 2,000, …, 5,000"``."""
    from hashlib_core.evaluation import DEFAULT_PN_CUTOFFS

    c = [int(x) for x in (DEFAULT_PN_CUTOFFS if cutoffs is None else cutoffs)]
    groups, i = [], 0
    while i < len(c):
        j = i + 1
        while j + 1 < len(c) and c[j + 1] - c[j] == c[i + 1] - c[i]:
            j += 1
        groups.append(c[i:j + 1])
        i = j + 1
    out = ""
    for k, g in enumerate(groups):
        words = ([f"{g[0]:,}", f"{g[1]:,}", "…", f"{g[-1]:,}"] if len(g) > 3
                 else [f"{n:,}" for n in g])
        sep = "" if not k else ", then " if len(groups[k - 1]) > 3 else ", "
        out += sep + ", ".join(words)
    return out


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
    "pn_cutoffs": ("the N of the P@N curve", {None: pn_cutoffs_text()}),
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
                     "what it is": re.sub(  # reStructuredText ``code`` -> Markdown `code`
                         r"``([^`]+)``", r"`\1`",
                         re.sub(r"\s*\(topk None\)", "",  # a Python value
                                " ".join(describe_protocol(name).split())))})
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
            f"paper's table (precision of the top 5,000, our reading of the poster's "
            f"\"Top-5K\") runs {dsah}. The other datasets' "
            f"protocols: {others}.")
