"""What the stored results show, computed: the numbers behind the discussion page.

Rank agreement with the papers, the learning check (every deep method against the bars a
method trained from scratch should clear: mAP, code health, a flat validation curve), and
the SHNet-vs-CSQ headline gap (the claims page, :mod:`hashlib_core.report.claims`, adds intervals and verdicts). Each function returns a DataFrame; :func:`headline_text` and
:func:`ranking_text` turn them into sentences, so the page states only what the store
holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from hashlib_core.report.tables import comparison, display_name
from hashlib_core.runner.grids import DEEP


def ranking_agreement(results: pd.DataFrame, reported: pd.DataFrame, *, dataset: str,
                      protocol: str, metric: str, bits: list[int], source: str,
                      methods: list[str]) -> pd.DataFrame:
    """Per code length: Kendall's tau between the reported and reproduced values of the
    methods that have both, and the two orders (best first).

    Returns
    -------
    pandas.DataFrame
        Columns ``n_bits, n_methods, kendall_tau, reported_order, reproduced_order``
        (tau NaN with fewer than 3 methods).
    """
    comp = comparison(results, reported, dataset=dataset, protocol=protocol, metric=metric,
                      methods=methods, bits=bits, source=source)
    rows = []
    for b in bits:
        sub = comp[(comp.n_bits == b) & comp.reported.notna() & comp["mean"].notna()]
        tau = kendalltau(sub.reported, sub["mean"]).statistic if len(sub) >= 3 else np.nan
        rows.append({
            "n_bits": b,
            "n_methods": len(sub),
            "kendall_tau": float(tau),
            "reported_order": " > ".join(
                display_name(m) for m in sub.sort_values("reported", ascending=False).method),
            "reproduced_order": " > ".join(
                display_name(m) for m in sub.sort_values("mean", ascending=False).method),
        })
    return pd.DataFrame(rows)


def ranking_text(agreement: pd.DataFrame, *, metric_label: str) -> str:
    """One sentence per code length on how far the reproduced ranking follows the paper's."""
    lines = []
    for r in agreement.itertuples():
        if r.n_methods < 3:
            lines.append(f"* {r.n_bits} bits: {r.n_methods} methods have both a reported "
                         f"and a reproduced {metric_label}; too few to compare rankings.")
            continue
        verdict = ("the same order" if r.kendall_tau == 1 else
                   "mostly the same order" if r.kendall_tau >= 0.6 else
                   "a partly different order" if r.kendall_tau >= 0 else
                   "a largely reversed order")
        lines.append(f"* {r.n_bits} bits, {r.n_methods} methods: {verdict} "
                     f"(Kendall τ = {r.kendall_tau:.2f}). Paper: {r.reported_order}. "
                     f"Here: {r.reproduced_order}.")
    return "\n".join(lines)


#: issue 13's bars for a from-scratch method that learns (cpu scale, 32 bits)
MIN_MAP = 0.40
MIN_MEDIAN_MAP = 0.50
MAX_MAC = 0.35
MIN_DISTINCT_SHARE = 29 / 32  # distinct bits (up to sign) per bit of the code
MAX_LATE_GAIN = 0.005  # validation mAP rise over the last 20% of the epochs
MAX_DPSH_DHN_GAP = 0.05  # DPSH and DHN share the pairwise likelihood


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
    """The learning check for the page: linked names, short headers (the caption says that
    mAP@ALL is the mean over seeds and the bits and mAC the worst seed's, and the rise the
    validation mAP's over the last 20% of epochs), "—" and ✓/✗."""
    from hashlib_core.report.tables import format_numbers, method_link

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
        "mac": "mAC", "late_gain": "rise, last 20%"})


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
           f"{int(np.ceil(FLAG_SHARE * n_bits - 1e-9))} effective bits, mAC at most "
           f"{MAX_MAC:.2f}); {len(passing)} also end with a flat validation curve (a rise "
           f"below {MAX_LATE_GAIN} over the last 20% of their epochs)."]
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


def headline(results: pd.DataFrame, reported: pd.DataFrame, *, protocol: str,
             bits: tuple[int, ...] = (16, 32, 64)) -> pd.DataFrame:
    """SHNet minus CSQ (mAP), reported and reproduced (mean over seeds), per code length."""
    comp = comparison(results, reported, dataset="cifar10", protocol=protocol, metric="map",
                      methods=["shnet", "csq"], bits=list(bits), source="shnet_table2")
    c = comp.set_index(["method", "n_bits"])
    rows = []
    for b in bits:
        s, q = c.loc[("shnet", b)], c.loc[("csq", b)]
        rows.append({"n_bits": b, "reported_gap": s.reported - q.reported,
                     "reproduced_gap": s["mean"] - q["mean"],
                     "shnet_seeds": int(s.n_seeds), "csq_seeds": int(q.n_seeds),
                     "shnet_std": s["std"], "csq_std": q["std"]})
    return pd.DataFrame(rows)


def _seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


def headline_text(gaps: pd.DataFrame) -> str:
    """Sentences on the SHNet-vs-CSQ gap (the SHNet paper's headline comparison)."""
    out = []
    for r in gaps.itertuples():
        if np.isnan(r.reproduced_gap):
            out.append(f"* {r.n_bits} bits: the paper reports SHNet {r.reported_gap:+.3f} over "
                       f"CSQ; the runs needed here (SHNet and CSQ) are not both stored yet.")
            continue
        noise = np.nanmax([r.shnet_std, r.csq_std, 0.0])
        within = abs(r.reproduced_gap) <= 2 * noise if noise > 0 else None
        note = ("" if within is None else
                " — within two standard deviations of the seeds, so not distinguishable"
                if within else " — larger than two standard deviations of the seeds")
        out.append(f"* {r.n_bits} bits: paper {r.reported_gap:+.3f}, here "
                   f"{r.reproduced_gap:+.3f} (SHNet {_seeds(r.shnet_seeds)}, CSQ "
                   f"{_seeds(r.csq_seeds)}){note}.")
    return "\n".join(out)


def ablation_effects(results: pd.DataFrame, *, protocol: str, n_bits: int = 32,
                     method: str = "shnet", baseline: str = "csq") -> pd.DataFrame:
    """How much each ablation variant of ``method`` moves mAP from the default.

    The seed noise is the larger standard deviation over seeds of ``method``'s and
    ``baseline``'s default runs at ``n_bits`` (NaN with fewer than two seeds); a change
    counts as beyond the noise when it exceeds twice that.

    Returns
    -------
    pandas.DataFrame
        Index: variant names, largest absolute change first; columns ``description``,
        ``map`` (mean over the variant's seeds), ``delta`` (variant minus default, both
        means over their seeds), ``noise``, ``beyond_noise`` (bool, or None without a
        noise estimate), ``runs`` and ``default_runs`` (the seeds behind each mean).
    """
    from hashlib_core.runner.grids import ABLATION_DESCRIPTIONS

    cols = ["description", "map", "delta", "noise", "beyond_noise"]
    if results.empty:
        return pd.DataFrame(columns=cols)
    sel = results[(results.protocol == protocol) & (results.n_bits == n_bits)]
    default = sel[(sel.method == method) & sel.variant.isna()]["map"]
    stds = [sel[(sel.method == m) & sel.variant.isna()]["map"].std(ddof=1)
            for m in (method, baseline)]
    stds = [s for s in stds if not np.isnan(s)]
    noise = max(stds) if stds else np.nan
    rows = {}
    for v, desc in ABLATION_DESCRIPTIONS.items():
        runs = sel[(sel.method == method) & (sel.variant == v)]["map"]
        if not len(runs) or not len(default):
            continue
        delta = runs.mean() - default.mean()
        beyond = None if np.isnan(noise) else bool(abs(delta) > 2 * noise)
        rows[v] = {"description": desc, "map": runs.mean(), "delta": delta, "noise": noise,
                   "beyond_noise": beyond, "runs": len(runs), "default_runs": len(default)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols + ["runs", "default_runs"])
    return out.reindex(out.delta.abs().sort_values(ascending=False).index) if len(out) else out


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


def seeds_per_method(results: pd.DataFrame, cells) -> pd.DataFrame:
    """Seeds per method of a grid's main runs (default variant), planned and stored.

    Returns
    -------
    pandas.DataFrame
        One row per (protocol, method, n_bits): ``planned`` (seeds in the grid) and
        ``stored`` (of those, the ones with a record in ``results``).
    """
    have = set()
    if len(results):
        have = {(r.protocol, r.method, int(r.n_bits), int(r.seed))
                for r in results.itertuples()
                if not isinstance(r.variant, str)}
    rows: dict[tuple, dict[str, int]] = {}
    for c in cells:
        if c.kind != "main":
            continue
        row = rows.setdefault((c.protocol, c.method, c.n_bits), {"planned": 0, "stored": 0})
        row["planned"] += 1
        row["stored"] += (c.protocol, c.method, c.n_bits, c.seed) in have
    out = pd.DataFrame([{"protocol": p, "method": m, "n_bits": b, **v}
                        for (p, m, b), v in rows.items()],
                       columns=["protocol", "method", "n_bits", "planned", "stored"])
    return out


_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def seeds_text(results: pd.DataFrame, cells, *, methods=None) -> str:
    """Sentences: how many seeds each method's main runs get in the grid, and how many of
    them are stored, grouped by protocol and code lengths (computed from the grid and the
    records, never typed). ``methods``: only these (default: all)."""
    table = seeds_per_method(results, cells)
    if methods is not None:
        table = table[table.method.isin(list(methods))]
    if table.empty:
        return "The grid of this scale plans no main run of these methods."
    parts = []
    for protocol, sub in table.groupby("protocol", sort=False):
        groups: dict[tuple, list[str]] = {}
        stored: dict[tuple, list[int]] = {}
        for m, g in sub.groupby("method", sort=False):
            sig = tuple((int(n), tuple(sorted(int(b) for b in gg.n_bits)))
                        for n, gg in sorted(g.groupby("planned"), key=lambda x: -x[0]))
            groups.setdefault(sig, []).append(display_name(m))
            acc = stored.setdefault(sig, [0, 0])
            acc[0] += int(g.stored.sum())
            acc[1] += int(g.planned.sum())
        for sig, names in sorted(groups.items(), key=lambda kv: -kv[0][0][0]):
            how = " and ".join(
                f"{_NUMBER_WORDS.get(n, str(n))} seed{'s' * (n > 1)} at "
                f"{'/'.join(str(b) for b in bits)} bits" for n, bits in sig)
            have, total = stored[sig]
            parts.append(f"{', '.join(names)} on `{protocol}`: {how} ({have} of {total} "
                         "runs stored)")
    return "Seeds per method in this scale's grid (main runs): " + "; ".join(parts) + "."


def validation_gap(results: pd.DataFrame, root: str, *, scale: str, protocol: str,
                   n_bits: int = 32) -> dict:
    """Why the validation mAP runs above the query mAP: the sizes of the two searches,
    read from the stored manifest, and the median over the deep methods' default runs
    at ``n_bits`` of their best validation mAP and of their query mAP@ALL."""
    from hashlib_core.results import iter_records, load_manifest

    out: dict = {"protocol": protocol, "n_bits": n_bits}
    try:
        splits = load_manifest(scale, protocol, root=root).get("splits") or {}
    except (FileNotFoundError, ValueError):
        splits = {}
    for k in ("query", "database", "train", "val"):
        out[k] = (splits.get(k) or {}).get("n")
    if splits.get("database") and splits.get("train"):
        trained = set(splits["train"]["indices"]) | set((splits.get("val") or {})
                                                        .get("indices", []))
        out["db_trained"] = sum(i in trained for i in splits["database"]["indices"])
    val, query = [], []
    for rec in iter_records(root, scale=scale):
        key = rec["key"]
        if key["protocol"] != protocol or key["n_bits"] != n_bits or key["variant"] \
                or key["method"] not in DEEP:
            continue
        vals = [h["val_map"] for h in rec.get("history") or [] if h.get("val_map") is not None]
        q = (rec.get("scalars") or {}).get("map")
        if vals and q is not None:
            val.append(max(vals))
            query.append(float(q))
    out["runs"] = len(val)
    out["val_median"] = float(np.median(val)) if val else np.nan
    out["query_median"] = float(np.median(query)) if query else np.nan
    return out


def validation_gap_text(gap: dict) -> str:
    """The training page's explanation of :func:`validation_gap`, with its numbers."""
    p = gap["protocol"]
    if not gap.get("runs"):
        head = ""
    else:
        head = (f"Over the {gap['runs']} default runs of the deep methods at {gap['n_bits']} "
                f"bits, the median best validation mAP is {gap['val_median']:.3f} and the "
                f"median query mAP@ALL {gap['query_median']:.3f}. ")
    if not all(gap.get(k) for k in ("query", "database", "train", "val")):
        return head + (f"The sizes of the splits of `{p}` are not stored, so the two "
                       "searches cannot be compared here.")
    db, trained = gap["database"], gap.get("db_trained")
    unseen = "" if trained is None else (
        f", of which {db - trained:,} were never trained on (the other {trained:,} are "
        f"the training and validation images)")
    return head + (
        f"The two numbers measure different searches. Validation: {gap['val']:,} held-out "
        f"training images (the validation split) search the {gap['train']:,} images the "
        f"network trains on, whose codes the loss has fitted to their labels. Test: the "
        f"{gap['query']:,} queries search the {db:,}-image database{unseen}, encoded by "
        f"the network like the queries themselves. Both sets of queries are unseen images; "
        f"the difference is the database, so the validation mAP is expected to be the "
        f"higher number (for ADSH, DSAH and DAPH even more so: their training items' codes "
        f"are learned directly). It is used only to choose epochs and settings, never as a "
        f"result.")


def ablation_text(effects: pd.DataFrame, *, n_bits: int = 32) -> str:
    """Sentences on which reconstructed choices of SHNet matter, from :func:`ablation_effects`."""
    if effects.empty:
        return (f"No SHNet ablation run at {n_bits} bits is stored yet, so which "
                "reconstructed choice matters is open.")
    top = effects.iloc[0]
    spread = effects.delta.abs().max()
    noise = effects.noise.iloc[0]
    out = [f"Across the {len(effects)} variants at {n_bits} bits ({seeds_words(effects)}), "
           f"the largest change of mAP@ALL from SHNet's default is {top.delta:+.4f} "
           f"({top.description})."]
    if np.isnan(noise):
        out.append("The seed noise is not measured yet (fewer than two seeds of SHNet or "
                   "CSQ), so these changes cannot be weighed against it.")
    else:
        beyond = effects[effects.beyond_noise.astype(bool)]
        if len(beyond):
            names = "; ".join(f"{r.description} ({r.delta:+.4f})" for r in beyond.itertuples())
            out.append(f"Beyond twice the seed noise (2 x {noise:.4f}): {names}.")
        else:
            out.append(f"Every change, at most {spread:.4f}, is within twice the seed noise "
                       f"(2 x {noise:.4f}): at this scale none of these reconstructed choices "
                       "measurably matters.")
    return " ".join(out)


def grid_cost(results: pd.DataFrame, *, protocol: str | None = None) -> pd.DataFrame:
    """Wall time of the stored runs of ``protocol`` (None: every protocol), per method
    (minutes). A run copied from its tuning winner has no wall time of its own and is not
    counted (the winner is).

    Returns
    -------
    pandas.DataFrame
        Index: methods (display names), ordered by total; columns ``runs``,
        ``median_min``, ``max_min``, ``total_min``.
    """
    cols = ["runs", "median_min", "max_min", "total_min"]
    if results.empty or "wall_time_s" not in results.columns:
        return pd.DataFrame(columns=cols)
    sel = results[results.wall_time_s.notna()]
    if protocol is not None:
        sel = sel[sel.protocol == protocol]
    if sel.empty:
        return pd.DataFrame(columns=cols)
    g = sel.groupby("method").wall_time_s
    out = pd.DataFrame({"runs": g.size(), "median_min": g.median() / 60,
                        "max_min": g.max() / 60, "total_min": g.sum() / 60})
    out = out.sort_values("total_min", ascending=False)
    return out.rename(index=display_name)


def cost_text(cost: pd.DataFrame) -> str:
    """One sentence on the stored runs' wall time, from :func:`grid_cost`."""
    if cost.empty:
        return "No run with a recorded wall time is stored."
    runs = int(cost.runs.sum())
    total = cost.total_min.sum()
    return (f"{runs} stored runs with a wall time of their own, {total / runs:.1f} min per "
            f"run on average; the longest single run took {cost.max_min.max():.1f} min "
            f"({cost.max_min.idxmax()}).")


def grid_time(results: pd.DataFrame, cells, *, scale: str) -> dict:
    """The machine time of a whole grid (``cells``, :func:`hashlib_core.runner.grids.grid`): the
    stored runs' wall time, and an estimate for the cells without a record, each at the
    median of the stored runs of its method and protocol (else of its protocol's deep or
    shallow runs, else of all). A cell that will be copied from its tuning winner (the
    tuned main cell at the tuning length and seed) costs nothing.

    Returns
    -------
    dict
        ``stored`` (cells with a record), ``stored_hours``, ``copied`` (stored runs copied
        from a tuning winner), ``left`` (cells without a record), ``left_hours``
        (estimate), ``total_hours``, ``cells``.
    """
    from hashlib_core.runner import grids

    have = {}
    if not results.empty:
        for r in results.itertuples():
            variant = r.variant if isinstance(r.variant, str) else None
            have[(r.protocol, r.method, int(r.n_bits), int(r.seed), variant)] = r.wall_time_s
    timed = results[results.wall_time_s.notna()] if not results.empty else results
    overall = float(timed.wall_time_s.median()) if len(timed) else float("nan")

    def median(cell) -> float:
        if not len(timed):
            return float("nan")
        same = timed[(timed.protocol == cell.protocol) & (timed.method == cell.method)]
        if len(same):
            return float(same.wall_time_s.median())
        family = list(DEEP) if cell.method in DEEP else list(grids.SHALLOW)
        kin = timed[(timed.protocol == cell.protocol) & timed.method.isin(family)]
        return float(kin.wall_time_s.median()) if len(kin) else overall

    stored_s = left_s = 0.0
    stored = copied = left = 0
    for cell in cells:
        key = (cell.protocol, cell.method, cell.n_bits, cell.seed, cell.variant)
        if key in have:
            stored += 1
            if pd.isna(have[key]):
                copied += 1
            else:
                stored_s += float(have[key])
            continue
        left += 1
        if not grids.is_tuning_twin(cell, scale):
            left_s += median(cell)
    return {"cells": len(cells), "stored": stored, "stored_hours": stored_s / 3600,
            "copied": copied, "left": left, "left_hours": left_s / 3600,
            "total_hours": (stored_s + left_s) / 3600}


def grid_time_text(t: dict, *, scale: str) -> str:
    """Sentences on :func:`grid_time`: what the grid has cost and what it will."""
    copied = (f" ({t['copied']} of them copied from their method's tuning winner, the same "
              "run, at no cost)" if t["copied"] else "")
    text = (f"The `{scale}` grid has {t['cells']} runs. The {t['stored']} stored{copied} "
            f"took {t['stored_hours']:.1f} hours of machine time (one core per run).")
    if t["left"]:
        if np.isnan(t["left_hours"]):
            return text + f" {t['left']} runs are not made yet; no stored run gives their cost."
        text += (f" The {t['left']} runs not made yet would take about {t['left_hours']:.1f} "
                 f"hours more (each at the median of its method's stored runs), about "
                 f"{t['total_hours']:.1f} hours for the whole grid.")
    return text


def convergence(root: str, *, scale: str, protocol: str, n_bits: int = 32,
                fraction: float = 0.2) -> pd.DataFrame:
    """Validation mAP over training, per deep method (default variant, seed 0).

    Returns
    -------
    pandas.DataFrame
        Index: methods (display names), best final first; columns ``epochs``,
        ``val_first`` (first validation), ``val_last`` (last), ``gain_last`` (the rise
        over the last ``fraction`` of the epochs, :func:`hashlib_core.runner.tuning.late_gain`)
        and ``still_rising`` (``gain_last`` at least :data:`MAX_LATE_GAIN`: more epochs
        would likely help).
    """
    from hashlib_core.results import iter_records
    from hashlib_core.runner.tuning import late_gain

    cols = ["epochs", "val_first", "val_last", "gain_last", "still_rising"]
    rows = {}
    for rec in iter_records(root, scale=scale):
        key = rec["key"]
        if (key["protocol"], key["n_bits"], key["seed"], key["variant"]) != \
                (protocol, n_bits, 0, None) or key["method"] not in DEEP:
            continue
        history = rec.get("history") or []
        vals = [(h["epoch"], h["val_map"]) for h in history if h.get("val_map") is not None]
        if not vals:
            continue
        gain = late_gain(history, fraction)
        rows[display_name(key["method"])] = {
            "epochs": max(h["epoch"] for h in history) + 1, "val_first": vals[0][1],
            "val_last": vals[-1][1], "gain_last": gain,
            "still_rising": None if np.isnan(gain) else bool(gain >= MAX_LATE_GAIN)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    return out.sort_values("val_last", ascending=False) if len(out) else out


def convergence_text(conv: pd.DataFrame) -> str:
    """One sentence naming the methods still improving at the end of their schedule."""
    if conv.empty:
        return "No deep run with a validation history is stored."
    rising = [m for m, r in conv.iterrows() if r.still_rising]
    if not rising:
        return (f"None of the {len(conv)} methods gained {MAX_LATE_GAIN} validation mAP or "
                f"more over the last 20% of its epochs: the schedule is long enough for all "
                "of them.")
    return (f"{len(rising)} of {len(conv)} methods still gained {MAX_LATE_GAIN} validation "
            f"mAP or more over the last 20% of their epochs: {', '.join(rising)}. Their "
            "validation mAP would likely rise further with more epochs; the budget check "
            "below measures what that changes on the queries.")


def budget_check(results: pd.DataFrame, root: str, *, scale: str, protocol: str) -> pd.DataFrame:
    """What a longer schedule buys: each budget-check run (:data:`hashlib_core.runner.grids.
    BUDGET_METHODS` at the tuning length and seed, :data:`~hashlib_core.runner.grids.BUDGET_EPOCHS`
    epochs) against the same method's default run of the same code length and seed.

    Returns
    -------
    pandas.DataFrame
        Index: methods with both runs; columns ``epochs`` and ``epochs_long``, ``map`` and
        ``map_long`` (mAP@ALL on the queries), ``map_change``, ``val`` and ``val_long``
        (best validation mAP), ``late_gain`` and ``late_gain_long`` (the rise over the last
        20% of each run's epochs) and ``seed_std`` (the standard deviation of the method's
        default runs over seeds at that code length; NaN with one seed).
    """
    from hashlib_core.runner.grids import (
        BUDGET_EPOCHS,
        BUDGET_METHODS,
        TUNE_BITS,
        TUNE_SEED,
        budget_variant,
    )
    from hashlib_core.runner.tuning import convergence_table

    cols = ["epochs", "epochs_long", "map", "map_long", "map_change", "val", "val_long",
            "late_gain", "late_gain_long", "seed_std"]
    if results.empty:
        return pd.DataFrame(columns=cols)
    conv = convergence_table(root, scale=scale)
    long_name = budget_variant(BUDGET_EPOCHS)
    rows = {}
    for m in BUDGET_METHODS:
        sel = results[(results.protocol == protocol) & (results.method == m)
                      & (results.n_bits == TUNE_BITS)]
        base = sel[sel.variant.isna() & (sel.seed == TUNE_SEED)]
        long = sel[(sel.variant == long_name) & (sel.seed == TUNE_SEED)]
        if base.empty or long.empty:
            continue
        c = conv[(conv.protocol == protocol) & (conv.method == m) & (conv.n_bits == TUNE_BITS)
                 & (conv.seed == TUNE_SEED)]
        c_base, c_long = c[c.variant.isna()], c[c.variant == long_name]
        if c_base.empty or c_long.empty:
            continue
        seeds = sel[sel.variant.isna()]["map"]
        rows[m] = {"epochs": int(c_base.epochs.iloc[0]), "epochs_long": int(c_long.epochs.iloc[0]),
                   "map": float(base["map"].iloc[0]), "map_long": float(long["map"].iloc[0]),
                   "val": float(c_base.best_val_map.iloc[0]),
                   "val_long": float(c_long.best_val_map.iloc[0]),
                   "late_gain": float(c_base.late_gain.iloc[0]),
                   "late_gain_long": float(c_long.late_gain.iloc[0]),
                   "seed_std": float(seeds.std(ddof=1)) if len(seeds) > 1 else np.nan}
        rows[m]["map_change"] = rows[m]["map_long"] - rows[m]["map"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


def budget_text(check: pd.DataFrame) -> str:
    """Sentences on the budget check: the change in mAP@ALL a longer schedule brings,
    against the seed spread, and whether the validation curve is flat by then."""
    from hashlib_core.runner.grids import BUDGET_EPOCHS, BUDGET_METHODS

    if check.empty:
        return (f"The budget check ({', '.join(display_name(m) for m in BUDGET_METHODS)} "
                f"trained for {BUDGET_EPOCHS} epochs) has no run yet, so what a longer "
                "schedule buys is open.")
    out = []
    for m, r in check.iterrows():
        noise = ("" if np.isnan(r.seed_std) else
                 f" (its seed-to-seed standard deviation: {r.seed_std:.3f}; the change is "
                 f"{'within' if abs(r.map_change) <= 2 * r.seed_std else 'beyond'} two of them)")
        out.append(f"{display_name(m)} trained for {int(r.epochs_long)} instead of {int(r.epochs)} "
                   f"epochs: mAP@ALL {r['map']:.3f} → {r.map_long:.3f}, a change of "
                   f"{r.map_change:+.3f}{noise}; best validation mAP {r.val:.3f} → "
                   f"{r.val_long:.3f}; rise over the last 20% of the epochs "
                   f"{r.late_gain:.3f} → {r.late_gain_long:.3f}.")
    return " ".join(out)


def diagnoses(results: pd.DataFrame, *, protocol: str) -> pd.DataFrame:
    """The diagnosis runs (:data:`hashlib_core.runner.grids.DIAGNOSES`) beside their method's own
    run of the same code length and seed: what changing one part of a method does.

    Returns
    -------
    pandas.DataFrame
        One row per run that has a record, the method's own run first: ``method``,
        ``variant`` (None for the method's own run), ``change`` (what differs, in words),
        ``map`` (mAP@ALL on the queries), ``map_change`` (against the method's own run),
        ``distinct_codes``, ``constant_bits`` (how many bits are the same for every
        query), ``mac`` and ``bit_balance`` (of the query codes).
    """
    from hashlib_core.runner.grids import (
        DIAGNOSES,
        DIAGNOSIS_DESCRIPTIONS,
        TUNE_BITS,
        TUNE_SEED,
        diagnosis_variant,
    )

    cols = ["method", "variant", "change", "map", "map_change", "distinct_codes",
            "constant_bits", "mac", "bit_balance"]
    rows = []
    if results.empty:
        return pd.DataFrame(columns=cols)
    for m, variants in DIAGNOSES.items():
        sel = results[(results.protocol == protocol) & (results.method == m)
                      & (results.n_bits == TUNE_BITS) & (results.seed == TUNE_SEED)]
        base = sel[sel.variant.isna()]
        if base.empty:
            continue
        runs = [(None, "none: the method as its paper describes it", base.iloc[0])]
        for name in variants:
            got = sel[sel.variant == diagnosis_variant(name)]
            if len(got):
                runs.append((diagnosis_variant(name), DIAGNOSIS_DESCRIPTIONS[m][name],
                             got.iloc[0]))
        if len(runs) == 1:
            continue
        ref = float(base["map"].iloc[0])
        for variant, change, r in runs:
            rows.append({"method": m, "variant": variant, "change": change,
                         "map": float(r["map"]), "map_change": float(r["map"]) - ref,
                         "distinct_codes": r.get("query_distinct_codes", np.nan),
                         "constant_bits": r.get("query_constant_bits", np.nan) * TUNE_BITS,
                         "mac": r.get("query_mac", np.nan),
                         "bit_balance": r.get("query_bit_balance", np.nan)})
    return pd.DataFrame(rows, columns=cols)


def diagnosis_text(table: pd.DataFrame) -> str:
    """Sentences on :func:`diagnoses`: for each diagnosed method, whether it misses the
    mAP bar and what each change does to its mAP@ALL and bit balance."""
    from hashlib_core.runner.grids import DIAGNOSES, TUNE_BITS

    if table.empty:
        names = ", ".join(display_name(m) for m in DIAGNOSES)
        return f"The diagnosis runs ({names}) have no record yet."
    out = []
    for m, rows in table.groupby("method", sort=False):
        own = rows[rows.variant.isna()].iloc[0]
        bar = ("below" if own["map"] < MIN_MAP else "at or above")
        out.append(f"{display_name(m)} at {TUNE_BITS} bits reaches mAP@ALL {own['map']:.3f}, "
                   f"{bar} the {MIN_MAP:.2f} bar, with a bit balance of "
                   f"{own.bit_balance:.2f}{_constant(own.constant_bits)}.")
        for _, r in rows[rows.variant.notna()].iterrows():
            out.append(f"With {r.change}: mAP@ALL {r['map']:.3f} ({r.map_change:+.3f}), "
                       f"bit balance {r.bit_balance:.2f}{_constant(r.constant_bits)}.")
    return " ".join(out)


def _constant(n) -> str:
    """", 3 constant bits" (nothing when unknown)."""
    if pd.isna(n):
        return ""
    n = int(round(float(n)))
    return f", {n} constant bit{'' if n == 1 else 's'}"


def format_diagnoses(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`diagnoses` for the page: method names, readable headers, 3 decimals."""
    from hashlib_core.report.tables import format_numbers

    # mAC is left out to keep the table within the page (it is in the records)
    out = table[["change", "map", "map_change", "distinct_codes", "constant_bits",
                 "bit_balance"]].copy()
    out.index = [display_name(m) for m in table.method]
    out = format_numbers(out)
    for col in ("distinct_codes", "constant_bits"):
        out[col] = [("—" if pd.isna(v) else f"{int(round(v)):,}") for v in table[col]]
    out["map_change"] = [("—" if v is None or pd.isna(v) else f"{c:+.3f}")
                         for v, c in zip(table.variant, table.map_change, strict=True)]
    return out.rename(columns={
        "change": "what is changed", "map": "mAP@ALL", "map_change": "change",
        "distinct_codes": "distinct codes", "constant_bits": "constant bits",
        "bit_balance": "bit balance"})


def learned_share_text(root: str, *, scale: str, protocol: str) -> str:
    """How many database items of a protocol are training items, i.e. carry the codes an
    asymmetric method (ADSH, DSAH, DAPH) learns directly; the rest are encoded. Read
    from the protocol manifest stored with the runs."""
    from hashlib_core.results import load_manifest

    try:
        splits = load_manifest(scale, protocol, root=root).get("splits")
    except FileNotFoundError:
        splits = None
    if not splits or "train" not in splits or "database" not in splits:
        return (f"No manifest with the splits of protocol `{protocol}` is stored at scale "
                f"`{scale}`, so the share of database items with learned codes is unknown.")
    train = set(splits["train"]["indices"])
    n_db = splits["database"]["n"]
    shared = sum(i in train for i in splits["database"]["indices"])
    return (f"In protocol `{protocol}` {shared:,} of the {n_db:,} database items are "
            f"training items with learned codes; the network encodes the other "
            f"{n_db - shared:,}.")
