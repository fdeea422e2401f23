"""SHNet's ablation in numbers: the variants' metrics, and how far each variant moves
mAP from the default, with a 95% interval over the seeds. (The ablation table with its spread over
seeds, as the page shows it, is :mod:`hashlib_core.report.diagnostics`.)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashlib_core.report.names import display_name


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


def ablation_effects(results: pd.DataFrame, *, protocol: str, n_bits: int = 32,
                     method: str = "shnet") -> pd.DataFrame:
    """How much each ablation variant of ``method`` moves mAP from the default, with a 95%
    t interval on the difference of the two means over their own seeds (Welch:
    :func:`hashlib_core.report.intervals.difference_interval`; each side its own spread,
    none borrowed). A change is shown when its interval excludes 0.

    Returns
    -------
    pandas.DataFrame
        Index: variant names, largest absolute change first; columns ``description``,
        ``map`` (mean over the variant's seeds), ``delta`` (variant minus default, both
        means over their seeds), ``low`` and ``high`` (its 95% interval, NaN with fewer
        than two seeds on a side), ``shown`` (bool: the interval excludes 0, or None
        without an interval), ``runs`` and ``default_runs`` (the seeds behind each mean).
        ``attrs["n_variants"]``: the ablation variants there are; ``attrs["stale"]``:
        their runs that ``results`` left out as made with an earlier revision of
        ``method`` (``results.attrs["stale_records"]``).
    """
    from hashlib_core.report.intervals import difference_interval
    from hashlib_core.results.store import stale_runs
    from hashlib_core.runner.grids import ABLATION_DESCRIPTIONS

    cols = ["description", "map", "delta", "low", "high", "shown"]
    attrs = {"n_variants": len(ABLATION_DESCRIPTIONS), "stale": sum(
        s["protocol"] == protocol and s["method"] == method and s["n_bits"] == n_bits
        and s["variant"] in ABLATION_DESCRIPTIONS
        for s in stale_runs(results.attrs.get("stale_records") or []))}
    if results.empty:
        empty = pd.DataFrame(columns=cols)
        empty.attrs.update(attrs)
        return empty
    sel = results[(results.protocol == protocol) & (results.n_bits == n_bits)]
    default = sel[(sel.method == method) & sel.variant.isna()]["map"].to_numpy(float)
    rows = {}
    for v, desc in ABLATION_DESCRIPTIONS.items():
        runs = sel[(sel.method == method) & (sel.variant == v)]["map"].to_numpy(float)
        if not len(runs) or not len(default):
            continue
        iv = difference_interval(runs, default)
        shown = None if np.isnan(iv.low) else bool(iv.low > 0 or iv.high < 0)
        rows[v] = {"description": desc, "map": runs.mean(), "delta": iv.difference,
                   "low": iv.low, "high": iv.high, "shown": shown, "runs": len(runs),
                   "default_runs": len(default)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols + ["runs", "default_runs"])
    out = out.reindex(out.delta.abs().sort_values(ascending=False).index) if len(out) else out
    out.attrs.update(attrs)
    return out


def effects_table(effects: pd.DataFrame) -> pd.DataFrame:
    """The discussion's table of :func:`ablation_effects`: one row per variant (its
    description, maths typeset), the mean mAP@ALL, the change from the default with its
    95% interval in one column (narrow enough for the page), and the seeds."""
    from hashlib_core.report.names import math_label

    def change(r) -> str:
        iv = (f" [{r.low:+.4f}, {r.high:+.4f}]" if np.isfinite(r.low) else " (no interval)")
        return f"{r.delta:+.4f}{iv}"

    return pd.DataFrame(
        {"mAP@ALL (mean)": [f"{v:.4f}" for v in effects["map"]],
         "change from default (95% interval)": [change(r) for r in effects.itertuples()],
         "seeds": [str(int(n)) for n in effects.runs]},
        index=pd.Index([math_label(d) for d in effects.description], name="variant of SHNet"))


def ablation_provenance(results: pd.DataFrame, *, protocol: str, n_bits: int = 32,
                        method: str = "shnet") -> str:
    """:func:`hashlib_core.report.provenance.provenance` of exactly the runs
    :func:`ablation_effects` reads (``method``'s default runs and its ablation variants at
    ``n_bits``), saying how many are of each kind."""
    from hashlib_core.report.provenance import provenance
    from hashlib_core.runner.grids import ABLATION_DESCRIPTIONS

    if results.empty:
        return provenance(results)
    sel = results[(results.protocol == protocol) & (results.n_bits == n_bits)]
    dflt = sel[(sel.method == method) & sel.variant.isna()]
    var = sel[(sel.method == method) & sel.variant.isin(list(ABLATION_DESCRIPTIONS))]
    kinds = (f"{len(dflt)} default run{'s' * (len(dflt) != 1)} of {display_name(method)}, "
             + (f"{len(var)} of the ablation variants" if len(var) else
                "none of an ablation variant"))
    return f"{provenance(pd.concat([dflt, var]))}: {kinds}"


def seeds_words(effects: pd.DataFrame) -> str:
    """How many seeds the ablation's means rest on, from :func:`ablation_effects`:
    ``"each a mean over 3 seeds, the default over 5"``, or ``"1 to 3 seeds per variant"``."""
    if effects.empty or "runs" not in effects.columns:
        return "no run"
    lo, hi = int(effects.runs.min()), int(effects.runs.max())
    each = (f"each variant a mean over {hi} seed{'s' * (hi != 1)}" if lo == hi
            else f"{lo} to {hi} seeds per variant")
    d = int(effects.default_runs.iloc[0])
    return f"{each}, the default over {d} seed{'s' * (d != 1)}"


def ablation_text(effects: pd.DataFrame, *, n_bits: int = 32) -> str:
    """Sentences on which reconstructed choices of SHNet matter, from :func:`ablation_effects`."""
    n_var, stale = effects.attrs.get("n_variants"), int(effects.attrs.get("stale") or 0)
    left = (f" {stale} run{'s' * (stale != 1)} of the variants, made with an earlier "
            f"version of the loss, {'are' if stale != 1 else 'is'} left out until the grid "
            f"remakes {'them' if stale != 1 else 'it'}." if stale else "")
    if effects.empty:
        return ((f"None of SHNet's {n_var} ablation variants" if n_var else
                 "No SHNet ablation variant") + " has a run of SHNet's current version at "
                f"{n_bits} bits, so which reconstructed choice matters is open.{left}")
    top = effects.iloc[0]
    of = f" of {n_var}" if n_var else ""
    out = [f"Across the {len(effects)}{of} variants with a run at {n_bits} bits "
           f"({seeds_words(effects)}), the largest change of mAP@ALL from SHNet's default "
           f"is {top.delta:+.4f} ({top.description}).{left}"]
    measured = effects[effects.shown.notna()]
    if measured.empty:
        out.append("No variant has two seeds on both sides yet, so no change has an "
                   "interval.")
        return " ".join(out)

    def said(r) -> str:
        return f"{r.description} ({r.delta:+.4f} [{r.low:+.4f}, {r.high:+.4f}])"

    shown = measured[measured.shown.astype(bool)]
    if len(shown):
        out.append("A 95% interval over the seeds of both means (Welch) excludes zero for: "
                   + "; ".join(said(r) for r in shown.itertuples()) + ".")
    rest = measured[~measured.shown.astype(bool)]
    unmeasured = len(effects) - len(measured)
    if len(rest):
        every = "Every change" if unmeasured == 0 else "Every change with an interval"
        out.append((f"{every} has" if shown.empty else "The other changes with one have")
                   + " an interval that contains zero"
                   + (": at this scale none of these reconstructed choices measurably "
                      "matters." if shown.empty and not unmeasured else "."))
    if unmeasured:
        out.append(f"{unmeasured} variant{'s' * (unmeasured != 1)} with fewer than two seeds "
                   f"{'have' if unmeasured != 1 else 'has'} no interval yet.")
    return " ".join(out)
