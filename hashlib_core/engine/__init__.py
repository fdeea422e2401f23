"""The training engine: ``RunConfig`` and ``run(cfg) -> RunResult``.

>>> from hashlib_core.engine import RunConfig, run
>>> cfg = RunConfig.from_scale("smoke", method="csq", n_bits=16)
>>> result = run(cfg)  # doctest: +SKIP
>>> result.eval.scalars["map"]  # doctest: +SKIP

Modules: :mod:`~hashlib_core.engine.config` (``RunConfig``), :mod:`~hashlib_core.engine.train`
(``run``), :mod:`~hashlib_core.engine.result` (``RunResult``, shallow methods),
:mod:`~hashlib_core.engine.encode`, :mod:`~hashlib_core.engine.checkpoint`,
:mod:`~hashlib_core.engine.distributed`, :mod:`~hashlib_core.engine.torchrun` (one run on
several GPUs from a notebook). Command line: ``python -m hashlib_core.engine``.
"""

from hashlib_core.engine.config import RunConfig

__all__ = ["RunConfig", "RunResult", "run"]


def __getattr__(name: str):
    """``RunResult`` and ``run`` are imported on first use (they import torch), so that
    ``python -m hashlib_core.engine --help`` answers without importing torch."""
    if name == "RunResult":
        from hashlib_core.engine.result import RunResult

        return RunResult
    if name == "run":
        from hashlib_core.engine.train import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
