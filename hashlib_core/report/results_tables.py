"""The results pages' tables: per metric and code length, the papers' values beside ours,
captioned with the runs behind them; and, for a dataset without runs, what the papers
printed and what a GPU box needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hashlib_core.report.comparison import comparison
from hashlib_core.report.markdown import MISSING, cell, format_value, markdown_table, write_csv
from hashlib_core.report.names import (
    DATASET_NAMES,
    display_name,
    method_link,
    metric_label,
    results_order,
)
from hashlib_core.report.provenance import (
    deviation_note,
    deviations_of,
    epochs_sentence,
    provenance,
)
from hashlib_core.report.run_list import RUNS_PAGE
from hashlib_core.runner.grids import CLAIM_BUDGET_SCALES, CLAIM_EPOCHS, REPORTED_PROTOCOLS


@dataclass
class LengthTable:
    """One table of a results page: one metric at one code length, methods as rows."""

    metric: str
    n_bits: int
    title: str
    caption: str
    table: pd.DataFrame  # strings for the page (links, best marked)
    data: pd.DataFrame  # the numbers behind it (the CSV)
    runs: pd.DataFrame  # the runs it comes from

    @property
    def csv_name(self) -> str:
        return f"{self.metric}_{self.n_bits}bits.csv"


#: ADSH's CIFAR-10 protocol, that of the DSAH paper's table (used once it has runs)
ADSH_PROTOCOL = "cifar10-adsh"


def dsah_protocol(results: pd.DataFrame, scale: str) -> str:
    """The protocol of the DSAH table at ``scale``: ADSH's CIFAR-10 protocol when runs
    exist there, else the scale's CIFAR-10 protocol of the book."""
    from hashlib_core.runner import grids

    if len(results) and (results.protocol == ADSH_PROTOCOL).any():
        return ADSH_PROTOCOL
    return grids.BOOK_PROTOCOLS[scale]["cifar10"]


def table_protocols(scale: str, methods, bits, default: str) -> dict[str, str]:
    """The protocol of each method's main runs at ``bits`` in the ``scale`` grid (the DSAH
    table mixes ``cifar10-adsh`` for ADSH and DSAH with ``cifar10-i`` for the others);
    ``default`` for a method the grid does not run there."""
    from hashlib_core.runner import grids

    out = {}
    for m in methods:
        protos = [c.protocol for c in grids.grid(scale)
                  if c.kind == "main" and c.method == m and c.n_bits in bits]
        out[m] = max(set(protos), key=protos.count) if protos else default
    return out


def length_tables(results: pd.DataFrame, reported: pd.DataFrame, *, dataset: str,
                  scale: str) -> list[LengthTable]:
    """The results page's tables, one per metric and code length: methods as rows (in
    :data:`~hashlib_core.report.names.RESULTS_ORDER`), the paper's value, ours (mean ± std
    (seeds)), the difference; the best value of each column in bold. Default runs only
    (no ablation variant, no tuning run).

    CIFAR-10: mAP@ALL at 16/32/64 bits (SHNet paper, Table 2, every method), the
    precision of the top 5,000 at 12/24/36/48 bits (DSAH paper, Table 1; each method on
    the protocol the grid runs it on) and the precision within Hamming radius 2 at
    16/32/64 bits (no paper prints it as a table); other datasets: mAP at 16/32/64 bits
    of the SHNet table's methods and the source methods. A caption names the paper's
    cells that are missing (illegible) or doubtful (:mod:`hashlib_core.report.reported`) and
    the runs that deviate from the paper's setting
    (:func:`~hashlib_core.report.provenance.deviations_of`).
    """
    from hashlib_core.report.reported import unprinted
    from hashlib_core.runner import grids

    protocol = grids.BOOK_PROTOCOLS[scale][dataset]
    rep_protocol = REPORTED_PROTOCOLS[dataset]
    topk = reported[reported.protocol == rep_protocol].query("metric == 'map'").topk
    topk = topk.iloc[0] if len(topk) else None
    out = []
    for metric, ms, bits, source in _length_specs(dataset):
        where = table_protocols(scale, ms, bits, protocol) if metric == "precision_top5000" \
            else dict.fromkeys(ms, protocol)
        label = metric_label(metric, topk if metric == "map" else None)
        comp, main = _compared(results, reported, dataset=dataset, metric=metric,
                               methods=ms, bits=bits, source=source, where=where)
        missing = unprinted(reported, source, dataset) if source else []
        missing = [m for m in missing if m in ms]
        for b in bits:
            sub = comp[comp.n_bits == b].reset_index(drop=True)
            if sub.reported.isna().all() and (sub.n_seeds == 0).all():
                continue
            runs = main[(main.n_bits == b)] if len(main) else main
            table, notes = _length_rows(sub, reported, runs, dataset=dataset, source=source,
                                        n_bits=b)
            data = sub.assign(method=sub.method.map(display_name), scale=scale, metric=metric)
            caption = _length_caption(sub, runs, dataset=dataset, scale=scale, source=source,
                                      missing=missing, notes=notes,
                                      left_out=left_out_note(results, sub, n_bits=b))
            title = f"{label[0].upper() + label[1:] if label.startswith('p') else label}, {b} bits"
            out.append(LengthTable(metric, b, title, caption, table, data, runs))
    return out


def _length_specs(dataset: str) -> list[tuple[str, list[str], list[int], str | None]]:
    """The tables of a dataset's results page: ``(metric, methods in row order, code
    lengths, the source of the paper's values or None)`` per metric."""
    from hashlib_core.runner import grids

    if dataset == "cifar10":
        methods = results_order(grids.SHALLOW + grids.DEEP)
        dsah = results_order(grids.DSAH_TABLE)
        return [("map", methods, [16, 32, 64], "shnet_table2"),
                ("precision_top5000", dsah, [12, 24, 36, 48], "dsah_table1"),
                ("precision_r2", methods, [16, 32, 64], None)]
    methods = results_order(list(grids.SHNET_TABLE)
                            + [m for m in grids.SOURCE_METHODS if m != "shnet"])
    return [("map", methods, [16, 32, 64], "shnet_table2")]


def _compared(results: pd.DataFrame, reported: pd.DataFrame, *, dataset: str, metric: str,
              methods: list[str], bits: list[int], source: str | None,
              where: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparison of ``methods``, each on its protocol (``where``), in their order,
    with a ``protocol`` column; and the default runs behind it."""
    parts, used = [], []
    for proto in dict.fromkeys(where.values()):
        group = [m for m in methods if where[m] == proto]
        parts.append(comparison(results, reported, dataset=dataset, protocol=proto,
                                metric=metric, methods=group, bits=bits,
                                source=source or "none"))
        if len(results):
            used.append(results[(results.protocol == proto) & results.variant.isna()
                                & results.method.isin(group)])
    comp = pd.concat(parts, ignore_index=True)
    comp["protocol"] = comp.method.map(where)
    comp["_order"] = comp.method.map({m: i for i, m in enumerate(methods)})
    comp = comp.sort_values(["_order", "n_bits"], kind="stable").drop(columns="_order")
    main = pd.concat(used, ignore_index=True) if used else results.iloc[0:0]
    return comp, main


def _length_rows(sub: pd.DataFrame, reported: pd.DataFrame, runs: pd.DataFrame, *,
                 dataset: str, source: str | None, n_bits: int) -> tuple[pd.DataFrame, list[str]]:
    """The page's rows of one length table (the best of each column in bold, † on a
    doubtful paper value, ‡ on a run that deviates from the paper's setting) and the notes
    on the doubtful values."""
    from hashlib_core.report.reported import doubtful_note

    best_rep, best_here = sub.reported.max(), sub["mean"].max()
    rows, notes = [], []
    for r in sub.itertuples():
        paper = format_value(r.reported)
        here = cell(r.mean, r.std, r.n_seeds)
        if not pd.isna(r.reported) and r.reported == best_rep:
            paper = f"**{paper}**"
        if not pd.isna(r.mean) and r.mean == best_here:
            here = f"**{here}**"
        doubt = doubtful_note(reported, source, r.method, dataset, n_bits) if source else ""
        if doubt:
            paper += " †"
            notes.append(f"† {doubt[0].upper()}{doubt[1:]}.")
        dev = deviations_of(runs[runs.method == r.method]) if len(runs) else []
        if dev:
            here += " ‡"
        rows.append({"method": method_link(r.method), "paper": paper,
                     "ours": here, "ours − paper": format_value(r.difference, signed=True)})
    columns = ["method", "paper", "ours", "ours − paper"] if source \
        else ["method", "ours"]
    table = pd.DataFrame(rows, columns=["method", "paper", "ours", "ours − paper"])
    return table[columns], notes


def left_out_note(results: pd.DataFrame, sub: pd.DataFrame, *, n_bits: int) -> str:
    """The table's default runs that the store leaves out until the grid makes them again
    (made before a change to their method's code: ``results.attrs["stale_records"]``,
    :func:`hashlib_core.results.store.stale_runs`), per method of ``sub`` on its protocol:
    a sentence, "" if none."""
    from hashlib_core.results.store import changed_code, seed_list, stale_runs

    stale = stale_runs(results.attrs.get("stale_records") or [])
    parts = []
    for r in sub.itertuples():
        seeds = sorted({s["seed"] for s in stale if s["method"] == r.method
                        and s["protocol"] == r.protocol and s["n_bits"] == n_bits
                        and s["variant"] is None})
        if not seeds:
            continue
        shown = (f"so it shows {MISSING}" if not r.n_seeds else
                 f"so its mean rests on the other {int(r.n_seeds)}")
        parts.append(f"{display_name(r.method)}'s {n_bits}-bit run"
                     f"{'s' * (len(seeds) > 1)} with {seed_list(seeds)}, made before a "
                     f"change to {changed_code(r.method)} ({shown})")
    if not parts:
        return ""
    return ("Left out until the grid makes them again: " + "; ".join(parts)
            + ". Every left-out run is listed on the [discussion page](discussion).")


def _length_caption(sub: pd.DataFrame, runs: pd.DataFrame, *, dataset: str, scale: str,
                    source: str | None, missing: list[str], notes: list[str],
                    left_out: str = "") -> str:
    """The caption of one length table: the paper's source and protocol, ours, the runs
    behind it, the missing and doubtful paper values, the runs left out until the grid
    makes them again (:func:`left_out_note`) and the deviating runs."""
    from hashlib_core.report.reported import SOURCES

    rep_protocol = REPORTED_PROTOCOLS[dataset]
    protos = list(dict.fromkeys(sub.protocol))
    adsh = (" (the queries and database of `cifar10-i`, with the whole database as "
            "their training set)")
    if len(protos) == 1:
        ours = f"protocol `{protos[0]}`, scale `{scale}`"
    else:
        ours = f"scale `{scale}`; " + "; ".join(
            f"{', '.join(display_name(m) for m in sub.method[sub.protocol == p])} "
            f"on protocol `{p}`" + (adsh if p == "cifar10-adsh" else "")
            for p in protos)
    smaller = scale != "paper"
    if source:
        paper_part = f"Paper: {SOURCES[source]}" + (
            f", protocol `{rep_protocol}`" if source != "dsah_table1" else
            ", in its CIFAR-10 setting (ADSH's protocol for the asymmetric methods)")
    else:
        paper_part = ("Paper: none of the source papers prints this metric as a "
                      "table (the SHNet paper draws it against code length on "
                      "ImageNet-100)")
    return (
        f"{paper_part}. Ours: {ours}"
        + (" (a smaller setting than the paper's: compare rankings, not values)"
           if smaller and source else "")
        + (f"; {int((sub.n_seeds > 0).sum())} of {len(sub)} methods have a run, "
           f"from {provenance(runs)}" if len(runs) else
           f"; none of the {len(sub)} methods has a run yet")
        + (". *Ours* is one run, or mean ± std (number of seeds); the best value of "
           f"each column is in bold; {MISSING} = not printed by the paper, or not "
           "run" if source else ". *Ours* is one run, or mean ± std (number of "
           f"seeds); the best value is in bold; {MISSING} = not run")
        + (", or left out until the grid makes it again" if f"shows {MISSING}" in left_out else "")
        + "." + (f" {left_out}" if left_out else "") + (f" The paper's table lists "
                 f"{' and '.join(display_name(m) for m in missing)}, but their "
                 f"{DATASET_NAMES[dataset]} cells are illegible in the scan "
                 "(`reported_results.csv` holds none), so their paper value is "
                 f"{MISSING}." if missing else "")
        + ("".join(f" {n}" for n in dict.fromkeys(notes)))
        + deviation_note(runs)
        + epochs_sentence(runs)
        + (f" The [claims page](claims) judges the pairwise claims on runs of the compared "
           f"methods trained for {CLAIM_EPOCHS} epochs, so its values differ from these."
           if scale in CLAIM_BUDGET_SCALES and len(runs) else "")
        + f" Every run behind the table: [run list]({RUNS_PAGE}).")


def results_page(results: pd.DataFrame, reported: pd.DataFrame, *, dataset: str, scale: str,
                 out_dir: str | Path, page: str, first: int = 1) -> list[str]:
    """The Markdown blocks of a dataset's results page, one per table, each table also
    written as CSV into ``out_dir`` (beside the generated page) and linked; every caption
    links the run list (:func:`~hashlib_core.report.run_list.runs_page`). ``first``: the number of the first table.

    Returns
    -------
    list of str
        The tables of :func:`length_tables`, numbered, captioned, with their provenance
        and a CSV link.
    """
    blocks = []
    for n, t in enumerate(length_tables(results, reported, dataset=dataset, scale=scale),
                          first):
        name = f"{page}_{t.csv_name}"
        write_csv(t.data, Path(out_dir) / name)
        blocks.append(f"**Table {n}. {t.title}.** {t.caption} Download: [CSV]({name}).\n\n"
                      + markdown_table(t.table))
    return blocks


def fill_in_command(dataset: str) -> str:
    """Markdown: the exact command that fills the reproduced columns of ``dataset``."""
    from hashlib_core.runner import grids

    protocol = grids.BOOK_PROTOCOLS["paper"][dataset]
    return (
        f"The images of {DATASET_NAMES[dataset]} were not available where this book was "
        f"built, so the column *ours* below is empty. With the images (see [Rerun it]"
        f"(../rerun.md)), this command trains every method at every code length of the "
        f"`paper` scale on protocol `{protocol}`, stores the runs under "
        f"`results/paper/{protocol}/` and rebuilds the book:\n\n"
        f"```bash\npython -m hashlib_core.reproduce --scale paper --datasets {dataset} "
        f"--device cuda\n```\n"
    )


def not_run_here(dataset: str, reported: pd.DataFrame, *, scale: str) -> str:
    """Markdown for a dataset with no run at ``scale``: what the papers printed (the SHNet
    paper's mAP, one row per method) and what a GPU box needs to fill the results: the
    images and lists (:data:`hashlib_core.data.__main__.LAYOUT`), the weights, the grid's
    cells for the dataset, the check and the command."""
    from hashlib_core.data.__main__ import LAYOUT
    from hashlib_core.report.reported import doubtful_note
    from hashlib_core.runner import grids

    protocol = grids.BOOK_PROTOCOLS["paper"][dataset]
    rep = reported[(reported.protocol == REPORTED_PROTOCOLS[dataset])
                   & (reported.metric == "map")]
    topk = rep.topk.iloc[0] if len(rep) else None
    wide = rep.pivot_table(index="method", columns="n_bits", values="value")
    wide = wide.reindex(results_order(list(wide.index)))
    notes = {(m, b): doubtful_note(reported, "shnet_table2", m, dataset, b)
             for m in wide.index for b in wide.columns}
    table = pd.DataFrame({"method": [method_link(m) for m in wide.index],
                          **{f"{b} bits": [format_value(v) + (" †" if notes[(m, b)] else "")
                                           for m, v in zip(wide.index, wide[b])]
                             for b in wide.columns}})
    flagged = " ".join(f"† {n[0].upper()}{n[1:]}." for n in notes.values() if n)
    cells = [c for c in grids.grid("paper") if c.protocol == protocol]
    return (
        f"### {DATASET_NAMES[dataset]}\n\n"
        f"No run on protocol `{protocol}` is stored at the `{scale}` scale: its images are "
        "not on the machines that built this book. The SHNet paper's values "
        f"({metric_label('map', topk)}, Table 2):\n\n" + markdown_table(table) + "\n\n"
        + (f"{flagged}\n\n" if flagged else "")
        + f"**What a GPU box needs** (the paper grid has {len(cells)} runs on `{protocol}`: "
        f"{len({c.method for c in cells})} deep methods at "
        f"{'/'.join(str(b) for b in sorted({c.n_bits for c in cells}))} bits):\n\n"
        "1. the images and the list files, in the layout below "
        "(`python -m hashlib_core.data layout` prints it);\n"
        "2. torchvision's ImageNet ResNet50 weights (`--pretrained`, see "
        "[Rerun it](../rerun.md));\n"
        "3. the data check, then the runs (the commands below; how long they take on one "
        "GPU: [Rerun it](../rerun.md)).\n\n"
        f"Layout:\n\n```text\n{LAYOUT[dataset]}\n```\n\nCheck and run:\n\n"
        f"```bash\npython -m hashlib_core.data check {dataset}\n"
        f"python -m hashlib_core.reproduce --scale paper --device cuda --datasets {dataset} "
        "--pretrained /path/to/resnet50.pth\n```\n")
