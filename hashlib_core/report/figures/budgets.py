"""Each pairwise claim's difference against the training budget: does the verdict depend
on how long the networks were trained?

At one code length per claim (:data:`hashlib_core.runner.grids.ROBUSTNESS`), the
claim's difference (the method minus the one it is compared with, in the claim's metric)
with its 95% interval at every budget stored for both methods: the grid's epochs, the
claims' budget and twice it. One panel per claim, the budgets on a log axis (each is
twice the one before), the side of zero the paper claims shaded. The intervals and
verdicts are the claims page's own (:func:`hashlib_core.report.claims.compare`, every
current run of each method at that budget), so a point here is the page's number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hashlib_core.report.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from hashlib_core.report.figures.style import GREY, OKABE_ITO, Drawn

#: the colour of a point by its verdict (the claims page's words)
_VERDICT_COLOURS = {SUPPORTED: OKABE_ITO["bluish green"], NOT_SUPPORTED: OKABE_ITO["vermillion"],
                    INCONCLUSIVE: "#555555"}


def budget_points(root: str | Path, scale: str) -> pd.DataFrame:
    """One row per claim (at its decisive length) and training budget stored for both of
    its methods: epochs, seeds of each method, the difference, its interval and the
    verdict. Budgets are the default runs and the ``budget-epochs<N>`` variants; runs of a
    superseded tuning winner are left out, as on the claims page."""
    from hashlib_core.report.claim_checks import current_runs
    from hashlib_core.report.claims import CLAIMS, Run, compare, verdict, verdict_lengths
    from hashlib_core.results import iter_records
    from hashlib_core.runner.grids import ROBUSTNESS

    wanted = {(p, m, b) for p, methods, b in ROBUSTNESS for m in methods}
    runs = [Run(rec, None) for rec in iter_records(root, scale=scale)
            if (rec["key"]["protocol"], rec["key"]["method"], int(rec["key"]["n_bits"])) in wanted
            and (rec["key"]["variant"] is None
                 or str(rec["key"]["variant"]).startswith("budget-epochs"))]
    runs = current_runs(runs, root, scale)
    by_budget: dict[tuple, list[Run]] = {}
    for r in runs:
        k = (r.key["protocol"], r.key["method"], int(r.key["n_bits"]),
             int(r.record["config"]["epochs"]))
        by_budget.setdefault(k, []).append(r)
    rows = []
    for proto, methods, n_bits in ROBUSTNESS:
        for claim in CLAIMS:
            stated = verdict_lengths(claim)
            if not (claim.method in methods and claim.compared in methods
                    and (not stated or n_bits in stated)):
                continue
            epochs = sorted({e for (p, m, b, e) in by_budget
                             if (p, m, b) == (proto, claim.method, n_bits)}
                            & {e for (p, m, b, e) in by_budget
                               if (p, m, b) == (proto, claim.compared, n_bits)})
            for e in epochs:
                a = by_budget[proto, claim.method, n_bits, e]
                b = by_budget[proto, claim.compared, n_bits, e]
                iv = compare(a, b, claim.metric)
                v = (verdict(iv.low, iv.high, higher_is_better=claim.higher_is_better)
                     if len(a) >= 2 and len(b) >= 2 else INCONCLUSIVE)
                rows.append({"claim": claim.id, "method": claim.method,
                             "against": claim.compared, "metric": claim.metric,
                             "higher_is_better": claim.higher_is_better,
                             "protocol": proto, "n_bits": n_bits, "epochs": e,
                             "seeds_method": len(a), "seeds_against": len(b),
                             "difference": iv.difference, "low": iv.low, "high": iv.high,
                             "verdict": v})
    return pd.DataFrame(rows)


def claim_budget_figure(root: str | Path = "results", *, scale: str) -> Drawn:
    """The figure of :func:`budget_points`, one panel per claim, with a caption whose first
    sentence says, claim by claim, the verdict at each budget."""
    pts = budget_points(root, scale)
    what = (f"**Each claim's difference against the training budget** (scale `{scale}`, at "
            "one code length per claim, named in each panel's title)")
    if pts.empty or pts.groupby("claim").epochs.nunique().max() < 2:
        return Drawn(None, f"{what}: no claim has runs at two budgets yet.")
    import matplotlib.pyplot as plt

    claims = list(dict.fromkeys(pts.claim))
    ncols = min(len(claims), 2)  # the width of the book's text column
    nrows = -(-len(claims) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols + 0.3, 2.5 * nrows),
                             squeeze=False, layout="constrained")
    all_epochs = sorted(pts.epochs.unique())
    takes = [_panel(ax, pts[pts.claim == cid].sort_values("epochs"), all_epochs)
             for ax, cid in zip(axes.flat, claims)]
    for ax in list(axes.flat)[len(claims):]:
        ax.axis("off")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=v)
               for v, c in _VERDICT_COLOURS.items()]
    handles.append(Patch(color=OKABE_ITO["bluish green"], alpha=0.15,
                         label="the side of zero the paper claims"))
    fig.legend(handles=handles, loc="outside upper center", frameon=False, ncol=2, fontsize=8,
               title="verdict at that budget (95% interval)", title_fontsize=8)
    take = "Verdict by training budget: " + "; ".join(takes) + "."
    cap = (f"{take} {what}: the difference of the two methods' means (first minus second) "
           "with its 95% interval (the claims page's interval, over every seed stored at "
           "that budget: n = seeds of each method), at each number of epochs both methods "
           "were trained for; the green band is the side of zero the paper claims; an open "
           "circle has no interval (fewer than two seeds of a method)."
           + (" Fewer seeds give a wider interval, so where a panel's budgets have "
              "different numbers of seeds, a verdict that changes along it may be the "
              "seeds, not the budget: the budget sentences under each claim compare the "
              "same seeds at both budgets, and they decide whether the training length "
              "changes a verdict." if _uneven(pts) else
              " A verdict that changes along a panel depends on the training length at "
              "this scale."))
    alt = (f"{len(claims)} panels of a difference with error bars against training epochs "
           f"({', '.join(str(e) for e in all_epochs)}). {take}")
    return Drawn(fig, cap, alt)


def _panel(ax, g: pd.DataFrame, all_epochs: list[int]) -> str:
    """One claim's panel (its rows of :func:`budget_points`, by epochs); returns the
    take-away of the panel: the verdict at each budget."""
    from hashlib_core.report.claims import metric_name
    from hashlib_core.report.names import display_name

    first = g.iloc[0]
    name = f"{display_name(first.method)} − {display_name(first.against)}"
    metric = metric_name(first.metric)
    lo = np.nanmin(np.r_[g.low.to_numpy(), g.difference.to_numpy(), 0.0])
    hi = np.nanmax(np.r_[g.high.to_numpy(), g.difference.to_numpy(), 0.0])
    pad = 0.12 * max(hi - lo, 0.01)
    lo, hi = lo - pad, hi + pad
    # the paper's side of zero, shaded
    ax.axhspan(*((0, hi) if first.higher_is_better else (lo, 0)),
               color=OKABE_ITO["bluish green"], alpha=0.08, linewidth=0)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.plot(g.epochs, g.difference, color=GREY, linewidth=1.0, zorder=1)
    for r in g.itertuples():
        colour = _VERDICT_COLOURS[r.verdict]
        has_iv = np.isfinite(r.low) and np.isfinite(r.high)
        if has_iv:
            ax.errorbar([r.epochs], [r.difference],
                        yerr=[[r.difference - r.low], [r.high - r.difference]],
                        fmt="o", color=colour, markersize=4.5, capsize=3, linewidth=1.4,
                        zorder=3)
        else:
            ax.plot([r.epochs], [r.difference], "o", markerfacecolor="white",
                    markeredgecolor=colour, markersize=4.5, zorder=3)
        ax.annotate(f"n={_seeds(r)}", (r.epochs, r.high if has_iv else r.difference),
                    textcoords="offset points", xytext=(0, 4), ha="center", fontsize=6)
    ax.set_xscale("log", base=2)
    ax.set_xticks(all_epochs, [str(e) for e in all_epochs])
    ax.minorticks_off()
    ax.set_xlim(all_epochs[0] / 1.3, all_epochs[-1] * 1.3)
    ax.set_ylim(lo, hi)
    ax.set_title(f"{name}, {first.n_bits} bits\n{metric} ({first.protocol})", fontsize=8)
    ax.set_xlabel("training epochs", fontsize=7)
    ax.set_ylabel(f"difference in {metric}", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.3)
    return (f"{name} ({first.n_bits} bits, {metric}): "
            + ", ".join(f"{r.verdict} at {r.epochs} ({_seeds(r)} seed"
                        f"{'s' * (_seeds(r) != '1')})" for r in g.itertuples()))


def _seeds(r) -> str:
    """A point's seeds: "3", or "3/5" where the two methods have different numbers."""
    return (f"{r.seeds_method}" if r.seeds_method == r.seeds_against
            else f"{r.seeds_method}/{r.seeds_against}")


def _uneven(pts: pd.DataFrame) -> bool:
    """Whether some claim's budgets have different numbers of seeds."""
    return bool((pts.groupby("claim")[["seeds_method", "seeds_against"]].nunique() > 1)
                .any(axis=None))
