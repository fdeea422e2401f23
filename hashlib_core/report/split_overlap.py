"""What the splits share, read from the stored manifests: why the validation mAP runs
above the query mAP, and how many database items carry learned codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashlib_core.runner.grids import DEEP


def validation_gap(results: pd.DataFrame, root: str, *, scale: str, protocol: str,
                   n_bits: int = 32) -> dict:
    """Why the validation mAP runs above the query mAP: the sizes of the two searches,
    read from the stored manifest, and the median over the deep methods' default runs
    at ``n_bits`` of their best validation mAP and of their query mAP@ALL."""
    from hashlib_core.results import iter_records, load_manifest

    out: dict = {"protocol": protocol, "n_bits": n_bits}
    try:
        splits = load_manifest(scale, protocol, root=root).get("splits") or {}
    except (FileNotFoundError, ValueError):
        splits = {}
    for k in ("query", "database", "train", "val"):
        out[k] = (splits.get(k) or {}).get("n")
    if splits.get("database") and splits.get("train"):
        trained = set(splits["train"]["indices"]) | set((splits.get("val") or {})
                                                        .get("indices", []))
        out["db_trained"] = sum(i in trained for i in splits["database"]["indices"])
    rows = []
    for rec in iter_records(root, scale=scale):
        key = rec["key"]
        if key["protocol"] != protocol or key["n_bits"] != n_bits or key["variant"] \
                or key["method"] not in DEEP:
            continue
        vals = [h["val_map"] for h in rec.get("history") or [] if h.get("val_map") is not None]
        q = (rec.get("scalars") or {}).get("map")
        if vals and q is not None:
            rows.append({"method": key["method"], "val": max(vals), "query": float(q)})
    runs = pd.DataFrame(rows, columns=["method", "val", "query"])
    out["runs"] = len(runs)
    out["val_median"] = float(runs.val.median()) if len(runs) else np.nan
    out["query_median"] = float(runs["query"].median()) if len(runs) else np.nan
    per = runs.groupby("method", sort=False).agg(val=("val", "mean"), query=("query", "mean"),
                                                  runs=("val", "size"))
    per["gap"] = per.val - per["query"]
    per["asymmetric"] = [_learns_database_codes(m) for m in per.index]
    out["per_method"] = per.loc[[m for m in DEEP if m in per.index]]
    return out


def _learns_database_codes(method: str) -> bool:
    """Whether ``method`` learns its training items' codes directly and uses them as
    their database codes (:attr:`hashlib_core.methods.base.Method.asymmetric`)."""
    from hashlib_core.methods import get_method_class

    return bool(getattr(get_method_class(method), "asymmetric", False))


def method_gaps_text(gap: dict) -> str:
    """Per method: its best validation mAP minus its query mAP@ALL (mean over its default
    runs), and how the methods that learn their training items' codes directly compare
    with the others, from :func:`validation_gap` (every number computed)."""
    from hashlib_core.report.names import display_name

    per = gap.get("per_method")
    if per is None or per.empty:
        return "No default run of a deep method with a validation history is stored."
    own = per[per.asymmetric]
    rest = per[~per.asymmetric]
    text = (f"Best validation mAP minus query mAP@ALL at {gap['n_bits']} bits, per method "
            "(mean over its default runs): " + ", ".join(
                f"{display_name(m)} {r.gap:+.2f}" for m, r in per.sort_values(
                    "gap", ascending=False).iterrows()) + ".")
    if own.empty or rest.empty:
        return text
    median = float(rest.gap.median())
    top = rest.gap.idxmax()
    gaps = [f"{r.gap:+.2f}" for r in own.itertuples()]
    return text + (
        f" {' and '.join(display_name(m) for m in own.index)}, which learn their training "
        "items' codes directly and search them as the validation database, show "
        f"{'gaps' if len(gaps) > 1 else 'a gap'} of {' and '.join(gaps)}; over the other "
        f"{len(rest)} methods the median gap is {median:+.2f} and the largest "
        f"{rest.gap.max():+.2f} ({display_name(top)}).")


def validation_gap_text(gap: dict) -> str:
    """The training page's explanation of :func:`validation_gap`, with its numbers."""
    p = gap["protocol"]
    if not gap.get("runs"):
        head = ""
    else:
        head = (f"Over the {gap['runs']} default runs of the deep methods at {gap['n_bits']} "
                f"bits, the median best validation mAP is {gap['val_median']:.3f} and the "
                f"median query mAP@ALL {gap['query_median']:.3f}. ")
    if not all(gap.get(k) for k in ("query", "database", "train", "val")):
        return head + (f"The sizes of the splits of `{p}` are not stored, so the two "
                       "searches cannot be compared here. " + method_gaps_text(gap))
    db, trained = gap["database"], gap.get("db_trained")
    unseen = "" if trained is None else (
        f", of which {db - trained:,} were never trained on (the other {trained:,} are "
        f"the training and validation images)")
    return head + (
        f"The two numbers measure different searches. Validation: {gap['val']:,} held-out "
        f"training images (the validation split) search the {gap['train']:,} images the "
        f"network trains on, whose codes the loss has fitted to their labels. Test: the "
        f"{gap['query']:,} queries search the {db:,}-image database{unseen}, encoded by "
        f"the network like the queries themselves. Both sets of queries are unseen images; "
        f"the difference is the database, so the validation mAP is expected to be the "
        f"higher number. It is used only to choose epochs and settings, never as a "
        f"result. " + method_gaps_text(gap))


def learned_share_text(root: str, *, scale: str, protocol: str) -> str:
    """How many database items of a protocol are training items, i.e. carry the codes an
    asymmetric method (ADSH, DSAH) learns directly; the rest are encoded. Read
    from the protocol manifest stored with the runs."""
    from hashlib_core.results import load_manifest

    try:
        splits = load_manifest(scale, protocol, root=root).get("splits")
    except FileNotFoundError:
        splits = None
    if not splits or "train" not in splits or "database" not in splits:
        return (f"No manifest with the splits of protocol `{protocol}` is stored at scale "
                f"`{scale}`, so the share of database items with learned codes is unknown.")
    train = set(splits["train"]["indices"])
    n_db = splits["database"]["n"]
    shared = sum(i in train for i in splits["database"]["indices"])
    return (f"In protocol `{protocol}` {shared:,} of the {n_db:,} database items are "
            f"training items with learned codes; the network encodes the other "
            f"{n_db - shared:,}.")
