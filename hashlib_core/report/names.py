"""How the book names things: methods, datasets and metrics as the papers spell them,
formulas as inline math, the order of the methods in a table and the links to their pages.
"""

from __future__ import annotations

from pathlib import Path

from hashlib_core.runner.grids import DEEP, SHALLOW

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


def method_link(method: str, *, base: str = "../methods/") -> str:
    """Markdown link from a generated page to a method's page (shallow methods share one);
    ``method`` is a registry name or the papers' spelling (``"fasth"`` or ``"FastH"``)."""
    method = {v: k for k, v in DISPLAY_NAMES.items()}.get(method, method)
    page = "shallow" if method in SHALLOW else method
    if not (_REPO / "book" / "methods" / f"{page}.md").is_file():
        return display_name(method)
    return f"[{display_name(method)}]({base}{page}.md)"


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
