"""The run list page: every stored run of a scale, one table per protocol, with its
metrics, schedule, wall time, commit, record and what deviates from the paper's setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hashlib_core.report.markdown import MISSING, format_value, markdown_table, write_csv
from hashlib_core.report.names import RESULTS_ORDER, method_link
from hashlib_core.report.provenance import provenance, record_deviations

_REPO = Path(__file__).resolve().parents[2]

#: the name of the page that lists every stored run (hashlib_core.report.book.PAGES)
RUNS_PAGE = "runs"


def runs_table(results: pd.DataFrame, *, protocol: str) -> pd.DataFrame:
    """Every stored run of a protocol (all of them: defaults, ablation variants, tuning
    runs), one row each, with its metrics, schedule, wall time, commit and record.

    Returns
    -------
    pandas.DataFrame
        Plain values, one row per run sorted by method, variant, code length, seed:
        ``method, variant, n_bits, seed, map, precision_top5000, mac, epochs,
        best_epoch, wall_time_min, copied_from, git_commit, record, deviates``
        (``wall_time_min``: the total of the record's timings, every session of a resumed
        run; ``deviates``: what differs from the paper's setting, "" if nothing;
        ``copied_from``:
        the tuning run a copied record comes from, else None; ``record``: the run's
        ``record.json`` path; ``epochs``: epochs trained, None for a shallow method;
        ``best_epoch`` 0-based, -1 for a shallow method).
    """
    cols = ["method", "variant", "n_bits", "seed", "map", "precision_top5000", "mac",
            "epochs", "best_epoch", "wall_time_min", "copied_from", "git_commit", "record",
            "deviates"]
    if results.empty:
        return pd.DataFrame(columns=cols)
    sel = results[results.protocol == protocol].copy()
    sel["variant"] = sel.variant.fillna("")
    info = [_record_info(p) for p in sel.path]
    sel["epochs"] = [i[0] for i in info]
    sel["wall_time_min"] = _seconds(sel, [t for _, t, _ in info], copies=True) / 60
    sel["deviates"] = ["; ".join(i[2]) for i in info]
    sel["record"] = [str(Path(p) / "record.json") for p in sel.path]
    for c in cols:
        if c not in sel.columns:
            sel[c] = np.nan
    rank = {m: i for i, m in enumerate(RESULTS_ORDER)}
    sel["_order"] = [rank.get(m, len(rank)) for m in sel.method]
    sel = sel.sort_values(["_order", "method", "variant", "n_bits", "seed"])
    return sel[cols].reset_index(drop=True)


def run_seconds(results: pd.DataFrame) -> pd.Series:
    """Machine time of each stored run (seconds, aligned with ``results``), one definition
    for every page: the total of the record's timings (training, validation, encoding the
    database and evaluation, every session of a resumed run), else the provenance's wall
    time (``wall_time_s``: the last session only); NaN for a run copied from its tuning
    run (``copied_from``), which cost nothing of its own."""
    paths = results.path if "path" in results.columns else [None] * len(results)
    totals = [_record_info(p)[1] if isinstance(p, str) else None for p in paths]
    return _seconds(results, totals, copies=False)


def _seconds(results: pd.DataFrame, totals: list, *, copies: bool) -> pd.Series:
    """The record's timings total (``totals``), else ``wall_time_s``; NaN for a copied run
    unless ``copies`` (the run list shows the copy's own timings)."""
    walls = results["wall_time_s"] if "wall_time_s" in results.columns \
        else pd.Series(np.nan, index=results.index)
    copied = results["copied_from"] if "copied_from" in results.columns \
        else pd.Series(None, index=results.index, dtype=object)
    out = [np.nan if not copies and isinstance(c, str) and c
           else float(t) if t is not None
           else (float(w) if w is not None and not pd.isna(w) else np.nan)
           for t, w, c in zip(totals, walls, copied, strict=True)]
    return pd.Series(out, index=results.index, dtype=float)


def _record_info(path: str) -> tuple[int | None, float | None, list[str]]:
    """(epochs trained, None for a method without epochs; the total of the record's
    timings in seconds over all sessions; what deviates from the paper's setting)."""
    import json

    from hashlib_core.results.records import _wall_time

    try:
        rec = json.loads((Path(path) / "record.json").read_text())
    except (OSError, ValueError):
        return None, None, []
    history = rec.get("history")
    return (len(history) if history else None, _wall_time(rec.get("timings") or {}),
            record_deviations(rec))


def runs_page_table(runs: pd.DataFrame, *, repo: str | Path | None = None,
                    link_base: str = "../../") -> pd.DataFrame:
    """:func:`runs_table` as strings for the page, narrow enough for a 1,280 px screen: the
    run (method link, code length, seed, variant), its metrics, epochs trained with the
    best epoch (1-based) in brackets, wall time, the commit shortened, and the record as a
    download link when it lies inside ``repo`` ("—" for missing values)."""
    repo = Path(repo or _REPO).resolve()

    several = "protocol" in runs.columns and runs.protocol.nunique() > 1

    def run(r) -> str:
        text = f"{method_link(r.method)}, {int(r.n_bits)} bits, seed {int(r.seed)}"
        text = f"{text}, *{r.variant}*" if r.variant else text
        text = f"{text}, `{r.protocol}`" if several else text
        dev = getattr(r, "deviates", "")
        return f"{text} (**deviates:** {dev})" if isinstance(dev, str) and dev else text

    def epochs(r) -> str:
        if r.epochs is None or pd.isna(r.epochs):
            return MISSING
        best = r.best_epoch
        return str(int(r.epochs)) + ("" if best is None or pd.isna(best) or best < 0
                                     else f" ({int(best) + 1})")

    return pd.DataFrame({
        "run": [run(r) for r in runs.itertuples()],
        "mAP": [format_value(x) for x in runs["map"]],
        "precision, top 5,000": [format_value(x) for x in runs.precision_top5000],
        "mAC": [format_value(x) for x in runs.mac],
        "epochs (best)": [epochs(r) for r in runs.itertuples()],
        "wall time (min)": [_wall(r) for r in runs.itertuples()],
        "commit": [f"`{str(c)[:7]}`" if isinstance(c, str) else MISSING
                   for c in runs.git_commit],
        "record": [_record_link(p, repo, link_base) for p in runs.record],
    }, columns=["run", "mAP", "precision, top 5,000", "mAC", "epochs (best)",
                "wall time (min)", "commit", "record"])


def _wall(run) -> str:
    copied = getattr(run, "copied_from", None)
    if isinstance(copied, str) and copied:
        return "none: a copy of its tuning run"
    return MISSING if pd.isna(run.wall_time_min) else f"{run.wall_time_min:.1f}"


def _record_link(path: str, repo: Path, link_base: str) -> str:
    try:
        rel = Path(path).resolve().relative_to(repo)
    except ValueError:
        return MISSING  # a results folder outside the repository: not in the book
    return f"[json]({link_base}{rel.as_posix()})"


def runs_page(results: pd.DataFrame, *, scale: str, out_dir: str | Path,
              page: str = RUNS_PAGE) -> list[str]:
    """The run list: one table per protocol with stored runs at ``scale`` (every run: the
    default runs of the results tables, the ablation variants, the tuning runs, the budget
    checks, the diagnoses and the alternatives), each also written as CSV."""
    if results.empty:
        return [f"No run of the `{scale}` scale is stored yet."]
    blocks = []
    protocols = sorted(set(results.protocol), key=lambda p: (-int((results.protocol == p)
                                                                  .sum()), p))
    for n, p in enumerate(protocols, 1):
        runs = runs_table(results, protocol=p)
        name = f"{page}_{p}.csv"
        write_csv(runs, Path(out_dir) / name)
        kinds = sorted({v.split("-")[0] for v in runs.variant if v})
        dev = int((runs.deviates != "").sum()) if "deviates" in runs else 0
        blocks.append(
            f"**Table {n}. Every stored run on protocol `{p}`** (scale `{scale}`): "
            f"{provenance(results[results.protocol == p])}"
            + (f"; variants: {', '.join(f'`{k}…`' for k in kinds)} (left out of the "
               "results tables)" if kinds else "")
            + (f"; **{dev} run{'s' * (dev != 1)} deviate{'s' * (dev == 1)} from the "
               "paper's setting**, marked in the first column" if dev else "")
            + ". *mAC*: over all bits of the database codes. *Epochs (best)*: the epochs "
            "trained and, in brackets, the epoch whose "
            "weights were kept (by validation mAP); *wall time*: the total of the record's "
            "timings, every session of a resumed run included; *record* holds the run's "
            "configuration, data-split manifest hash, package versions and all its "
            f"metrics. Download: [CSV]({name}).\n\n"
            + markdown_table(runs_page_table(runs.assign(protocol=p))))
    return blocks
