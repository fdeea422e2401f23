"""Figures of the book, drawn from the results store (never from training).

Each ``*_figure`` function returns ``(figure, caption)``: a Matplotlib figure with
labelled axes (with units) and a legend or colour bar, and a caption that states the
protocol, the metric and the scale. When the store holds no run for a figure, the
figure is ``None`` and the caption says what is missing; :func:`show` displays either.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hashlib_core.tables import display_name  # noqa: E402

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
DPI = 90


def show(fig: plt.Figure | None, caption: str) -> None:
    """Display a figure (PNG) followed by its caption (Markdown), then close the figure.

    The PNG is rendered here (not by the notebook's Matplotlib backend), so the output
    is an image whichever backend the kernel runs.
    """
    import io

    from IPython.display import Image, Markdown, display

    if fig is not None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        display(Image(data=buf.getvalue(), format="png"))
    display(Markdown(caption))


def _first_seed(curves: pd.DataFrame) -> pd.DataFrame:
    """One run per (method, n_bits): the lowest seed."""
    if curves.empty:
        return curves
    return curves.sort_values("seed").drop_duplicates(["method", "n_bits"])


def _methods_order(methods, order: list[str] | None) -> list[str]:
    present = list(dict.fromkeys(methods))
    if order is None:
        return sorted(present)
    return [m for m in order if m in present] + sorted(set(present) - set(order))


def _missing(what: str, scale: str, protocol: str) -> tuple[None, str]:
    return None, (f"**{what}** ({protocol}, scale `{scale}`): no run in the results store "
                  f"yet. `python -m hashlib_core.reproduce --scale {scale}` fills it in.")


def _line_styles(n: int):
    cmap = plt.get_cmap("tab20")
    marks = "os^vD<>phx*+1234"
    return [(cmap(i % 20), marks[i % len(marks)]) for i in range(n)]


def pr_figure(curves: pd.DataFrame, *, n_bits: int, scale: str, protocol: str,
              order: list[str] | None = None) -> tuple[plt.Figure | None, str]:
    """Precision-recall curves traced by the Hamming radius, one line per method.

    ``curves`` is :func:`hashlib_core.results.load_curves`; it needs ``pr_precision``
    and ``pr_recall`` (one point per radius 0..n_bits).
    """
    sel = _first_seed(curves[curves.n_bits == n_bits]) if not curves.empty else curves
    if sel.empty or "pr_precision" not in sel.columns:
        return _missing(f"P-R curves at {n_bits} bits", scale, protocol)
    methods = _methods_order(sel.method, order)
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=DPI)
    for (color, mark), m in zip(_line_styles(len(methods)), methods):
        r = sel[sel.method == m].iloc[0]
        ax.plot(r.pr_recall, r.pr_precision, color=color, marker=mark, markersize=3,
                linewidth=1.2, label=display_name(m))
    ax.set_xlabel("recall (fraction of relevant database items retrieved)")
    ax.set_ylabel("precision (fraction of retrieved items relevant)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="best", title="method")
    fig.tight_layout()
    cap = (f"**P-R curves, {n_bits} bits** ({protocol}, scale `{scale}`): precision against "
           f"recall of the database items within Hamming radius r of each query, "
           f"r = 0 .. {n_bits} (one point per radius), (query, item) pairs pooled over all "
           f"queries (micro average; precision 0 where nothing is returned); "
           f"{len(methods)} methods, seed 0.")
    return fig, cap


def precision_at_n_figure(curves: pd.DataFrame, *, n_bits: int, scale: str, protocol: str,
                          order: list[str] | None = None, max_n: int = 1000,
                          ) -> tuple[plt.Figure | None, str]:
    """Precision of the top N returned items against N (up to ``max_n``)."""
    sel = _first_seed(curves[curves.n_bits == n_bits]) if not curves.empty else curves
    if sel.empty or "pn_precision" not in sel.columns:
        return _missing(f"P@N at {n_bits} bits", scale, protocol)
    methods = _methods_order(sel.method, order)
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=DPI)
    for (color, mark), m in zip(_line_styles(len(methods)), methods):
        r = sel[sel.method == m].iloc[0]
        keep = np.asarray(r.pn_n) <= max_n
        ax.plot(np.asarray(r.pn_n)[keep], np.asarray(r.pn_precision)[keep], color=color,
                marker=mark, markersize=3, linewidth=1.2, label=display_name(m))
    ax.set_xlabel("N (number of returned database items)")
    ax.set_ylabel("precision@N (fraction relevant)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="best", title="method")
    fig.tight_layout()
    cap = (f"**Precision@N, {n_bits} bits** ({protocol}, scale `{scale}`): precision of the "
           f"top N database items ranked by Hamming distance (ties by database index), "
           f"N up to {max_n}; {len(methods)} methods, seed 0.")
    return fig, cap


def radius2_figure(results: pd.DataFrame, *, scale: str, protocol: str,
                   order: list[str] | None = None) -> tuple[plt.Figure | None, str]:
    """Precision within Hamming radius 2 against the code length, one line per method."""
    if results.empty or "precision_r2" not in results.columns:
        return _missing("Precision within Hamming radius 2", scale, protocol)
    sel = results[(results.protocol == protocol) & results.variant.isna()
                  & results.precision_r2.notna()]
    if sel.empty:
        return _missing("Precision within Hamming radius 2", scale, protocol)
    agg = sel.groupby(["method", "n_bits"]).precision_r2.mean().reset_index()
    methods = _methods_order(agg.method, order)
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=DPI)
    for (color, mark), m in zip(_line_styles(len(methods)), methods):
        r = agg[agg.method == m].sort_values("n_bits")
        ax.plot(r.n_bits, r.precision_r2, color=color, marker=mark, linewidth=1.2,
                label=display_name(m))
    bits = sorted(agg.n_bits.unique())
    ax.set_xticks(bits)
    ax.set_xlabel("code length (bits)")
    ax.set_ylabel("precision within Hamming radius 2 (fraction relevant)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="best", title="method")
    fig.tight_layout()
    cap = (f"**Precision within Hamming radius 2 against code length** ({protocol}, scale "
           f"`{scale}`): a query that retrieves nothing within radius 2 counts as precision 0; "
           f"mean over seeds; {len(methods)} methods at {', '.join(map(str, bits))} bits.")
    return fig, cap


def tsne_figure(panels: list[tuple[str, np.ndarray, np.ndarray]], *, n_bits: int, scale: str,
                protocol: str, class_names=CIFAR10_CLASSES, max_points: int = 1000,
                seed: int = 0, missing: list[str] = ()) -> tuple[plt.Figure | None, str]:
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
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8), dpi=DPI,
                             squeeze=False)
    rng = np.random.default_rng(seed)
    cmap = plt.get_cmap("tab10")
    for ax, (method, codes, labels) in zip(axes[0], panels):
        y = labels.argmax(1) if labels.ndim == 2 else labels
        idx = np.sort(rng.permutation(len(codes))[:max_points])
        tsne = TSNE(n_components=2, init="pca", random_state=seed,
                    perplexity=min(30.0, (len(idx) - 1) / 3))
        # one OpenMP thread: on a shared 2-core machine more threads are ~10x slower
        with threadpool_limits(1):
            xy = tsne.fit_transform(codes[idx].astype(np.float32))
        for c in np.unique(y[idx]):
            m = y[idx] == c
            name = class_names[c] if c < len(class_names) else f"class {c}"
            ax.scatter(xy[m, 0], xy[m, 1], s=6, color=cmap(c % 10), label=name)
        ax.set_title(f"{display_name(method)}, {n_bits} bits ({len(idx)} queries)")
        ax.set_xlabel("t-SNE dimension 1 (arbitrary units)")
        ax.set_ylabel("t-SNE dimension 2 (arbitrary units)")
    axes[0][-1].legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5),
                       title="class")
    fig.tight_layout()
    names = " and ".join(display_name(m) for m, _, _ in panels)
    cap = (f"**t-SNE of {n_bits}-bit query codes** of {names} ({protocol}, scale `{scale}`): "
           f"each point is a query image's binary code embedded in 2-D by t-SNE (Euclidean "
           f"distance on ±1 codes, i.e. twice the square root of the Hamming distance), "
           f"coloured by class; tighter, separated clusters mean more discriminative codes.")
    if missing:
        cap += (f" Not shown, no {n_bits}-bit run stored yet: "
                f"{', '.join(map(display_name, missing))}.")
    return fig, cap


def correlation_figure(curves: pd.DataFrame, *, n_bits: int, scale: str, protocol: str,
                       methods: list[str]) -> tuple[plt.Figure | None, str]:
    """Absolute bit-correlation matrices (database codes), one panel per method."""
    if curves.empty or "bit_correlation" not in curves.columns:
        return _missing(f"Bit-correlation matrices at {n_bits} bits", scale, protocol)
    sel = _first_seed(curves[curves.n_bits == n_bits])
    present = [m for m in methods if m in set(sel.method)]
    if not present:
        return _missing(f"Bit-correlation matrices at {n_bits} bits", scale, protocol)
    ncol = min(4, len(present))
    nrow = -(-len(present) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.1 * ncol + 0.8, 3.0 * nrow), dpi=DPI,
                             squeeze=False)
    im = None
    for ax, m in zip(axes.flat, present):
        c = np.abs(np.asarray(sel[sel.method == m].iloc[0].bit_correlation, dtype=float))
        im = ax.imshow(c, vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
        ax.set_title(display_name(m), fontsize=9)
        ax.set_xlabel("bit index")
        ax.set_ylabel("bit index")
    for ax in list(axes.flat)[len(present):]:
        ax.axis("off")
    fig.colorbar(im, ax=axes, shrink=0.8, label="|correlation| between two bits")
    cap = (f"**Bit-correlation matrices, {n_bits} bits** ({protocol}, scale `{scale}`): "
           f"absolute Pearson correlation between every pair of bits of the database codes "
           f"(the diagonal is 1); the colour bar is the legend. Dark off-diagonal = "
           f"decorrelated bits. Methods: {', '.join(map(display_name, present))}.")
    return fig, cap


def mac_figure(results: pd.DataFrame, *, n_bits: int, scale: str, protocol: str,
               methods: list[str]) -> tuple[plt.Figure | None, str]:
    """Bar chart of the mean absolute correlation (mAC) between bits."""
    if results.empty or "mac" not in results.columns:
        return _missing(f"mAC at {n_bits} bits", scale, protocol)
    sel = results[(results.protocol == protocol) & (results.n_bits == n_bits)
                  & results.variant.isna() & results.mac.notna()]
    agg = sel.groupby("method").mac.agg(["mean", "std", "size"])
    present = [m for m in methods if m in agg.index]
    if not present:
        return _missing(f"mAC at {n_bits} bits", scale, protocol)
    agg = agg.loc[present]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(present) + 1.5), 4.4), dpi=DPI)
    colors = ["tab:red" if m == "dsah" else "tab:blue" for m in present]
    ax.bar(range(len(present)), agg["mean"], yerr=agg["std"].fillna(0), color=colors,
           label="mAC (mean over seeds; bar = std where several)")
    ax.set_xticks(range(len(present)), [display_name(m) for m in present], rotation=45,
                  ha="right")
    ax.set_xlabel("method")
    ax.set_ylabel("mAC (mean |correlation| between bits)")
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    cap = (f"**Mean absolute correlation between bits (mAC), {n_bits} bits** ({protocol}, "
           f"scale `{scale}`): the mean of the off-diagonal entries of the matrices above; "
           f"lower = less redundant bits (DSAH in red).")
    return fig, cap
