"""Is the training schedule long enough: the validation curves' rise at the end of
training, and what the budget-check runs (a longer schedule) change on the queries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashlib_core.report.learning import MAX_LATE_GAIN
from hashlib_core.report.names import display_name
from hashlib_core.runner.grids import DEEP


def convergence(root: str, *, scale: str, protocol: str, n_bits: int = 32,
                fraction: float = 0.2) -> pd.DataFrame:
    """Validation mAP over training, per deep method (default variant, seed 0).

    Returns
    -------
    pandas.DataFrame
        Index: methods (display names), best final first; columns ``epochs``,
        ``val_first`` (first validation), ``val_last`` (last), ``gain_last`` (the rise
        over the last ``fraction`` of the epochs, :func:`hashlib_core.runner.tuning.late_gain`)
        and ``still_rising`` (``gain_last`` at least :data:`~hashlib_core.report.learning.MAX_LATE_GAIN`: more epochs
        would likely help).
    """
    from hashlib_core.results import iter_records
    from hashlib_core.runner.tuning import late_gain

    cols = ["epochs", "val_first", "val_last", "gain_last", "still_rising"]
    rows = {}
    for rec in iter_records(root, scale=scale):
        key = rec["key"]
        if (key["protocol"], key["n_bits"], key["seed"], key["variant"]) != \
                (protocol, n_bits, 0, None) or key["method"] not in DEEP:
            continue
        history = rec.get("history") or []
        vals = [(h["epoch"], h["val_map"]) for h in history if h.get("val_map") is not None]
        if not vals:
            continue
        gain = late_gain(history, fraction)
        rows[display_name(key["method"])] = {
            "epochs": max(h["epoch"] for h in history) + 1, "val_first": vals[0][1],
            "val_last": vals[-1][1], "gain_last": gain,
            "still_rising": None if np.isnan(gain) else bool(gain >= MAX_LATE_GAIN)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    return out.sort_values("val_last", ascending=False) if len(out) else out


def convergence_text(conv: pd.DataFrame) -> str:
    """One sentence naming the methods still improving at the end of their schedule."""
    if conv.empty:
        return "No deep run with a validation history is stored."
    rising = [m for m, r in conv.iterrows() if r.still_rising]
    if not rising:
        return (f"None of the {len(conv)} methods gained {MAX_LATE_GAIN} validation mAP or "
                f"more over the last 20% of its epochs: the schedule is long enough for all "
                "of them.")
    return (f"{len(rising)} of {len(conv)} methods still gained {MAX_LATE_GAIN} validation "
            f"mAP or more over the last 20% of their epochs: {', '.join(rising)}. Their "
            "validation mAP would likely rise further with more epochs; the budget check "
            "below measures what that changes on the queries.")


def budget_check(results: pd.DataFrame, root: str, *, scale: str, protocol: str) -> pd.DataFrame:
    """What a longer schedule buys: each budget-check run (:data:`hashlib_core.runner.grids.
    BUDGET_METHODS` at the tuning length and seed, :data:`~hashlib_core.runner.grids.BUDGET_EPOCHS`
    epochs) against the same method's default run of the same code length and seed.

    Returns
    -------
    pandas.DataFrame
        Index: methods with both runs; columns ``epochs`` and ``epochs_long``, ``map`` and
        ``map_long`` (mAP@ALL on the queries), ``map_change``, ``val`` and ``val_long``
        (best validation mAP), ``late_gain`` and ``late_gain_long`` (the rise over the last
        20% of each run's epochs) and ``seed_std`` (the standard deviation of the method's
        default runs over seeds at that code length; NaN with one seed).
    """
    from hashlib_core.runner.grids import (
        BUDGET_EPOCHS,
        BUDGET_METHODS,
        TUNE_BITS,
        TUNE_SEED,
        budget_variant,
    )
    from hashlib_core.runner.tuning import convergence_table

    cols = ["epochs", "epochs_long", "map", "map_long", "map_change", "val", "val_long",
            "late_gain", "late_gain_long", "seed_std"]
    if results.empty:
        return pd.DataFrame(columns=cols)
    conv = convergence_table(root, scale=scale)
    long_name = budget_variant(BUDGET_EPOCHS)
    rows = {}
    for m in BUDGET_METHODS:
        sel = results[(results.protocol == protocol) & (results.method == m)
                      & (results.n_bits == TUNE_BITS)]
        base = sel[sel.variant.isna() & (sel.seed == TUNE_SEED)]
        long = sel[(sel.variant == long_name) & (sel.seed == TUNE_SEED)]
        if base.empty or long.empty:
            continue
        c = conv[(conv.protocol == protocol) & (conv.method == m) & (conv.n_bits == TUNE_BITS)
                 & (conv.seed == TUNE_SEED)]
        c_base, c_long = c[c.variant.isna()], c[c.variant == long_name]
        if c_base.empty or c_long.empty:
            continue
        seeds = sel[sel.variant.isna()]["map"]
        rows[m] = {"epochs": int(c_base.epochs.iloc[0]), "epochs_long": int(c_long.epochs.iloc[0]),
                   "map": float(base["map"].iloc[0]), "map_long": float(long["map"].iloc[0]),
                   "val": float(c_base.best_val_map.iloc[0]),
                   "val_long": float(c_long.best_val_map.iloc[0]),
                   "late_gain": float(c_base.late_gain.iloc[0]),
                   "late_gain_long": float(c_long.late_gain.iloc[0]),
                   "seed_std": float(seeds.std(ddof=1)) if len(seeds) > 1 else np.nan}
        rows[m]["map_change"] = rows[m]["map_long"] - rows[m]["map"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


def budget_text(check: pd.DataFrame) -> str:
    """Sentences on the budget check: the change in mAP@ALL a longer schedule brings,
    against the seed spread, and whether the validation curve is flat by then."""
    from hashlib_core.runner.grids import BUDGET_EPOCHS, BUDGET_METHODS

    if check.empty:
        return (f"The budget check ({', '.join(display_name(m) for m in BUDGET_METHODS)} "
                f"trained for {BUDGET_EPOCHS} epochs) has no run yet, so what a longer "
                "schedule buys is open.")
    out = []
    for m, r in check.iterrows():
        noise = ("" if np.isnan(r.seed_std) else
                 f" (its seed-to-seed standard deviation: {r.seed_std:.3f}; the change is "
                 f"{'within' if abs(r.map_change) <= 2 * r.seed_std else 'beyond'} two of them)")
        out.append(f"{display_name(m)} trained for {int(r.epochs_long)} instead of {int(r.epochs)} "
                   f"epochs: mAP@ALL {r['map']:.3f} → {r.map_long:.3f}, a change of "
                   f"{r.map_change:+.3f}{noise}; best validation mAP {r.val:.3f} → "
                   f"{r.val_long:.3f}; rise over the last 20% of the epochs "
                   f"{r.late_gain:.3f} → {r.late_gain_long:.3f}.")
    return " ".join(out)
