"""Is the training schedule long enough: the validation curves' rise at the end of
training, and what the budget-check runs (a longer schedule) change on the queries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashlib_core.report.learning import MAX_LATE_GAIN, late_fraction
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
                f"more over the last {late_fraction():.0%} of its epochs: the schedule is "
                "long enough for all of them.")
    return (f"{len(rising)} of {len(conv)} methods still gained {MAX_LATE_GAIN} validation "
            f"mAP or more over the last {late_fraction():.0%} of their epochs: "
            f"{', '.join(rising)}. Their "
            "validation mAP would likely rise further with more epochs; the budget check "
            "below measures what that changes on the queries.")


def schedule_intro_text(*, scale: str, n_bits: int = 32) -> str:
    """The opening of the schedule section: what the table shows, with the bar for "still
    rising" (:data:`~hashlib_core.report.learning.MAX_LATE_GAIN`) and the share of the
    epochs it is measured over, from the code."""
    return (f"Every deep method gets the same `{scale}` schedule (the number of epochs is in "
            f"the table). The validation mAP of each method's {n_bits}-bit run, first and "
            f"last, and its rise over the last {late_fraction():.0%} of the epochs (a method "
            f"counts as still rising at {MAX_LATE_GAIN} or more). The run keeps its best "
            "epoch by validation mAP, so a late dip costs nothing.")


def format_convergence(conv: pd.DataFrame) -> pd.DataFrame:
    """:func:`convergence` for the page: numbers formatted, linked method names, headers
    that say the rise is seed 0's (the learning table's is the largest over the seeds)."""
    from hashlib_core.report.learning import late_fraction
    from hashlib_core.report.markdown import format_numbers
    from hashlib_core.report.names import method_link

    return format_numbers(conv).rename(index=method_link).rename(columns={
        "epochs": "epochs", "val_first": "first validation mAP",
        "val_last": "last validation mAP",
        "gain_last": f"rise over the last {late_fraction():.0%} of epochs (seed 0)",
        "still_rising": "still rising"}).rename_axis("method")


def convergence_caption(root: str, *, scale: str, protocol: str, n_bits: int = 32) -> str:
    """The start of the schedule table's caption: the validation search (its size read
    from the stored manifest) and that the table shows seed 0 alone."""
    from hashlib_core.results import load_manifest

    try:
        n_val = ((load_manifest(scale, protocol, root=root).get("splits") or {})
                 .get("val") or {}).get("n")
    except (FileNotFoundError, ValueError):
        n_val = None
    queries = f"{n_val:,} validation queries" if n_val else "the validation queries"
    return (f"Validation mAP ({queries} against the training items), {n_bits} bits, seed 0 "
            f"alone (the learning table above takes the largest rise over the seeds, so "
            f"its rise can be larger), protocol `{protocol}`, scale `{scale}`")


def budget_intro_text(check: pd.DataFrame, *, scale: str) -> str:
    """The paragraph before the budget check: why a rising validation curve does not say
    by itself what a longer schedule buys, and what the budget check runs. The epochs are
    the stored runs' (:func:`budget_check`) where both are stored, else
    :data:`~hashlib_core.runner.grids.BUDGET_EPOCHS` and the scale's preset."""
    from hashlib_core.report.learning import late_fraction
    from hashlib_core.runner.grids import BUDGET_EPOCHS, BUDGET_METHODS, TUNE_BITS, TUNE_SEED
    from hashlib_core.scales import preset

    schedule = {preset(scale, m).get("lr_schedule") for m in BUDGET_METHODS}
    if len(check):
        short_n, long_n = int(check.epochs.iloc[0]), int(check.epochs_long.iloc[0])
        source = "as the stored runs have it"
    else:
        epochs = {preset(scale, m)["epochs"] for m in BUDGET_METHODS}
        short_n, long_n = (epochs.pop() if len(epochs) == 1 else None), BUDGET_EPOCHS
        source = "as the grid plans it; no pair of runs is stored yet"
    share = f"{late_fraction():.0%}"
    names = " and ".join(display_name(m) for m in BUDGET_METHODS)
    instead = f" instead of {short_n}" if short_n else " instead of their default schedule"
    text = (
        "A rise of the validation curve near the end does not say by itself how much a "
        "longer schedule would change the results. The validation database is the "
        "training items, so the validation mAP also rewards fitting the training set ever "
        "more closely, which the queries, searched against a database of mostly unseen "
        "images, do not; and the validation mAP of a few hundred queries moves from one "
        f"evaluation to the next. The budget check measures it: {names} at {TUNE_BITS} "
        f"bits, seed {TUNE_SEED}, with their tuned settings, trained for {long_n} "
        f"epochs{instead} ({source}), then evaluated on the queries like every other "
        f"run; they are the seed-{TUNE_SEED} runs of the {long_n}-epoch runs on which the "
        "[claims page](claims) judges its pairwise claims.")
    if schedule == {"cosine"}:
        text += (
            f" At the `{scale}` scale every run's learning rate follows a cosine schedule "
            "stretched over its own length, so the longer run is not the default run "
            f"continued: it anneals later, and its last {share} of epochs again fall in the "
            f"low-learning-rate end of the schedule. If the rise over the last {share} is no "
            f"smaller at {long_n} epochs than at {short_n or 'the default length'}, that "
            "rise comes with the "
            "annealing itself, and a longer budget does not remove it.")
    return text


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


def claims_budget_text(root: str, *, scale: str) -> str:
    """One sentence on what twice the default epochs changed on the [claims page](claims):
    the pairwise verdicts it changed (the rows of the default runs against the claims' of
    :func:`hashlib_core.report.claim_checks.budget_robustness`, the claims page's Table 1),
    and that the pairwise claims are therefore judged at the claims' epochs; "" at a scale
    whose claims are judged on the default runs, or without those runs."""
    from hashlib_core.report.claim_checks import budget_change, budget_robustness
    from hashlib_core.runner.grids import claim_variant

    if claim_variant(scale) is None:
        return ""
    change = budget_change(budget_robustness(root, scale, main=None,
                                             long=claim_variant(scale)))
    if change is None:
        return ""
    short, long, moved = change
    names = ", ".join(moved[:-1]) + " and " + moved[-1] if len(moved) > 1 else "".join(moved)
    changed = (f"changed the verdict{'s' if len(moved) > 1 else ''} of {names}" if moved
               else "changed no pairwise verdict")
    return (f"On the [claims page](claims), twice the default {short} epochs ({long}) "
            f"{changed}, so the pairwise claims are judged on {long}-epoch runs; the "
            f"results tables, figures and rankings stay at {short} epochs.")
