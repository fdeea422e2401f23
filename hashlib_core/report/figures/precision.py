"""Precision figures of the book: P-R curves by Hamming radius, precision of the top N
and precision within Hamming radius 2, the pairs the papers compare in colour.

Each figure's caption compares the pairs on one number computed from the curves it
draws (the area under the P-R curve, the mean precision over N, the precision at each
length) and says where the gap is within the seeds' spread.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hashlib_core.report.figures.style import (
    COLOURS,
    GREY,
    PAIRS,
    Drawn,
    figure_legend,
    fit_ylim,
    label_small_multiples,
    missing_figure,
    paper_note,
    seeds_per_method,
    seeds_text,
)
from hashlib_core.report.names import display_name

#: the caption sentence of a figure that compares the pairs: what it shows is these runs
_JUDGED_ELSEWHERE = (" The default runs of this protocol are drawn; the papers' claims about "
                     "the pairs are judged on other runs, with intervals over seeds, on the "
                     "claims page.")


def runs_drawn_text(results: pd.DataFrame, *, scale: str, protocol: str) -> str:
    """The curves page's note on the runs it draws: the protocol, the epochs (from the
    records) and each pair method's seeds; then, for each pair, the protocol and epochs
    of the runs its claims are judged on (:data:`hashlib_core.report.claims.CLAIMS`,
    :func:`hashlib_core.runner.grids.claim_variant`), the verdicts left to the claims page."""
    from hashlib_core.report.claims import CLAIMS
    from hashlib_core.report.provenance import run_epochs
    from hashlib_core.runner.grids import BOOK_PROTOCOLS, CLAIM_EPOCHS, claim_variant

    sel = (results[(results.protocol == protocol) & results.variant.isna()]
           if len(results) else results)
    if sel.empty:
        return ""
    epochs = run_epochs(sel[sel.method.isin([m for p in PAIRS for m in p])])
    trained = f", trained for {'/'.join(map(str, epochs))} epochs" if epochs else ""
    n = seeds_per_method(sel, [m for p in PAIRS for m in p])
    seeds = ", ".join(f"{display_name(m)} {'one seed' if k == 1 else f'{k} seeds'}"
                      for m, k in n.items() if k)
    others = sel[~sel.method.isin(list(n))].groupby("method").seed.nunique()
    lo, hi = (int(others.min()), int(others.max())) if len(others) else (0, 0)
    rest = ("" if others.empty else "; every other method one seed" if hi == 1
            else f"; every other method {lo} to {hi} seeds" if lo < hi
            else f"; every other method {hi} seeds")
    judged = []
    for a, b in PAIRS:
        protos = sorted({p for c in CLAIMS if c.method == a and b in (c.baseline, *c.against)
                         for p in (c.protocols or (None,))}, key=str)
        if protos:
            at = (f"{CLAIM_EPOCHS} epochs" if claim_variant(scale)
                  else "the default runs' epochs")
            judged.append(f"{display_name(a)} against {display_name(b)} on protocol "
                          + " and ".join(f"`{p or BOOK_PROTOCOLS[scale]['cifar10']}`"
                                         for p in protos) + f" at {at}")
    return (f"**Which runs are drawn.** Every figure here draws the default runs of protocol "
            f"`{protocol}`{trained} ({seeds}{rest}; a method with one seed has no band). What a caption says of a pair "
            "describes these runs. The papers' claims about the pairs are judged on other "
            "runs, with intervals over seeds, on the [claims page](claims)"
            + (": " + "; ".join(judged) if judged else "") + ". The verdicts are there.")


def _pair_sentence(values: dict[str, dict[int, tuple[float, float]]], pair: tuple[str, str],
                   bits: list[int], what: str, *, higher_is: str = "higher") -> str:
    """The take-away of one pair: where ``pair[0]`` beats ``pair[1]`` on ``what``, in the
    runs drawn ("In these runs, ...": the verdicts on the papers' claims are the claims
    page's, on the runs it judges them on).

    ``values[method][n_bits] = (mean, std)`` (std NaN for one seed).
    """
    a, b = pair
    A, B = display_name(a), display_name(b)
    common = [n for n in bits if n in values.get(a, {}) and n in values.get(b, {})]
    if not common:
        return f"{A} and {B} have no run at a common code length yet."
    wins = [n for n in common if values[a][n][0] > values[b][n][0]]
    detail = "; ".join(f"{values[a][n][0]:.3f} vs {values[b][n][0]:.3f} at {n} bits"
                       for n in common)
    lower = "lower" if higher_is == "higher" else "higher"
    if len(wins) == len(common):
        head = f"{A}'s {what} is {higher_is} than {B}'s at " + (
            "every code length" if len(common) > 1 else f"{common[0]} bits")
    elif not wins:
        head = f"{A}'s {what} is {lower} than {B}'s at " + (
            "every code length" if len(common) > 1 else f"{common[0]} bits")
    else:
        head = (f"{A}'s {what} is {higher_is} than {B}'s at {len(wins)} of {len(common)} "
                f"code lengths, {' and '.join(f'{n} bits' for n in wins)},")
    noisy = [n for n in common
             if np.isfinite(values[a][n][1]) and np.isfinite(values[b][n][1])
             and abs(values[a][n][0] - values[b][n][0]) < values[a][n][1] + values[b][n][1]]
    tail = (f"; at {', '.join(f'{n}' for n in noisy)} bits the gap is smaller than the two "
            f"standard deviations over seeds added" if noisy else "")
    # a description of the runs drawn, not a verdict (the claims page judges the claims)
    return f"In these runs, {head} ({detail}){tail}.".replace(",,", ",").replace(", (", " (")


def _mean_curve(rows: pd.DataFrame, x: str, y: str) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray, list]:
    """Mean and std over seeds of curve ``y`` against ``x`` (curves of equal length)."""
    xs = [np.asarray(v, dtype=float) for v in rows[x]]
    ys = [np.asarray(v, dtype=float) for v in rows[y]]
    n = min(len(v) for v in ys)
    xs, ys = np.stack([v[:n] for v in xs]), np.stack([v[:n] for v in ys])
    std = ys.std(axis=0, ddof=1) if len(ys) > 1 else np.full(n, np.nan)
    return xs.mean(axis=0), ys.mean(axis=0), std, list(zip(xs, ys))


def _auc(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under a P-R curve (trapezoids over recall, from recall 0)."""
    r, p = np.asarray(recall, dtype=float), np.asarray(precision, dtype=float)
    keep = np.isfinite(r) & np.isfinite(p)
    r, p = r[keep], p[keep]
    if len(r) < 2:
        return float("nan")
    order = np.argsort(r, kind="stable")
    r, p = np.concatenate([[0.0], r[order]]), np.concatenate([[p[order][0]], p[order]])
    return float(np.sum(np.diff(r) * (p[1:] + p[:-1]) / 2))


def _per_run(curves: pd.DataFrame, fn) -> dict[str, dict[int, tuple[float, float]]]:
    """``{method: {n_bits: (mean, std)}}`` of a per-run scalar ``fn(row)`` over seeds."""
    out: dict[str, dict[int, tuple[float, float]]] = {}
    for (m, n), g in curves.groupby(["method", "n_bits"]):
        v = np.array([fn(r) for r in g.itertuples()], dtype=float)
        out.setdefault(m, {})[int(n)] = (float(np.nanmean(v)),
                                         float(np.std(v, ddof=1)) if len(v) > 1 else np.nan)
    return out


def _curve_grid(curves: pd.DataFrame, *, bits: list[int], x: str, y: str, kind: str,
                scale: str, protocol: str, dataset: str, pairs, xlabel: str, ylabel: str,
                band: bool, xmax: float | None = None, summary, what: str, title: str,
                description: str) -> Drawn:
    """Rows = pairs, columns = code lengths; the pair in colour, the rest grey."""
    have = [] if curves.empty or y not in curves.columns else \
        [n for n in bits if (curves.n_bits == n).any()]
    if not have:
        return missing_figure(f"{title} at {', '.join(map(str, bits))} bits", scale, protocol)
    pairs = [p for p in pairs if any(m in set(curves.method) for m in p)] or list(pairs[:1])
    fig, axes = plt.subplots(len(pairs), len(have), figsize=(2.35 * len(have) + 0.3,
                             2.05 * len(pairs) + 0.4), squeeze=False, sharex=True,
                             layout="constrained")
    for i, pair in enumerate(pairs):
        for j, n in enumerate(have):
            ax = axes[i][j]
            sel = curves[curves.n_bits == n]
            drawn = []
            for m, g in sel.groupby("method"):
                if m in pair:
                    continue
                mx, my, _, _ = _mean_curve(g, x, y)
                keep = mx <= xmax if xmax else np.ones(len(mx), bool)
                ax.plot(mx[keep], my[keep], color=GREY, linewidth=0.8, zorder=1)
                drawn.append(my[keep])
            for m in pair:
                g = sel[sel.method == m]
                if g.empty:
                    continue
                mx, my, sd, runs = _mean_curve(g, x, y)
                keep = mx <= xmax if xmax else np.ones(len(mx), bool)
                c = COLOURS.get(m, "black")
                if len(runs) > 1 and band:
                    ax.fill_between(mx[keep], (my - sd)[keep], (my + sd)[keep], color=c,
                                    alpha=0.25, linewidth=0, zorder=2)
                elif len(runs) > 1:
                    for rx, ry in runs:
                        ax.plot(rx, ry, color=c, linewidth=0.6, alpha=0.5, zorder=2)
                ax.plot(mx[keep], my[keep], color=c, linewidth=2.0, zorder=3)
                drawn.append(my[keep])
            fit_ylim(ax, drawn)
            ax.grid(alpha=0.3)
            ax.set_title(f"{' vs '.join(map(display_name, pair))}, {n} bits", fontsize=8)
            if i == len(pairs) - 1:
                ax.set_xlabel(xlabel, fontsize=8)
            if j == 0:
                ax.set_ylabel(ylabel, fontsize=8)
            ax.tick_params(labelsize=7)
    pair_methods = [m for p in pairs for m in p]
    n_other = curves.method.nunique() - len(set(pair_methods) & set(curves.method))
    figure_legend(fig, pair_methods, grey_label=f"the other {n_other} methods")
    values = summary(curves[curves.n_bits.isin(have)])
    take = " ".join(_pair_sentence(values, p, have, what) for p in pairs)
    seeds = seeds_text(seeds_per_method(curves, pair_methods))
    cap = (f"{take} **{title}** ({protocol}, scale `{scale}`, {len(have)} code lengths): "
           f"{description}; {seeds}; every other method in grey.{_JUDGED_ELSEWHERE}"
           f"{paper_note(kind, dataset)}")
    alt = (f"A grid of {len(pairs) * len(have)} line charts of {ylabel} against {xlabel}: "
           f"rows compare {'; '.join(' with '.join(map(display_name, p)) for p in pairs)}, "
           f"columns are {', '.join(map(str, have))} bits, the other methods drawn as grey "
           f"lines. {take}")
    return Drawn(fig, cap, alt)


def pr_figure(curves: pd.DataFrame, *, bits: list[int], scale: str, protocol: str,
              dataset: str = "cifar10", pairs=PAIRS) -> Drawn:
    """Precision-recall curves traced by the Hamming radius: rows = :data:`PAIRS`,
    columns = code lengths.

    ``curves`` is :func:`hashlib_core.results.load_curves`; it needs ``pr_precision``
    and ``pr_recall`` (one point per radius 0..n_bits). The take-away compares the area
    under the curve.
    """
    def summary(c):
        return _per_run(c, lambda r: _auc(r.pr_recall, r.pr_precision))

    return _curve_grid(
        curves, bits=bits, x="pr_recall", y="pr_precision", kind="pr", scale=scale,
        protocol=protocol, dataset=dataset, pairs=pairs, band=False, summary=summary,
        xlabel="recall", ylabel="precision", what="area under the P-R curve",
        title="P-R curves by Hamming radius",
        description=("precision against recall of the database items within Hamming radius "
                     "r of each query, one point per radius r = 0 .. n_bits, (query, item) "
                     "pairs pooled over all queries (precision 0 where nothing is returned)"))


def precision_at_n_figure(curves: pd.DataFrame, *, bits: list[int], scale: str,
                          protocol: str, dataset: str = "cifar10", pairs=PAIRS,
                          max_n: int = 1000) -> Drawn:
    """Precision of the top N returned items against N (up to ``max_n``): rows = pairs,
    columns = code lengths. The take-away compares the mean precision over N."""
    def summary(c):
        def mean_pn(r):
            n = np.asarray(r.pn_n, dtype=float)
            return float(np.mean(np.asarray(r.pn_precision, dtype=float)[n <= max_n]))
        return _per_run(c, mean_pn)

    return _curve_grid(
        curves, bits=bits, x="pn_n", y="pn_precision", kind="pn", scale=scale,
        protocol=protocol, dataset=dataset, pairs=pairs, band=True, xmax=max_n,
        summary=summary, xlabel="N (items returned)", ylabel="precision@N",
        what=f"mean precision over N = 1 .. {max_n}", title="Precision of the top N",
        description=(f"precision of the N database items nearest in Hamming distance "
                     f"(ties by database index), N up to {max_n}"))


def pr_every_method_figure(curves: pd.DataFrame, *, n_bits: int, scale: str, protocol: str,
                           dataset: str = "cifar10", ncols: int = 5) -> Drawn:
    """Small multiples: one panel per method (its P-R curve in black, or in its pair
    colour, every other method in grey), ranked by the area under the curve."""
    sel = curves[curves.n_bits == n_bits] if not curves.empty else curves
    if sel.empty or "pr_precision" not in sel.columns:
        return missing_figure(f"P-R curves of every method at {n_bits} bits", scale, protocol)
    auc = {m: v[n_bits][0] for m, v in
           _per_run(sel, lambda r: _auc(r.pr_recall, r.pr_precision)).items()}
    methods = sorted(auc, key=lambda m: -auc[m])
    means = {m: _mean_curve(sel[sel.method == m], "pr_recall", "pr_precision")[:2]
             for m in methods}
    ncols = min(ncols, len(methods))
    nrows = -(-len(methods) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.45 * ncols + 0.3, 1.4 * nrows + 0.3),
                             squeeze=False, sharex=True, sharey=True, layout="constrained")
    for k, m in enumerate(methods):
        ax = axes.flat[k]
        for o in methods:
            if o != m:
                ax.plot(*means[o], color=GREY, linewidth=0.6, zorder=1)
        ax.plot(*means[m], color=COLOURS.get(m, "black"), linewidth=2.0, zorder=3)
        ax.set_title(f"{k + 1}. {display_name(m)} ({auc[m]:.2f})", fontsize=7)
        ax.grid(alpha=0.3)
    label_small_multiples(axes, len(methods), ncols, xlabel="recall", ylabel="precision")
    fit_ylim(axes.flat[0], [means[m][1] for m in methods])
    best, worst = methods[0], methods[-1]
    rank = {m: i + 1 for i, m in enumerate(methods)}
    pair_ranks = "; ".join(
        f"{display_name(a)} ranks {rank[a]} and {display_name(b)} {rank[b]}"
        for a, b in PAIRS if a in rank and b in rank)
    take = (f"By the area under the P-R curve at {n_bits} bits, {display_name(best)} "
            f"({auc[best]:.3f}) leads and {display_name(worst)} ({auc[worst]:.3f}) trails "
            f"the {len(methods)} methods" + (f"; {pair_ranks}." if pair_ranks else "."))
    cap = (f"{take} **P-R curves of every method, {n_bits} bits** ({protocol}, scale "
           f"`{scale}`): one panel per method, ranked by the area under its curve (mean "
           f"over seeds where several), the method in colour, every other method in grey "
           f"for reference.{paper_note('pr', dataset)}")
    alt = (f"{len(methods)} small line charts of precision against recall, one per method "
           f"in rank order, each highlighting one method over the others in grey. {take}")
    return Drawn(fig, cap, alt)


def radius2_figure(results: pd.DataFrame, *, scale: str, protocol: str,
                   dataset: str = "cifar10", pairs=PAIRS) -> Drawn:
    """Precision within Hamming radius 2 against the code length: one panel per pair
    (the pair in colour with a band over seeds, every other method in grey)."""
    if results.empty or "precision_r2" not in results.columns:
        return missing_figure("Precision within Hamming radius 2", scale, protocol)
    sel = results[(results.protocol == protocol) & results.variant.isna()
                  & results.precision_r2.notna()]
    if sel.empty:
        return missing_figure("Precision within Hamming radius 2", scale, protocol)
    agg = sel.groupby(["method", "n_bits"]).precision_r2.agg(["mean", "std"]).reset_index()
    pairs = [p for p in pairs if any(m in set(agg.method) for m in p)] or list(pairs[:1])
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.6 * len(pairs), 2.9), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, pair in zip(axes[0], pairs):
        for m, g in agg.groupby("method"):
            if m not in pair:
                g = g.sort_values("n_bits")
                ax.plot(g.n_bits, g["mean"], color=GREY, linewidth=0.8, marker=".",
                        markersize=3, zorder=1)
        for m in pair:
            g = agg[agg.method == m].sort_values("n_bits")
            if g.empty:
                continue
            c = COLOURS.get(m, "black")
            if g["std"].notna().any():
                sd = g["std"].fillna(0)
                ax.fill_between(g.n_bits, g["mean"] - sd, g["mean"] + sd, color=c, alpha=0.25,
                                linewidth=0)
            ax.plot(g.n_bits, g["mean"], color=c, linewidth=2.0, marker="o", markersize=4,
                    zorder=3)
        ax.set_title(" vs ".join(map(display_name, pair)), fontsize=9)
        ax.set_xticks(sorted(agg.n_bits.unique()))
        ax.set_xlabel("code length (bits)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("precision within radius 2", fontsize=8)
    fit_ylim(axes[0][0], [agg["mean"]])
    pair_methods = [m for p in pairs for m in p]
    n_other = agg.method.nunique() - len(set(pair_methods) & set(agg.method))
    figure_legend(fig, pair_methods, grey_label=f"the other {n_other} methods")
    values = {m: {int(r.n_bits): (r["mean"], r["std"]) for _, r in g.iterrows()}
              for m, g in agg.groupby("method")}
    bits = sorted(agg.n_bits.unique())
    take = " ".join(_pair_sentence(values, p, bits, "precision within radius 2")
                    for p in pairs)
    cap = (f"{take} **Precision within Hamming radius 2 against code length** ({protocol}, "
           f"scale `{scale}`): a query that retrieves nothing within radius 2 counts as "
           f"precision 0; {seeds_text(seeds_per_method(sel, pair_methods))}; every other "
           f"method in grey.{_JUDGED_ELSEWHERE}{paper_note('r2', dataset)}")
    alt = (f"{len(pairs)} line charts of precision within Hamming radius 2 against code "
           f"length ({', '.join(map(str, bits))} bits), highlighting "
           f"{'; '.join(' and '.join(map(display_name, p)) for p in pairs)} over the other "
           f"methods in grey. {take}")
    return Drawn(fig, cap, alt)
