"""The checks behind the claims' verdicts (issue 23): the pre-specified baseline
re-derived from validation mAP, the interval's coverage measured on the stored runs,
whether training had finished, the verdicts at twice the epochs, and SHNet against CSQ
without the learning-rate confound. Computed from the records when the book is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashlib_core.report import intervals
from hashlib_core.report.claims import (
    CLAIMS,
    DHEH_BASELINES,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Run,
    _per_query,
    _runs_of,
    claim_protocol,
    compare,
    verdict,
    verdict_lengths,
)
from hashlib_core.report.names import display_name
from hashlib_core.results import iter_records
from hashlib_core.runner.grids import (
    BOOK_PROTOCOLS,
    DHEH_CSDH_BASELINE,
    ROBUST_EPOCHS,
    ROBUSTNESS,
    budget_variant,
)


def interval_text(low: float, high: float) -> str:
    """``"[−0.076, −0.045]"`` or "no interval"."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no interval"
    return f"[{low:+.3f}, {high:+.3f}]"


def baseline_selection(root: str | Path, scale: str = "cpu") -> pd.DataFrame:
    """The pre-specified baseline re-derived: the deep methods of :data:`DHEH_BASELINES`
    with their tuning winner's validation mAP (32 bits, seed 0; no query number), best
    first. ``chosen`` marks the one the claims use (:data:`DHEH_CSDH_BASELINE`)."""
    from hashlib_core.runner.tuning import tuning_table

    tune = tuning_table(root, scale)
    win = tune[tune.winner & tune.method.isin(DHEH_BASELINES)]
    out = win[["method", "optimizer", "lr", "val_map"]].sort_values("val_map", ascending=False)
    return out.assign(chosen=out.method == DHEH_CSDH_BASELINE).reset_index(drop=True)


#: the compared pairs whose stored runs give the coverage simulation its spreads, in order
#: of preference: the SHNet paper's headline pair, then the DHEH/CSDH claims' pairs
COVERAGE_METRICS = ("map", "precision_top5000")  # the claim metrics with per-query values


def coverage_check(runs: list[Run], *, scale: str, n_claims: int = 1000) -> dict[str, Any]:
    """The coverage of the 95% interval, measured for every compared pair a verdict rests
    on (each claim's two methods at each of its lengths, in its metric, with two or more
    seeds a side and per-query values): simulated claims of two equal methods with that
    pair's own seed, noise and method-by-query spreads
    (:func:`hashlib_core.report.intervals.coverage`), ours at 3 and 5 seeds and the
    percentile bootstrap of 3 seeds that earlier versions used.

    Returns ``{"table": one row per pair, "t3": (lowest, highest), "t5": ...,
    "bootstrap3": ..., "n_claims": ...}``; empty when no pair has what it needs.
    """
    rows = []
    for claim in CLAIMS:
        protocol, _ = claim_protocol(claim, runs, scale)
        tested = {int(r.key["n_bits"]) for r in runs if r.key["protocol"] == protocol}
        for n_bits in verdict_lengths(claim, tested):
            groups = [_runs_of(runs, protocol, m, n_bits) for m in (claim.method, claim.compared)]
            if min(map(len, groups)) < 2:
                continue
            if claim.metric in COVERAGE_METRICS:
                pq = _per_query(groups, claim.metric)
                if pq is None:
                    continue
                comp = intervals.components(pq)
            else:  # a code statistic (mAC): one value per run, the interval covers seeds only
                comp = _seed_components([[r.value(claim.metric) for r in g] for g in groups])
            rows.append({
                "claim": claim.id, "method": claim.method, "against": claim.compared,
                "protocol": protocol, "metric": claim.metric, "n_bits": n_bits,
                "seeds": f"{len(groups[0])} and {len(groups[1])}", "sigma": comp.sigma,
                "eta": comp.eta, "tau": comp.tau,
                "t3": intervals.coverage(intervals.t_interval_fn, comp, n_a=3, n_b=3,
                                         n_claims=n_claims, seed=3),
                "t5": intervals.coverage(intervals.t_interval_fn, comp, n_a=5, n_b=5,
                                         n_claims=n_claims, seed=5),
                "bootstrap3": intervals.coverage(intervals.seed_bootstrap_fn(n_boot=1000),
                                                 comp, n_a=3, n_b=3, n_claims=n_claims,
                                                 seed=3)})
    if not rows:
        return {}
    table = pd.DataFrame(rows)
    return {"table": table, "n_claims": n_claims,
            **{k: (float(table[k].min()), float(table[k].max()))
               for k in ("t3", "t5", "bootstrap3")}}


def _seed_components(values: list[list[float]]) -> intervals.Components:
    """The components of a metric with one value per run (no queries): the seed spread
    pooled over the methods (the mean of their variances), no query terms."""
    sigma = float(np.sqrt(np.mean([np.var(v, ddof=1) for v in values])))
    return intervals.Components(np.array([float(np.mean(np.concatenate(values)))]),
                                sigma, 0.0, 0.0)


def coverage_text(coverage: dict) -> str:
    """The page's sentence on the measured coverage (:func:`coverage_check`)."""
    if not coverage:
        return ""
    t3, t5, boot = coverage["t3"], coverage["t5"], coverage["bootstrap3"]
    n = len(coverage["table"])
    return (f"The interval's coverage was measured when this page was built, for each of the "
            f"{n} compared pairs the verdicts rest on (a claim's two methods at one of its "
            f"code lengths, in its metric): {coverage['n_claims']:,} simulated claims of two "
            "equal methods, with that pair's own seed spread σ (on the metric's scale), "
            "run-by-query noise η and method-by-query spread ω (of one query's value) "
            "estimated from its stored runs"
            + (" (mAC, a statistic of the codes with one value per run, has σ alone)"
               if (~coverage["table"].metric.isin(COVERAGE_METRICS)).any() else "")
            + ". The 95% interval "
            f"covered the true difference {t3[0]:.1%} to {t3[1]:.1%} of the time with 3 seeds "
            f"per method and {t5[0]:.1%} to {t5[1]:.1%} with 5; a percentile bootstrap over 3 "
            f"seeds (the interval of earlier versions of this book) covered {boot[0]:.1%} to "
            f"{boot[1]:.1%}. The simulation draws from the normal model the interval assumes, "
            "with the spreads estimated from the runs: it checks the interval at these "
            "spreads and seed counts, not the model itself.")


def coverage_markdown(coverage: dict) -> pd.DataFrame:
    """The per-pair coverage of :func:`coverage_check` as strings for the page."""
    from hashlib_core.report.claims import metric_name

    t = coverage["table"]
    return pd.DataFrame({
        "pair, bits (seeds)": [f"{display_name(a)} vs {display_name(b)}, {n} ({s})"
                               for a, b, n, s in zip(t.method, t.against, t.n_bits, t.seeds)],
        "metric (protocol)": [f"{metric_name(m)} (`{p}`)" for m, p in zip(t.metric, t.protocol)],
        "σ / η / ω": [f"{a:.4f} / {b:.3f} / {c:.4f}" if m in COVERAGE_METRICS
                      else f"{a:.4f} / — / —"
                      for a, b, c, m in zip(t.sigma, t.eta, t.tau, t.metric)],
        "t, 3 seeds": t.t3.map("{:.1%}".format), "t, 5 seeds": t.t5.map("{:.1%}".format),
        "bootstrap, 3 seeds": t.bootstrap3.map("{:.1%}".format)})


def training_status(root: str | Path, scale: str, *,
                    variant: str | None = None) -> dict[str, int]:
    """Whether training had finished, over the default deep runs (or those of
    ``variant``): how many there are, how
    many still rose by 0.005 validation mAP or more over their last 20% of epochs
    (:func:`hashlib_core.runner.tuning.late_gain`), and how many had their best validation epoch
    at the last evaluated epoch."""
    from hashlib_core.runner.grids import DEEP
    from hashlib_core.runner.tuning import late_gain

    n = rising = at_end = 0
    for rec in iter_records(root, scale=scale):
        if rec["key"]["variant"] != variant or rec["key"]["method"] not in DEEP:
            continue
        hist = rec.get("history") or []
        evals = [h["epoch"] for h in hist if h.get("val_map") is not None]
        if not evals:
            continue
        n += 1
        rising += bool(late_gain(hist) >= 0.005)
        at_end += rec.get("best_epoch") == max(evals)
    return {"runs": n, "rising": rising, "best_at_end": at_end}


def _variant_runs(root: str | Path, scale: str, variant: str | None) -> list[Run]:
    return [Run(rec, None) for rec in iter_records(root, scale=scale)
            if rec["key"]["variant"] == variant]


def budget_robustness(root: str | Path, scale: str, *, main: str | None | bool = True,
                      long: str | None = None) -> pd.DataFrame:
    """For each claim's decisive length (:data:`hashlib_core.runner.grids.ROBUSTNESS`), the
    claim's difference at the main budget and at a longer one, on the same seeds (those
    with a run at both), with intervals, verdicts and whether the verdict changes
    (``"pending"`` until both sides have two seeds). ``main``: the variant of the main
    runs (True: the claims' runs, :func:`hashlib_core.runner.grids.claim_variant`; None:
    the default runs); ``long``: the variant of the longer runs (None: twice the claims'
    budget, :data:`~hashlib_core.runner.grids.ROBUST_EPOCHS`). Empty at a scale whose grid
    has no such runs."""
    from hashlib_core.runner.grids import claim_variant, grid

    main = claim_variant(scale) if main is True else main
    long = budget_variant(ROBUST_EPOCHS) if long is None else long
    if long == main:
        return pd.DataFrame()
    planned = {(c.protocol, c.n_bits) for c in grid(scale) if c.variant == long}
    main_runs = current_runs(_variant_runs(root, scale, main), root, scale)
    long_runs = current_runs(_variant_runs(root, scale, long), root, scale)
    epochs = int(long.removeprefix("budget-epochs"))
    rows = []
    for proto, methods, n_bits in ROBUSTNESS:
        if (proto, n_bits) not in planned:  # not part of this scale's grid
            continue
        for claim in CLAIMS:
            if claim.method in methods and claim.compared in methods:
                rows.append({**_budget_row(claim, proto, n_bits, main_runs, long_runs),
                             "long_epochs": epochs})
    # a claim with longer runs at one of its own lengths shows those alone; runs at
    # another length (made for another claim of the same two methods) are its context
    # only when it has none of its own
    own = {r["claim"] for r in rows if r["in_claim"]}
    return pd.DataFrame([r for r in rows if r["in_claim"] or r["claim"] not in own])


def _budget_row(claim, proto: str, n_bits: int, main: list[Run], long: list[Run]) -> dict:
    """One row of :func:`budget_robustness`: the claim's difference at both budgets on the
    seeds with a long run of both methods, each method's mean at both, the change of the
    difference (paired by seed, t interval) and whether the verdict changes."""
    def runs(pool: list[Run], method: str) -> dict[int, Run]:
        return {r.seed: r for r in _runs_of(pool, proto, method, n_bits)}

    sides = {(lab, who): runs(pool, m) for lab, pool in (("main", main), ("long", long))
             for who, m in (("a", claim.method), ("b", claim.compared))}
    seeds = sorted(set(sides["long", "a"]) & set(sides["long", "b"])
                   & set(sides["main", "a"]) & set(sides["main", "b"]))
    stated = verdict_lengths(claim)
    row = {"claim": claim.id, "protocol": proto, "n_bits": n_bits, "method": claim.method,
           "against": claim.compared, "metric": claim.metric, "seeds": len(seeds),
           "in_claim": not stated or n_bits in stated,
           "main_seeds": min(len(sides["main", "a"]), len(sides["main", "b"])),
           "main_epochs": next((int(r.record["config"]["epochs"])
                                for r in sides["main", "a"].values()), None)}
    for label in ("main", "long"):
        a = [sides[label, "a"][s] for s in seeds]
        b = [sides[label, "b"][s] for s in seeds]
        iv, v = intervals.Interval(*(float("nan"),) * 5, ""), ""
        if len(seeds) >= 2:
            iv = compare(a, b, claim.metric)
            v = verdict(iv.low, iv.high, higher_is_better=claim.higher_is_better)
        row.update({f"{label}_difference": iv.difference, f"{label}_low": iv.low,
                    f"{label}_high": iv.high, f"{label}_verdict": v,
                    f"{label}_method_mean": _mean(a, claim.metric),
                    f"{label}_against_mean": _mean(b, claim.metric)})
    shift = [(sides["long", "a"][s].value(claim.metric) - sides["long", "b"][s].value(claim.metric))
             - (sides["main", "a"][s].value(claim.metric) - sides["main", "b"][s].value(claim.metric))
             for s in seeds]
    row.update(dict(zip(("shift", "shift_low", "shift_high"), intervals.mean_interval(shift))))
    row["changes"] = _verdict_change(row)
    return row


def _mean(runs: list[Run], metric: str) -> float:
    return float(np.mean([r.value(metric) for r in runs])) if runs else float("nan")


def _verdict_change(row: dict) -> str:
    """``"pending"`` (a side without two seeds), ``"no"`` (the same verdict), ``"less
    certain"`` (a definite verdict turned inconclusive with the difference on the same
    side: the longer runs say less, not otherwise), ``"yes"`` (any other change)."""
    main, long = row["main_verdict"], row["long_verdict"]
    if not (main and long):
        return "pending"
    if main == long:
        return "no"
    same_side = np.sign(row["main_difference"]) == np.sign(row["long_difference"])
    if main != INCONCLUSIVE and long == INCONCLUSIVE and same_side:
        return "less certain"
    return "yes"


HEAD_ROW = "SHNet − SHNet with CSQ's parallel head (= CSQ at SHNet's rate): the code layer"
SERIAL_ROW = "SHNet − SHNet with one segment (batch norm kept): the serial structure"
BN_ROW = "SHNet with one segment − CSQ's parallel head: the batch norm"
CLAIM_ROW = "SHNet − CSQ at its own tuned rate (the claim's comparison, at the same budget)"


def confound(root: str | Path, scale: str, *, n_bits: int = 32) -> pd.DataFrame:
    """SHNet against CSQ without the learning-rate confound, one row per comparison at the
    same rate and seeds: SHNet against SHNet with CSQ's parallel head (ablation variant
    ``parallel``, which is CSQ trained at SHNet's tuned rate; row :data:`HEAD_ROW`), that
    difference split into the serial structure (SHNet against its one-segment variant
    ``parallelbn``, which keeps batch norm; :data:`SERIAL_ROW`) and the batch norm (the
    one-segment variant against the parallel head; :data:`BN_ROW`); beside SHNet against
    CSQ at CSQ's own tuned rate (:data:`CLAIM_ROW`). A row needs two matched seeds or more
    on both sides; runs made with a superseded tuning winner are left out
    (:func:`current_runs`)."""
    main = current_runs([Run(rec, None) for rec in iter_records(root, scale=scale)
                         if rec["key"]["variant"] is None], root, scale)
    proto = BOOK_PROTOCOLS[scale]["cifar10"]

    def variant(name: str) -> list[Run]:
        return _runs_of(current_runs(_variant_runs(root, scale, name), root, scale),
                        proto, "shnet", n_bits)

    shnet, csq = _runs_of(main, proto, "shnet", n_bits), _runs_of(main, proto, "csq", n_bits)
    twin, one = variant("parallel"), variant("parallelbn")
    rows = []
    for label, first, second in ((HEAD_ROW, shnet, twin), (SERIAL_ROW, shnet, one),
                                 (BN_ROW, one, twin), (CLAIM_ROW, shnet, csq)):
        seeds = {r.seed for r in first} & {r.seed for r in second}
        a = [r for r in first if r.seed in seeds]
        b = [r for r in second if r.seed in seeds]
        if len(a) >= 2 and len(b) >= 2:
            iv = compare(a, b, "map")
            rows.append({"against": label, "seeds": len(seeds),
                         "first": float(np.mean([r.value("map") for r in a])),
                         "second": float(np.mean([r.value("map") for r in b])),
                         "lr_first": a[0].record["config"].get("lr"),
                         "lr_second": b[0].record["config"].get("lr"),
                         "epochs": a[0].record["config"].get("epochs"),
                         "difference": iv.difference, "low": iv.low, "high": iv.high,
                         "verdict": verdict(iv.low, iv.high),
                         "codes_as_csq": label == HEAD_ROW and _same_codes(b, csq)})
    return pd.DataFrame(rows)


def _same_codes(runs: list[Run], others: list[Run]) -> bool:
    """Whether every run of ``runs`` stored the same query codes (sha256) as the run of
    ``others`` with its seed (SHNet with CSQ's parallel head against CSQ at one rate)."""
    def sha(r: Run) -> str | None:
        return ((r.record.get("files") or {}).get("query_codes") or {}).get("sha256")

    by_seed = {r.seed: sha(r) for r in others}
    return bool(runs) and all(sha(r) and sha(r) == by_seed.get(r.seed) for r in runs)


def _effect(verdict_: str) -> str:
    return {SUPPORTED: "raises", NOT_SUPPORTED: "lowers"}.get(verdict_, "")


def _split_sentence(table: pd.DataFrame) -> str:
    """Where the code layer's effect comes from: the serial structure and the batch norm
    rows of :func:`confound`, "" without both."""
    parts = {label: table[table.against == label] for label in (SERIAL_ROW, BN_ROW)}
    if any(p.empty for p in parts.values()):
        return ""
    said = []
    for what, label in (("the serial structure (SHNet minus its one-segment variant, "
                         "which keeps batch norm)", SERIAL_ROW),
                        ("the batch norm (the one-segment variant minus CSQ's parallel "
                         "head)", BN_ROW)):
        r = parts[label].iloc[0]
        effect = _effect(r.verdict)
        said.append(f"{what} {r.difference:+.3f} {interval_text(r.low, r.high)} "
                    f"({int(r.seeds)} seeds), "
                    + (f"which {effect} mAP@ALL" if effect
                       else "no difference these runs can show"))
    return " Split in two: " + "; ".join(said) + "."


def confound_sentence(table: pd.DataFrame, n_bits: int = 32) -> str:
    """The ablation's conclusion on SHNet's code layer: read from the row against the
    parallel head (never from the claim's row), split into its serial structure and its
    batch norm (:func:`_split_sentence`); first, when the claim's own comparison is
    already at one rate, that comparison at the table's epochs."""
    head = table[table.against == HEAD_ROW] if len(table) else table
    claim = table[table.against == CLAIM_ROW] if len(table) else table
    same_rate = ""
    if len(claim) and claim.iloc[0].lr_first == claim.iloc[0].lr_second:
        c = claim.iloc[0]
        at = f"at {int(c.epochs)} epochs, " if pd.notna(c.get("epochs")) else ""
        same_rate = (f"Both methods' tuning chose the same rate ({c.lr_first:g}), so the "
                     f"claim compares them at one rate: {at}SHNet minus CSQ is "
                     f"{c.difference:+.3f} {interval_text(c.low, c.high)} ({c.seeds} seeds). ")
    if not len(head):
        return same_rate + ("SHNet against SHNet with CSQ's parallel head at the same rate "
                            "has fewer than two matched seeds yet, so the code layers alone "
                            "are not compared yet.")
    r = head.iloc[0]
    effect = _effect(r.verdict)
    what = (f"SHNet's code layer (serial segments, each with batch norm) {effect} mAP@ALL"
            if effect else "SHNet's code layer makes no difference that these runs can show")
    same = (" With CSQ's parallel head, SHNet's query codes are CSQ's, bit for bit, at "
            "every seed (the same sha256), so the two differ in the code layer alone."
            if bool(getattr(r, "codes_as_csq", False)) else "")
    return same_rate + (f"At the same learning rate and seeds ({r.seeds} of them), SHNet "
                        f"minus SHNet with CSQ's parallel head (= CSQ) is "
                        f"{r.difference:+.3f} {interval_text(r.low, r.high)} mAP@ALL at "
                        f"{n_bits} bits: {what}." + same + _split_sentence(table))


def stale_settings(runs: list[Run], root: str | Path, scale: str) -> pd.DataFrame:
    """The stored default runs made with other optimiser settings than their method's
    current winner (:func:`hashlib_core.runner.tuning.tuned_settings`, which the tie rule can
    change after they ran): one row per method with ``runs`` (how many), ``made_with`` and
    ``winner``. The runner reruns them; until then the page says so."""
    from hashlib_core.runner.grids import TUNED_SCALES
    from hashlib_core.runner.tuning import tuned_settings

    rows = []
    if scale not in TUNED_SCALES:
        return pd.DataFrame(columns=["method", "runs", "made_with", "winner"])
    for method in sorted({r.key["method"] for r in runs}):
        won = tuned_settings(method, root, scale)
        if won is None:
            continue
        stale = [r for r in runs if r.key["method"] == method
                 and (r.record["config"].get("optimizer"), r.record["config"].get("lr"))
                 != (won["optimizer"], won["lr"])]
        if stale:
            cfg = stale[0].record["config"]
            rows.append({"method": method, "runs": len(stale),
                         "made_with": f"{cfg.get('optimizer')} at {cfg.get('lr'):g}",
                         "winner": f"{won['optimizer']} at {won['lr']:g}"})
    return pd.DataFrame(rows, columns=["method", "runs", "made_with", "winner"])


def current_runs(runs: list[Run], root: str | Path, scale: str) -> list[Run]:
    """``runs`` without those made with a superseded tuning winner
    (:func:`stale_settings`): a verdict never mixes runs of two learning rates."""
    from hashlib_core.runner.grids import TUNED_SCALES
    from hashlib_core.runner.tuning import tuned_settings

    if scale not in TUNED_SCALES:
        return list(runs)
    won = {m: tuned_settings(m, root, scale) for m in {r.key["method"] for r in runs}}
    return [r for r in runs if won[r.key["method"]] is None
            or (r.record["config"].get("optimizer"), r.record["config"].get("lr"))
            == (won[r.key["method"]]["optimizer"], won[r.key["method"]]["lr"])]


def _signed(x: float) -> str:
    return f"{x:+.3f}" if np.isfinite(x) else "—"


def robustness_text(rob: pd.DataFrame, *, why: bool = False) -> str:
    """Sentences on budget robustness, one per row of :func:`budget_robustness`; ``why``:
    the rows of the grid's budget against the claims' (why the claims use the longer)."""
    parts = []
    for r in rob.itertuples():
        what = (f"{display_name(r.method)} minus {display_name(r.against)} at {r.n_bits} bits "
                f"(`{r.protocol}`)")
        if not getattr(r, "in_claim", True):
            what += (f", context only: {r.n_bits} bits is not one of the lengths this claim "
                     "is stated for (the longer runs are made for another claim of the same "
                     "two methods)")
        main_epochs = getattr(r, "main_epochs", None)
        main_epochs = int(main_epochs) if main_epochs == main_epochs and main_epochs else 40
        long_epochs = int(getattr(r, "long_epochs", ROBUST_EPOCHS))
        lead = (f"Why {long_epochs} epochs: {what}" if why
                else f"Budget robustness of {what} at twice the claims' budget")
        if r.changes == "pending":
            parts.append(f"{lead}: the {long_epochs}-epoch runs are not complete "
                         f"({r.seeds} of 3 seeds of both methods), so it is pending.")
            continue
        change = {"yes": "changes with the longer schedule",
                  "no": "does not change",
                  "less certain": "is less certain at the longer schedule, on the same side "
                                  "of zero (a loss of precision, not a change of direction)"
                  }[r.changes]
        seeds = f"same {r.seeds} seeds"
        main_seeds = getattr(r, "main_seeds", r.seeds)
        if r.seeds < main_seeds:
            seeds += (f" (those with runs at both budgets; the verdict at {main_epochs} epochs "
                      f"in {'Table 1' if why else 'the table above'} uses {main_seeds})")
        parts.append(
            f"{lead}, {seeds}: {_signed(r.main_difference)} "
            f"{interval_text(r.main_low, r.main_high)} ({r.main_verdict}) at {main_epochs} epochs, "
            f"{_signed(r.long_difference)} {interval_text(r.long_low, r.long_high)} "
            f"({r.long_verdict}) at {long_epochs}: the verdict {change}. The difference moved "
            f"by {_signed(r.shift)} {interval_text(r.shift_low, r.shift_high)} (paired by "
            f"seed); {display_name(r.method)}: {r.main_method_mean:.3f} → "
            f"{r.long_method_mean:.3f}, {display_name(r.against)}: {r.main_against_mean:.3f} → "
            f"{r.long_against_mean:.3f}.")
    return " ".join(parts)


def robustness_lengths(rob: pd.DataFrame) -> str:
    """The claims' decisive lengths, from the in-claim rows of :func:`budget_robustness`,
    e.g. ``" (SHNet vs CSQ: 32 bits; DSAH vs ADSH: 48 bits)"``; empty without rows."""
    if rob.empty:
        return ""
    rob = rob[rob.in_claim] if "in_claim" in rob else rob
    names = _claim_names()
    return " (" + "; ".join(f"{names[r.claim]}: {r.n_bits} bits"
                            for r in rob.itertuples()) + ")" if len(rob) else ""


def _claim_names() -> dict[str, str]:
    return {c.id: f"{display_name(c.method)} vs {display_name(c.compared)}"
            + {"mac": " (mAC)", "precision_top5000": " (precision)"}.get(c.metric, "")
            for c in CLAIMS}


def budget_change(why: pd.DataFrame) -> tuple[int, int, list[str]] | None:
    """(the default epochs, the claims' epochs, the names of the claims whose verdict the
    longer runs changed) from :func:`budget_robustness` of the default runs against the
    claims' runs (its in-claim rows); None without such rows."""
    why = why[why.in_claim] if "in_claim" in why else why
    if why.empty or why.main_epochs.dropna().empty:
        return None
    names = _claim_names()
    return (int(why.main_epochs.dropna().iloc[0]), int(why.long_epochs.iloc[0]),
            [names[c] for c in why[why.changes == "yes"].claim])


def budget_reason(why: pd.DataFrame) -> str:
    """Why the claims are judged at the claims' budget, from :func:`budget_robustness` of
    the default runs against the claims' runs: the claims whose verdict changed with twice
    the default epochs (:func:`budget_change`); "" without rows."""
    change = budget_change(why)
    if change is None:
        return ""
    why = why[why.in_claim] if "in_claim" in why else why
    short, long, moved = change
    lo, hi = int(why.seeds.min()), int(why.seeds.max())
    seeds = f"{lo} seeds" if lo == hi else f"{lo} to {hi} seeds"
    twice = f"twice the default {short} epochs ({long}, {seeds} of both methods)"
    changed = (f"{twice} changed the verdict of " + ", ".join(moved)
               if moved else f"{twice} changed no verdict")
    return (f"At one code length per claim (named below), {changed}, so the pairwise claims are "
            f"judged on runs of {long} epochs: five seeds of both methods at every length a "
            f"claim rests on, tuned as before (the {short}-epoch verdicts are given beside "
            f"them in Table 1). This budget was not fixed before the first runs: the rule "
            f"that a verdict changed by twice the epochs moves the claims' budget was stated "
            f"before the {long}-epoch runs existed, and the check at twice this budget below "
            f"follows the same rule. The results tables and the rankings stay at {short} "
            "epochs, the same for every method.")


def budget_conclusion(rob: pd.DataFrame) -> str:
    """One sentence on whether the claims' budget holds, from :func:`budget_robustness`:
    the claims whose verdict changes with twice the epochs (then the budget is too short
    for them), else which are done and unchanged or only less certain, and what is pending."""
    if rob.empty:
        return ""
    rob = rob[rob.in_claim] if "in_claim" in rob else rob
    done = rob[rob.changes != "pending"]
    names = _claim_names()
    long = int(rob.long_epochs.iloc[0]) if "long_epochs" in rob else ROBUST_EPOCHS
    pending = ", ".join(names[c] for c in rob[rob.changes == "pending"].claim)
    tail = f" Pending: {pending}." if pending else ""
    if done.empty:
        return f"No claim has its {long}-epoch runs complete yet." + tail
    moved = done[done.changes == "yes"]
    if len(moved):
        return (f"With twice the epochs ({long}) the verdict changes for "
                + ", ".join(names[c] for c in moved.claim)
                + ": the budget is still too short for these claims." + tail)
    still = all(r.shift_low <= 0 <= r.shift_high for r in done.itertuples()
                if np.isfinite(r.shift_low))
    return (f"With twice the epochs ({long}) no verdict changes direction ("
            + ", ".join(f"{names[r.claim]}: {'unchanged' if r.changes == 'no' else r.changes}"
                        for r in done.itertuples()) + ")"
            + (" and the change of each difference has a 95% interval (paired by seed) "
               "that contains zero" if still else "")
            + f", so the budget stays at {int(done.main_epochs.iloc[0])} epochs." + tail)
