"""``RunResult``, the final evaluation, and the shallow-method path of ``run``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hashlib_core.engine.config import RunConfig
from hashlib_core.engine.encode import check_codes


@dataclass
class RunResult:
    """What one run produced.

    Attributes
    ----------
    config : RunConfig
    query_codes : ndarray of shape (n_query, n_bits), int8 in {-1,+1}
    db_codes : ndarray of shape (n_db, n_bits), int8 in {-1,+1}
        For asymmetric methods the rows of training items are their learned codes.
    query_labels, db_labels : ndarray of shape (n, n_classes), uint8 multi-hot
    eval : hashlib_core.evaluation.EvalResult
        ``.scalars`` (mAP at the protocol's cut-off, ...) and ``.curves``.
    history : list of dict
        Per epoch: ``epoch``, ``loss``, ``lr``, ``val_map`` (None when not evaluated),
        ``seconds``. Empty for shallow methods.
    best_epoch : int
        The epoch whose weights were kept (-1 for shallow methods).
    timings : dict
        ``train_s``, ``encode_s``, ``eval_s``, ``total_s`` (seconds) and ``epoch_s``
        (mean seconds per epoch). A resumed run's ``train_s`` and ``total_s`` include the
        epochs trained before the resume, and ``resumed_after_epochs`` says how many.
    device : str
    manifest : dict
        The protocol's manifest (which images, which splits).
    manifest_sha256 : str
    run_info : dict
        How the run was made, for the record: the weights (``spec``, ``path``,
        ``sha256``), ``world_size``, ``per_device_batch``, ``global_batch``, autocast,
        and the protocol's sizes against the paper's (``protocol_deviations``,
        ``protocol_deviation_allowed``).
    """

    config: RunConfig
    query_codes: np.ndarray
    db_codes: np.ndarray
    query_labels: np.ndarray
    db_labels: np.ndarray
    eval: Any
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = -1
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    manifest_sha256: str = ""
    run_info: dict[str, Any] = field(default_factory=dict)

    @property
    def scalars(self) -> dict[str, float]:
        """Shortcut to ``eval.scalars``."""
        return dict(self.eval.scalars)

    def summary(self) -> str:
        """One line: method, bits, protocol, the scalars, and the wall time."""
        c = self.config
        vals = ", ".join(f"{k}={v:.4f}" for k, v in sorted(self.scalars.items())
                         if isinstance(v, (int, float)))  # fmt: skip
        total = self.timings.get("total_s", float("nan"))
        return f"{c.method} {c.n_bits} bits on {c.protocol} (seed {c.seed}): {vals} [{total:.1f} s]"


def evaluate_codes(query_codes: np.ndarray, db_codes: np.ndarray, protocol) -> Any:
    """``hashlib_core.evaluation.evaluate`` with the protocol's labels and mAP cut-off."""
    from hashlib_core.evaluation import evaluate

    return evaluate(query_codes, db_codes, protocol.query.labels, protocol.database.labels,
                    topk=protocol.topk)  # fmt: skip


def _features(cfg: RunConfig, protocol, split_name: str) -> np.ndarray:
    from hashlib_core.data.cache import cache_root
    from hashlib_core.features import cached_gist

    split = getattr(protocol, split_name)
    if split.images is None:
        raise ValueError(
            f"{cfg.method}: GIST features need in-memory images; protocol {protocol.name!r} "
            f"split {split_name!r} holds file paths"
        )
    folder = Path(cfg.cache_dir) / "gist" if cfg.cache_dir else cache_root(None) / "gist"
    key = f"{protocol.name}-s{protocol.seed}-{split_name}"
    return cached_gist(split.images, key=key, cache_dir=folder)


def run_shallow(cfg: RunConfig, protocol, *, t_start: float) -> RunResult:
    """Shallow methods: GIST of train/query/database (cached), fit on train, encode.

    The training set is the same as the deep methods' (``protocol.train``, without the
    validation items); there is no model selection.
    """
    from hashlib_core.methods import create_method

    t0 = time.perf_counter()
    feats = {name: _features(cfg, protocol, name) for name in ("train", "query", "database")}
    features_s = time.perf_counter() - t0
    method = create_method(cfg.method, cfg.n_bits, protocol.n_classes, seed=cfg.seed, **cfg.overrides)
    t1 = time.perf_counter()
    method.fit(feats["train"], protocol.train.labels)
    train_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    query = check_codes(method.encode(feats["query"]), len(protocol.query), cfg.n_bits, "query")
    db = check_codes(method.encode(feats["database"]), len(protocol.database), cfg.n_bits, "database")
    encode_s = time.perf_counter() - t2
    t3 = time.perf_counter()
    ev = evaluate_codes(query, db, protocol)
    timings = {"features_s": features_s, "train_s": train_s, "encode_s": encode_s,
               "eval_s": time.perf_counter() - t3, "total_s": time.perf_counter() - t_start}  # fmt: skip
    return RunResult(
        config=cfg, query_codes=query, db_codes=db, query_labels=protocol.query.labels,
        db_labels=protocol.database.labels, eval=ev, history=[], best_epoch=-1, timings=timings,
        device="cpu", manifest=protocol.manifest, manifest_sha256=protocol.manifest_sha256,
    )  # fmt: skip
