"""Where a table's numbers come from: the runs behind it, the commits they were made at,
and what any of them changed from the paper's setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hashlib_core.report.names import display_name


def provenance(runs: pd.DataFrame) -> str:
    """"12 runs, 3 commits (a1b2c3d, ...)": which runs a table comes from."""
    if runs is None or runs.empty:
        return "no stored run"
    commits = sorted({str(c)[:7] for c in runs.git_commit.fillna("unknown")})
    shown = ", ".join(f"`{c}`" for c in commits[:4])
    more = f" and {len(commits) - 4} more" if len(commits) > 4 else ""
    return (f"{len(runs)} run{'s' * (len(runs) != 1)} made at {len(commits)} "
            f"commit{'s' * (len(commits) != 1)} ({shown}{more})")


def runs_behind(results: pd.DataFrame, *, protocol: str, methods=None, n_bits=None,
                seed: int | None = None, variants: str = "default") -> str:
    """:func:`provenance` of the runs a table is computed from: those of ``protocol``
    (and of ``methods``, ``n_bits``, ``seed`` when given); ``variants`` is ``"default"``
    (no ablation or tuning run) or ``"any"``."""
    if results.empty:
        return provenance(results)
    sel = results[results.protocol == protocol]
    if variants == "default":
        sel = sel[sel.variant.isna()]
    if methods is not None:
        sel = sel[sel.method.isin(list(methods))]
    if n_bits is not None:
        sel = sel[sel.n_bits.isin([n_bits] if np.isscalar(n_bits) else list(n_bits))]
    if seed is not None:
        sel = sel[sel.seed == seed]
    return provenance(sel)


def _paper_weights_prefix() -> str | None:
    """The first hex digits of the SHA-256 of torchvision's ImageNet ResNet50 weights (in
    their file name, ``resnet50-0676ba61.pth``), or None when torchvision is absent."""
    try:
        from hashlib_core.models.weights import hub_file

        return Path(hub_file("resnet50", "IMAGENET1K_V1")).stem.rsplit("-", 1)[-1]
    except Exception:  # noqa: BLE001 - no torchvision: weights are not checked
        return None


def record_deviations(record: dict) -> list[str]:
    """What one run changed from the paper's setting, in words (empty when nothing):
    split sizes other than the paper's (``provenance.run.protocol_sizes`` against
    ``paper_sizes``), and at the ``paper`` scale also fewer or more epochs than the
    preset's and start weights that are not torchvision's ImageNet weights (by SHA-256)."""
    from hashlib_core.scales import preset

    prov = record.get("provenance") or {}
    run = prov.get("run") or {}
    key, cfg = record.get("key") or {}, record.get("config") or {}
    out = [str(d) for d in run.get("protocol_deviations") or []]
    sizes, paper = run.get("protocol_sizes") or {}, run.get("paper_sizes") or {}
    if not out and sizes and paper:
        out = [f"{k} {sizes[k]:,} instead of {paper[k]:,}" for k in paper
               if k in sizes and sizes[k] != paper[k]]
    if key.get("scale") == "paper":
        want = preset("paper", key.get("method")).get("epochs")
        got = cfg.get("epochs")
        if want and got and int(got) != int(want):
            out.append(f"{int(got)} epoch{'s' * (int(got) != 1)} instead of {int(want)}")
        sha = (run.get("weights") or {}).get("sha256")
        prefix = _paper_weights_prefix()
        if sha and prefix and not str(sha).startswith(prefix):
            out.append(f"start weights not ImageNet's (sha256 {str(sha)[:12]}…)")
        elif not sha and cfg.get("backbone") == "resnet50":
            out.append("no pre-trained start weights recorded")
    return out


def deviations_of(runs: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """``[(run label, deviations), ...]`` for the runs of ``runs`` (a slice of
    :func:`hashlib_core.results.load_results`) that deviate from the paper's setting."""
    import json

    out = []
    if runs is None or not len(runs) or "path" not in runs.columns:
        return out
    for r in runs.itertuples():
        try:
            rec = json.loads((Path(r.path) / "record.json").read_text())
        except (OSError, ValueError):
            continue
        dev = record_deviations(rec)
        if dev:
            label = (f"{display_name(r.method)} {int(r.n_bits)} bits seed {int(r.seed)}"
                     + (f" ({r.variant})" if isinstance(r.variant, str) else ""))
            out.append((label, dev))
    return out


def deviation_note(runs: pd.DataFrame) -> str:
    """The caption sentence that marks the runs deviating from the paper's setting
    (" ‡ N runs deviate ...: label (what); ..."), or "" when none does."""
    dev = deviations_of(runs)
    if not dev:
        return ""
    shown = "; ".join(f"{label}: {', '.join(d)}" for label, d in dev[:6])
    more = f"; and {len(dev) - 6} more" if len(dev) > 6 else ""
    return (f" ‡ **{len(dev)} run{'s' * (len(dev) != 1)} here deviate"
            f"{'s' * (len(dev) == 1)} from the paper's setting** (run with "
            f"`--allow-protocol-deviation` or changed settings; see each record): "
            f"{shown}{more}.")


def run_epochs(runs: pd.DataFrame) -> list[int]:
    """The distinct numbers of epochs (``config.epochs`` of each record) the runs of
    ``runs`` (a slice of :func:`hashlib_core.results.load_results`) were trained for."""
    import json

    out = set()
    if runs is None or not len(runs) or "path" not in runs.columns:
        return []
    for path in runs.path:
        try:
            epochs = (json.loads((Path(path) / "record.json").read_text())
                      .get("config") or {}).get("epochs")
        except (OSError, ValueError):
            continue
        if epochs:
            out.add(int(epochs))
    return sorted(out)


def epochs_sentence(runs: pd.DataFrame, what: str = "Every method here") -> str:
    """" Every method here is trained for 40 epochs." from :func:`run_epochs` (a range
    where the runs differ), "" without a readable record."""
    epochs = run_epochs(runs)
    if not epochs:
        return ""
    if len(epochs) == 1:
        return f" {what} is trained for {epochs[0]} epochs."
    return f" The runs here are trained for {epochs[0]} to {epochs[-1]} epochs (see the run list)."


def runs_line(rows: pd.DataFrame) -> str:
    """"N runs made at K commits (`abc1234`, ... and M more)" from rows with ``n_runs``
    and ``commits`` (tuples of commit hashes), "no run" without rows."""
    if rows.empty:
        return "no run"
    n = int(rows.n_runs.sum())
    commits = sorted({c[:7] for cs in rows.commits for c in cs})
    shown = ", ".join(f"`{c}`" for c in commits[:4])
    more = f" and {len(commits) - 4} more" if len(commits) > 4 else ""
    return (f"{n} runs made at {len(commits)} commit"
            f"{'s' * (len(commits) != 1)} ({shown}{more})")
