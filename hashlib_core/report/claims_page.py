"""The claims page, as Markdown computed from the records:
how the verdicts are drawn, one table per claim with its comparison, intervals and budget
robustness, the same-rate SHNet/CSQ comparison, the code health behind the mAC claim and
the papers' rankings (:mod:`hashlib_core.report.claims` evaluates, :mod:`hashlib_core.report.claim_checks`
checks; the introduction's summary of it is :mod:`hashlib_core.report.claims_intro`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hashlib_core.report.claim_checks import (
    SERIAL_ROW,
    baseline_selection,
    budget_conclusion,
    budget_reason,
    budget_robustness,
    confound,
    confound_sentence,
    coverage_check,
    coverage_markdown,
    coverage_text,
    current_runs,
    interval_text,
    robustness_lengths,
    robustness_text,
    stale_settings,
    training_status,
)
from hashlib_core.report.claims import (
    CLAIM_SEEDS,
    CLAIMS,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Claim,
    Run,
    claim_protocol,
    claim_runs,
    claim_verdict,
    default_runs,
    evaluate_claim,
    evaluate_claims,
    metric_name,
    seeds_short,
    verdict_lengths,
)
from hashlib_core.report.names import display_name
from hashlib_core.report.provenance import runs_line
from hashlib_core.report.rankings import (
    N_BOOT,
    ranking_coverage,
    ranking_coverage_text,
    rankings,
)
from hashlib_core.report.rankings_page import (
    ranked_left_out,
    ranking_blocks,
    ranking_table,
    ranking_verdict,
)
from hashlib_core.results import stale_sentences
from hashlib_core.runner.grids import (
    BOOK_PROTOCOLS,
    DHEH_CSDH_BASELINE,
    ROBUST_EPOCHS,
    TUNE_BITS,
    TUNE_SEED,
    claim_variant,
)

#: the page's first blocks: which runs, Table 1, how the verdicts are drawn (ending on the
#: training budget; the page's notebook shows the budget figure after them)
OPENING_BLOCKS = 3

_VERDICT_WORDS = {SUPPORTED: "supported", NOT_SUPPORTED: "not supported",
                  INCONCLUSIVE: "inconclusive"}


def _num(x: float, signed: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "—"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _ours(mean: float, std: float, n: int) -> str:
    if not np.isfinite(mean):
        return "—"
    return f"{mean:.3f} ± {std:.3f} ({n})" if n > 1 and np.isfinite(std) else f"{mean:.3f} (1)"



def claim_table(claim: Claim, rows: pd.DataFrame) -> pd.DataFrame:
    """The claim's rows as strings for the page: code length, the paper's numbers, ours,
    the difference with its 95% interval and the multiplicity-adjusted one, the verdict."""
    from hashlib_core.report.names import method_link

    lengths = verdict_lengths(claim, rows.n_bits)
    k = len(lengths)
    other = claim.compared
    out = []
    for r in rows.itertuples():
        if np.isfinite(r.paper_difference):
            paper = f"{r.paper_method:.3f} vs {r.paper_against:.3f} ({r.paper_difference:+.3f})"
        else:
            paper = "—"
        ours = (f"{_ours(r.mean, r.std, r.n_seeds)} vs "
                f"{_ours(r.against_mean, r.against_std, r.against_n_seeds)}")
        if r.missing:
            ours += f" ({display_name(other)} not run yet)"
        focus = r.n_bits in lengths
        row = {
            "bits": str(r.n_bits) + ("" if focus else " (context)"),
            f"paper: {display_name(claim.method)} vs {display_name(other)}": paper,
            f"ours (seeds): {method_link(claim.method)} vs {method_link(other)}": ours,
            "difference (95% interval)": f"{_num(r.difference, True)} "
                                         f"{interval_text(r.low, r.high)}",
        }
        if k > 1:  # the multiplicity rule's interval (one length: the 95% one itself)
            row[f"interval at {100 - 5 / k:.4g}% ({k} lengths)"] = (
                interval_text(r.adj_low, r.adj_high) if focus else "")
        out.append({**row, "verdict": f"**{r.verdict}**"})
    return pd.DataFrame(out)


def _claim_evidence(claim: Claim, rows: pd.DataFrame, epochs: tuple[int, int] | None = None,
                    shorter: pd.DataFrame | None = None) -> str:
    """Table 1's evidence: the verdict at each length the claim rests on; a length without
    a run at the claims' budget (``epochs``: the grid's and the claims') says so, with
    its verdict on the grid's runs (``shorter``) where there is one."""
    before = ({int(r.n_bits): r.verdict for r in shorter.itertuples()}
              if epochs and shorter is not None else {})
    if rows.empty:
        if not epochs:
            return "no run of both methods at this scale"
        return (f"no run at {epochs[1]} epochs yet" + "".join(
            f"; {b} bits at {epochs[0]} epochs: {v}" for b, v in sorted(before.items())
            if b in verdict_lengths(claim, list(before))))
    lengths = verdict_lengths(claim, rows.n_bits)
    parts = {int(r.n_bits): f"{r.n_bits} bits: {r.verdict}"
             + (f" ({display_name(claim.compared)} not run yet)" if r.missing else "")
             for r in rows.itertuples() if r.n_bits in lengths}
    if parts:  # a length the claim is stated for without runs is said, not dropped
        at = f" at {epochs[1]} epochs" if epochs else ""
        parts.update({b: f"{b} bits: no run of {display_name(claim.method)}{at} yet"
                      + (f" ({epochs[0]} epochs: {before[b]})" if b in before else "")
                      for b in lengths if b not in parts})
    text = "; ".join(parts[b] for b in sorted(parts))
    if not text:
        return ("no run at " + ", ".join(str(b) for b in claim.focus_bits)
                + " bits, the length the claim is about")
    short = seeds_short(claim, rows)
    return text + (f" (seeds so far: {'; '.join(short)})" if short else "")


def summary_table(claims: tuple[Claim, ...], results: dict[str, pd.DataFrame],
                  ranks: pd.DataFrame, *, shorter: dict[str, pd.DataFrame] | None = None,
                  epochs: tuple[int, int] | None = None) -> pd.DataFrame:
    """One row per claim (and per ranked table): the paper, the claim, the verdict and
    the evidence it rests on; with ``shorter`` (the claims evaluated on the grid's
    default runs) and ``epochs`` (the grid's and the claims' budgets) also the verdict at
    the grid's budget (a ranking has one budget: "same")."""
    from hashlib_core.report.reported import SOURCES

    out = []
    col = f"verdict at {epochs[0]} epochs" if shorter is not None and epochs else None
    for c in claims:
        rows = results[c.id]
        out.append({"paper": c.paper, "claim": c.statement,
                    "verdict": f"**{claim_verdict(c, rows)}**",
                    "evidence": _claim_evidence(c, rows, epochs if col else None,
                                                shorter[c.id] if col else None)})
        if col:
            out[-1][col] = claim_verdict(c, shorter[c.id])
    for source, sub in ranks.groupby("source", sort=False):
        paper = "SHNet" if source.startswith("shnet") else "DSAH"
        deep = (sub.judged_on == "deep methods").any() if "judged_on" in sub else False
        out.append({"paper": paper,
                    "claim": (f"The ranking of the {'deep ' if deep else ''}methods in the "
                              f"{SOURCES[source]} holds."),
                    "verdict": f"**{ranking_verdict(sub)}**",
                    "evidence": "; ".join(
                        f"{r.n_bits} bits: τ = {_num(r.tau_deep if deep else r.tau)} "
                        + interval_text(*((r.deep_low, r.deep_high) if deep else (r.low, r.high)))
                        for r in sub.itertuples())})
        if col:
            out[-1][col] = f"(the ranking is at {epochs[0]} epochs)"
    return pd.DataFrame(out, columns=["paper", "claim", "verdict", "evidence"]
                        + ([col] if col else []))


def claim_block(claim: Claim, rows: pd.DataFrame, *, protocol_note: str = "",
                csv: str | None = None, context: dict[str, pd.DataFrame] | None = None,
                robustness: pd.DataFrame | None = None, why: pd.DataFrame | None = None,
                epochs: int | None = None) -> str:
    """Markdown of one claim: the statement, its verdict, what is compared and why, the
    table, the same comparison in its context metrics, why its budget (``why``: the
    grid's budget against the claims') and its budget robustness; ``epochs``: the
    claims' budget, said in the heading."""
    from hashlib_core.report.markdown import markdown_table

    head = (f"**{claim.paper}: {claim.statement}** Verdict: **{claim_verdict(claim, rows)}**."
            f" Metric: {metric_name(claim.metric)}")
    if len(rows):
        head += (f", protocol `{rows.protocol.iloc[0]}`"
                 + (f", {epochs} epochs" if epochs else "") + f"; from {runs_line(rows)}")
    head += "."
    if claim.comparison:
        head += f" Compared (pre-specified): {claim.comparison}."
    extra = " ".join(x for x in (claim.note, protocol_note) if x)
    if extra:
        head += " " + extra
    if csv:
        head += f" Download: [CSV]({csv})."
    if rows.empty:
        return head + ("\n\nNo run of both methods with their current settings is stored at "
                       "this scale, so the claim is not tested yet.")
    short = seeds_short(claim, rows)
    tail = ("The interval is a t interval over " + "; ".join(sorted(set(rows.basis) - {"none"}))
            + " (Welch–Satterthwaite degrees of freedom)." if set(rows.basis) - {"none"} else "")
    if len(verdict_lengths(claim, rows.n_bits)) > 1:  # the table shows the stricter interval
        tail += (" The stricter interval (Bonferroni over the lengths) decides \"not "
                 "supported\" only; \"supported\" needs the 95% interval on the paper's side "
                 "at every length.")
    if (rows.basis == "none").any():
        tail += (" Rows without an interval have a single run of a compared method: no "
                 "spread is borrowed from other methods, so they stay inconclusive.")
    if short:
        tail += (f" Not every compared method has its {len(CLAIM_SEEDS)} seeds yet: "
                 + "; ".join(short) + ".")
    out = head + "\n\n" + markdown_table(claim_table(claim, rows)) + "\n\n" + tail.strip()
    for metric, ctx in (context or {}).items():
        if len(ctx):
            out += (f"\n\nThe same comparison in {metric_name(metric)} (context, no verdict "
                    "of its own):\n\n" + markdown_table(
                        claim_table(claim, ctx).drop(columns=["verdict"])))
    if why is not None and len(why):
        out += "\n\n" + robustness_text(why, why=True)
    if robustness is not None and len(robustness):
        out += ("\n\n" if why is None or not len(why) else " ") + robustness_text(robustness)
    return out


def claims_csv(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every claim row in one plain table (commits and missing methods joined by spaces)."""
    frames = [r for r in results.values() if len(r)]
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out["commits"] = [" ".join(c) for c in out.commits]
    out["missing"] = [" ".join(m) for m in out.missing]
    return out


def _method_section(coverage: dict, status: dict, selection: pd.DataFrame,
                    budget: str = "", lengths: str = "", judged: dict | None = None,
                    conclusion: str = "") -> str:
    """The page's statement of method: interval, coverage, multiplicity, comparisons,
    seeds, tuning, training status."""
    from hashlib_core.report.markdown import markdown_table

    cov = ("\n\n" + coverage_text(coverage)) if coverage else ""
    if coverage:
        cov += (" Each pair, with its estimated spreads (σ between seeds beyond the query "
                "noise, 0 when the seeds differ no more than that noise explains) and the "
                "coverage of the t interval (ours) and of the bootstrap:\n\n"
                + markdown_table(coverage_markdown(coverage)))
    sel = ""
    if len(selection):
        sel = (" The DHEH and CSDH claims' baseline, re-derived from the tuning runs' "
               f"validation mAP ({TUNE_BITS} bits, seed {TUNE_SEED}, each method's winning "
               "setting): " + ", ".join(f"{display_name(r.method)} {r.val_map:.3f}"
                                             for r in selection.itertuples())
               + f" (chosen: {display_name(DHEH_CSDH_BASELINE)}"
               + ("" if selection.chosen.iloc[0] else "; NOTE: no longer the best") + ").")
    st = ""
    if status.get("runs"):
        st = (f"**Training had not finished.** Of the {status['runs']} default deep runs, "
              f"{status['rising']} were still raising their validation mAP by 0.005 or more "
              f"over their last 20% of epochs, and {status['best_at_end']} had their best "
              "validation mAP at the last evaluation.")
    st += f" {budget}" if budget else ""
    if judged and judged.get("runs"):
        st += (f" Of the {judged['runs']} runs of the claims' budget so far, "
               f"{judged['rising']} were still rising by that bar and "
               f"{judged['best_at_end']} had their best validation mAP at the last "
               "evaluation.")
    if lengths:
        st += (f" Each claim below says whether twice the epochs it is judged at "
               f"({ROBUST_EPOCHS if judged is not None else 'twice the preset'}, three "
               f"seeds) changes its verdict at one code length per claim{lengths}. "
               f"{conclusion}")
    st = ("\n\n" + st.strip()) if st.strip() else ""
    return ("**How the verdicts are drawn.** The variance of a difference adds each "
            "method's seed variance of its mean and the variance another set of queries "
            "would add (from the paired per-query differences, less the run noise the seeds "
            "already carry); the t quantile takes the Welch–Satterthwaite degrees of freedom "
            "of that sum. A method with one run gets no interval and borrows no other "
            "method's spread." + cov + "\n\nA claim made for several code lengths is "
            "supported when it is supported at every one of them (each length must pass on "
            "its own, which needs no correction), and not supported when, at one of its k "
            "lengths, the interval at level 1 − 0.05/k (Bonferroni) lies on the other side "
            "of zero. " + _across_claims(len(CLAIMS), bool(coverage)) + " What each claim "
            "compares was "
            "fixed before the query numbers were read: the compared method comes from the "
            "paper, and a baseline picked from a list is picked on validation mAP." + sel + st)


def _across_claims(n: int, measured: bool = True) -> str:
    """The multiplicity across the page's ``n`` pairwise claims, stated, not corrected:
    the union bound, and the value for independent claims (they are not: two DSAH claims
    share runs, and so do the DHEH and CSDH claims through their baseline)."""
    return (f"Each claim is judged on its own, with no correction across the page's {n} "
            "pairwise claims: where two methods do not differ, a claim's verdict comes out "
            "wrongly supported or not supported at most about 5% of the time"
            + (" (the coverage above)" if measured else "")
            + f", so if none of the {n} differed, one or more wrong verdicts would come out "
            f"at most {min(1.0, 0.05 * n):.0%} of the time (about {1 - 0.95 ** n:.0%} if the "
            "claims were independent; some share runs).")


def _stale_text(stale: pd.DataFrame) -> str:
    """A warning for methods whose stored runs used a superseded tuning winner."""
    if stale.empty:
        return ""
    parts = [f"{display_name(r.method)}'s {r.runs} runs were made with {r.made_with}, and "
             f"its winner is now {r.winner}" for r in stale.itertuples()]
    return ("\n\n**Runs to be redone.** The tuning page's tie rule (the best mean validation "
            "mAP of two seeds for near-tied settings) changed a winner after its runs were "
            "made: " + "; ".join(parts) + ". The verdicts below leave those runs out (a "
            "verdict never mixes two learning rates) until the runner has retrained them "
            "with the new winner.")


def _deviations(runs: list[Run]) -> str:
    """The sentence marking the runs that deviate from the paper's setting (sizes, epochs,
    weights: :func:`hashlib_core.report.provenance.record_deviations`), "" when none does."""
    from hashlib_core.report.provenance import record_deviations

    dev = [(r, d) for r in runs if (d := record_deviations(r.record))]
    if not dev:
        return ""
    shown = "; ".join(f"{display_name(r.key['method'])} {r.key['n_bits']} bits seed "
                      f"{r.seed} (`{r.key['protocol']}`): {', '.join(d)}" for r, d in dev[:6])
    more = f"; and {len(dev) - 6} more" if len(dev) > 6 else ""
    return (f" ‡ **{len(dev)} of these runs deviate from the paper's setting** (a verdict "
            f"that uses them is about that setting, not the paper's): {shown}{more}.")


def claims_page(root: str | Path, *, scale: str, artifacts: str | Path | None,
                out_dir: str | Path, page: str = "claims", reported: pd.DataFrame | None = None,
                n_boot: int = N_BOOT, n_sims: int = 1000) -> list[str]:
    """The Markdown blocks of the claims page, each table also written as CSV into
    ``out_dir`` and linked: which runs, the summary (Table 1), how the verdicts are drawn
    (the first :data:`OPENING_BLOCKS`), one block per claim,
    the same-rate comparison of SHNet and CSQ, the rank agreement (with the coverage of its
    interval over ``n_sims`` simulated rankings)."""
    from hashlib_core.report.reported import load_reported

    reported = load_reported() if reported is None else reported
    remade: list[str] = []
    every = default_runs(root, scale, artifacts=artifacts, stale=remade)
    stale = stale_settings(every, root, scale)
    runs = current_runs(every, root, scale)
    judged = _judged_runs(root, scale, artifacts, runs)
    results = evaluate_claims(judged, reported, scale=scale)
    ranks = rankings(runs, reported, scale=scale, n_boot=n_boot)
    rob = budget_robustness(root, scale)
    why = (budget_robustness(root, scale, main=None, long=claim_variant(scale))
           if claim_variant(scale) else pd.DataFrame())
    out_dir = Path(out_dir)
    coverage = coverage_check(judged, scale=scale)
    blocks = _opening_blocks(runs, judged, stale, coverage, budget_reason(why),
                             root=root, scale=scale, lengths=robustness_lengths(rob),
                             conclusion=budget_conclusion(rob),
                             n_ranked=int(ranks.n_runs.sum()) if len(ranks) else 0)
    blocks[0] += "".join(" " + sentence for sentence in stale_sentences(remade))
    budgets = _budgets(why)
    # Table 1 right after the opening sentence: the verdicts before how they are drawn
    blocks.insert(1, _summary_block(
        results, ranks, out_dir=out_dir, page=page, epochs=budgets,
        shorter=evaluate_claims(runs, reported, scale=scale) if budgets else None))
    n = 1
    for claim in CLAIMS:
        claim_blocks = _claim_blocks(claim, results[claim.id], judged, reported, rob,
                                     why=why, epochs=budgets[1] if budgets else None,
                                     root=root, scale=scale, out_dir=out_dir, page=page,
                                     first=n + 1)
        n += len(claim_blocks)
        blocks += claim_blocks
    cov = ranking_coverage(runs, reported, scale=scale, n_sims=n_sims)
    return blocks + ranking_blocks(ranks, first=n + 1, out_dir=out_dir, page=page,
                                    left_out=ranked_left_out(ranks, remade),
                                    coverage=ranking_coverage_text(cov, n_sims),
                                    budget=(f"Every method at the default {budgets[0]} epochs "
                                            "(a ranking compares them all at one budget). "
                                            if budgets else ""))


def _judged_runs(root: str | Path, scale: str, artifacts: str | Path | None,
                 runs: list[Run]) -> list[Run]:
    """The runs the pairwise claims are judged on (:func:`claim_runs`): ``runs`` itself
    at a scale without a claims' budget. Its stale records are not gathered again: the
    :func:`default_runs` call that made ``runs`` read every record of the scale, whatever
    its variant."""
    if claim_variant(scale) is None:
        return runs
    return current_runs(claim_runs(root, scale, artifacts=artifacts), root, scale)


def _budgets(why: pd.DataFrame) -> tuple[int, int] | None:
    """(the grid's epochs, the claims' epochs) from the rows of the grid's budget against
    the claims' (:func:`budget_robustness`), None without them."""
    if why.empty or why.main_epochs.dropna().empty:
        return None
    return int(why.main_epochs.dropna().iloc[0]), int(why.long_epochs.iloc[0])


def _opening_blocks(runs: list[Run], judged: list[Run], stale: pd.DataFrame, coverage: dict,
                    budget: str, *, root: str | Path, scale: str,
                    lengths: str = "", conclusion: str = "", n_ranked: int = 0) -> list[str]:
    """Two blocks: which runs the verdicts rest on (and which of them deviate from the
    papers' settings), and how the verdicts are drawn (with the measured coverage,
    :func:`coverage_check`); :func:`claims_page` puts Table 1 between them."""
    from hashlib_core.runner.grids import DEEP

    def where(rs: list[Run]) -> str:
        return ", ".join(f"`{p}`" for p in sorted({r.key["protocol"] for r in rs})) or "none"

    deep = sum(r.key["method"] in DEEP for r in runs)
    parts = (f"{deep} of them deep" + (f" and {len(runs) - deep} shallow" if deep < len(runs)
                                       else "")
             + (f"; the rankings use the {n_ranked} of them at the methods and code lengths "
                "of the papers' ranked tables" if n_ranked else ""))

    if judged is runs:
        opening = (f"At the `{scale}` scale: {len(runs)} runs with the default settings of "
                   f"their method on protocol(s) {where(runs)} ({parts}; ablation variants, "
                   "tuning, budget, diagnosis and alternative runs left out).")
    else:
        epochs = sorted({int(r.record["config"]["epochs"]) for r in judged})
        opening = (f"At the `{scale}` scale the pairwise claims rest on {len(judged)} runs "
                   f"trained for {', '.join(map(str, epochs))} epochs, the claims' budget, "
                   f"on protocol(s) {where(judged)}; the rankings and the shorter-budget "
                   f"verdicts beside them on {len(runs)} runs with the default settings of "
                   f"their method on protocol(s) {where(runs)} ({parts}; ablation "
                   "variants, tuning, diagnosis and alternative runs left out).")
    return [
        opening + _deviations(judged if judged is runs else judged + runs),
        _method_section(coverage, training_status(root, scale),
                        baseline_selection(root, scale), budget, lengths, conclusion=conclusion,
                        judged=(training_status(root, scale, variant=claim_variant(scale))
                                if judged is not runs else None))
        + _stale_text(stale),
    ]


def _summary_block(results: dict[str, pd.DataFrame], ranks: pd.DataFrame, *, out_dir: Path,
                   page: str, shorter: dict[str, pd.DataFrame] | None = None,
                   epochs: tuple[int, int] | None = None) -> str:
    """Table 1, the claims and their verdicts (written as ``<page>_summary.csv``)."""
    from hashlib_core.report.markdown import markdown_table, write_csv

    summary = summary_table(CLAIMS, results, ranks, shorter=shorter, epochs=epochs)
    write_csv(summary.assign(verdict=summary.verdict.str.strip("*")),
              out_dir / f"{page}_summary.csv")
    budget = (f" The pairwise claims are judged on runs of {epochs[1]} epochs; the last "
              f"column gives their verdict on the default {epochs[0]}-epoch runs (why the "
              "budget changed: *Training had not finished* below, and each claim's table)."
              if epochs and shorter is not None else "")
    return ("**Table 1. The claims and their verdicts.** One row per claim; the "
            "evidence column gives the verdict at each code length it rests on." + budget
            + f" Download: [CSV]({page}_summary.csv).\n\n" + markdown_table(summary))


def _claim_blocks(claim: Claim, rows: pd.DataFrame, runs: list[Run], reported: pd.DataFrame,
                  rob: pd.DataFrame, *, root: str | Path, scale: str, out_dir: Path,
                  page: str, first: int, why: pd.DataFrame | None = None,
                  epochs: int | None = None) -> list[str]:
    """The numbered tables of one claim, from Table ``first`` on: its own (rows and context
    metrics written as ``<page>_<claim>.csv``), then, for SHNet against CSQ, the
    comparison without the learning-rate confound and, for a claim on mAC, the code health
    of the two methods, each where it has rows."""
    from hashlib_core.report.markdown import write_csv

    protocol, note = claim_protocol(claim, runs, scale)
    name = f"{page}_{claim.id}.csv"
    context = {m: evaluate_claim(claim, runs, reported, scale=scale, metric=m)
               for m in claim.context_metrics}
    write_csv(claims_csv({claim.id: rows, **{f"{claim.id}-{m}": c
                                            for m, c in context.items()}})
              if len(rows) else rows, out_dir / name)
    blocks = [f"**Table {first}.** " + claim_block(
        claim, rows, protocol_note=note, csv=name, context=context, epochs=epochs,
        robustness=rob[rob.claim == claim.id] if len(rob) else None,
        why=why[why.claim == claim.id] if why is not None and len(why) else None)]
    if claim.id == "shnet-csq":
        conf = confound(root, scale)
        if len(conf):
            blocks.append(_confound_block(conf, n=first + len(blocks), scale=scale,
                                          out_dir=out_dir, page=page, claim_epochs=epochs))
    if claim.metric == "mac" and len(rows):
        health = _health_block(claim, rows, runs, protocol, n=first + len(blocks),
                               scale=scale, out_dir=out_dir, page=page, epochs=epochs)
        if health:
            blocks.append(health)
    return blocks


def _confound_block(conf: pd.DataFrame, *, n: int, scale: str, out_dir: Path,
                    page: str, claim_epochs: int | None = None) -> str:
    """Table ``n``: SHNet against CSQ at one learning rate (:func:`confound`, written as
    ``<page>_confound.csv``); ``claim_epochs``: the claims' budget where it is not the
    default runs' (the table says that its runs are shorter)."""
    from hashlib_core.report.markdown import markdown_table, write_csv

    book = BOOK_PROTOCOLS[scale]["cifar10"]
    cname = f"{page}_confound.csv"
    write_csv(conf, out_dir / cname)
    epochs = f", {int(conf.epochs.iloc[0])} epochs" if "epochs" in conf else ""
    if epochs and claim_epochs and claim_epochs != int(conf.epochs.iloc[0]):
        epochs += f": the default runs, while the claim is judged on {claim_epochs}-epoch runs"
    return (
        f"**Table {n}. SHNet's code layer against CSQ's parallel head, at one learning "
        f"rate** (32 bits, protocol `{book}`, scale `{scale}`{epochs}). SHNet with CSQ's "
        "parallel head is CSQ trained at SHNet's tuned rate, with the same seeds, so its "
        "row compares the code layers alone, whatever rate CSQ's own tuning chose"
        + ("; SHNet with one segment (all bits at once, batch norm kept: an ablation "
           "variant planned for this split, see the SHNet page) splits that difference "
           "into the serial structure and the batch norm. "
           if SERIAL_ROW in set(conf.against) else ". ")
        + confound_sentence(conf) + f" Download: [CSV]({cname}).\n\n"
        + markdown_table(pd.DataFrame([{
            "comparison (first − second)": r.against, "seeds": r.seeds,
            "learning rates": f"{r.lr_first:g} vs {r.lr_second:g}",
            "first": _num(r.first), "second": _num(r.second),
            "difference (95% interval)": f"{_num(r.difference, True)} "
                                         f"{interval_text(r.low, r.high)}",
            "verdict (first above second?)": f"**{r.verdict}**"}
            for r in conf.itertuples()])))


def _health_block(claim: Claim, rows: pd.DataFrame, runs: list[Run], protocol: str, *,
                  n: int, scale: str, out_dir: Path, page: str,
                  epochs: int | None = None) -> str:
    """Table ``n``: how much of the code the two methods of a claim on mAC use (written as
    ``<page>_<claim>_health.csv``); "" when their runs have no stored codes."""
    from hashlib_core.report import code_health as ch
    from hashlib_core.report.figures.bit_correlation import class_codes_reference
    from hashlib_core.report.markdown import markdown_table, write_csv
    from hashlib_core.runner.grids import claim_variant

    bits = (claim.focus_bits or tuple(rows.n_bits))[0]
    health = ch.runs_health(runs, protocol, (claim.method, claim.compared), bits,
                            variant=claim_variant(scale))
    if not len(health):
        return ""
    name = f"{page}_{claim.id}_health.csv"
    write_csv(health.rename_axis("method").reset_index(), out_dir / name)
    at = rows[rows.n_bits == bits]
    scale_of = (class_codes_reference({claim.method: float(at["mean"].iloc[0]),
                                       claim.compared: float(at.against_mean.iloc[0])},
                                      protocol, bits, of=f" over its database codes in Table {n - 1}")
                .strip() + " " if len(at) else "")
    return (f"**Table {n}. How much of the code {display_name(claim.method)} and "
            f"{display_name(claim.compared)} use** ({bits} bits, seed 0, "
            + (f"{epochs} epochs, " if epochs else "")
            + f"protocol `{protocol}`, scale `{scale}`). " + scale_of + ch.health_text(health, bits)
            + " Computed from the stored query codes (see the bit-correlation page "
            f"for the measures). Download: [CSV]({name}).\n\n"
            + markdown_table(ch.health_markdown_table(health)))


__all__ = ["OPENING_BLOCKS", "claim_block", "claim_table", "claims_csv", "claims_page", "ranking_table",
           "ranking_verdict", "summary_table"]
