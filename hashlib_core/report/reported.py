"""The numbers the source papers printed, as a tidy table.

The papers' result tables live in one CSV shipped with the package,
``hashlib_core/reference/reported_results.csv``, with the columns
``source,method,dataset,metric,topk,n_bits,value``. :func:`load_reported` reads it and
maps the papers' spellings to this project's names, so that a reported cell can be
joined with a reproduced one from :func:`hashlib_core.results.load_results`:

* ``method``: the registry name (``"CSQ"`` -> ``"csq"``, ``"FATH"`` -> ``"fasth"``);
* ``protocol``: the protocol of :func:`hashlib_core.data.load_protocol` that follows the
  paper's split (``"cifar10"`` -> ``"cifar10-i"``, ``"nuswide"`` -> ``"nuswide-21"``);
* ``metric``: the key of :attr:`hashlib_core.evaluation.EvalResult.scalars`
  (``map``, or ``precision_top5000`` for the DSAH table's "precision of the top 5,000");
* ``topk``: the mAP cut-off as an int, or ``None`` for mAP@ALL (printed ``all``).

>>> from hashlib_core.report.reported import load_reported
>>> df = load_reported()
>>> float(df.query("method == 'csq' and protocol == 'cifar10-i' and n_bits == 64").value.iloc[0])
0.84
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pandas as pd

#: the papers' method spellings -> registry names (:func:`hashlib_core.methods.list_methods`)
METHOD_NAMES: dict[str, str] = {
    "CNNH": "cnnh",
    "DNNH": "dnnh",
    "DHN": "dhn",
    "DPSH": "dpsh",
    "DTSH": "dtsh",
    "HashNet": "hashnet",
    "DCH": "dch",
    "CSQ": "csq",
    "ADSH": "adsh",
    "DAPH": "daph",
    "SHNet": "shnet",
    "DHEH": "dheh",
    "CSDH": "csdh",
    "DSAH": "dsah",
    "LSH": "lsh",
    "SH": "sh",
    "ITQ": "itq",
    "KSH": "ksh",
    "SDH": "sdh",
    "FATH": "fasth",
    "FastH": "fasth",
}

#: the papers' dataset names -> protocol names (:func:`hashlib_core.data.list_protocols`)
DATASET_PROTOCOLS: dict[str, str] = {
    "cifar10": "cifar10-i",
    "imagenet100": "imagenet100",
    "coco": "coco",
    "nuswide": "nuswide-21",
}

#: the papers' metric names (with their cut-off) -> EvalResult.scalars keys
_COLUMNS = ["source", "method", "dataset", "metric", "topk", "n_bits", "value"]

#: human-readable names of the sources (for captions)
SOURCES: dict[str, str] = {
    "shnet_table2": "SHNet paper, Table 2 (mAP)",
    # the poster's caption reads "Top-5K Results" without naming the metric: our reading
    "dsah_table1": "DSAH paper, Table 1 (precision of the top 5,000: our reading of the "
                   "poster's \"Top-5K\")",
}

DEFAULT_PATH = "reference/reported_results.csv"


def _metric_key(metric: str, topk: int | None, where: str) -> str:
    if metric == "map":
        return "map"
    if metric == "precision_top":
        if topk is None:
            raise ValueError(f"{where}: metric 'precision_top' needs a numeric topk, got 'all'")
        return f"precision_top{topk}"
    raise ValueError(f"{where}: unknown metric {metric!r} (known: map, precision_top)")


def load_reported(path: str | Path | None = None) -> pd.DataFrame:
    """Read the papers' printed tables into a tidy DataFrame.

    Parameters
    ----------
    path : str or Path, optional
        A CSV with the columns ``source,method,dataset,metric,topk,n_bits,value``;
        by default the one shipped with the package.

    Returns
    -------
    pandas.DataFrame
        One row per printed cell, with the columns ``source`` (e.g. ``"shnet_table2"``),
        ``paper_method`` and ``paper_dataset`` (as printed), ``method`` (registry name),
        ``protocol`` (protocol name), ``metric`` (an ``EvalResult.scalars`` key:
        ``"map"`` or ``"precision_top5000"``), ``topk`` (int, or ``None`` for mAP@ALL),
        ``n_bits`` (int) and ``value`` (float in [0, 1]).

    Raises
    ------
    ValueError
        On a missing column, an unknown method or dataset, a bad number, or a value
        outside [0, 1]; the message names the file and line.
    """
    if path is None:
        text = resources.files("hashlib_core").joinpath(DEFAULT_PATH).read_text()
        name = f"hashlib_core/{DEFAULT_PATH}"
    else:
        path = Path(path)
        text = path.read_text()
        name = str(path)
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or set(_COLUMNS) - set(reader.fieldnames):
        raise ValueError(f"{name}: header must contain {_COLUMNS}, got {reader.fieldnames}")
    rows = []
    for line, raw in enumerate(reader, start=2):
        where = f"{name}, line {line}"
        if raw["method"] not in METHOD_NAMES:
            raise ValueError(f"{where}: unknown method {raw['method']!r}")
        if raw["dataset"] not in DATASET_PROTOCOLS:
            raise ValueError(f"{where}: unknown dataset {raw['dataset']!r}")
        try:
            topk = None if raw["topk"].strip().lower() == "all" else int(raw["topk"])
            n_bits = int(raw["n_bits"])
            value = float(raw["value"])
        except ValueError as err:
            raise ValueError(f"{where}: bad number in {raw}: {err}") from None
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{where}: value {value} is outside [0, 1]")
        rows.append(
            {
                "source": raw["source"],
                "paper_method": raw["method"],
                "paper_dataset": raw["dataset"],
                "method": METHOD_NAMES[raw["method"]],
                "protocol": DATASET_PROTOCOLS[raw["dataset"]],
                "metric": _metric_key(raw["metric"], topk, where),
                "topk": topk,
                "n_bits": n_bits,
                "value": value,
            }
        )
    df = pd.DataFrame(rows, columns=[
        "source", "paper_method", "paper_dataset", "method", "protocol", "metric",
        "topk", "n_bits", "value",
    ])
    # an int cut-off or None (mAP@ALL): keep Python objects, not a float column with NaN
    df["topk"] = pd.Series([r["topk"] for r in rows], index=df.index, dtype=object)
    dup = df.duplicated(["source", "method", "protocol", "metric", "n_bits"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise ValueError(
            f"{name}: duplicate cell {first['source']}/{first['paper_method']}/"
            f"{first['paper_dataset']}/{first['n_bits']} bits"
        )
    return df


#: the methods each source's table lists (as printed), whether or not every cell could be
#: decoded: the SHNet paper's Table 2 lists CNNH and DNNH on every dataset, but the scan's
#: CIFAR-10 cells of those two rows are illegible, so the CSV has none
LISTED: dict[str, tuple[str, ...]] = {
    "shnet_table2": ("cnnh", "dnnh", "dhn", "dtsh", "hashnet", "dch", "csq", "shnet"),
    "dsah_table1": ("ksh", "sdh", "itq", "fasth", "dnnh", "hashnet", "daph", "adsh", "dsah"),
}

#: cells that look doubtful in the paper itself (the reference README names them): the
#: book flags them beside the value (``(source, method, dataset, n_bits)``)
DOUBTFUL: tuple[tuple[str, str, str, int], ...] = (
    ("shnet_table2", "hashnet", "cifar10", 16),
    ("shnet_table2", "dtsh", "imagenet100", 64),
)


def doubtful_note(reported: pd.DataFrame, source: str, method: str, dataset: str,
                  n_bits: int) -> str:
    """Why a reported cell is flagged (:data:`DOUBTFUL`), with the paper's own values at
    the other code lengths read from ``reported`` ("" when the cell is not flagged)."""
    if (source, method, dataset, n_bits) not in DOUBTFUL:
        return ""
    protocol = DATASET_PROTOCOLS[dataset]
    row = reported[(reported.source == source) & (reported.method == method)
                   & (reported.protocol == protocol)].set_index("n_bits").value.sort_index()
    if n_bits not in row.index:
        return ""
    others = ", ".join(f"{v:.3f} at {b}" for b, v in row.items() if b != n_bits)
    name = next((k for k, v in METHOD_NAMES.items() if v == method), method)
    return (f"the paper's {name} value at {n_bits} bits ({row[n_bits]:.3f}) is an outlier "
            f"of its own table: {others} bits; the scan is partly garbled, and the cell may "
            "be misprinted or misread, so the difference to it says little")


def unprinted(reported: pd.DataFrame, source: str, dataset: str) -> list[str]:
    """Registry names of the methods that ``source``'s table lists (:data:`LISTED`) but
    whose ``dataset`` cells the CSV does not hold (illegible in the scan)."""
    protocol = DATASET_PROTOCOLS[dataset]
    have = set(reported[(reported.source == source) & (reported.protocol == protocol)].method)
    return [m for m in LISTED.get(source, ()) if m not in have]
