"""Bit-correlation figures of the book: the correlation matrices of the database codes and
the mean absolute correlation (mAC) of every method, read beside the code health
(:mod:`hashlib_core.report.code_health`: constant and near-duplicate bits).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hashlib_core.report.figures.style import (
    COLOURS,
    GREY,
    Drawn,
    label_small_multiples,
    missing_figure,
)
from hashlib_core.report.names import display_name


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
                     health: pd.DataFrame | None = None, basis: str = "one seed") -> str:
    """Which method has the least / most correlated bits, leaving out collapsed codes
    and, with ``health``, codes with constant or near-duplicate bits: a constant bit has
    correlation 0 with every other and makes codes look decorrelated, so a code that
    repeats itself is never called the least correlated. ``basis`` (protocol and seeds)
    qualifies DSAH's and ADSH's values, which are described, never judged: the claim
    about them has its test on the claims page."""
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
    if redundant:
        text += ("; left out of that ranking, as their query codes have constant or "
                 "near-duplicate bits (a low mAC there does not mean independent bits): "
                 + "; ".join(f"{display_name(m)} ({w})" for m, w in redundant.items()))
    bad = [m for m in mac if m in set(collapsed) and m not in redundant]
    if bad:
        text += (f"; the codes of {', '.join(map(display_name, bad))} collapse (see the "
                 f"code-health table), so their mAC is not a fair comparison")
    if "dsah" in mac and "adsh" in mac:
        # a description, not a verdict: the claim is tested on the claims page
        text += (f". DSAH's mAC is {mac['dsah']:.2f} here and ADSH's {mac['adsh']:.2f} "
                 f"({basis}, no interval): a description, not the test of the DSAH claim on "
                 f"mAC, which the claims page makes on ADSH's protocol at 32 bits")
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
        return missing_figure(f"Bit-correlation matrices at {n_bits} bits", scale, protocol)
    sel = curves[curves.n_bits == n_bits].sort_values("seed").drop_duplicates(
        ["method", "n_bits"])
    present = [m for m in methods if m in set(sel.method)]
    if not present:
        return missing_figure(f"Bit-correlation matrices at {n_bits} bits", scale, protocol)
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
    take = _ranked_mac_text(mac, collapsed, n_bits=n_bits, health=health,
                            basis=f"one seed, protocol `{protocol}`")
    eff = (" Effective bits (panel titles) and the constant and near-duplicate bits in the "
           "first sentence are those of the query codes, which every run stores (its "
           "database codes are stored, bit-packed, only for the runs the retrieval-examples "
           "page shows; the matrices were computed from them when each run was evaluated "
           "and kept in its record); a constant bit is a row and column of zeros, a bit that "
           "copies another a bright off-diagonal entry." if health is not None else "")
    cap = (f"{take} **Bit-correlation matrices, {n_bits} bits** ({protocol}, scale "
           f"`{scale}`): absolute Pearson correlation between every pair of bits of the "
           f"database codes (the diagonal is 1), seed 0; mAC (database codes, all bits) = mean "
           f"off-diagonal value, where a constant bit counts as uncorrelated.{eff} The DSAH poster shows such "
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
        return missing_figure(f"mAC at {n_bits} bits", scale, protocol)
    sel = results[(results.protocol == protocol) & (results.n_bits == n_bits)
                  & results.variant.isna() & results.mac.notna()]
    agg = sel.groupby("method").mac.agg(["mean", "std", "size"])
    present = [m for m in methods if m in agg.index]
    if not present:
        return missing_figure(f"mAC at {n_bits} bits", scale, protocol)
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
    seeds = sorted({int(n) for n in agg.loc[[m for m in ("dsah", "adsh") if m in order],
                                            "size"]}) or [1]
    basis = ("one seed" if seeds == [1] else
             f"mean of {' or '.join(map(str, seeds))} seeds") + f", protocol `{protocol}`"
    take = _ranked_mac_text({m: float(agg.loc[m, "mean"]) for m in order}, collapsed,
                            n_bits=n_bits, health=health, basis=basis)
    cap = (f"{take} **Mean absolute correlation between bits (mAC), {n_bits} bits** "
           f"({protocol}, scale `{scale}`): the mean of the off-diagonal entries of the "
           f"correlation matrix of the database codes, over all bits (a constant bit counts "
           f"as uncorrelated); lower = less redundant bits; "
           f"DSAH and ADSH in colour, error bars = std over seeds where several, hatched "
           f"bars = collapsed codes"
           + (" or codes with constant or near-duplicate bits (query codes, seed 0)"
              if health is not None else "") + ".")
    alt = (f"Bar chart of the mAC of {len(order)} methods at {n_bits} bits, sorted from "
           f"least to most correlated, DSAH and ADSH in colour. {take}")
    return Drawn(fig, cap, alt)


def _pair_mac(runs: pd.DataFrame, n_bits: int) -> dict[str, tuple[float, int]]:
    """``{method: (mean mAC, seeds)}`` of DSAH's and ADSH's runs of ``runs`` at ``n_bits``."""
    out = {}
    for m in ("dsah", "adsh"):
        v = runs[(runs.method == m) & (runs.n_bits == n_bits)]
        v = v.mac.dropna() if "mac" in v else v.seed.iloc[:0]
        if len(v):
            out[m] = (float(v.mean()), len(v))
    return out


def _direction(mac: dict[str, tuple[float, int]]) -> str:
    a, b = mac["dsah"][0], mac["adsh"][0]
    return "lower" if a < b else "higher" if a > b else "equal"


def class_codes_mac(n_classes: int, n_bits: int, *, draws: int = 200, seed: int = 0) -> float:
    """The mean mAC of codes that carry the class and nothing else: one code per class, its
    bits drawn as fair coin flips, shared by every item of the class (equal class sizes, so
    the rows of the class codes stand for the items: a correlation does not change when
    every row is repeated equally often). A reference for a learned code's mAC on a
    single-label dataset: a method that spreads its classes without caring for the
    correlation of its bits lands about here.

    >>> round(class_codes_mac(10, 32), 2)
    0.27
    """
    from hashlib_core.metrics import mean_absolute_correlation

    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():  # a draw can give a constant bit (correlation 0)
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.mean([mean_absolute_correlation(rng.choice([-1, 1], (n_classes, n_bits)))
                              for _ in range(draws)]))


def class_codes_reference(means: dict[str, float], protocol: str, n_bits: int, *,
                          of: str = "") -> str:
    """" For scale: ..." the mAC of class-only codes (:func:`class_codes_mac`) for the
    protocol's classes, and where each method's mean mAC (``means``: method name to value;
    ``of`` says of what, e.g. " over its database codes"), two methods, lies against it;
    "" for a protocol of unknown classes."""
    from hashlib_core.data.protocols import PAPER_SIZES

    n_classes = PAPER_SIZES.get(protocol, {}).get("n_classes")
    if not n_classes or not means:
        return ""
    ref = class_codes_mac(n_classes, n_bits)
    below = [v < ref for v in means.values()]
    side = ("both below it" if all(below) else "both above it" if not any(below)
            else "on either side of it")
    names = " and ".join(f"{display_name(m)}'s{' mean mAC' + of if i == 0 else ''} ({v:.3f})"
                         for i, (m, v) in enumerate(means.items()))
    return (f" For scale: codes that carry the class and nothing else (each of the "
            f"{n_classes} classes gets one code of random bits, shared by all its items) have "
            f"an mAC of {ref:.3f} at {n_bits} bits on average; {names} are {side}.")


def _current(runs: pd.DataFrame, root, scale: str) -> pd.DataFrame:
    """``runs`` (claims' runs from :func:`hashlib_core.results.load_results`) without those
    made with a superseded tuning winner, as the claims page leaves them out
    (:func:`hashlib_core.report.claim_checks.current_runs`)."""
    from hashlib_core.report.claim_checks import current_runs
    from hashlib_core.report.claims import claim_runs

    if not len(runs):
        return runs
    keep = {str(Path(r.record["_path"]).resolve()) for r in
            current_runs(claim_runs(root, scale), root, scale)}
    return runs[[str(Path(p).resolve()) in keep for p in runs.path]]


def claim_mac_text(root, *, scale: str, protocol: str, n_bits: int = 32) -> str:
    """Which runs this page draws for DSAH and ADSH (protocol, epochs, seeds) and their
    mAC there, against the runs the claims page judges the mAC claim on (the claim's
    protocol and length, :func:`hashlib_core.runner.grids.claim_variant`'s runs) and
    whether the two point the same way; the verdict itself is left to the claims page.
    "" without runs of both methods on this page."""
    from hashlib_core.report.claims import CLAIMS
    from hashlib_core.report.provenance import run_epochs
    from hashlib_core.results import load_results
    from hashlib_core.runner.grids import claim_variant

    claim = next(c for c in CLAIMS if c.metric == "mac")
    here = load_results(scale, root=root, protocol=protocol, variant=None)
    mac = _pair_mac(here, n_bits) if len(here) else {}
    if len(mac) < 2:
        return ""
    pair = here[here.method.isin(["dsah", "adsh"]) & (here.n_bits == n_bits)]

    def runs_words(m: dict, epochs: list[int]) -> str:
        e = "/".join(map(str, epochs))
        seeds = ("one seed each" if m["dsah"][1] == m["adsh"][1] == 1 else
                 f"{m['dsah'][1]} seeds each" if m["dsah"][1] == m["adsh"][1]
                 else f"DSAH {m['dsah'][1]} seeds, ADSH {m['adsh'][1]}")
        return f"{e} epochs, {seeds}" if e else seeds

    text = (f"**Which runs this page draws.** The matrices, the code-health tables and the "
            f"mAC bars use the default runs of protocol `{protocol}` "
            f"({runs_words(mac, run_epochs(pair))} for DSAH and ADSH at {n_bits} bits; the "
            f"matrices and code health of every method at seed 0). In these runs DSAH's mAC "
            f"(database codes, all bits) is "
            f"{mac['dsah'][0]:.3f} and ADSH's {mac['adsh'][0]:.3f}: DSAH's is "
            f"{_direction(mac)}.")
    c_proto = claim.protocols[0] if claim.protocols else protocol
    c_bits = claim.focus_bits[0] if claim.focus_bits else n_bits
    judged = _current(load_results(scale, root=root, protocol=c_proto,
                                   variant=claim_variant(scale)), root, scale)
    c_mac = _pair_mac(judged, c_bits) if len(judged) else {}
    if len(c_mac) < 2:
        return text + (" The claim that DSAH's bits are less correlated than ADSH's is "
                       "judged on other runs, on the [claims page](claims).")
    c_pair = judged[judged.method.isin(["dsah", "adsh"]) & (judged.n_bits == c_bits)]
    same = _direction(c_mac) == _direction(mac)
    return text + (
        f" The claim that DSAH's bits are less correlated than ADSH's is judged on other "
        f"runs: protocol `{c_proto}` at {c_bits} bits ({runs_words(c_mac, run_epochs(c_pair))}"
        f"), where DSAH's mean mAC is {c_mac['dsah'][0]:.3f} and ADSH's "
        f"{c_mac['adsh'][0]:.3f}: DSAH's is {_direction(c_mac)}, "
        + ("the same direction as here" if same else "the other direction from here")
        + "." + class_codes_reference({m: c_mac[m][0] for m in ("dsah", "adsh")}, c_proto,
                                      c_bits)
        + " The verdict, with its interval over seeds, is on the [claims page](claims).")
