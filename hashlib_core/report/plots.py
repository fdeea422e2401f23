"""Figures of the book, drawn from the stored runs (never from training).

Each ``*_figure`` function returns a :class:`Drawn` ``(fig, caption, alt)``: a Matplotlib
figure built for one comparison, a caption whose first sentence is the take-away
(computed from the data it draws) and alt text that says what the figure shows. When no
run is stored for a figure, ``fig`` is ``None`` and the caption says what is missing;
:func:`show` displays either.

House style of the figures:

* the pair a paper claims about (:data:`PAIRS`: SHNet against CSQ, DSAH against ADSH) in
  two colours of the Okabe-Ito palette (safe for colour-blind readers), every other
  method in grey;
* small multiples (one panel per code length, per pair or per method) instead of many
  lines on one axis; one legend per figure, outside the panels;
* y-ranges fitted to the data drawn, so that differences are visible;
* seeds as a band (mean +- one standard deviation) or as thin lines where a run has
  several;
* PNG at :data:`DPI` dots per inch.
"""

from __future__ import annotations

from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from hashlib_core.report.tables import display_name  # noqa: E402

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
DPI = 160

#: Okabe & Ito (2008), "Color universal design": distinguishable with every common
#: colour-vision deficiency
OKABE_ITO = {"orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00",
             "reddish purple": "#CC79A7", "black": "#000000"}
#: the comparisons the papers make: (claimed better, compared against)
PAIRS: tuple[tuple[str, str], ...] = (("shnet", "csq"), ("dsah", "adsh"))
COLOURS = {"shnet": OKABE_ITO["vermillion"], "csq": OKABE_ITO["blue"],
           "dsah": OKABE_ITO["bluish green"], "adsh": OKABE_ITO["orange"]}
GREY = "#b8b8b8"
#: the figures of the papers and the data set they were drawn on
PAPER_FIGURE_DATA = {
    "pr": ("SHNet paper", "ImageNet-100"), "pn": ("SHNet paper", "ImageNet-100"),
    "r2": ("SHNet paper", "ImageNet-100"), "tsne": ("SHNet paper", "ImageNet-100"),
}


class Drawn(NamedTuple):
    """A figure, its caption (Markdown, take-away first) and its alt text."""

    fig: plt.Figure | None
    caption: str
    alt: str = ""


def show(fig: plt.Figure | None, caption: str, alt: str = "") -> None:
    """Display a figure (PNG) followed by its caption (Markdown), then close the figure.

    The PNG is rendered here (not by the notebook's Matplotlib backend), so the output
    is an image whichever backend the kernel runs. The image output carries the caption
    and alt text in its metadata (``hashlib_figure``), from which
    :mod:`hashlib_core.report.book` makes a numbered figure with that caption on the book page.
    """
    import io

    from IPython.display import Image, Markdown, display

    if fig is not None:
        from PIL import Image as PILImage

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        width = PILImage.open(io.BytesIO(buf.getvalue())).size[0]
        # shown at 100 CSS px per inch of figure (sharp on screens up to DPI/100 x)
        info = {"caption": caption, "alt": alt or caption, "width": f"{width * 100 // DPI}px"}
        display(Image(data=buf.getvalue(), format="png"), metadata={"hashlib_figure": info})
        display(Markdown(caption), metadata={"hashlib_caption": True})
    else:
        display(Markdown(caption))


# --------------------------------------------------------------------------- helpers
def _missing(what: str, scale: str, protocol: str) -> Drawn:
    return Drawn(None, f"**{what}** ({protocol}, scale `{scale}`): no run stored yet. "
                       f"`python -m hashlib_core.reproduce --scale {scale}` fills it in.")


def paper_note(kind: str, dataset: str) -> str:
    """A sentence saying on which data set the paper drew this kind of figure, when it is
    not the data set drawn here ("" otherwise)."""
    from hashlib_core.report.tables import DATASET_NAMES

    if kind not in PAPER_FIGURE_DATA:
        return ""
    paper, theirs = PAPER_FIGURE_DATA[kind]
    ours = DATASET_NAMES.get(dataset, dataset)
    if ours == theirs:
        return ""
    return (f" The {paper} draws this figure on {theirs} with an ImageNet-pretrained "
            f"ResNet50; this one is on {ours}, so compare its shape, not its values.")


def _seeds_text(n_seeds: dict[str, int]) -> str:
    """``"SHNet 3 seeds, CSQ 3 seeds, the others 1"``."""
    multi = {m: n for m, n in n_seeds.items() if n > 1}
    if not multi:
        return "one seed per method"
    listed = ", ".join(f"{display_name(m)} {n} seeds" for m, n in multi.items())
    return f"{listed} (mean, band or thin lines = the seeds), the others one seed"


def _order(methods, order: list[str] | None) -> list[str]:
    present = list(dict.fromkeys(methods))
    if order is None:
        return sorted(present)
    return [m for m in order if m in present] + sorted(set(present) - set(order))


def label_small_multiples(axes, n_used: int, ncols: int, *, xlabel: str, ylabel: str) -> None:
    """Label a grid of small multiples: small tick labels, the y label on the left column
    and the x label on the bottom row of the ``n_used`` panels, the unused panels hidden."""
    flat = list(axes.flat)
    for k, ax in enumerate(flat[:n_used]):
        ax.tick_params(labelsize=6)
        if k % ncols == 0:
            ax.set_ylabel(ylabel, fontsize=7)
        if k >= n_used - ncols:
            ax.set_xlabel(xlabel, fontsize=7)
    for ax in flat[n_used:]:
        ax.axis("off")


def _fit_ylim(ax, values, *, pad: float = 0.06, floor: float = 0.0, ceil: float = 1.0) -> None:
    """Limit the y-axis to the range of the values drawn (plus a margin)."""
    vals = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) \
        if len(values) else np.array([])
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return
    lo, hi = float(vals.min()), float(vals.max())
    span = max(hi - lo, 0.02)
    ax.set_ylim(max(floor, lo - pad * span), min(ceil, hi + pad * span))


def _legend(fig, pairs_drawn: list[str], *, grey_label: str | None, ncol: int | None = None):
    """One legend for the whole figure, above the panels (it covers no data)."""
    handles = [Line2D([], [], color=COLOURS.get(m, "black"), linewidth=2.2,
                      label=display_name(m)) for m in pairs_drawn]
    if grey_label:
        handles.append(Line2D([], [], color=GREY, linewidth=1.0, label=grey_label))
    fig.legend(handles=handles, loc="outside upper center", frameon=False,
               ncol=ncol or len(handles), fontsize=8, handlelength=1.6, columnspacing=1.2)


def _pair_sentence(values: dict[str, dict[int, tuple[float, float]]], pair: tuple[str, str],
                   bits: list[int], what: str, *, higher_is: str = "higher") -> str:
    """The take-away of one pair: where ``pair[0]`` beats ``pair[1]`` on ``what``.

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
    return f"{head} ({detail}){tail}.".replace(",,", ",").replace(", (", " (")


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


def _n_seeds(frame: pd.DataFrame, methods) -> dict[str, int]:
    return {m: int(frame[frame.method == m].seed.nunique()) for m in methods}


# --------------------------------------------------------------------------- curves
def _curve_grid(curves: pd.DataFrame, *, bits: list[int], x: str, y: str, kind: str,
                scale: str, protocol: str, dataset: str, pairs, xlabel: str, ylabel: str,
                band: bool, xmax: float | None = None, summary, what: str, title: str,
                description: str) -> Drawn:
    """Rows = pairs, columns = code lengths; the pair in colour, the rest grey."""
    have = [] if curves.empty or y not in curves.columns else \
        [n for n in bits if (curves.n_bits == n).any()]
    if not have:
        return _missing(f"{title} at {', '.join(map(str, bits))} bits", scale, protocol)
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
            _fit_ylim(ax, drawn)
            ax.grid(alpha=0.3)
            ax.set_title(f"{' vs '.join(map(display_name, pair))}, {n} bits", fontsize=8)
            if i == len(pairs) - 1:
                ax.set_xlabel(xlabel, fontsize=8)
            if j == 0:
                ax.set_ylabel(ylabel, fontsize=8)
            ax.tick_params(labelsize=7)
    pair_methods = [m for p in pairs for m in p]
    n_other = curves.method.nunique() - len(set(pair_methods) & set(curves.method))
    _legend(fig, pair_methods, grey_label=f"the other {n_other} methods")
    values = summary(curves[curves.n_bits.isin(have)])
    take = " ".join(_pair_sentence(values, p, have, what) for p in pairs)
    seeds = _seeds_text(_n_seeds(curves, pair_methods))
    cap = (f"{take} **{title}** ({protocol}, scale `{scale}`, {len(have)} code lengths): "
           f"{description}; {seeds}; every other method in grey."
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
        return _missing(f"P-R curves of every method at {n_bits} bits", scale, protocol)
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
    _fit_ylim(axes.flat[0], [means[m][1] for m in methods])
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
        return _missing("Precision within Hamming radius 2", scale, protocol)
    sel = results[(results.protocol == protocol) & results.variant.isna()
                  & results.precision_r2.notna()]
    if sel.empty:
        return _missing("Precision within Hamming radius 2", scale, protocol)
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
    _fit_ylim(axes[0][0], [agg["mean"]])
    pair_methods = [m for p in pairs for m in p]
    n_other = agg.method.nunique() - len(set(pair_methods) & set(agg.method))
    _legend(fig, pair_methods, grey_label=f"the other {n_other} methods")
    values = {m: {int(r.n_bits): (r["mean"], r["std"]) for _, r in g.iterrows()}
              for m, g in agg.groupby("method")}
    bits = sorted(agg.n_bits.unique())
    take = " ".join(_pair_sentence(values, p, bits, "precision within radius 2")
                    for p in pairs)
    cap = (f"{take} **Precision within Hamming radius 2 against code length** ({protocol}, "
           f"scale `{scale}`): a query that retrieves nothing within radius 2 counts as "
           f"precision 0; {_seeds_text(_n_seeds(sel, pair_methods))}; every other method in "
           f"grey.{paper_note('r2', dataset)}")
    alt = (f"{len(pairs)} line charts of precision within Hamming radius 2 against code "
           f"length ({', '.join(map(str, bits))} bits), highlighting "
           f"{'; '.join(' and '.join(map(display_name, p)) for p in pairs)} over the other "
           f"methods in grey. {take}")
    return Drawn(fig, cap, alt)


# --------------------------------------------------------------------------- t-SNE
def _knn_agreement(xy: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """Share of each point's k nearest neighbours (2-D) with its own class."""
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1, kind="stable")[:, :k]
    return float((y[nn] == y[:, None]).mean())


def tsne_figure(panels: list[tuple[str, np.ndarray, np.ndarray]], *, n_bits: int, scale: str,
                protocol: str, dataset: str = "cifar10", class_names=CIFAR10_CLASSES,
                max_points: int = 1000, seed: int = 0, missing: list[str] = ()) -> Drawn:
    """t-SNE maps of query codes, side by side.

    Parameters
    ----------
    panels : list of (method, codes, labels)
        ``codes`` (n, n_bits) in {-1,+1}; ``labels`` (n, n_classes) multi-hot or (n,) int.
    missing : list of str
        Methods asked for that have no stored run (named in the caption).
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    if not panels:
        return _missing(f"t-SNE of {n_bits}-bit codes of "
                        f"{' and '.join(map(display_name, missing)) or 'any method'}",
                        scale, protocol)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.1 * len(panels) + 1.2, 3.2),
                             squeeze=False, layout="constrained")
    rng = np.random.default_rng(seed)
    # the Okabe-Ito colours (yellow darkened to show on white) plus grey and brown, and
    # one marker shape per class, so that classes differ by more than colour
    colours = [c if c != OKABE_ITO["yellow"] else "#B09A00" for c in OKABE_ITO.values()]
    colours += ["#777777", "#8c564b"]
    marks = "osD^v<>ph*"
    agreement = {}
    for ax, (method, codes, labels) in zip(axes[0], panels):
        y = labels.argmax(1) if labels.ndim == 2 else labels
        idx = np.sort(rng.permutation(len(codes))[:max_points])
        tsne = TSNE(n_components=2, init="pca", random_state=seed,
                    perplexity=min(30.0, (len(idx) - 1) / 3))
        # one OpenMP thread: on a shared 2-core machine more threads are ~10x slower
        with threadpool_limits(1):
            xy = tsne.fit_transform(codes[idx].astype(np.float32))
        agreement[method] = _knn_agreement(xy, y[idx])
        for c in np.unique(y[idx]):
            m = y[idx] == c
            name = class_names[c] if c < len(class_names) else f"class {c}"
            ax.scatter(xy[m, 0], xy[m, 1], s=7, color=colours[c % 10], marker=marks[c % 10],
                       linewidths=0, label=name)
        ax.set_title(f"{display_name(method)}, {n_bits} bits ({len(idx)} queries)",
                     fontsize=8)
        ax.set_xlabel("t-SNE dimension 1", fontsize=7)
        ax.set_ylabel("t-SNE dimension 2", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.legend(*axes[0][-1].get_legend_handles_labels(), loc="outside right center",
               markerscale=2, fontsize=7, title="class", title_fontsize=8, frameon=False)
    names = " and ".join(display_name(m) for m, _, _ in panels)
    scores = ", ".join(f"{display_name(m)} {100 * a:.0f} %" for m, a in agreement.items())
    # the score is a property of the 2-D projection (t-SNE keeps local neighbourhoods and
    # distorts the rest), not a retrieval with the codes: the caption says so
    share = (f"of a query's 10 nearest points on the 2-D map, the share of its own class "
             f"is {scores}")
    proj = ("; this measures the t-SNE projection, not a search with the codes, whose "
            "Hamming ranking the P@N curves measure")
    if len(agreement) >= 2:
        best = max(agreement, key=agreement.get)
        if max(agreement.values()) - min(agreement.values()) < 0.02:
            take = (f"In this map the classes of {names} form clusters about equally clean: "
                    f"{share}{proj}.")
        else:
            take = (f"In this map {display_name(best)}'s classes form the cleanest clusters: "
                    f"{share}{proj}.")
    else:
        take = f"In this map, {share}{proj}."
    cap = (f"{take} **t-SNE of {n_bits}-bit query codes** of {names} ({protocol}, scale "
           f"`{scale}`): each point is a query image's binary code embedded in 2-D by t-SNE "
           f"(Euclidean distance on ±1 codes, i.e. twice the square root of the Hamming "
           f"distance), coloured and shaped by class.{paper_note('tsne', dataset)}")
    if missing:
        cap += (f" Not shown, no {n_bits}-bit run stored yet: "
                f"{', '.join(map(display_name, missing))}.")
    alt = (f"{len(panels)} scatter plots side by side, one per method ({names}), of "
           f"{n_bits}-bit query codes mapped to two dimensions by t-SNE, points coloured by "
           f"CIFAR-10 class. {take}")
    return Drawn(fig, cap, alt)


# --------------------------------------------------------------------------- bits
def _redundant(health: pd.DataFrame | None, methods) -> dict[str, str]:
    """Methods whose query codes have constant or near-duplicate bits (or fewer effective
    bits than half their length), each with the counts in words, from a
    :func:`hashlib_core.report.code_health.health_table`."""
    if health is None or health.empty:
        return {}
    from hashlib_core.report.code_health import FLAG_SHARE

    out = {}
    for m in methods:
        if m not in health.index:
            continue
        r = health.loc[m]
        if r.n_constant_bits > 0 or r.redundant_bits > 0 or \
                r.effective_bits < FLAG_SHARE * r.n_bits:
            parts = [f"{int(r.effective_bits)} effective bits of {int(r.n_bits)}"]
            if r.n_constant_bits:
                parts.append(f"{int(r.n_constant_bits)} constant")
            if r.redundant_bits:
                n = int(r.redundant_bits)
                parts.append(f"{n} near-cop{'ies' if n > 1 else 'y'} of another bit")
            out[m] = (r.n_constant_bits + r.redundant_bits, ", ".join(parts))
    # the most wasteful first
    return {m: w for m, (_, w) in sorted(out.items(), key=lambda kv: -kv[1][0])}


def _ranked_mac_text(mac: dict[str, float], collapsed, *, n_bits: int,
                     health: pd.DataFrame | None = None) -> str:
    """Which method has the least / most correlated bits, leaving out collapsed codes
    and, with ``health``, codes with constant or near-duplicate bits: a constant bit has
    correlation 0 with every other and makes codes look decorrelated, so a code that
    repeats itself is never called the least correlated."""
    redundant = _redundant(health, mac)
    skip = set(collapsed) | set(redundant)
    healthy = {m: v for m, v in mac.items() if m not in skip}
    if not healthy:
        text = (f"Every method shown has constant or near-duplicate bits at {n_bits} bits, "
                f"so none is called the least correlated")
    else:
        ranked = sorted(healthy, key=healthy.get)
        which = ("whose codes have no constant or near-duplicate bit" if health is not None
                 else "whose codes do not collapse")
        head = f"Of the methods {which}, " if len(healthy) < len(mac) else ""
        text = (f"{head}{display_name(ranked[0])}'s bits are the least correlated at "
                f"{n_bits} bits (mAC {healthy[ranked[0]]:.2f}) and "
                f"{display_name(ranked[-1])}'s the most ({healthy[ranked[-1]]:.2f})")
    if "dsah" in mac and "adsh" in mac:
        rel = "less" if mac["dsah"] < mac["adsh"] else "more"
        text += (f"; DSAH's bits are {rel} correlated than ADSH's ({mac['dsah']:.2f} vs "
                 f"{mac['adsh']:.2f})")
    if redundant:
        text += ("; left out of that ranking, as their query codes have constant or "
                 "near-duplicate bits (a low mAC there does not mean independent bits): "
                 + "; ".join(f"{display_name(m)} ({w})" for m, w in redundant.items()))
    bad = [m for m in mac if m in set(collapsed) and m not in redundant]
    if bad:
        text += (f"; the codes of {', '.join(map(display_name, bad))} collapse (see the "
                 f"code-health table), so their mAC is not a fair comparison")
    return text + "."


def correlation_figure(curves: pd.DataFrame, *, n_bits: int, scale: str, protocol: str,
                       methods: list[str], collapsed=(),
                       health: pd.DataFrame | None = None) -> Drawn:
    """Absolute bit-correlation matrices (database codes), one panel per method.

    ``collapsed``: methods whose codes collapse, left out of the caption's ranking.
    ``health``: a :func:`hashlib_core.report.code_health.health_table`; methods with constant or
    near-duplicate bits are then left out of the ranking too, named with their counts, and
    each panel's title gives the effective bits."""
    if curves.empty or "bit_correlation" not in curves.columns:
        return _missing(f"Bit-correlation matrices at {n_bits} bits", scale, protocol)
    sel = curves[curves.n_bits == n_bits].sort_values("seed").drop_duplicates(
        ["method", "n_bits"])
    present = [m for m in methods if m in set(sel.method)]
    if not present:
        return _missing(f"Bit-correlation matrices at {n_bits} bits", scale, protocol)
    ncol = min(4, len(present))
    nrow = -(-len(present) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(1.65 * ncol + 0.8, 1.75 * nrow + 0.1),
                             squeeze=False, layout="constrained")
    im = None
    mac = {}
    for ax, m in zip(axes.flat, present):
        c = np.abs(np.asarray(sel[sel.method == m].iloc[0].bit_correlation, dtype=float))
        off = c[np.triu_indices(len(c), 1)]
        mac[m] = float(np.nanmean(off)) if len(off) else float("nan")
        im = ax.imshow(c, vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
        title = f"{display_name(m)} (mAC {mac[m]:.2f})"
        if health is not None and m in health.index:
            title += f"\n{int(health.loc[m, 'effective_bits'])} effective bits"
        ax.set_title(title, fontsize=7,
                     color=COLOURS.get(m, "black"),
                     fontweight="bold" if m in COLOURS else "normal")
        ticks = [0, len(c) // 2, len(c) - 1]
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
    label_small_multiples(axes, len(present), ncol, xlabel="bit index", ylabel="bit index")
    bar = fig.colorbar(im, ax=axes, shrink=0.7)
    bar.set_label("|correlation| between two bits", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    take = _ranked_mac_text(mac, collapsed, n_bits=n_bits, health=health)
    eff = (" Effective bits (panel titles) and the constant and near-duplicate bits in the "
           "first sentence are those of the query codes (the database codes of the stored "
           "runs are not kept); a constant bit is a row and column of zeros, a bit that "
           "copies another a bright off-diagonal entry." if health is not None else "")
    cap = (f"{take} **Bit-correlation matrices, {n_bits} bits** ({protocol}, scale "
           f"`{scale}`): absolute Pearson correlation between every pair of bits of the "
           f"database codes (the diagonal is 1), seed 0; mAC = mean off-diagonal value, "
           f"where a constant bit counts as uncorrelated.{eff} The DSAH poster shows such "
           f"matrices at 32 bits without saying on which data set.")
    alt = (f"{len(present)} heat maps of the absolute correlation between the {n_bits} bits "
           f"of each method's database codes, one per method "
           f"({', '.join(map(display_name, present))}). {take}")
    return Drawn(fig, cap, alt)


def mac_figure(results: pd.DataFrame, *, n_bits: int, scale: str, protocol: str,
               methods: list[str], collapsed=(),
               health: pd.DataFrame | None = None) -> Drawn:
    """Mean absolute correlation (mAC) between bits, one bar per method, sorted; bars of
    methods whose codes collapse (``collapsed``) or, with ``health``
    (:func:`hashlib_core.report.code_health.health_table`), have constant or near-duplicate bits
    are hatched."""
    if results.empty or "mac" not in results.columns:
        return _missing(f"mAC at {n_bits} bits", scale, protocol)
    sel = results[(results.protocol == protocol) & (results.n_bits == n_bits)
                  & results.variant.isna() & results.mac.notna()]
    agg = sel.groupby("method").mac.agg(["mean", "std", "size"])
    present = [m for m in methods if m in agg.index]
    if not present:
        return _missing(f"mAC at {n_bits} bits", scale, protocol)
    agg = agg.loc[present].sort_values("mean")
    order = list(agg.index)
    fig, ax = plt.subplots(figsize=(min(7.2, max(4.0, 0.32 * len(order) + 1.2)), 2.8),
                           layout="constrained")
    colours = [COLOURS.get(m, GREY) for m in order]
    bars = ax.bar(range(len(order)), agg["mean"], yerr=agg["std"].fillna(0), color=colours,
                  edgecolor="none", error_kw={"linewidth": 1})
    marked = set(collapsed) | set(_redundant(health, order))
    for bar, m in zip(bars, order):
        if m in marked:
            bar.set_hatch("////")
            bar.set_edgecolor("#555555")
    ax.set_xticks(range(len(order)), [display_name(m) for m in order], rotation=45,
                  ha="right", fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("method (sorted by mAC)", fontsize=8)
    ax.set_ylabel("mAC (mean |correlation|)", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylim(0, min(1.0, float((agg["mean"] + agg["std"].fillna(0)).max()) * 1.12))
    take = _ranked_mac_text({m: float(agg.loc[m, "mean"]) for m in order}, collapsed,
                            n_bits=n_bits, health=health)
    cap = (f"{take} **Mean absolute correlation between bits (mAC), {n_bits} bits** "
           f"({protocol}, scale `{scale}`): the mean of the off-diagonal entries of the "
           f"correlation matrix of the database codes; lower = less redundant bits; "
           f"DSAH and ADSH in colour, error bars = std over seeds where several, hatched "
           f"bars = collapsed codes"
           + (" or codes with constant or near-duplicate bits (query codes, seed 0)"
              if health is not None else "") + ".")
    alt = (f"Bar chart of the mAC of {len(order)} methods at {n_bits} bits, sorted from "
           f"least to most correlated, DSAH and ADSH in colour. {take}")
    return Drawn(fig, cap, alt)
