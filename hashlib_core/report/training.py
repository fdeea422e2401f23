"""Training histories of the stored runs: curves per epoch, and the choice of optimiser
and learning rate from tuning runs.

Every deep run stores a ``history``: one entry per epoch with the training ``loss``, the
learning rate and, every few epochs, ``val_map`` (mAP of the validation split, held out
of the training images; never the queries). :func:`load_histories` reads them into one
tidy table; :func:`curves_figure` draws them as small multiples, one panel per method.

Tuning runs are records whose ``variant`` starts with ``tune-`` (for instance
``tune-adam-lr0.0003``), at one code length and seed, each with its ``config.optimizer``
and ``config.lr``. :func:`tuning_table` picks, per method, the setting with the highest
validation mAP at its best epoch: the selection sees validation data only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hashlib_core.report.figures.style import (
    COLOURS,
    GREY,
    Drawn,
    label_small_multiples,
    seeds_text,
)
from hashlib_core.report.markdown import MISSING, markdown_table
from hashlib_core.report.names import display_name
from hashlib_core.runner.grids import TUNE_TIE, TUNE_TIE_SEED
from hashlib_core.runner.tuning import winners

TUNE_PREFIX = "tune-"
COLUMNS = ["method", "variant", "n_bits", "seed", "optimizer", "lr", "epoch", "loss",
           "val_map"]


def load_histories(root: str | Path = "results", *, scale: str, protocol: str,
                   n_bits: int | None = None, seed: int | None = None,
                   tuning: bool = False) -> pd.DataFrame:
    """One row per (run, epoch) of the stored histories.

    Parameters
    ----------
    n_bits, seed : int, optional
        Only runs of this code length, of this seed (the tuning page: seed 0, the tie
        rule's second seed is shown apart).
    tuning : bool
        False: the default runs (no variant); True: the tuning runs (variant ``tune-*``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS` (``val_map`` NaN at epochs without validation; ``lr`` is
        the configured learning rate, not the scheduled one). Empty when no run matches.
    """
    from hashlib_core.results import iter_records

    rows = []
    for rec in iter_records(root, scale=scale):
        key, cfg = rec["key"], rec.get("config") or {}
        variant = key["variant"]
        if key["protocol"] != protocol or (n_bits is not None and key["n_bits"] != n_bits) \
                or (seed is not None and key["seed"] != seed):
            continue
        is_tune = bool(variant) and variant.startswith(TUNE_PREFIX)
        if (tuning and not is_tune) or (not tuning and variant is not None):
            continue
        for h in rec.get("history") or []:
            if not isinstance(h, dict) or "epoch" not in h:
                raise ValueError(f"{rec['_path']}: a history entry lacks 'epoch': {h!r}")
            rows.append({"method": key["method"], "variant": variant,
                         "n_bits": int(key["n_bits"]), "seed": int(key["seed"]),
                         "optimizer": cfg.get("optimizer"), "lr": cfg.get("lr"),
                         "epoch": int(h["epoch"]),
                         "loss": np.nan if h.get("loss") is None else float(h["loss"]),
                         "val_map": np.nan if h.get("val_map") is None else float(h["val_map"])})
    return pd.DataFrame(rows, columns=COLUMNS)


def _order(methods, order) -> list[str]:
    present = list(dict.fromkeys(methods))
    return [m for m in order if m in present] + sorted(set(present) - set(order))


def still_rising(hist: pd.DataFrame, *, fraction: float = 0.2) -> dict[str, float]:
    """Per method, the rise of its seed-averaged validation mAP over the last ``fraction``
    of its epochs (:func:`hashlib_core.runner.tuning.late_gain`, the rule of the discussion
    page's convergence check); NaN when the history has no validation before or inside
    that window."""
    from hashlib_core.runner.tuning import late_gain

    out = {}
    for m, g in hist.dropna(subset=["val_map"]).groupby("method"):
        mean = g.groupby("epoch").val_map.mean()
        n_epochs = int(hist[hist.method == m].epoch.max()) + 1
        points = [{"epoch": int(e), "val_map": float(v)} for e, v in mean.items()]
        points.append({"epoch": n_epochs - 1, "val_map": None})  # the run's length
        out[m] = late_gain(points, fraction)
    return out


def curves_figure(hist: pd.DataFrame, *, what: str, n_bits: int, scale: str, protocol: str,
                  order: list[str] = (), ncols: int = 5) -> Drawn:
    """Small multiples of the training loss (``what="loss"``) or validation mAP
    (``what="val_map"``) per epoch, one panel per method; several seeds: thin lines and
    their mean (loss) or a band of one standard deviation (validation mAP)."""
    label = {"loss": "training loss", "val_map": "validation mAP"}[what]
    sel = hist.dropna(subset=[what]) if not hist.empty else hist
    if sel.empty:
        return Drawn(None, f"**{label[0].upper() + label[1:]} per epoch, {n_bits} bits** ({protocol}, "
                           f"scale `{scale}`): no stored run has a {label} history yet.")
    methods = _order(sel.method, order)
    ncols = min(ncols, len(methods))
    nrows = -(-len(methods) // ncols)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(1.45 * ncols + 0.3, 1.3 * nrows + 0.3),
                             squeeze=False, sharex=True, sharey=(what == "val_map"),
                             layout="constrained")
    for k, m in enumerate(methods):
        ax = axes.flat[k]
        g = sel[sel.method == m]
        c = COLOURS.get(m, "black")
        runs = [r.sort_values("epoch") for _, r in g.groupby("seed")]
        stats = g.groupby("epoch")[what].agg(["mean", "std", "size"])
        if len(runs) > 1 and what == "val_map":
            sd = stats["std"].fillna(0)
            ax.fill_between(stats.index, stats["mean"] - sd, stats["mean"] + sd, color=c,
                            alpha=0.25, linewidth=0)
        elif len(runs) > 1:
            for r in runs:
                ax.plot(r.epoch, r[what], color=c, linewidth=0.6, alpha=0.45)
        ax.plot(stats.index, stats["mean"], color=c, linewidth=1.6,
                marker="o" if what == "val_map" else None, markersize=3)
        if what == "loss":
            pos = stats["mean"][stats["mean"] > 0]
            if len(pos) == len(stats) and pos.max() / pos.min() > 20:
                ax.set_yscale("log")
        seeds = f", {len(runs)} seeds" if len(runs) > 1 else ""
        ax.set_title(f"{display_name(m)}{seeds}", fontsize=7)
        ax.grid(alpha=0.3)
    label_small_multiples(axes, len(methods), ncols, xlabel="epoch", ylabel=label)
    n_seeds = {m: int(sel[sel.method == m].seed.nunique()) for m in methods}
    if what == "val_map":
        from hashlib_core.report.learning import MAX_LATE_GAIN

        gain = still_rising(hist[hist.method.isin(methods)])
        known = [m for m in methods if np.isfinite(gain.get(m, np.nan))]
        rising = [m for m in known if gain[m] >= MAX_LATE_GAIN]
        final = sel.groupby(["method", "epoch"]).val_map.mean().groupby("method").last()
        best = final.idxmax()
        if not known:
            take = ("The validation histories are too short to tell whether the methods "
                    "still improve")
        else:
            take = (f"{len(rising)} of {len(known)} methods still gain {MAX_LATE_GAIN} "
                    f"validation mAP or more over the last 20% of their epochs"
                    + (f" ({', '.join(map(display_name, rising))}), so a longer schedule "
                       f"would likely raise their validation mAP" if rising
                       else ", so the schedule is long enough for them"))
        take += f"; {display_name(best)} ends highest ({final[best]:.3f})."
        what_text = ("mAP of the validation split (held out of the training images; the "
                     "queries are never used for training or selection), measured every few "
                     "epochs; panels share the y-axis")
    else:
        means = sel.groupby(["method", "epoch"]).loss.mean()
        falls = [m for m in methods if means[m].iloc[-1] < means[m].iloc[0]]
        take = (f"The training loss falls from the first to the last epoch for {len(falls)} "
                f"of {len(methods)} methods"
                + (f"; it does not for {', '.join(display_name(m) for m in methods if m not in falls)}"
                   if len(falls) < len(methods) else "") + ".")
        what_text = ("each method's own objective, so the scales differ between panels "
                     "(a logarithmic axis where the loss spans more than a factor 20)")
    cap = (f"{take} **{label[0].upper() + label[1:]} per epoch, {n_bits} bits** ({protocol}, scale "
           f"`{scale}`): {what_text}; {seeds_text(n_seeds)}; SHNet, CSQ, DSAH and ADSH in "
           f"their colours of the other figures.")
    alt = (f"{len(methods)} small line charts, one per deep method, of the {label} against "
           f"the training epoch at {n_bits} bits. {take}")
    return Drawn(fig, cap, alt)


# --------------------------------------------------------------------------- tuning
def _setting(optimizer, lr) -> str:
    return f"{optimizer or '?'}, lr {lr:g}" if lr is not None else f"{optimizer or '?'}"


def tuning_table(hist: pd.DataFrame) -> pd.DataFrame:
    """Per method and tuning setting, the validation mAP at the best epoch.

    ``hist`` is :func:`load_histories` with ``tuning=True``.

    Returns
    -------
    pandas.DataFrame
        One row per (method, variant): ``method, variant, optimizer, lr, setting,
        best_val_map, best_epoch, epochs, winner`` (``winner``: the highest
        ``best_val_map`` of its method once all its settings of
        :data:`~hashlib_core.runner.grids.TUNE_CONFIGS` have run, ties to the first of them: the
        rule by which the grid picks the settings of the method's other runs). Empty when
        there is no tuning run.
    """
    cols = ["method", "variant", "n_bits", "seed", "optimizer", "lr", "setting",
            "best_val_map", "best_epoch", "epochs", "winner"]
    if hist.empty:
        return pd.DataFrame(columns=cols)
    runs = hist[["n_bits", "seed"]].drop_duplicates()
    if len(runs) > 1:
        raise ValueError(f"tuning_table: the tuning runs mix code lengths and seeds "
                         f"({runs.to_dict('records')}); select one (load_histories(n_bits=...))")
    rows = []
    for (m, v), g in hist.groupby(["method", "variant"], sort=True):
        val = g.dropna(subset=["val_map"])
        best = val.loc[val.val_map.idxmax()] if len(val) else None
        lr = g.lr.iloc[0]
        rows.append({"method": m, "variant": v, "n_bits": int(g.n_bits.iloc[0]),
                     "seed": int(g.seed.iloc[0]), "optimizer": g.optimizer.iloc[0],
                     "lr": None if pd.isna(lr) else float(lr),
                     "setting": _setting(g.optimizer.iloc[0], None if pd.isna(lr) else float(lr)),
                     "best_val_map": np.nan if best is None else float(best.val_map),
                     "best_epoch": None if best is None else int(best.epoch),
                     "epochs": int(g.epoch.max()) + 1, "winner": False})
    out = pd.DataFrame(rows, columns=cols)
    out["winner"] = winners(out, value="best_val_map")  # the grid's own rule
    return out


def tuning_html(table: pd.DataFrame, *, order: list[str] = ()) -> str:
    """The tuning table as HTML: methods as rows, settings as columns, each cell the
    validation mAP at the best epoch (and that epoch), the winner of each row in bold.

    Every value read from a record (method, optimizer) is escaped (:func:`html.escape`):
    a record cannot put markup, let alone a script, on the page.

    Examples
    --------
    >>> t = pd.DataFrame([{"method": "<b>x", "setting": "adam<img src=x>, lr 0.001",
    ...                    "optimizer": "adam<img src=x>", "lr": 1e-3, "best_val_map": 0.5,
    ...                    "best_epoch": 2, "winner": True}])
    >>> "<img" in tuning_html(t) or "<b>x" in tuning_html(t)
    False
    """
    from html import escape

    if table.empty:
        return ""
    settings = (table.sort_values(["optimizer", "lr"])
                .drop_duplicates("setting").setting.tolist())
    head = "".join(f"<th>{escape(str(s))}</th>" for s in settings)
    body = []
    for m in _order(table.method, order):
        g = table[table.method == m].set_index("setting")
        cells = []
        for s in settings:
            if s not in g.index or pd.isna(g.loc[s, "best_val_map"]):
                cells.append(f"<td>{escape(MISSING)}</td>")
                continue
            r = g.loc[s]
            txt = escape(f"{float(r.best_val_map):.3f} (epoch {int(r.best_epoch)})")
            cells.append(f"<td><strong>{txt} ✓</strong></td>" if r.winner else f"<td>{txt}</td>")
        body.append(f"<tr><th>{escape(str(display_name(m)))}</th>{''.join(cells)}</tr>")
    return (f"<table class='table'><thead><tr><th>method</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def tuning_text(table: pd.DataFrame, *, scale: str, protocol: str) -> str:
    """The caption of the tuning table (what was tried, what won), or the sentence that no
    tuning run is stored yet."""
    if table.empty:
        return (f"No tuning run is stored yet for protocol `{protocol}` at scale `{scale}`: "
                f"every method trains with the optimiser and learning rate written in its "
                f"run's configuration, none of them chosen on data yet.")
    from html import escape

    win = table[table.winner]
    counts = win.setting.value_counts()
    if len(counts):
        top = escape(str(counts.index[0]), quote=False)  # a record's optimizer: no markup
        lead = f"{counts.iloc[0]} of {len(win)} methods do best with {top}. "
    else:  # no method has run every setting yet
        lead = "No method has run every tuning setting yet, so none has a winner. "
    return (lead +
            f"**Choosing the optimiser and learning rate** ({protocol}, scale `{scale}`): "
            f"{len(table)} tuning runs of {table.method.nunique()} methods at "
            f"{int(table.n_bits.iloc[0])} bits, seed {int(table.seed.iloc[0])}, "
            f"{table.setting.nunique()} settings; each cell is the validation mAP at the "
            f"run's best epoch (that epoch in brackets), the winner of each method in bold "
            f"with a tick. Selection uses the validation split only; the queries are never "
            f"seen.")


def tuning_figure(hist: pd.DataFrame, table: pd.DataFrame, *, scale: str, protocol: str,
                  order: list[str] = (), ncols: int = 5) -> Drawn:
    """Validation mAP per epoch of every tuning run, one panel per method: the winning
    setting in colour, the others in grey."""
    if table.empty or hist.dropna(subset=["val_map"]).empty:
        return Drawn(None, "**Validation curves of the tuning runs**: none stored yet.")
    import matplotlib.pyplot as plt

    methods = _order(table.method, order)
    ncols = min(ncols, len(methods))
    nrows = -(-len(methods) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.45 * ncols + 0.3, 1.35 * nrows + 0.3),
                             squeeze=False, sharex=True, sharey=True, layout="constrained")
    sel = hist.dropna(subset=["val_map"])
    for k, m in enumerate(methods):
        ax = axes.flat[k]
        win = table[(table.method == m) & table.winner]
        for v, g in sel[sel.method == m].groupby("variant"):
            is_win = len(win) and v == win.variant.iloc[0]
            ax.plot(g.epoch, g.val_map, color=COLOURS.get(m, "black") if is_win else GREY,
                    linewidth=1.8 if is_win else 0.8, zorder=3 if is_win else 1,
                    marker="o" if is_win else None, markersize=3)
        title = display_name(m) + (f": {win.setting.iloc[0]}" if len(win) else "")
        ax.set_title(title, fontsize=6.5)
        ax.grid(alpha=0.3)
    label_small_multiples(axes, len(methods), ncols, xlabel="epoch", ylabel="validation mAP")
    win = table[table.winner]
    take = ("The winning settings: " + "; ".join(
        f"{display_name(r.method)} {r.setting} ({r.best_val_map:.3f})"
        for r in win.itertuples()) + ".")
    cap = (f"{take} **Validation curves of the tuning runs** ({protocol}, scale `{scale}`, "
           f"{int(table.n_bits.iloc[0])} bits, seed {int(table.seed.iloc[0])}): "
           f"validation mAP per epoch of every setting tried, one panel per method, the "
           f"winner in colour, the other settings in grey.")
    alt = (f"{len(methods)} small line charts of validation mAP against epoch, one per "
           f"method, the winning optimiser and learning rate highlighted. {take}")
    return Drawn(fig, cap, alt)


# --------------------------------------------------------------------------- budget check
def budget_figure(root: str | Path = "results", *, scale: str, protocol: str) -> Drawn:
    """The budget check drawn: for each method of :data:`hashlib_core.runner.grids.BUDGET_METHODS`,
    the validation mAP per epoch of its default run and of its longer run (same code
    length, seed and settings), one panel per method, each line labelled with the run's
    mAP@ALL on the queries."""
    from hashlib_core.results import iter_records
    from hashlib_core.runner.grids import (
        BUDGET_EPOCHS,
        BUDGET_METHODS,
        TUNE_BITS,
        TUNE_SEED,
        budget_variant,
    )

    long_name = budget_variant(BUDGET_EPOCHS)
    runs: dict[str, dict[str, dict]] = {}
    for rec in iter_records(root, scale=scale):
        key = rec["key"]
        if (key["protocol"], key["n_bits"], key["seed"]) != (protocol, TUNE_BITS, TUNE_SEED):
            continue
        if key["method"] in BUDGET_METHODS and key["variant"] in (None, long_name):
            runs.setdefault(key["method"], {})["long" if key["variant"] else "default"] = rec
    methods = [m for m in BUDGET_METHODS if len(runs.get(m, {})) == 2]
    what = (f"**Validation mAP of the default and the longer schedule** ({TUNE_BITS} bits, "
            f"seed {TUNE_SEED}, {protocol}, scale `{scale}`)")
    if not methods:
        return Drawn(None, f"{what}: the budget check has no pair of runs stored yet.")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(methods), figsize=(3.3 * len(methods) + 0.3, 2.5),
                             squeeze=False, sharey=True, layout="constrained")
    parts = []
    for ax, m in zip(axes.flat, methods):
        maps = {}
        for which, style in (("default", dict(color=GREY, linewidth=1.4, linestyle="--")),
                             ("long", dict(color=COLOURS.get(m, "black"), linewidth=1.8))):
            rec = runs[m][which]
            pts = [(h["epoch"], h["val_map"]) for h in rec["history"]
                   if h.get("val_map") is not None]
            n_epochs = len(rec["history"])
            maps[which] = (n_epochs, float(rec["scalars"]["map"]))
            ax.plot(*zip(*pts), marker="o", markersize=2.5, **style,
                    label=f"{n_epochs} epochs: queries' mAP@ALL {maps[which][1]:.3f}")
        n_long = maps["long"][0]  # the last 20% of its epochs, as tuning.late_gain counts them
        ax.axvspan(n_long - round(0.2 * n_long), n_long - 1, color=GREY, alpha=0.12, linewidth=0)
        ax.set_title(display_name(m), fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        m0, m1 = maps["default"][1], maps["long"][1]
        parts.append(f"{display_name(m)} {m0:.3f} → {m1:.3f} ({m1 - m0:+.3f})")
    axes.flat[0].set_ylabel("validation mAP")
    longer = maps["long"][0] / maps["default"][0] - 1
    take = (f"Training {longer:.0%} longer changes the queries' mAP@ALL by "
            + "; ".join(parts) + ".")
    cap = (f"{take} {what}: validation mAP (the validation queries against the training "
           f"items) of the default run (grey, dashed) and of the run trained "
           f"{BUDGET_EPOCHS} epochs (in colour); the shaded band marks the last 20% "
           f"of the longer run's epochs, over which the convergence check measures the rise.")
    alt = (f"{len(methods)} line charts of validation mAP against epoch, the default "
           f"schedule against the {BUDGET_EPOCHS}-epoch one. {take}")
    return Drawn(fig, cap, alt)


def tie_markdown(check: pd.DataFrame) -> str:
    """The tie rule on the tuning page: a sentence on which winners the two-seed mean
    keeps or changes, and a table of the near-tied settings ("" without any)."""
    if check.empty:
        return ""

    def num(v: float) -> str:
        return "—" if not np.isfinite(v) else f"{v:.4f}"

    verdicts = []
    for method, g in check.groupby("method", sort=False):
        state = g.changes.iloc[0]
        first = g[g.winner_seed0].iloc[0]
        if state == "pending":
            verdicts.append(f"{display_name(method)}: pending (its seed-{TUNE_TIE_SEED} runs "
                            "are not all stored)")
        elif state == "no":
            verdicts.append(f"{display_name(method)}: the winner stays "
                            f"{first.optimizer} at {first.lr:g}")
        else:
            new = g[g.winner_mean].iloc[0]
            verdicts.append(f"{display_name(method)}: **the two-seed mean picks {new.optimizer} at "
                            f"{new.lr:g} instead of {first.lr:g}**; its runs used the seed-0 "
                            "winner, so they are to be rerun")
    table = pd.DataFrame([{
        "method": display_name(r.method), "setting": f"{r.optimizer}, lr {r.lr:g}",
        "validation mAP, seed 0": num(r.val_seed0),
        f"seed {TUNE_TIE_SEED}": num(r.val_seed1), "mean": num(r.val_mean),
    } for r in check.itertuples()])
    return (f"**Near ties.** A setting within {TUNE_TIE} validation mAP of its method's best "
            f"is a tie that one seed cannot break; each such setting was trained again with "
            f"seed {TUNE_TIE_SEED}, and the best mean of the two seeds decides. "
            + "; ".join(verdicts) + ".\n\n" + markdown_table(table))
