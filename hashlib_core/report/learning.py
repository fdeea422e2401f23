"""The learning check: every deep method against the bars a method trained from scratch
should clear (mAP, code health, a flat validation curve), and the sentences on it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashlib_core.report.names import display_name
from hashlib_core.runner.grids import DEEP

#: issue 13's bars for a from-scratch method that learns (cpu scale, 32 bits)
MIN_MAP = 0.40
MIN_MEDIAN_MAP = 0.50
MAX_MAC = 0.35
MIN_DISTINCT_SHARE = 29 / 32  # distinct bits (up to sign) per bit of the code
MAX_LATE_GAIN = 0.005  # validation mAP rise over the last 20% of the epochs
MAX_DPSH_DHN_GAP = 0.05  # DPSH and DHN share the pairwise likelihood


def late_fraction() -> float:
    """The share of the epochs over which the rise of the validation mAP is measured (the
    default of :func:`hashlib_core.runner.tuning.late_gain`)."""
    import inspect

    from hashlib_core.runner.tuning import late_gain

    return float(inspect.signature(late_gain).parameters["fraction"].default)


def bars_text(*, n_bits: int = 32) -> str:
    """The learning check's bars in words, from the constants of this module and
    :data:`hashlib_core.report.code_health.FLAG_SHARE` (nothing typed twice)."""
    from hashlib_core.metrics.redundancy import EFFECTIVE_VARIANCE
    from hashlib_core.report.code_health import FLAG_SHARE

    return (
        "Beating LSH is too low a bar: a method whose codes have collapsed onto a few bits "
        "can still clear it. A method trained from scratch on protocol I should, at "
        f"{n_bits} bits, reach an mAP@ALL of at least {MIN_MAP:.2f} (and the median "
        f"across methods at least {MIN_MEDIAN_MAP:.2f}), give query codes with at least "
        f"{int(np.ceil(MIN_DISTINCT_SHARE * n_bits - 1e-9))} of their {n_bits} bits "
        f"distinct up to sign, at least {int(np.ceil(FLAG_SHARE * n_bits - 1e-9))} "
        f"effective bits ({FLAG_SHARE:.0%} of the length; the number of principal "
        f"components that explain {EFFECTIVE_VARIANCE:.0%} of the codes' variance: bits "
        "that nearly copy one another count once) and a mean absolute correlation between "
        f"bits of at most {MAX_MAC:.2f} (this bar's mAC is over all bits of the query "
        "codes, the worst seed's; the bit-correlation page's matrices and the claims page "
        "use the database codes' mAC), and end its schedule with a flat "
        f"validation curve (a rise below {MAX_LATE_GAIN} over the last "
        f"{late_fraction():.0%} of its epochs). DPSH and DHN share the pairwise "
        f"likelihood, so they should land within {MAX_DPSH_DHN_GAP} of each other. A "
        "method that misses a bar is suspect first; its method page says what was "
        "measured.")


def learning_caption(*, n_bits: int, protocol: str, scale: str) -> str:
    """The start of the learning table's caption: what each column aggregates over the
    seeds (the rise is the largest over the seeds, unlike the schedule table's, which is
    seed 0's)."""
    return (f"{n_bits} bits, protocol `{protocol}`, scale `{scale}`; mAP@ALL: the mean over "
            "the seeds of the default runs; bits and mAC: the worst seed's query codes; "
            f"rise: of the validation mAP over the last {late_fraction():.0%} of the epochs, "
            "the largest over the seeds (the schedule table below gives seed 0's)")


def learning_check(results: pd.DataFrame, root: str, *, scale: str, protocol: str,
                   n_bits: int = 32) -> pd.DataFrame:
    """Does every deep method learn? Each method's default runs at ``n_bits`` against
    the bars a method trained from scratch should clear (issue 13): mean mAP@ALL over
    seeds at least :data:`MIN_MAP`; query codes with at least :data:`MIN_DISTINCT_SHARE`
    of their bits distinct up to sign, an mAC of at most :data:`MAX_MAC` and at least
    :data:`hashlib_core.report.code_health.FLAG_SHARE` of their length in effective bits
    (:func:`hashlib_core.metrics.effective_bits`: a code whose bits nearly copy one
    another has all its bits distinct and a low mAC, and still carries few bits; the
    worst seed counts); validation mAP flat at the end (:func:`hashlib_core.runner.tuning.late_gain`
    below :data:`MAX_LATE_GAIN`, worst seed).

    Returns
    -------
    pandas.DataFrame
        Index: deep methods with a run, in registry order; columns ``map``, ``seeds``,
        ``distinct_bits``, ``mac``, ``effective_bits``, ``late_gain`` and one bool per
        bar (``map_ok``, ``bits_ok``, ``mac_ok``, ``eff_ok``, ``flat_ok``; None where the
        value is missing), then ``fails`` (the bars missed, as text).
    """
    from hashlib_core.report.code_health import FLAG_SHARE
    from hashlib_core.runner.tuning import convergence_table

    cols = ["map", "seeds", "distinct_bits", "mac", "effective_bits", "late_gain", "map_ok",
            "bits_ok", "mac_ok", "eff_ok", "flat_ok", "fails"]
    if results.empty:
        return pd.DataFrame(columns=cols)
    sel = results[(results.protocol == protocol) & (results.n_bits == n_bits)
                  & results.variant.isna() & results.method.isin(DEEP)]
    conv = convergence_table(root, scale=scale)
    conv = conv[(conv.protocol == protocol) & (conv.n_bits == n_bits) & conv.variant.isna()]
    min_bits = int(np.ceil(MIN_DISTINCT_SHARE * n_bits - 1e-9))
    rows = {}
    for m in DEEP:
        runs = sel[sel.method == m]
        if runs.empty:
            continue
        gains = conv[conv.method == m].late_gain.dropna()
        # records made before code health was stored have no such column: NaN
        bits = runs["query_distinct_bits"].min() if "query_distinct_bits" in runs else np.nan
        row = {"map": runs["map"].mean(), "seeds": len(runs), "distinct_bits": bits,
               "mac": runs["query_mac"].max() if "query_mac" in runs else np.nan,
               # records made before issue 24 (and not backfilled): NaN, the bar unknown
               "effective_bits": runs["query_effective_bits"].min()
               if "query_effective_bits" in runs else np.nan,
               "late_gain": gains.max() if len(gains) else np.nan}
        bars = {"map_ok": ("map", lambda v: v >= MIN_MAP, "mAP"),
                "bits_ok": ("distinct_bits", lambda v: v >= min_bits, "distinct bits"),
                "mac_ok": ("mac", lambda v: v <= MAX_MAC, "mAC"),
                "eff_ok": ("effective_bits", lambda v: v >= FLAG_SHARE * n_bits,
                           "effective bits"),
                "flat_ok": ("late_gain", lambda v: v < MAX_LATE_GAIN, "still rising")}
        fails = []
        for name, (col, ok, label) in bars.items():
            v = row[col]
            row[name] = None if pd.isna(v) else bool(ok(v))
            if row[name] is False:
                fails.append(label)
        row["fails"] = ", ".join(fails)
        rows[m] = row
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


def format_learning(check: pd.DataFrame) -> pd.DataFrame:
    """The learning check for the page: linked names, short headers (the caption,
    :func:`learning_caption`, says that mAP@ALL is the mean over seeds and the bits and
    mAC the worst seed's; the rise's header says it is the largest over the seeds), "—"
    and ✓/✗."""
    from hashlib_core.report.markdown import format_numbers
    from hashlib_core.report.names import method_link

    def mark(v) -> str:
        return "—" if v is None or pd.isna(v) else ("✓" if v else "✗")

    out = check[["map", "seeds", "mac", "late_gain"]].copy()
    out["seeds"] = out.seeds.astype(int)
    out = format_numbers(out)

    def count(v) -> str:
        return "—" if pd.isna(v) else str(int(v))

    # one column for both counts, so that the table fits the page
    out.insert(2, "bits", [f"{count(d)} / {count(e)}" for d, e in
                           zip(check.distinct_bits, check.effective_bits, strict=True)])
    bars = ["map_ok", "bits_ok", "mac_ok", "eff_ok", "flat_ok"]
    out["meets every bar"] = [mark(None if r[bars].isna().any() else not r.fails)
                              for _, r in check.iterrows()]
    out["misses"] = check.fails.replace("", "—")
    return out.rename(index=method_link).rename(columns={
        "map": "mAP@ALL", "seeds": "seeds", "bits": "bits: distinct / effective",
        "mac": "mAC, query codes (worst seed)",
        "late_gain": f"rise, last {late_fraction():.0%} (max over seeds)"})


def learning_text(check: pd.DataFrame, *, n_bits: int = 32) -> str:
    """Sentences on the learning check: how many methods clear every bar, the median
    mAP, DPSH against DHN, and which methods miss what."""
    if check.empty:
        return "No deep method has a run at this code length yet, so the check is open."
    from hashlib_core.report.code_health import FLAG_SHARE

    done = check.dropna(subset=["map_ok", "bits_ok", "mac_ok", "eff_ok", "flat_ok"])
    passing = [m for m, r in done.iterrows() if not r.fails]
    # a missing value (None/NaN: a record without the measure) is not a miss
    few = [m for m, r in check.iterrows() if pd.notna(r.eff_ok) and not r.eff_ok]
    learns = [m for m, r in check.iterrows()
              if r.map_ok and r.bits_ok and r.mac_ok and m not in few]
    rising = [m for m, r in check.iterrows() if r.flat_ok is False]
    out = [f"{len(learns)} of the {len(check)} deep methods with a {n_bits}-bit run reach "
           f"mAP@ALL {MIN_MAP:.2f} or more with healthy codes (at least "
           f"{int(np.ceil(MIN_DISTINCT_SHARE * n_bits - 1e-9))} distinct bits, at least "
           f"{int(np.ceil(FLAG_SHARE * n_bits - 1e-9))} effective bits, query-code mAC at "
           f"most {MAX_MAC:.2f}); {len(passing)} also end with a flat validation curve (a rise "
           f"below {MAX_LATE_GAIN} over the last {late_fraction():.0%} of their epochs)."]
    if few:
        out.append("Flagged, fewer effective bits than half the length: " + "; ".join(
            f"{display_name(m)} ({int(check.loc[m, 'effective_bits'])} of {n_bits}, worst "
            "seed)" for m in few) + ".")
    if rising:
        out.append(f"{len(rising)} still rise by more: the budget check below measures what "
                   "a longer schedule changes on the queries.")
    missing = len(DEEP) - len(check)
    if missing:
        out.append(f"{missing} deep method(s) have no {n_bits}-bit run yet.")
    med = float(check["map"].median())
    out.append(f"The median mAP@ALL across them is {med:.3f}, "
               f"{'at least' if med >= MIN_MEDIAN_MAP else 'below'} {MIN_MEDIAN_MAP:.2f}.")
    if {"dpsh", "dhn"} <= set(check.index):
        gap = float(check.loc["dhn", "map"] - check.loc["dpsh", "map"])
        within = abs(gap) <= MAX_DPSH_DHN_GAP
        out.append(f"DPSH and DHN share the pairwise likelihood: DHN − DPSH = {gap:+.3f}, "
                   f"{'within' if within else 'beyond'} {MAX_DPSH_DHN_GAP}.")
    for m, r in check.iterrows():
        if r.fails and r.fails != "still rising":  # the budget check covers that bar
            out.append(f"{display_name(m)} misses: {r.fails} (see its method page).")
    return " ".join(out)
