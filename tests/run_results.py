"""A stand-in for what the engine hands the results store (``RunResult`` and its
evaluation), shared by the store's tests and the fault tests that plant records."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FakeEval:
    scalars: dict
    curves: dict
    info: dict = field(default_factory=dict)


@dataclass
class FakeResult:
    """The fields of hashlib_core.engine.RunResult that the store reads."""

    config: dict
    query_codes: np.ndarray
    db_codes: np.ndarray | None
    query_labels: np.ndarray
    db_labels: np.ndarray | None
    eval: FakeEval
    history: list = field(default_factory=list)
    best_epoch: int = 0
    timings: dict = field(default_factory=dict)
    device: str = "cpu"
    manifest: dict = field(default_factory=dict)
    manifest_sha256: str = "ab" * 32
