"""The papers' claims that the stored runs can test, each with an interval and a verdict.

A *claim* is a sentence of one of the four source papers that the runs of this project
can check: SHNet above CSQ in mAP on CIFAR-10 at each code length (SHNet paper, Table 2),
DSAH above ADSH in precision of the top 5,000 (DSAH paper, Table 1), DSAH's bits less
correlated than ADSH's (mAC, DSAH paper), CSDH and DHEH above the baselines they were
compared with at short codes, and the papers' rankings of the methods.

What each claim compares is fixed before the query numbers are looked at (issue 23):
the compared method comes from the paper (SHNet against CSQ, DSAH against ADSH); where a
claim is against a list of baselines, the list is the paper's and the one baseline it is
judged against is the list's deep method with the best *validation* mAP in the tuning runs
(:data:`hashlib_core.runner.grids.DHEH_CSDH_BASELINE`, re-derived by :func:`baseline_selection`).
Each compared method has five seeds at the claim's lengths (the cpu grid).

For each claim and code length :func:`evaluate_claim` returns the paper's number (from
:func:`hashlib_core.report.reported.load_reported`), ours (mean ± std over seeds), the
difference with a 95% interval and a verdict. The interval
(:func:`hashlib_core.report.intervals.difference_interval`) is a t interval over the seed means,
with Welch's degrees of freedom, widened by the share of the chosen queries (paired: both
methods are ranked for the same queries); its coverage is measured by simulating equal
methods with the stored runs' own spreads (:func:`coverage_check`). A method with one run
has no interval: a claim never borrows another method's spread.

Verdict at one length: **supported** when the whole 95% interval lies on the paper's side
of zero, **not supported** when it lies on the other side, **inconclusive** otherwise.
Several lengths (the multiplicity rule): a claim is supported when it is supported at
every length it rests on (an intersection-union test, which needs no correction), and not
supported when, at one of its k lengths, the interval at level 1 - 0.05/k (Bonferroni)
lies on the other side. The papers' rankings are checked in
:mod:`hashlib_core.report.rankings`.

At the cpu scale the pairwise claims are judged on the runs of the claims' budget
(:func:`claim_runs`: 80 epochs, twice the grid's 40, which changed three verdicts); the
rankings on the default runs, the same 40 epochs for every method. Ablation variants,
tuning, diagnosis and alternative runs are left out. Everything is computed from the
records when the book is built.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashlib_core.metrics import mean_absolute_correlation
from hashlib_core.report import intervals
from hashlib_core.report.names import display_name, metric_label
from hashlib_core.results import iter_records, record_dir
from hashlib_core.runner.grids import (
    BOOK_PROTOCOLS,
    CLAIM_SEEDS,
    DHEH_CSDH_BASELINE,
    DSAH_BITS,
    REPORTED_PROTOCOLS,
    SOURCE_METHODS,
)

#: the interval's coverage
LEVEL = 0.95
SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
#: per-query metrics (the mean over queries of a per-query value) and code metrics
PER_QUERY_METRICS = ("map", "precision_top5000")
CODE_METRICS = ("query_mac",)
METRIC_NAMES = {"map": "mAP", "precision_top5000": "precision of the top 5,000",
                "mac": "mAC", "query_mac": "mAC of the query codes"}


@dataclass(frozen=True)
class Claim:
    """One claim of a paper: ``method`` beats the compared method in ``metric``.

    ``against`` is the paper's comparison set; ``baseline`` the one method of it the claim
    is judged against when it has several (pre-specified; None: ``against[0]``), and
    ``comparison`` says where the set comes from. ``higher_is_better`` False (mAC) means
    the claim is that ``method``'s value is lower. ``bits`` are the code lengths the paper
    states it for (None: every length with runs); ``focus_bits`` the lengths the verdict
    rests on (None: all tested). ``protocols``: the protocol it is tested on, ``None``
    standing for the scale's CIFAR-10 protocol of the book (the first with runs of both
    methods). ``context_metrics``: the same comparison shown in other metrics, without a
    verdict.
    """

    id: str
    paper: str
    statement: str
    method: str
    against: tuple[str, ...]
    metric: str
    source: str | None = None
    bits: tuple[int, ...] | None = None
    focus_bits: tuple[int, ...] | None = None
    higher_is_better: bool = True
    protocols: tuple[str | None, ...] = (None,)
    note: str = ""
    baseline: str | None = None
    comparison: str = ""
    context_metrics: tuple[str, ...] = ()

    @property
    def compared(self) -> str:
        """The method the claim is judged against."""
        return self.baseline or self.against[0]


#: the hashing methods DHEH's paper cites (METHODS.md; which of them its experiments
#: compare is not legible beyond the abstract), among the methods run here; DSDH and DQN
#: are not in this project. Only CSDH's abstract is available: it counts five shallow and
#: six deep baselines, the counts of DHEH's list, whose journal extension it reads as, so
#: DHEH's list stands for it.
DHEH_BASELINES = ("sh", "itq", "ksh", "sdh", "fasth", "cnnh", "dpsh", "dtsh", "dhn")
_SHORT_NOTE = ("The paper's numbers for {m} are not in the reported table; the verdict "
               "rests on the shortest length, 16 bits (32 and 64 bits are context).")
_BASELINE_WORDS = ("the hashing methods DHEH's paper cites, among those run here ({names}; "
                   "which of them its experiments compare is not legible beyond the "
                   "abstract); judged against {best}, the "
                   "deep one with the best validation mAP in the tuning runs (fixed before "
                   "the query numbers were read; the shallow ones have no validation curve "
                   "and score far lower)")

CLAIMS: tuple[Claim, ...] = (
    Claim("shnet-csq", "SHNet", "SHNet has a higher mAP@ALL than CSQ on CIFAR-10 at 16, 32 "
          "and 64 bits.", "shnet", ("csq",), "map", source="shnet_table2", bits=(16, 32, 64),
          comparison="the SHNet paper's headline: SHNet against CSQ, the method it "
                     "builds on and compares against directly (CSQ's loss and protocol, "
                     "t-SNE against CSQ), at every length of its Table 2"),
    Claim("dsah-adsh", "DSAH", "DSAH has a higher precision of the top 5,000 than ADSH on "
          "CIFAR-10 at every code length.", "dsah", ("adsh",), "precision_top5000",
          source="dsah_table1", bits=DSAH_BITS, protocols=("cifar10-adsh",),
          context_metrics=("map",),
          comparison="the DSAH paper's Table 1: DSAH against ADSH, the method it extends, "
                     "at the table's 12, 24, 36 and 48 bits, under ADSH's protocol",
          note="The poster's table does not say which metric it prints; its caption reads "
               "as the precision of the top 5,000 returned items, which the verdict uses "
               "(our reading). The same comparison in mAP@ALL is shown below it."),
    Claim("dsah-mac", "DSAH", "DSAH's bits are less correlated than ADSH's (lower mAC; "
          "the paper shows it at 32 bits).", "dsah", ("adsh",), "mac",
          higher_is_better=False, focus_bits=(32,), protocols=("cifar10-adsh",),
          comparison="the DSAH paper's correlation matrices: DSAH against ADSH at 32 bits, "
                     "under ADSH's protocol",
          note="mAC of the database codes, as in the bit-correlation matrices; the "
               "paper's own mAC values are not in the reported table. The verdict rests "
               "on 32 bits."),
    Claim("dheh-short", "DHEH", "DHEH beats the baselines it was compared with at short "
          "codes (here: the pre-specified best of them, in mAP@ALL).", "dheh",
          DHEH_BASELINES, "map", bits=(16, 32, 64), focus_bits=(16,),
          baseline=DHEH_CSDH_BASELINE,
          comparison=_BASELINE_WORDS.format(names=", ".join(display_name(m) for m in
                                                            DHEH_BASELINES),
                                            best=display_name(DHEH_CSDH_BASELINE)),
          note=_SHORT_NOTE.format(m="DHEH")),
    Claim("csdh-short", "CSDH", "CSDH beats the baselines it was compared with at short "
          "codes (here: the pre-specified best of them, in mAP@ALL).", "csdh",
          DHEH_BASELINES, "map", bits=(16, 32, 64), focus_bits=(16,),
          baseline=DHEH_CSDH_BASELINE,
          comparison=_BASELINE_WORDS.format(names=", ".join(display_name(m) for m in
                                                            DHEH_BASELINES),
                                            best=display_name(DHEH_CSDH_BASELINE))
          + "; only CSDH's abstract is available, which counts five shallow and six "
            "deep baselines, the counts of DHEH's list, so DHEH's stands for it",
          note=_SHORT_NOTE.format(m="CSDH")),
)

# --------------------------------------------------------------------------- runs
@dataclass
class Run:
    """One default run: its key, value of a metric, and (lazily) its per-query data."""

    record: dict[str, Any]
    artifacts: Path | None
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> dict[str, Any]:
        return self.record["key"]

    @property
    def seed(self) -> int:
        return int(self.key["seed"])

    @property
    def manifest(self) -> str:
        return str(self.record["provenance"].get("manifest_sha256") or "unknown")

    @property
    def commit(self) -> str:
        return str(self.record["provenance"].get("git_commit") or "unknown")

    def query_codes(self) -> tuple[np.ndarray, np.ndarray]:
        if "query" not in self._cache:
            from hashlib_core.results.codes import _read_codes

            entry = self.record["files"]["query_codes"]
            self._cache["query"] = _read_codes(Path(self.record["_path"]) / entry["name"],
                                               entry["sha256"])
        return self._cache["query"]

    def value(self, metric: str) -> float:
        """The run's value of ``metric`` (``query_mac`` from the query codes if not stored)."""
        stored = self.record["scalars"].get(metric)
        if stored is not None:
            return float(stored)
        if metric == "query_mac":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return float(mean_absolute_correlation(self.query_codes()[0]))
        return float("nan")

    def per_query(self, metric: str) -> np.ndarray | None:
        """The run's per-query data for ``metric``: values (n_queries,) for a per-query
        metric, the query codes (n_queries, n_bits) for ``query_mac``; None if absent.

        Raises
        ------
        ValueError
            If recomputed values do not average to the record's scalar (the codes do not
            belong to the record).
        """
        if metric in CODE_METRICS:
            return self.query_codes()[0].astype(np.float64)
        if metric not in PER_QUERY_METRICS:
            return None  # a property of the database codes (mac): over seeds only
        if metric in self._cache:
            return self._cache[metric]
        out = None
        curve = self.record["curves"].get(f"per_query_{metric}")
        if curve is not None:
            out = np.array([np.nan if v is None else v for v in curve], dtype=float)
        elif self.artifacts is not None:
            out = self._recompute(metric)
        if out is not None:
            want = self.record["scalars"].get(metric)
            if want is not None and abs(np.nanmean(out) - want) > 1e-4:
                raise ValueError(f"{self.record['_path']}: per-query {metric} averages to "
                                 f"{np.nanmean(out):.6f}, the record says {want:.6f}")
        self._cache[metric] = out
        return out

    def _recompute(self, metric: str) -> np.ndarray | None:
        from hashlib_core.evaluation import evaluate
        from hashlib_core.results.codes import _read_codes

        entry = self.record["files"].get("db_codes")
        if not entry:
            return None
        path = record_dir(self.artifacts, **self.key) / entry["name"]
        if not path.is_file():
            return None
        if "evaluated" not in self._cache:
            db, db_labels = _read_codes(path, entry["sha256"])
            q, q_labels = self.query_codes()
            info = self.record.get("eval_info") or {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = evaluate(q, db, q_labels, db_labels, topk=info.get("topk"),
                               empty=info.get("empty", "zero"),
                               denominator=info.get("denominator", "retrieved"),
                               pn_cutoffs=[1])
            self._cache["evaluated"] = res.curves
        return np.asarray(self._cache["evaluated"][f"per_query_{metric}"], dtype=float)


def default_runs(root: str | Path, scale: str, *, artifacts: str | Path | None = None,
                 stale: list[str] | None = None, variant: str | None = None) -> list[Run]:
    """Every default run of a scale (no ablation variant, no ``tune-*`` run), or with
    ``variant`` every run of that variant; ``stale`` receives the runs left out as made
    before their method's current revision."""
    arts = Path(artifacts) if artifacts is not None else None
    return [Run(rec, arts) for rec in iter_records(root, scale=scale, stale=stale)
            if rec["key"]["variant"] == variant]


def claim_runs(root: str | Path, scale: str, *, artifacts: str | Path | None = None,
               stale: list[str] | None = None) -> list[Run]:
    """The runs the pairwise claims are judged on: at the cpu scale those trained for the
    claims' budget (:data:`hashlib_core.runner.grids.CLAIM_EPOCHS`, twice the grid's 40
    epochs, which changed three verdicts), elsewhere the default runs
    (:func:`hashlib_core.runner.grids.claim_variant`)."""
    from hashlib_core.runner.grids import claim_variant

    return default_runs(root, scale, artifacts=artifacts, stale=stale,
                        variant=claim_variant(scale))


def _runs_of(runs: list[Run], protocol: str, method: str, n_bits: int) -> list[Run]:
    return sorted((r for r in runs if r.key["protocol"] == protocol
                   and r.key["method"] == method and int(r.key["n_bits"]) == n_bits),
                  key=lambda r: r.seed)


# --------------------------------------------------------------------------- intervals
def verdict(low: float, high: float, *, higher_is_better: bool = True,
            randomness: bool = True) -> str:
    """Supported / not supported / inconclusive from a difference's interval (method minus
    the other); ``randomness`` False (training randomness not in the interval) or a
    missing interval is always inconclusive."""
    if not randomness or not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE
    if not higher_is_better:
        low, high = -high, -low
    if low > 0:
        return SUPPORTED
    if high < 0:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def _per_query(groups: list[list[Run]], metric: str) -> list[np.ndarray] | None:
    """Each group's per-query values (runs, queries), or None when a run lacks them or the
    runs were evaluated on different query sets (different protocol manifests)."""
    runs = [r for g in groups for r in g]
    if metric not in PER_QUERY_METRICS or len({r.manifest for r in runs}) != 1:
        return None
    data = [[r.per_query(metric) for r in g] for g in groups]
    if any(d is None for g in data for d in g) or len({len(d) for g in data for d in g}) != 1:
        return None
    return [np.stack(g) for g in data]


def compare(a: list[Run], b: list[Run], metric: str, *, level: float = LEVEL,
            pooled: tuple[float, float] | None = None) -> intervals.Interval:
    """The difference of the mean ``metric`` of runs ``a`` and ``b`` with its interval
    (:func:`hashlib_core.report.intervals.difference_interval`, paired over queries when both
    have per-query values on the same queries)."""
    va = np.array([r.value(metric) for r in a], dtype=float)
    vb = np.array([r.value(metric) for r in b], dtype=float)
    pq = _per_query([a, b], metric)
    return intervals.difference_interval(
        va, vb, a_per_query=None if pq is None else pq[0],
        b_per_query=None if pq is None else pq[1], level=level, pooled=pooled)


def _reported(reported: pd.DataFrame, source: str | None, method: str, metric: str,
              n_bits: int, dataset: str = "cifar10") -> float:
    """The paper's printed value on ``dataset`` (NaN when it printed none)."""
    if source is None:
        return float("nan")
    rows = reported[(reported.source == source) & (reported.method == method)
                    & (reported.protocol == REPORTED_PROTOCOLS[dataset])
                    & (reported.metric == metric) & (reported.n_bits == n_bits)]
    return float(rows.value.iloc[0]) if len(rows) else float("nan")


# --------------------------------------------------------------------------- claims
def claim_protocol(claim: Claim, runs: list[Run], scale: str) -> tuple[str, str]:
    """The protocol a claim is tested on at ``scale`` and a sentence on the choice: the
    first of ``claim.protocols`` with runs of both compared methods (at one of
    ``claim.focus_bits`` when the claim has them), else the first of them."""
    book = BOOK_PROTOCOLS[scale]["cifar10"]
    names = list(dict.fromkeys(book if p is None else p for p in claim.protocols))

    def both_sides(name: str, lengths) -> bool:
        have = {r.key["method"] for r in runs if r.key["protocol"] == name
                and (lengths is None or int(r.key["n_bits"]) in lengths)}
        return claim.method in have and claim.compared in have

    for lengths in ([claim.focus_bits] if claim.focus_bits else []) + [None]:
        for name in names:
            if both_sides(name, lengths):
                if name == names[0]:
                    return name, ""
                at = "" if lengths is None else f" at {_bits_words(lengths)}"
                return name, f"No run{at} on `{names[0]}`{'' if at else ' yet'}; tested on `{name}` instead."
    return names[0], ""


def _bits_words(lengths) -> str:
    return " or ".join(f"{b} bits" for b in lengths)


ROW_COLUMNS = ["claim", "n_bits", "protocol", "metric", "method", "against", "paper_method",
               "paper_against", "paper_difference", "mean", "std", "n_seeds", "against_mean",
               "against_std", "against_n_seeds", "difference", "low", "high", "adj_low",
               "adj_high", "df", "basis", "verdict", "missing", "n_runs", "commits"]


def evaluate_claim(claim: Claim, runs: list[Run], reported: pd.DataFrame, *, scale: str,
                   metric: str | None = None) -> pd.DataFrame:
    """One row per code length at which the claim can be tested.

    ``metric`` (default the claim's) evaluates the same comparison in another metric (the
    claim's context metrics).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ROW_COLUMNS`: the paper's numbers, ours (mean, std, seeds), the
        difference with its 95% interval (``low``, ``high``) and the interval at the
        Bonferroni level of the claim's lengths (``adj_low``, ``adj_high``), Welch's
        degrees of freedom, what the interval covers (``basis``), the verdict at this
        length; ``missing`` names the compared method when it has no run at that length;
        ``commits`` a sorted tuple; NaN where a number is missing.
    """
    metric = metric or claim.metric
    protocol, _ = claim_protocol(claim, runs, scale)
    lengths = sorted({int(r.key["n_bits"]) for r in runs if r.key["protocol"] == protocol
                      and r.key["method"] == claim.method})
    if claim.bits is not None:
        lengths = [b for b in lengths if b in claim.bits]
    focus = [b for b in lengths if claim.focus_bits is None or b in claim.focus_bits]
    adj_level = 1 - (1 - LEVEL) / max(len(verdict_lengths(claim, focus)), 1)
    other = claim.compared
    rows = []
    for n_bits in lengths:
        mine = _runs_of(runs, protocol, claim.method, n_bits)
        theirs = _runs_of(runs, protocol, other, n_bits)
        p_a = _reported(reported, claim.source, claim.method, metric, n_bits)
        p_b = _reported(reported, claim.source, other, metric, n_bits)
        a_vals = np.array([r.value(metric) for r in mine], dtype=float)
        b_vals = np.array([r.value(metric) for r in theirs], dtype=float)
        nan = float("nan")
        if len(theirs):
            iv = compare(mine, theirs, metric)
            adj = compare(mine, theirs, metric, level=adj_level)
        else:
            iv = adj = intervals.Interval(nan, nan, nan, nan, nan, "")
        all_runs = mine + theirs
        rows.append({
            "claim": claim.id, "n_bits": n_bits, "protocol": protocol, "metric": metric,
            "method": claim.method, "against": other,
            "paper_method": p_a, "paper_against": p_b, "paper_difference": p_a - p_b,
            "mean": float(a_vals.mean()), "std": _std(a_vals), "n_seeds": len(mine),
            "against_mean": float(b_vals.mean()) if len(b_vals) else nan,
            "against_std": _std(b_vals), "against_n_seeds": len(theirs),
            "difference": iv.difference, "low": iv.low, "high": iv.high,
            "adj_low": adj.low, "adj_high": adj.high, "df": iv.df,
            "basis": iv.basis or "none",
            "verdict": verdict(iv.low, iv.high, higher_is_better=claim.higher_is_better),
            "missing": () if theirs else (other,),
            "n_runs": len(all_runs), "commits": tuple(sorted({r.commit for r in all_runs})),
        })
    out = pd.DataFrame(rows, columns=ROW_COLUMNS)
    # the compared method's seeds at a stated length without a row (the claim's method has
    # no run there yet), for :func:`seeds_short`
    out.attrs["compared_seeds"] = {int(b): len(_runs_of(runs, protocol, other, b))
                                   for b in verdict_lengths(claim) if b not in lengths}
    return out


def _std(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else float("nan")


def verdict_lengths(claim: Claim, tested=()) -> list[int]:
    """The k code lengths a claim's verdict rests on: its ``focus_bits``, else the lengths
    the paper states it for (``bits``), else the ``tested`` ones. A length without runs
    still counts: it can neither be dropped from "every length" nor shrink k."""
    return sorted(claim.focus_bits or claim.bits or {int(b) for b in tested})


def untested_lengths(claim: Claim, rows: pd.DataFrame) -> list[int]:
    """The lengths of :func:`verdict_lengths` with no interval in ``rows`` (no run of one
    of the two methods there yet)."""
    lows = rows.low if "low" in rows else pd.Series(0.0, index=rows.index)
    tested = {int(b) for b, low in zip(rows.n_bits, lows) if np.isfinite(low)}
    return [b for b in verdict_lengths(claim, rows.n_bits) if b not in tested]


def claim_verdict(claim: Claim, rows: pd.DataFrame) -> str:
    """The claim's verdict from its rows at its k lengths (:func:`verdict_lengths`), by
    the multiplicity rule: supported when supported at every one of them (95% intervals;
    a length without runs is not supported yet), not supported when at one of them the
    interval at level 1 - 0.05/k lies on the other side, else inconclusive (also without
    rows)."""
    sel = rows[rows.n_bits.isin(verdict_lengths(claim, rows.n_bits))]
    if sel.empty:
        return INCONCLUSIVE
    if "adj_low" in sel:
        adjusted = [verdict(r.adj_low, r.adj_high, higher_is_better=claim.higher_is_better)
                    for r in sel.itertuples()]
    else:
        adjusted = list(sel.verdict)
    if NOT_SUPPORTED in adjusted:
        return NOT_SUPPORTED
    if (sel.verdict == SUPPORTED).all() and not untested_lengths(claim, rows):
        return SUPPORTED
    return INCONCLUSIVE


def evaluate_claims(runs: list[Run], reported: pd.DataFrame, *, scale: str,
                    claims: tuple[Claim, ...] = CLAIMS) -> dict[str, pd.DataFrame]:
    """:func:`evaluate_claim` for every claim: ``{claim id: rows}``."""
    return {c.id: evaluate_claim(c, runs, reported, scale=scale) for c in claims}


def seeds_short(claim: Claim, rows: pd.DataFrame, want: int = len(CLAIM_SEEDS)) -> list[str]:
    """Where a claim's compared methods have fewer than ``want`` seeds at the lengths its
    verdict rests on (:func:`verdict_lengths`; a context length's seeds show in its row), one
    phrase per method, e.g. "DSAH: 0 of 5 at 12, 24 bits and 3 of 5 at 48 bits" (empty
    when complete); a length of :func:`verdict_lengths` without a row counts as 0 seeds of
    the claim's method (rows exist only where it has runs), and the compared method's
    seeds there come from ``rows.attrs["compared_seeds"]`` (:func:`evaluate_claim`)."""
    short: dict[str, dict[int, list[int]]] = {}

    def add(method: str, n: int, bits: int) -> None:
        if n < want:
            short.setdefault(method, {}).setdefault(int(n), []).append(int(bits))

    compared = rows.attrs.get("compared_seeds") or {}
    lengths = verdict_lengths(claim, rows.n_bits)
    for b in lengths:
        if b not in set(rows.n_bits):
            add(claim.method, 0, b)
            if b in compared:
                add(claim.compared, compared[b], b)
    for r in rows[rows.n_bits.isin(lengths)].itertuples():  # context lengths: table only
        add(r.method, r.n_seeds, r.n_bits)
        add(r.against, r.against_n_seeds, r.n_bits)
    return [f"{display_name(m)}: " + " and ".join(
                f"{n} of {want} at {', '.join(map(str, sorted(bits)))} bits"
                for n, bits in sorted(by_n.items()))
            for m, by_n in short.items()]


def metric_name(metric: str) -> str:
    """``"map"`` -> ``"mAP@ALL"``; other metrics by :data:`METRIC_NAMES`."""
    return metric_label("map") if metric == "map" else METRIC_NAMES.get(metric, metric)


__all__ = ["CLAIMS", "Claim", "SOURCE_METHODS", "claim_protocol", "claim_runs", "claim_verdict",
           "compare", "default_runs", "evaluate_claim", "evaluate_claims", "seeds_short", "untested_lengths",
           "verdict", "verdict_lengths"]
