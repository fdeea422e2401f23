"""The house style of the book's figures: palette, layout helpers, and the figure value
(:class:`Drawn`) with its display (:func:`show`).

Each ``*_figure`` function of :mod:`hashlib_core.report.figures` returns a :class:`Drawn`
``(fig, caption, alt)``: a Matplotlib figure built for one comparison, a caption whose
first sentence is the take-away (computed from the data it draws) and alt text that says
what the figure shows. When no run is stored for a figure, ``fig`` is ``None`` and the
caption says what is missing (:func:`missing_figure`); :func:`show` displays either.

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

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from hashlib_core.report.names import display_name

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
def missing_figure(what: str, scale: str, protocol: str) -> Drawn:
    """The figure's place when no run is stored for it: no figure, a caption saying what
    is missing and how to fill it in."""
    return Drawn(None, f"**{what}** ({protocol}, scale `{scale}`): no run stored yet. "
                       f"`python -m hashlib_core.reproduce --scale {scale}` fills it in.")


def paper_note(kind: str, dataset: str) -> str:
    """A sentence saying on which data set the paper drew this kind of figure, when it is
    not the data set drawn here ("" otherwise)."""
    from hashlib_core.report.names import DATASET_NAMES

    if kind not in PAPER_FIGURE_DATA:
        return ""
    paper, theirs = PAPER_FIGURE_DATA[kind]
    ours = DATASET_NAMES.get(dataset, dataset)
    if ours == theirs:
        return ""
    return (f" The {paper} draws this figure on {theirs} with an ImageNet-pretrained "
            f"ResNet50; this one is on {ours}, so compare its shape, not its values.")


def seeds_text(n_seeds: dict[str, int]) -> str:
    """``"SHNet 3 seeds, CSQ 3 seeds, the others 1"``."""
    multi = {m: n for m, n in n_seeds.items() if n > 1}
    if not multi:
        return "one seed per method"
    listed = ", ".join(f"{display_name(m)} {n} seeds" for m, n in multi.items())
    return f"{listed} (mean, band or thin lines = the seeds), the others one seed"


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


def fit_ylim(ax, values, *, pad: float = 0.06, floor: float = 0.0, ceil: float = 1.0) -> None:
    """Limit the y-axis to the range of the values drawn (plus a margin)."""
    vals = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) \
        if len(values) else np.array([])
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return
    lo, hi = float(vals.min()), float(vals.max())
    span = max(hi - lo, 0.02)
    ax.set_ylim(max(floor, lo - pad * span), min(ceil, hi + pad * span))


def figure_legend(fig, pairs_drawn: list[str], *, grey_label: str | None,
                  ncol: int | None = None):
    """One legend for the whole figure, above the panels (it covers no data)."""
    handles = [Line2D([], [], color=COLOURS.get(m, "black"), linewidth=2.2,
                      label=display_name(m)) for m in pairs_drawn]
    if grey_label:
        handles.append(Line2D([], [], color=GREY, linewidth=1.0, label=grey_label))
    fig.legend(handles=handles, loc="outside upper center", frameon=False,
               ncol=ncol or len(handles), fontsize=8, handlelength=1.6, columnspacing=1.2)


def seeds_per_method(frame: pd.DataFrame, methods) -> dict[str, int]:
    """The number of seeds of each of ``methods`` in ``frame``."""
    return {m: int(frame[frame.method == m].seed.nunique()) for m in methods}
