"""The cpu scale's tuning and convergence, read from the stored runs.

Every deep method gets the same tuning budget (:data:`hashlib_core.runner.grids.TUNE_CONFIGS`:
four optimiser settings at 32 bits, seed 0, stored as runs whose variant is
``tune-<optimizer>-lr<lr>``). :func:`tuning_table` lists them with their validation mAP
(the best epoch's; the query split plays no part), :func:`tuned_settings` gives a method's
winner, which :mod:`hashlib_core.runner.cli` applies to all its other cells.
:func:`late_gain` measures whether a run had converged: the rise of its validation mAP
over the last 20% of its epochs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashlib_core.runner.grids import (
    BOOK_PROTOCOLS,
    DEEP,
    TUNE_BITS,
    TUNE_CONFIGS,
    TUNE_SEED,
    tune_variant,
)


def tuning_table(root, scale: str = "cpu", protocol: str | None = None):
    """The tuning runs of ``root`` with their validation mAP (best epoch), one row each.

    Columns ``method, optimizer, lr, variant, val_map, best_epoch, epochs, winner``; the
    winner of each method is its run with the best validation mAP, the first of
    :data:`TUNE_CONFIGS` on ties; ``winner`` is False for every run of a method whose
    tuning is incomplete.
    """
    protocol = protocol or BOOK_PROTOCOLS[scale]["cifar10"]
    rows = []
    for m in DEEP:
        for order, (opt, lr) in enumerate(TUNE_CONFIGS):
            rec = _tune_record(root, scale, protocol, m, opt, lr, TUNE_SEED)
            if rec is None:
                continue
            rows.append({"method": m, "optimizer": opt, "lr": lr,
                         "variant": tune_variant(opt, lr), "order": order,
                         "val_map": best_val_map(rec),
                         "best_epoch": rec.get("best_epoch"),
                         "epochs": rec.get("config", {}).get("epochs")})
    cols = ["method", "optimizer", "lr", "variant", "val_map", "best_epoch", "epochs", "winner"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows)
    df["winner"] = winners(df, value="val_map")
    return df[cols]


def _tune_record(root, scale: str, protocol: str, method: str, opt: str, lr: float,
                 seed: int) -> dict[str, Any] | None:
    """The record of a tuning run, or None when it is absent, unreadable or made before
    its method's current revision (not a finished tuning run of the current code)."""
    from hashlib_core.results import read_record, record_dir
    from hashlib_core.results.revisions import stale_revision

    folder = record_dir(root, scale=scale, protocol=protocol, method=method, n_bits=TUNE_BITS,
                        seed=seed, variant=tune_variant(opt, lr))
    try:
        record = read_record(folder)
    except (OSError, ValueError):
        return None
    return None if stale_revision(record) else record


def best_val_map(record: dict[str, Any] | None) -> float:
    """A run's best validation mAP over its history (NaN without one): the value every
    tuning decision is made on (the query split plays no part)."""
    vals = [h["val_map"] for h in (record or {}).get("history", []) if h.get("val_map") is not None]
    return max(vals) if vals else float("nan")


def winners(table: pd.DataFrame, *, value: str) -> pd.Series:
    """The grid's rule, as a boolean column of ``table`` (columns ``method``, ``variant``
    and ``value``, one row per tuning run): a method's winner is its run with the highest
    ``value`` once all of :data:`TUNE_CONFIGS` have run with a value, ties to the first
    of them; a method with missing runs has none. The book's tuning page uses it too."""
    rank = {tune_variant(o, lr): i for i, (o, lr) in enumerate(TUNE_CONFIGS)}
    out = pd.Series(False, index=table.index)
    for _method, group in table.groupby("method", sort=False):
        if len(group) == len(TUNE_CONFIGS) and group[value].notna().all():
            group = group.assign(_rank=group["variant"].map(rank).fillna(len(rank)))
            out[group.sort_values([value, "_rank"], ascending=[False, True]).index[0]] = True
    return out


def tie_check(root, scale: str = "cpu", protocol: str | None = None) -> pd.DataFrame:
    """The tie rule (:data:`hashlib_core.runner.grids.TUNE_TIES`): for each method with near-tied
    settings, their validation mAP at seed 0 and at the tie seed, the mean, and whether the
    best mean picks another winner than seed 0 alone (``changes``: "yes", "no", or
    "pending" while a tie run is missing).

    Returns
    -------
    pandas.DataFrame
        Columns ``method, optimizer, lr, val_seed0, val_seed1, val_mean, winner_seed0,
        winner_mean, changes``.
    """
    from hashlib_core.runner.grids import TUNE_TIE_SEED, TUNE_TIES, TUNED_SCALES

    cols = ["method", "optimizer", "lr", "val_seed0", "val_seed1", "val_mean",
            "winner_seed0", "winner_mean", "changes"]
    if scale not in TUNED_SCALES:  # the smoke and paper scales use their presets
        return pd.DataFrame(columns=cols)
    protocol = protocol or BOOK_PROTOCOLS[scale]["cifar10"]

    def val(method: str, opt: str, lr: float, seed: int) -> float:
        return best_val_map(_tune_record(root, scale, protocol, method, opt, lr, seed))

    rows = []
    for method, ties in TUNE_TIES.items():
        group = [{"method": method, "optimizer": opt, "lr": lr,
                  "val_seed0": val(method, opt, lr, TUNE_SEED),
                  "val_seed1": val(method, opt, lr, TUNE_TIE_SEED)} for opt, lr in ties]
        for g in group:
            g["val_mean"] = (g["val_seed0"] + g["val_seed1"]) / 2
        first = max(range(len(group)), key=lambda i: group[i]["val_seed0"])
        done = all(np.isfinite(g["val_mean"]) for g in group)
        best = max(range(len(group)), key=lambda i: group[i]["val_mean"]) if done else None
        for i, g in enumerate(group):
            g.update({"winner_seed0": i == first, "winner_mean": i == best,
                      "changes": "pending" if not done else ("yes" if best != first else "no")})
        rows += group
    return pd.DataFrame(rows, columns=cols)


def tuned_settings(method: str, root, scale: str = "cpu") -> dict[str, Any] | None:
    """The winning tuning settings of a method (``{"optimizer": ..., "lr": ...}``), or None
    while its tuning runs are incomplete: the best seed-0 validation mAP, except for a
    method with near-tied settings (:data:`hashlib_core.runner.grids.TUNE_TIES`) whose seed-1
    runs are all stored, where the best two-seed mean wins (:func:`tie_check`)."""
    df = tuning_table(root, scale)
    win = df[(df["method"] == method) & df["winner"]]
    if win.empty:
        return None
    row = win.iloc[0]
    out = {"optimizer": str(row["optimizer"]), "lr": float(row["lr"])}
    ties = tie_check(root, scale)
    mine = ties[(ties.method == method) & ties.winner_mean]
    if len(mine) and mine.changes.iloc[0] != "pending":
        out = {"optimizer": str(mine.optimizer.iloc[0]), "lr": float(mine.lr.iloc[0])}
    return out



def late_gain(history: list[dict[str, Any]], fraction: float = 0.2) -> float:
    """How much the validation mAP rose over the last ``fraction`` of a run's epochs.

    The best validation mAP at or after the first epoch of that window, minus the last
    validation mAP before it (NaN when either is missing). Below 0.005 the run counts as
    converged (issue 13's criterion).

    Examples
    --------
    >>> h = [{"epoch": e, "val_map": v} for e, v in enumerate([0.1, 0.3, 0.5, 0.6, 0.61])]
    >>> round(late_gain(h), 3)
    0.01
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    points = [(h["epoch"], h["val_map"]) for h in history if h.get("val_map") is not None]
    if not points:
        return float("nan")
    n_epochs = max(h["epoch"] for h in history) + 1
    start = n_epochs - int(round(fraction * n_epochs))
    before = [v for e, v in points if e < start]
    within = [v for e, v in points if e >= start]
    if not before or not within:
        return float("nan")
    return float(max(within) - before[-1])


def convergence_table(root: str | Path, scale: str = "cpu", fraction: float = 0.2) -> pd.DataFrame:
    """One row per stored deep run of ``scale``: epochs, best epoch, final and best
    validation mAP and :func:`late_gain` (columns ``method, protocol, variant, n_bits, seed,
    epochs, best_epoch, best_val_map, late_gain``)."""
    from hashlib_core.results import iter_records

    rows = []
    for rec in iter_records(root, scale=scale):
        history = rec.get("history") or []
        vals = [h["val_map"] for h in history if h.get("val_map") is not None]
        if not vals:
            continue  # shallow methods: no epochs
        key = rec["key"]
        rows.append({"method": key["method"], "protocol": key["protocol"],
                     "variant": key["variant"], "n_bits": key["n_bits"], "seed": key["seed"],
                     "epochs": len(history), "best_epoch": rec.get("best_epoch"),
                     "best_val_map": float(np.max(vals)),
                     "late_gain": late_gain(history, fraction)})
    cols = ["method", "protocol", "variant", "n_bits", "seed", "epochs", "best_epoch",
            "best_val_map", "late_gain"]
    return pd.DataFrame(rows, columns=cols)
