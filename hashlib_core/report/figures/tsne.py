"""t-SNE maps of query codes, side by side, with how cleanly each map's classes cluster.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from hashlib_core.report.figures.style import (
    CIFAR10_CLASSES,
    OKABE_ITO,
    Drawn,
    missing_figure,
    paper_note,
)
from hashlib_core.report.names import display_name


def _knn_agreement(xy: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """Share of each point's k nearest neighbours (2-D) with its own class."""
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1, kind="stable")[:, :k]
    return float((y[nn] == y[:, None]).mean())


def _runs_phrase(run_seed: int | None, epochs) -> str:
    """", the 40-epoch runs of seed 0" for the caption ("" when neither is known)."""
    trained = f"{'/'.join(map(str, epochs))}-epoch " if len(epochs) else ""
    if run_seed is not None:
        return f", the {trained}runs of seed {run_seed}"
    return f", {trained}runs" if trained else ""


def tsne_figure(panels: list[tuple[str, np.ndarray, np.ndarray]], *, n_bits: int, scale: str,
                protocol: str, dataset: str = "cifar10", class_names=CIFAR10_CLASSES,
                max_points: int = 1000, seed: int = 0, missing: list[str] = (),
                run_seed: int | None = None, epochs=()) -> Drawn:
    """t-SNE maps of query codes, side by side.

    Parameters
    ----------
    panels : list of (method, codes, labels)
        ``codes`` (n, n_bits) in {-1,+1}; ``labels`` (n, n_classes) multi-hot or (n,) int.
    missing : list of str
        Methods asked for that have no stored run (named in the caption).
    seed, run_seed, epochs : int, int, list of int
        The random state of the subsample and of t-SNE; the runs' seed and epochs (caption).
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    if not panels:
        return missing_figure(f"t-SNE of {n_bits}-bit codes of "
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
        which = (f"the classes of {names} form clusters about equally clean"
                 if max(agreement.values()) - min(agreement.values()) < 0.02 else
                 f"{display_name(best)}'s classes form the cleanest clusters")
        take = f"In this map {which}: {share}{proj}."
    else:
        take = f"In this map, {share}{proj}."
    runs = _runs_phrase(run_seed, epochs)
    cap = (f"{take} **t-SNE of {n_bits}-bit query codes** of {names} ({protocol}, scale "
           f"`{scale}`{runs}; t-SNE random state {seed}): each point is a query image's "
           f"binary code embedded in 2-D by t-SNE (Euclidean distance on ±1 codes, i.e. "
           f"twice the square root of the Hamming distance), coloured and shaped by class.{paper_note('tsne', dataset)}")
    if missing:
        cap += (f" Not shown, no {n_bits}-bit run stored yet: "
                f"{', '.join(map(display_name, missing))}.")
    alt = (f"{len(panels)} scatter plots side by side, one per method ({names}), of "
           f"{n_bits}-bit query codes mapped to two dimensions by t-SNE, points coloured by "
           f"CIFAR-10 class. {take}")
    return Drawn(fig, cap, alt)
