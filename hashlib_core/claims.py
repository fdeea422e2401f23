"""The papers' claims that the stored runs can test, each with an interval and a verdict.

A *claim* is a sentence of one of the four source papers that the runs of this project
can check: SHNet above CSQ in mAP on CIFAR-10 at each code length (SHNet paper, Table 2),
DSAH above ADSH in precision of the top 5,000 (DSAH paper, Table 1), DSAH's bits less
correlated than ADSH's (mAC, DSAH paper), CSDH and DHEH above the baselines they were
compared with at short codes, and the papers' rankings of the methods.

For each claim and code length :func:`evaluate_claims` returns the paper's number (from
:func:`hashlib_core.reported.load_reported`), ours (mean ± std over seeds), the
difference with a 95% interval and a verdict. The interval is a bootstrap
(:data:`N_BOOT` replicates) of the difference of the means:

* **over queries, paired**: every replicate draws one resample of the query set and uses
  it for both methods (they are evaluated on the same queries: same protocol manifest).
  It needs each run's value per query: the record's ``per_query_<metric>`` curve, or,
  for older records, the value recomputed from the stored query codes and the database
  codes (``runs/artifacts``, not committed) with :func:`hashlib_core.evaluation.evaluate`;
  for mAC the query codes themselves, which every record stores;
* **over seeds**: each method's seeds are resampled when it has two or more; a method
  with a single run gets a normal draw with the seed-to-seed standard deviation pooled
  over the methods of the protocol that have several seeds (*borrowed*).

Verdict: **supported** when the whole interval lies on the paper's side of zero, **not
supported** when it lies on the other side, **inconclusive** when it contains zero, when
there is no interval, or when training randomness is not in it (one run per method and
no method with several seeds at this scale: then the interval covers the choice of
queries only). Rank agreement is Kendall's τ between the paper's and our values, with a
bootstrap over the methods (and, inside each replicate, over queries and seeds as above).

Only default runs count: ablation variants and tuning runs (variant ``tune-*``) are left
out. Everything is computed from the records when the book is built.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from hashlib_core.grids import (
    BOOK_PROTOCOLS,
    DSAH_TABLE,
    REPORTED_PROTOCOLS,
    SHNET_TABLE,
    SOURCE_METHODS,
)
from hashlib_core.metrics import mean_absolute_correlation
from hashlib_core.results import iter_records, record_dir
from hashlib_core.tables import display_name, metric_label

#: bootstrap replicates of every interval
N_BOOT = 2000
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
    """One claim of a paper: ``method`` beats ``against`` (the best of them) in ``metric``.

    ``higher_is_better`` False (mAC) means the claim is that ``method``'s value is lower.
    ``bits`` are the code lengths the paper states it for (None: every length with runs);
    ``focus_bits`` the lengths the verdict of the claim rests on (None: all tested).
    ``protocols`` are tried in order for the dataset's scale protocol; ``None`` stands for
    the scale's CIFAR-10 protocol of the book.
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


#: the baselines DHEH and CSDH were compared with, among the methods run here
DHEH_BASELINES = ("sh", "itq", "ksh", "sdh", "fasth", "cnnh", "dpsh", "dtsh", "dhn")

CLAIMS: tuple[Claim, ...] = (
    Claim("shnet-csq", "SHNet", "SHNet has a higher mAP@ALL than CSQ on CIFAR-10 at 16, 32 "
          "and 64 bits.", "shnet", ("csq",), "map", source="shnet_table2", bits=(16, 32, 64)),
    Claim("dsah-adsh", "DSAH", "DSAH has a higher precision of the top 5,000 than ADSH on "
          "CIFAR-10 at every code length.", "dsah", ("adsh",), "precision_top5000",
          source="dsah_table1", protocols=("cifar10-adsh", None),
          note="The paper prints 12, 24, 36 and 48 bits; every length with runs is tested."),
    Claim("dsah-mac", "DSAH", "DSAH's bits are less correlated than ADSH's (lower mAC; "
          "the paper shows it at 32 bits).", "dsah", ("adsh",), "mac",
          higher_is_better=False, focus_bits=(32,), protocols=("cifar10-adsh", None),
          note="mAC of the database codes, as in the bit-correlation matrices; the "
               "paper's own mAC values are not in the reported table. The verdict rests "
               "on 32 bits."),
    Claim("dheh-short", "DHEH", "DHEH beats the baselines it was compared with at short "
          "codes (here: the best of them, in mAP@ALL).", "dheh", DHEH_BASELINES, "map",
          focus_bits=(16,), note="The paper's numbers for DHEH are not in the reported "
          "table; the verdict rests on the shortest length, 16 bits."),
    Claim("csdh-short", "CSDH", "CSDH beats the baselines it was compared with at short "
          "codes (here: the best of them, in mAP@ALL).", "csdh", DHEH_BASELINES, "map",
          focus_bits=(16,), note="The paper's numbers for CSDH are not in the reported "
          "table; the verdict rests on the shortest length, 16 bits."),
)

#: the papers' rankings: (source, metric, methods, code lengths)
RANKINGS: tuple[tuple[str, str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("shnet_table2", "map", SHNET_TABLE, (16, 32, 64)),
    ("dsah_table1", "precision_top5000", DSAH_TABLE, (12, 24, 36, 48)),
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
            from hashlib_core.results import _read_codes

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
        from hashlib_core.results import _read_codes

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


def default_runs(root: str | Path, scale: str, *,
                 artifacts: str | Path | None = None) -> list[Run]:
    """Every default run of a scale (no ablation variant, no ``tune-*`` run)."""
    arts = Path(artifacts) if artifacts is not None else None
    return [Run(rec, arts) for rec in iter_records(root, scale=scale)
            if rec["key"]["variant"] is None]


def _runs_of(runs: list[Run], protocol: str, method: str, n_bits: int) -> list[Run]:
    return sorted((r for r in runs if r.key["protocol"] == protocol
                   and r.key["method"] == method and int(r.key["n_bits"]) == n_bits),
                  key=lambda r: r.seed)


# --------------------------------------------------------------------------- bootstrap
def pooled_seed_std(runs: list[Run], protocol: str, metric: str) -> tuple[float, int]:
    """Seed-to-seed standard deviation of ``metric`` pooled over the (method, length)
    groups of ``protocol`` with two or more seeds; returns (std, degrees of freedom),
    (NaN, 0) when no group has several seeds."""
    groups: dict[tuple[str, int], list[float]] = {}
    for r in runs:
        if r.key["protocol"] == protocol:
            groups.setdefault((r.key["method"], int(r.key["n_bits"])), []).append(
                r.value(metric))
    ss, dof = 0.0, 0
    for vals in groups.values():
        vals = [v for v in vals if np.isfinite(v)]
        if len(vals) >= 2:
            ss += float(np.var(vals, ddof=1)) * (len(vals) - 1)
            dof += len(vals) - 1
    return (float(np.sqrt(ss / dof)), dof) if dof else (float("nan"), 0)


def _stat(metric: str, data: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The metric of one run on each query resample ``idx`` (n_boot, n_queries)."""
    if metric in CODE_METRICS:
        out = np.empty(len(idx))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for b, rows in enumerate(idx):
                out[b] = mean_absolute_correlation(data[rows])
        return out
    return np.nanmean(data[idx], axis=1)


@dataclass
class Side:
    """The replicates of one method's mean and how they were drawn."""

    mean: float
    std: float
    n_seeds: int
    replicates: np.ndarray | None
    queries: bool
    seeds: str  # "own", "borrowed" or "none"


def _side(runs: list[Run], metric: str, idx: np.ndarray | None, sigma: float,
          rng: np.random.Generator, n_boot: int) -> Side:
    values = np.array([r.value(metric) for r in runs], dtype=float)
    n = len(values)
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else float("nan")
    if idx is not None:
        per_run = np.stack([_stat(metric, r.per_query(metric), idx) for r in runs])
    else:
        per_run = np.repeat(values[:, None], n_boot, axis=1)
    if n >= 2:
        pick = rng.integers(0, n, size=(n_boot, n))
        reps = per_run[pick, np.arange(n_boot)[:, None]].mean(axis=1)
        seeds = "own"
    elif np.isfinite(sigma):
        reps = per_run[0] + rng.normal(0.0, sigma, n_boot)
        seeds = "borrowed"
    else:
        reps = per_run[0]
        seeds = "none"
    varies = idx is not None or seeds != "none"
    return Side(mean, std, n, reps if varies else None, idx is not None, seeds)


def _query_index(groups: list[list[Run]], metric: str, rng: np.random.Generator,
                 n_boot: int) -> np.ndarray | None:
    """One resample of the queries for every run (paired), or None when a run lacks
    per-query data or the runs were evaluated on different query sets."""
    runs = [r for g in groups for r in g]
    if len({r.manifest for r in runs}) != 1:
        return None
    data = [r.per_query(metric) for r in runs]
    if any(d is None for d in data) or len({len(d) for d in data}) != 1:
        return None
    return rng.integers(0, len(data[0]), size=(n_boot, len(data[0])))


def _interval(reps: np.ndarray | None) -> tuple[float, float]:
    if reps is None:
        return float("nan"), float("nan")
    tail = 100 * (1 - LEVEL) / 2
    lo, hi = np.nanpercentile(reps, [tail, 100 - tail])
    return float(lo), float(hi)


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


def _basis(sides: list[Side]) -> tuple[str, bool]:
    """How the interval was drawn, in words, and whether training randomness is in it."""
    parts = []
    if all(s.queries for s in sides):
        parts.append("queries (paired)")
    seeds = {s.seeds for s in sides}
    if seeds == {"own"}:
        parts.append("seeds")
    elif "none" not in seeds:
        parts.append("seeds (spread borrowed for single runs)")
    randomness = "none" not in seeds
    return (" and ".join(parts) if parts else "none"), randomness


# --------------------------------------------------------------------------- claims
def _reported(reported: pd.DataFrame, source: str | None, method: str, metric: str,
              n_bits: int, dataset: str = "cifar10") -> float:
    """The paper's printed value on ``dataset`` (NaN when it printed none)."""
    if source is None:
        return float("nan")
    rows = reported[(reported.source == source) & (reported.method == method)
                    & (reported.protocol == REPORTED_PROTOCOLS[dataset])
                    & (reported.metric == metric) & (reported.n_bits == n_bits)]
    return float(rows.value.iloc[0]) if len(rows) else float("nan")


def claim_protocol(claim: Claim, runs: list[Run], scale: str) -> tuple[str, str]:
    """The protocol a claim is tested on at ``scale`` and a sentence on the choice: the
    first of ``claim.protocols`` with runs of both sides, at one of ``claim.focus_bits``
    when the claim has them (the length its verdict rests on), else at any length."""
    book = BOOK_PROTOCOLS[scale]["cifar10"]
    names = list(dict.fromkeys(book if p is None else p for p in claim.protocols))

    def both_sides(name: str, lengths) -> bool:
        have = {r.key["method"] for r in runs if r.key["protocol"] == name
                and (lengths is None or int(r.key["n_bits"]) in lengths)}
        return claim.method in have and bool(have & set(claim.against))

    for lengths in ([claim.focus_bits] if claim.focus_bits else []) + [None]:
        for name in names:
            if both_sides(name, lengths):
                if name == names[0]:
                    return name, ""
                at = "" if lengths is None else f" at {_bits_words(lengths)}"
                return name, f"No run{at} on `{names[0]}`{'' if at else ' yet'}; tested on `{name}` instead."
    return book, ""


def _bits_words(lengths) -> str:
    return " or ".join(f"{b} bits" for b in lengths)


def evaluate_claim(claim: Claim, runs: list[Run], reported: pd.DataFrame, *, scale: str,
                   seed: int = 0, n_boot: int = N_BOOT) -> pd.DataFrame:
    """One row per code length at which the claim can be tested.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim, n_bits, protocol, method, against, paper_method, paper_against,
        paper_difference, mean, std, n_seeds, against_mean, against_std,
        against_n_seeds, difference, low, high, basis, verdict, n_runs, commits``
        (``against`` is the best of ``claim.against`` by mean at that length;
        ``missing`` those of ``claim.against`` with no run at that length: a claim that
        would be supported is then inconclusive; ``commits`` a sorted tuple; NaN where a
        number is missing).
    """
    protocol, _ = claim_protocol(claim, runs, scale)
    lengths = sorted({int(r.key["n_bits"]) for r in runs if r.key["protocol"] == protocol
                      and r.key["method"] == claim.method})
    if claim.bits is not None:
        lengths = [b for b in lengths if b in claim.bits]
    rows = []
    for n_bits in lengths:
        rng = np.random.default_rng([seed, n_bits])
        mine = _runs_of(runs, protocol, claim.method, n_bits)
        others = {m: _runs_of(runs, protocol, m, n_bits) for m in claim.against}
        missing = tuple(m for m, g in others.items() if not g)
        others = {m: g for m, g in others.items() if g}
        if not others:
            continue
        groups = [mine, *others.values()]
        idx = _query_index(groups, claim.metric, rng, n_boot)
        sigma, _ = pooled_seed_std(runs, protocol, claim.metric)
        a = _side(mine, claim.metric, idx, sigma, rng, n_boot)
        sides = {m: _side(g, claim.metric, idx, sigma, rng, n_boot) for m, g in others.items()}
        sign = 1 if claim.higher_is_better else -1
        best = max(sides, key=lambda m: sign * sides[m].mean)
        b = sides[best]
        basis, randomness = _basis([a, *sides.values()])
        reps = None
        if a.replicates is not None or any(s.replicates is not None for s in sides.values()):
            fill = {m: (s.replicates if s.replicates is not None else np.full(n_boot, s.mean))
                    for m, s in sides.items()}
            a_reps = a.replicates if a.replicates is not None else np.full(n_boot, a.mean)
            best_reps = (np.max if claim.higher_is_better else np.min)(
                np.stack(list(fill.values())), axis=0)
            reps = a_reps - best_reps
        low, high = _interval(reps)
        p_a = _reported(reported, claim.source, claim.method, claim.metric, n_bits)
        p_b = _reported(reported, claim.source, best, claim.metric, n_bits)
        all_runs = [r for g in groups for r in g]
        rows.append({
            "claim": claim.id, "n_bits": n_bits, "protocol": protocol,
            "method": claim.method, "against": best,
            "paper_method": p_a, "paper_against": p_b, "paper_difference": p_a - p_b,
            "mean": a.mean, "std": a.std, "n_seeds": a.n_seeds,
            "against_mean": b.mean, "against_std": b.std, "against_n_seeds": b.n_seeds,
            "difference": a.mean - b.mean, "low": low, "high": high, "basis": basis,
            "verdict": _complete(verdict(low, high, higher_is_better=claim.higher_is_better,
                                         randomness=randomness), missing),
            "missing": missing,
            "n_runs": len(all_runs), "commits": tuple(sorted({r.commit for r in all_runs})),
        })
    cols = ["claim", "n_bits", "protocol", "method", "against", "paper_method",
            "paper_against", "paper_difference", "mean", "std", "n_seeds", "against_mean",
            "against_std", "against_n_seeds", "difference", "low", "high", "basis",
            "verdict", "missing", "n_runs", "commits"]
    return pd.DataFrame(rows, columns=cols)


def _complete(v: str, missing: tuple[str, ...]) -> str:
    """A claim against several methods is supported only when all of them were run: beating
    the ones that were says nothing of the others. Losing to one of them already refutes it."""
    return INCONCLUSIVE if missing and v == SUPPORTED else v


def claim_verdict(claim: Claim, rows: pd.DataFrame) -> str:
    """The claim's overall verdict from its rows at ``focus_bits`` (all rows if None):
    supported when supported at every one, not supported when not supported at any,
    else inconclusive (also without rows)."""
    sel = rows if claim.focus_bits is None else rows[rows.n_bits.isin(claim.focus_bits)]
    if sel.empty:
        return INCONCLUSIVE
    if (sel.verdict == NOT_SUPPORTED).any():
        return NOT_SUPPORTED
    if (sel.verdict == SUPPORTED).all():
        return SUPPORTED
    return INCONCLUSIVE


def evaluate_claims(runs: list[Run], reported: pd.DataFrame, *, scale: str,
                    claims: tuple[Claim, ...] = CLAIMS, seed: int = 0,
                    n_boot: int = N_BOOT) -> dict[str, pd.DataFrame]:
    """:func:`evaluate_claim` for every claim: ``{claim id: rows}``."""
    return {c.id: evaluate_claim(c, runs, reported, scale=scale, seed=seed, n_boot=n_boot)
            for c in claims}


# --------------------------------------------------------------------------- rankings
def rank_agreement(runs: list[Run], reported: pd.DataFrame, *, scale: str, source: str,
                   metric: str, methods: tuple[str, ...], bits: tuple[int, ...],
                   protocol: str | None = None, seed: int = 0,
                   n_boot: int = N_BOOT) -> pd.DataFrame:
    """Kendall's τ between the paper's and our values of the methods that have both, per
    code length, with a 95% bootstrap interval (methods resampled; each method's value
    drawn as in the claims) and a verdict (supported: the interval is above 0).

    Returns
    -------
    pandas.DataFrame
        Columns ``source, n_bits, protocol, n_methods, tau, low, high, basis, verdict,
        paper_order, our_order, n_runs, commits``.
    """
    protocol = protocol or BOOK_PROTOCOLS[scale]["cifar10"]
    rows = []
    for n_bits in bits:
        rng = np.random.default_rng([seed, n_bits, 7])
        have = {}
        for m in methods:
            p = _reported(reported, source, m, metric, n_bits)
            g = _runs_of(runs, protocol, m, n_bits)
            if np.isfinite(p) and g:
                have[m] = (p, g)
        if not have:
            continue
        names = list(have)
        paper = np.array([have[m][0] for m in names])
        idx = _query_index([have[m][1] for m in names], metric, rng, n_boot) \
            if len(names) >= 3 else None
        sigma, _ = pooled_seed_std(runs, protocol, metric)
        sides = [_side(have[m][1], metric, idx, sigma, rng, n_boot) for m in names]
        ours = np.array([s.mean for s in sides])
        tau = float(kendalltau(paper, ours).statistic) if len(names) >= 3 else float("nan")
        low = high = float("nan")
        basis, randomness = _basis(sides)
        if len(names) >= 3:
            reps = np.stack([s.replicates if s.replicates is not None
                             else np.full(n_boot, s.mean) for s in sides])  # (n_m, n_boot)
            pick = rng.integers(0, len(names), size=(n_boot, len(names)))
            taus = np.full(n_boot, np.nan)
            for b in range(n_boot):
                p, o = paper[pick[b]], reps[pick[b], b]
                if np.ptp(p) > 0 and np.ptp(o) > 0:
                    taus[b] = kendalltau(p, o).statistic
            low, high = _interval(taus)
            basis = "methods" + ("" if basis == "none" else f", {basis}")
        all_runs = [r for m in names for r in have[m][1]]
        rows.append({
            "source": source, "n_bits": n_bits, "protocol": protocol,
            "n_methods": len(names), "tau": tau, "low": low, "high": high, "basis": basis,
            "verdict": verdict(low, high, randomness=randomness),
            "paper_order": " > ".join(display_name(names[i]) for i in np.argsort(-paper,
                                                                                 kind="stable")),
            "our_order": " > ".join(display_name(names[i]) for i in np.argsort(-ours,
                                                                               kind="stable")),
            "n_runs": len(all_runs), "commits": tuple(sorted({r.commit for r in all_runs})),
        })
    return pd.DataFrame(rows, columns=["source", "n_bits", "protocol", "n_methods", "tau",
                                       "low", "high", "basis", "verdict", "paper_order",
                                       "our_order", "n_runs", "commits"])


def _ranking_protocol(runs: list[Run], source: str, methods: tuple[str, ...],
                      scale: str) -> str:
    """The DSAH table is ranked on ADSH's CIFAR-10 protocol once three of its methods have
    runs there; everything else on the scale's CIFAR-10 protocol."""
    book = BOOK_PROTOCOLS[scale]["cifar10"]
    if source == "dsah_table1":
        have = {r.key["method"] for r in runs if r.key["protocol"] == "cifar10-adsh"}
        if len(have & set(methods)) >= 3:
            return "cifar10-adsh"
    return book


def rankings(runs: list[Run], reported: pd.DataFrame, *, scale: str, seed: int = 0,
             n_boot: int = N_BOOT) -> pd.DataFrame:
    """:func:`rank_agreement` for each ranked table of :data:`RANKINGS`, one frame."""
    frames = [rank_agreement(runs, reported, scale=scale, source=s, metric=m, methods=ms,
                             bits=b, seed=seed, n_boot=n_boot,
                             protocol=_ranking_protocol(runs, s, ms, scale))
              for s, m, ms, b in RANKINGS]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else rank_agreement(
        [], reported, scale=scale, source="", metric="map", methods=(), bits=())


def metric_name(metric: str) -> str:
    """``"map"`` -> ``"mAP@ALL"``; other metrics by :data:`METRIC_NAMES`."""
    return metric_label("map") if metric == "map" else METRIC_NAMES.get(metric, metric)


__all__ = ["CLAIMS", "Claim", "RANKINGS", "SOURCE_METHODS", "claim_protocol",
           "claim_verdict", "default_runs", "evaluate_claim", "evaluate_claims",
           "pooled_seed_std", "rank_agreement", "rankings", "verdict"]


# --------------------------------------------------------------------------- code health
def code_health(runs: list[Run], protocol: str, methods: tuple[str, ...],
                n_bits: int) -> pd.DataFrame:
    """How much of the code each method's seed-0 run uses: distinct bits (a bit and its
    negation counted once), distinct codes and the share of constant bits, of the query
    codes (the record's ``query_*`` values, else computed from the stored query codes) and
    of the database codes (the record's values; NaN for older records, which store no
    database codes).

    Returns
    -------
    pandas.DataFrame
        Index: methods with a run; columns ``query_distinct_bits``,
        ``query_distinct_codes``, ``query_constant_bits``, ``distinct_bits``,
        ``distinct_codes``, ``constant_bits``, ``n_queries``.
    """
    from hashlib_core.metrics import code_health as health

    keys = ("distinct_bits", "distinct_codes", "constant_bits")
    rows = {}
    for m in methods:
        found = [r for r in _runs_of(runs, protocol, m, n_bits) if r.seed == 0]
        if not found:
            continue
        r = found[0]
        sc = r.record["scalars"]
        row = {f"query_{k}": sc.get(f"query_{k}") for k in keys}
        codes = r.query_codes()[0]
        if any(v is None for v in row.values()):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row = {f"query_{k}": v for k, v in health(codes).items() if k in keys}
        row.update({k: np.nan if sc.get(k) is None else float(sc[k]) for k in keys})
        row["n_queries"] = len(codes)
        rows[m] = row
    cols = [f"query_{k}" for k in keys] + list(keys) + ["n_queries"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


def code_health_text(health: pd.DataFrame, n_bits: int) -> str:
    """A sentence on collapsed codes (a method whose query codes keep fewer than three
    quarters of their bits distinct), or on their absence."""
    if health.empty:
        return ""
    collapsed = health[health.query_distinct_bits < 0.75 * n_bits]
    if collapsed.empty:
        return (f"None of these methods' query codes has collapsed: each keeps at least "
                f"{int(health.query_distinct_bits.min())} of its {n_bits} bits distinct.")
    parts = [f"{display_name(m)} keeps {int(r.query_distinct_bits)} distinct bits of "
             f"{n_bits} ({r.query_constant_bits:.0%} of its bits are constant over the "
             f"{int(r.n_queries):,} queries; {int(r.query_distinct_codes):,} distinct codes)"
             for m, r in collapsed.iterrows()]
    return ("The codes have collapsed: " + "; ".join(parts) + ". A constant bit has no "
            "correlation with any other, so mAC alone understates such a collapse.")


def code_health_table(health: pd.DataFrame, n_bits: int) -> pd.DataFrame:
    """:func:`code_health` as strings for the page ("—" where a value is not stored)."""
    from hashlib_core.tables import method_link

    def num(x, pct=False):
        if x is None or not np.isfinite(x):
            return "—"
        return f"{x:.0%}" if pct else f"{int(x):,}"

    return pd.DataFrame([{
        "method": method_link(m),
        f"distinct bits of {n_bits}, queries": num(r.query_distinct_bits),
        "constant bits, queries": num(r.query_constant_bits, True),
        "distinct codes, queries": num(r.query_distinct_codes),
        f"distinct bits of {n_bits}, database": num(r.distinct_bits),
        "constant bits, database": num(r.constant_bits, True),
    } for m, r in health.iterrows()])


# --------------------------------------------------------------------------- the page
_VERDICT_WORDS = {SUPPORTED: "supported", NOT_SUPPORTED: "not supported",
                  INCONCLUSIVE: "inconclusive"}


def _num(x: float, signed: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "—"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _ours(mean: float, std: float, n: int) -> str:
    if not np.isfinite(mean):
        return "—"
    return f"{mean:.3f} ± {std:.3f} ({n})" if n > 1 and np.isfinite(std) else f"{mean:.3f}"


def interval_text(low: float, high: float) -> str:
    """``"[−0.076, −0.045]"`` or "no interval"."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no interval"
    return f"[{low:+.3f}, {high:+.3f}]"


def claim_table(claim: Claim, rows: pd.DataFrame) -> pd.DataFrame:
    """The claim's rows as strings for the page: code length, the paper's numbers, ours,
    the difference with its interval, the verdict."""
    from hashlib_core.tables import method_link

    many = len(claim.against) > 1
    out = []
    for r in rows.itertuples():
        other = display_name(r.against)
        if np.isfinite(r.paper_difference):
            paper = f"{r.paper_method:.3f} vs {r.paper_against:.3f} ({r.paper_difference:+.3f})"
        else:
            paper = "—"
        ours = (f"{_ours(r.mean, r.std, r.n_seeds)} vs "
                f"{(other + ' ') if many else ''}{_ours(r.against_mean, r.against_std, r.against_n_seeds)}")
        if r.missing:
            ours += f" (not run yet: {', '.join(display_name(m) for m in r.missing)})"
        focus = claim.focus_bits is None or r.n_bits in claim.focus_bits
        out.append({
            "bits": str(r.n_bits) + ("" if focus else " (context)"),
            f"paper: {display_name(claim.method)} vs {'best baseline' if many else other}": paper,
            f"ours: {method_link(claim.method)} vs "
            f"{'best baseline' if many else method_link(r.against)}": ours,
            "difference (95% interval)": f"{_num(r.difference, True)} "
                                         f"{interval_text(r.low, r.high)}",
            "verdict": f"**{r.verdict}**",
        })
    return pd.DataFrame(out)


def _missing_words(claim: Claim, row) -> str:
    if not row.missing:
        return ""
    return f" ({len(row.missing)} of {len(claim.against)} compared methods not run yet)"


def _claim_evidence(claim: Claim, rows: pd.DataFrame) -> str:
    if rows.empty:
        return "no run of both methods at this scale"
    text = "; ".join(f"{r.n_bits} bits: {r.verdict}" + _missing_words(claim, r)
                     for r in rows.itertuples()
                     if claim.focus_bits is None or r.n_bits in claim.focus_bits)
    if not text:
        return ("no run at " + ", ".join(str(b) for b in claim.focus_bits)
                + " bits, the length the claim is about")
    return text


def summary_table(claims: tuple[Claim, ...], results: dict[str, pd.DataFrame],
                  ranks: pd.DataFrame) -> pd.DataFrame:
    """One row per claim (and per ranked table): the paper, the claim, the verdict and
    the evidence it rests on."""
    from hashlib_core.reported import SOURCES

    out = []
    for c in claims:
        rows = results[c.id]
        out.append({"paper": c.paper, "claim": c.statement,
                    "verdict": f"**{claim_verdict(c, rows)}**",
                    "evidence": _claim_evidence(c, rows)})
    for source, sub in ranks.groupby("source", sort=False):
        paper = "SHNet" if source.startswith("shnet") else "DSAH"
        out.append({"paper": paper,
                    "claim": f"The ranking of the methods in the {SOURCES[source]} holds.",
                    "verdict": f"**{ranking_verdict(sub)}**",
                    "evidence": "; ".join(f"{r.n_bits} bits: τ = {_num(r.tau)} "
                                          f"{interval_text(r.low, r.high)}"
                                          for r in sub.itertuples())})
    return pd.DataFrame(out, columns=["paper", "claim", "verdict", "evidence"])


def ranking_verdict(rows: pd.DataFrame) -> str:
    """A ranked table's verdict: supported when every code length is, not supported when
    any is not, else inconclusive."""
    if rows.empty:
        return INCONCLUSIVE
    if (rows.verdict == NOT_SUPPORTED).any():
        return NOT_SUPPORTED
    return SUPPORTED if (rows.verdict == SUPPORTED).all() else INCONCLUSIVE


def ranking_table(ranks: pd.DataFrame) -> pd.DataFrame:
    """The rank agreement as strings: table, bits, methods, τ with interval, verdict,
    the two orders."""
    from hashlib_core.reported import SOURCES

    return pd.DataFrame([{
        "paper's table": SOURCES.get(r.source, r.source).split(" (")[0],
        "bits": str(r.n_bits), "methods": str(r.n_methods),
        "Kendall τ (95% interval)": f"{_num(r.tau, True)} {interval_text(r.low, r.high)}",
        "verdict": f"**{r.verdict}**",
        "paper's order": r.paper_order, "our order": r.our_order,
    } for r in ranks.itertuples()], columns=["paper's table", "bits", "methods",
                                             "Kendall τ (95% interval)", "verdict",
                                             "paper's order", "our order"])


def _runs_line(rows: pd.DataFrame) -> str:
    if rows.empty:
        return "no run"
    n = int(rows.n_runs.sum())
    commits = sorted({c[:7] for cs in rows.commits for c in cs})
    shown = ", ".join(f"`{c}`" for c in commits[:4])
    more = f" and {len(commits) - 4} more" if len(commits) > 4 else ""
    return (f"{n} runs made at {len(commits)} commit"
            f"{'s' * (len(commits) != 1)} ({shown}{more})")


def claim_block(claim: Claim, rows: pd.DataFrame, *, protocol_note: str = "",
                csv: str | None = None) -> str:
    """Markdown of one claim: the statement, its verdict, the table, what it rests on."""
    from hashlib_core.tables import markdown_table

    head = (f"**{claim.paper}: {claim.statement}** Verdict: **{claim_verdict(claim, rows)}**."
            f" Metric: {metric_name(claim.metric)}")
    if len(rows):
        head += f", protocol `{rows.protocol.iloc[0]}`; from {_runs_line(rows)}"
    head += "."
    extra = " ".join(x for x in (claim.note, protocol_note) if x)
    if extra:
        head += " " + extra
    if csv:
        head += f" Download: [CSV]({csv})."
    if rows.empty:
        return head + "\n\nNo run of both methods is stored at this scale, so the claim is not tested."
    bases = sorted(set(rows.basis) - {"none"})
    tail = ("The interval is a bootstrap over " + "; ".join(bases) + "." if bases else
            "No interval: one run per method, and no per-query values or seed-to-seed "
            "spread to draw one from.")
    if bases and "none" in set(rows.basis):
        tail += " Rows without an interval have one run per method and nothing to draw from."
    return head + "\n\n" + markdown_table(claim_table(claim, rows)) + "\n\n" + tail


def claims_csv(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every claim row in one plain table (commits and missing methods joined by spaces)."""
    frames = [r for r in results.values() if len(r)]
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out["commits"] = [" ".join(c) for c in out.commits]
    out["missing"] = [" ".join(m) for m in out.missing]
    return out


def summary_sentences(claims: tuple[Claim, ...], results: dict[str, pd.DataFrame],
                      ranks: pd.DataFrame, *, scale: str) -> list[str]:
    """Three sentences for the introduction: SHNet against CSQ, DSAH against ADSH, and the
    rest (CSDH/DHEH and the rankings), each computed from the claim rows."""
    by_id = {c.id: c for c in claims}

    def diffs(rows: pd.DataFrame) -> str:
        return ", ".join(f"{_num(r.difference, True)} {interval_text(r.low, r.high)} at "
                         f"{r.n_bits} bits" for r in rows.itertuples())

    out = []
    sc = results.get("shnet-csq", pd.DataFrame())
    if "shnet-csq" in by_id and len(sc):
        out.append(f"The SHNet paper's headline, SHNet above CSQ in mAP@ALL on CIFAR-10, is "
                   f"**{claim_verdict(by_id['shnet-csq'], sc)}** at the `{scale}` scale: "
                   f"SHNet minus CSQ is {diffs(sc)} (95% intervals), where the paper has "
                   + ", ".join(f"{_num(r.paper_difference, True)}" for r in sc.itertuples())
                   + ".")
    else:
        out.append(f"SHNet and CSQ have no runs at the `{scale}` scale, so the SHNet paper's "
                   "headline is not tested.")
    da, dm = results.get("dsah-adsh", pd.DataFrame()), results.get("dsah-mac", pd.DataFrame())
    if "dsah-adsh" in by_id and len(da):
        n_sup = int((da.verdict == SUPPORTED).sum())
        s = (f"DSAH's precision of the top 5,000 is above ADSH's with a 95% interval above "
             f"zero at {n_sup} of {len(da)} code lengths (claim "
             f"**{claim_verdict(by_id['dsah-adsh'], da)}**)")
        if len(dm):
            r = dm[dm.n_bits == 32].iloc[0] if (dm.n_bits == 32).any() else dm.iloc[0]
            s += (f", and the claim that its bits are less correlated is "
                  f"**{claim_verdict(by_id['dsah-mac'], dm)}** (mAC {r['mean']:.3f} against "
                  f"ADSH's {r.against_mean:.3f} at {r.n_bits} bits)")
        out.append(s + ".")
    else:
        out.append(f"DSAH and ADSH have no runs of the same code length at the `{scale}` "
                   "scale, so the DSAH paper's claims are not tested.")
    short = [by_id[i] for i in ("dheh-short", "csdh-short") if i in by_id]
    parts = [f"{c.paper} at short codes **{claim_verdict(c, results[c.id])}**"
             for c in short]
    if len(ranks):
        taus = ranks.tau.dropna()
        span = (f"Kendall's τ between the papers' values and ours from {taus.min():+.2f} to "
                f"{taus.max():+.2f}" if len(taus) else "no Kendall's τ (too few methods)")
        n_sup = int((ranks.verdict == SUPPORTED).sum())
        parts.append(f"the papers' rankings hold at {n_sup} of {len(ranks)} code lengths "
                     f"({span})")
    out.append(("The remaining claims: " + "; ".join(parts) + ".") if parts else
               "No other claim can be tested at this scale.")
    return out


def claims_page(root: str | Path, *, scale: str, artifacts: str | Path | None,
                out_dir: str | Path, page: str = "claims", reported: pd.DataFrame | None = None,
                n_boot: int = N_BOOT) -> list[str]:
    """The Markdown blocks of the claims page, each table also written as CSV into
    ``out_dir`` and linked: what the runs are, the summary, one block per claim, the
    rank agreement."""
    from hashlib_core.reported import load_reported
    from hashlib_core.tables import markdown_table, write_csv

    reported = load_reported() if reported is None else reported
    runs = default_runs(root, scale, artifacts=artifacts)
    results = evaluate_claims(runs, reported, scale=scale, n_boot=n_boot)
    ranks = rankings(runs, reported, scale=scale, n_boot=n_boot)
    out_dir = Path(out_dir)
    protocols = sorted({r.key["protocol"] for r in runs})
    spreads = []
    for metric in ("map", "precision_top5000", "mac"):
        for proto in protocols:
            sd, dof = pooled_seed_std(runs, proto, metric)
            if dof:
                spreads.append(f"{metric_name(metric)} on `{proto}` {sd:.4f} "
                               f"({dof} degrees of freedom)")
    blocks = [
        f"Scale `{scale}`: {len(runs)} runs with the default settings of their method on "
        f"protocol(s) {', '.join(f'`{p}`' for p in protocols) or 'none'} (ablation variants "
        f"and tuning runs left out); every interval from {n_boot:,} bootstrap replicates. "
        + ("Seed-to-seed standard deviation pooled over the methods with several seeds, "
           "used for methods with one run: " + "; ".join(spreads) + "." if spreads else
           "No method has several seeds at this scale, so no interval covers training "
           "randomness and every verdict is inconclusive.")
    ]
    summary = summary_table(CLAIMS, results, ranks)
    write_csv(summary.assign(verdict=summary.verdict.str.strip("*")),
              out_dir / f"{page}_summary.csv")
    blocks.append("**Table 1. The claims and their verdicts.** One row per claim; the "
                  "evidence column gives the verdict at each code length it rests on. "
                  f"Download: [CSV]({page}_summary.csv).\n\n" + markdown_table(summary))
    n = 1
    for claim in CLAIMS:
        n += 1
        rows = results[claim.id]
        protocol, note = claim_protocol(claim, runs, scale)
        name = f"{page}_{claim.id}.csv"
        write_csv(claims_csv({claim.id: rows}) if len(rows) else rows, out_dir / name)
        blocks.append(f"**Table {n}.** " + claim_block(claim, rows, protocol_note=note,
                                                        csv=name))
        if claim.metric == "mac" and len(rows):
            bits = (claim.focus_bits or tuple(rows.n_bits))[0]
            health = code_health(runs, protocol, (claim.method, *claim.against), bits)
            if len(health):
                n += 1
                name = f"{page}_{claim.id}_health.csv"
                write_csv(health.rename_axis("method").reset_index(), out_dir / name)
                blocks.append(
                    f"**Table {n}. How much of the code {display_name(claim.method)} and "
                    f"{', '.join(display_name(m) for m in claim.against)} use** ({bits} "
                    f"bits, seed 0, protocol `{protocol}`, scale `{scale}`). "
                    + code_health_text(health, bits) + " Query values are computed from "
                    "the stored query codes; database values are shown where the run's "
                    f"record stores them. Download: [CSV]({name}).\n\n"
                    + markdown_table(code_health_table(health, bits)))
    name = f"{page}_rankings.csv"
    write_csv(ranks.assign(commits=[" ".join(c) for c in ranks.commits]), out_dir / name)
    if len(ranks):
        blocks.append(
            f"**Table {n + 1}. Do the papers' rankings hold?** Kendall's τ between "
            "the values the paper printed and ours, over the methods that have both (1 = "
            "the same order, 0 = unrelated, −1 = reversed); the interval resamples the "
            "methods, and each method's value as above. Supported: the interval lies above "
            f"0. From {_runs_line(ranks)}. Download: [CSV]({name}).\n\n"
            + markdown_table(ranking_table(ranks)))
    else:
        blocks.append("No method of the papers' ranked tables has a run at this scale, so "
                      "the rankings are not tested.")
    return blocks


def intro_summary(root: str | Path, *, scale: str, artifacts: str | Path | None,
                  n_boot: int = N_BOOT) -> list[str]:
    """The three sentences of :func:`summary_sentences` for the introduction."""
    from hashlib_core.reported import load_reported

    reported = load_reported()
    runs = default_runs(root, scale, artifacts=artifacts)
    results = evaluate_claims(runs, reported, scale=scale, n_boot=n_boot)
    ranks = rankings(runs, reported, scale=scale, n_boot=n_boot)
    return summary_sentences(CLAIMS, results, ranks, scale=scale)
