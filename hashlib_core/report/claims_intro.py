"""The introduction's summary of the claims page: three sentences computed from the same
claim rows (SHNet against CSQ, DSAH against ADSH, the rest), each verdict with the
training length it was judged at and, where the grid's shorter budget gives another
verdict, that one too."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from hashlib_core.report.claim_checks import current_runs, interval_text
from hashlib_core.report.claims import (
    CLAIMS,
    SUPPORTED,
    Claim,
    claim_verdict,
    default_runs,
    evaluate_claims,
    untested_lengths,
    verdict_lengths,
)
from hashlib_core.report.claims_page import _judged_runs, _num
from hashlib_core.report.rankings import N_BOOT, rankings
from hashlib_core.report.rankings_page import ranking_verdict
from hashlib_core.results import stale_sentences
from hashlib_core.runner.grids import CLAIM_EPOCHS, claim_variant


def summary_sentences(claims: tuple[Claim, ...], results: dict[str, pd.DataFrame],
                      ranks: pd.DataFrame, *, scale: str,
                      left_out: list[str] | tuple[str, ...] = (),
                      epochs: int | None = None,
                      shorter: tuple[int, dict[str, pd.DataFrame]] | None = None) -> list[str]:
    """Three sentences for the introduction: SHNet against CSQ, DSAH against ADSH, and the
    rest (CSDH/DHEH and the rankings), each computed from the claim rows; ``left_out``:
    the sentences on runs left out as made by older code (:func:`stale_sentences`);
    ``shorter``: (epochs, claim rows) of the grid's shorter budget (its runs' usual epochs), whose verdict is named
    where it differs (a verdict that depends on the training length says so)."""
    by_id = {c.id: c for c in claims}

    def also(cid: str) -> str:
        if shorter is None or cid not in by_id or not len(shorter[1].get(cid, ())):
            return ""
        then = claim_verdict(by_id[cid], shorter[1][cid])
        now = claim_verdict(by_id[cid], results[cid])
        return (f" ({then} on runs of {shorter[0]} epochs: the verdict depends on the "
                "training length)" if then != now else "")

    def diffs(rows: pd.DataFrame) -> str:
        return ", ".join(f"{_num(r.difference, True)} {interval_text(r.low, r.high)} at "
                         f"{r.n_bits} bits" for r in rows.itertuples())

    out = []
    sc = results.get("shnet-csq", pd.DataFrame())
    if "shnet-csq" in by_id and len(sc):
        out.append(f"The SHNet paper's headline, SHNet above CSQ in mAP@ALL on CIFAR-10, is "
                   f"**{claim_verdict(by_id['shnet-csq'], sc)}** at the `{scale}` scale"
                   + (f" (runs of {epochs} epochs, the claims' budget)" if epochs else "")
                   + also("shnet-csq") + ": "
                   f"SHNet minus CSQ is {diffs(sc)} (95% intervals), where the paper has "
                   + ", ".join(f"{_num(r.paper_difference, True)}" for r in sc.itertuples())
                   + ".")
    elif left_out:
        out.append(f"SHNet and CSQ have no runs of their current code at the `{scale}` scale "
                   "yet, so the SHNet paper's headline is not tested: " + " ".join(left_out))
    else:
        out.append(f"SHNet and CSQ have no runs at the `{scale}` scale, so the SHNet paper's "
                   "headline is not tested.")
    da, dm = results.get("dsah-adsh", pd.DataFrame()), results.get("dsah-mac", pd.DataFrame())
    if "dsah-adsh" in by_id and len(da):
        n_sup = int((da.verdict == SUPPORTED).sum())
        k = len(verdict_lengths(by_id["dsah-adsh"], da.n_bits))
        untested = untested_lengths(by_id["dsah-adsh"], da)
        s = (f"DSAH's precision of the top 5,000 is above ADSH's with a 95% interval above "
             f"zero at {n_sup} of {k} code lengths"
             + (f" ({', '.join(map(str, untested))} bits: no interval"
                + (f" from {epochs}-epoch runs" if epochs else "") + " yet)" if untested else "")
             + f" (claim **{claim_verdict(by_id['dsah-adsh'], da)}**{also('dsah-adsh')})")
        if len(dm) and (dm.n_bits == 32).any():
            r = dm[dm.n_bits == 32].iloc[0]
            s += (f", and the claim that its bits are less correlated is "
                  f"**{claim_verdict(by_id['dsah-mac'], dm)}** (mAC {r['mean']:.3f} against "
                  f"ADSH's {r.against_mean:.3f} at {r.n_bits} bits"
                  + (", higher rather than lower" if r["mean"] > r.against_mean else "")
                  + f"){also('dsah-mac')}")
        out.append(s + ".")
    else:
        out.append(f"DSAH and ADSH have no runs of the same code length under ADSH's "
                   f"protocol at the `{scale}` scale, so the DSAH paper's claims are not "
                   "tested.")
    short = [by_id[i] for i in ("dheh-short", "csdh-short") if i in by_id]
    parts = [f"{c.paper} at short codes **{claim_verdict(c, results[c.id])}**{also(c.id)}"
             for c in short]
    if len(ranks):
        for source, sub in ranks.groupby("source", sort=False):
            deep = (sub.judged_on == "deep methods").any() if "judged_on" in sub else False
            tau = sub.tau_deep if deep else sub.tau
            parts.append(f"the ranking of the {'SHNet' if source.startswith('shnet') else 'DSAH'}"
                         f" paper's table **{ranking_verdict(sub)}** (Kendall's τ "
                         + ("over its deep methods, as deep and shallow methods agree at "
                            "any scale, " if deep else "")
                         + f"{tau.min():+.2f} to {tau.max():+.2f}; supported means a "
                         "95% interval above 0 at every code length)")
    out.append(("The remaining claims: " + "; ".join(parts) + ".") if parts else
               "No other claim can be tested at this scale.")
    return out


def intro_summary(root: str | Path, *, scale: str, artifacts: str | Path | None,
                  n_boot: int = N_BOOT) -> list[str]:
    """The three sentences of :func:`summary_sentences` for the introduction."""
    from hashlib_core.report.reported import load_reported

    reported = load_reported()
    remade: list[str] = []
    runs = current_runs(default_runs(root, scale, artifacts=artifacts, stale=remade),
                        root, scale)
    judged = _judged_runs(root, scale, artifacts, runs)
    results = evaluate_claims(judged, reported, scale=scale)
    ranks = rankings(runs, reported, scale=scale, n_boot=n_boot)
    shorter = None
    if judged is not runs:
        grid_epochs = Counter(int(r.record["config"]["epochs"]) for r in runs)
        shorter = (grid_epochs.most_common(1)[0][0], evaluate_claims(runs, reported, scale=scale))
    return summary_sentences(CLAIMS, results, ranks, scale=scale,
                             left_out=stale_sentences(remade),
                             epochs=CLAIM_EPOCHS if claim_variant(scale) else None,
                             shorter=shorter)


__all__ = ["intro_summary", "summary_sentences"]
