"""Command line: ``python -m hashlib_core.engine --scale smoke --method csq --n-bits 16``.

Prints the final metrics (one ``name value`` line each) and the timings. Under
``torchrun --nproc-per-node N -m hashlib_core.engine ...`` it trains with
DistributedDataParallel; only rank 0 prints.

Before any training the configuration is validated and :mod:`hashlib_core.preflight`
checks the device, the pre-trained weights, the run folder and the protocol's images;
each problem is one ``error:`` line and the exit code is 2. Ctrl-C stops with exit
code 130 (the run resumes from its last epoch when ``--run-dir`` is given).
"""

from __future__ import annotations

import ast
import json
import sys

from hashlib_core import preflight
from hashlib_core.engine.config import RunConfig
from hashlib_core.engine.distributed import env_info


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_args(argv: list[str] | None = None):
    p = preflight.ArgumentParser(prog="python -m hashlib_core.engine", description=__doc__)
    p.add_argument("--scale", required=True, choices=["smoke", "cpu", "paper"])
    p.add_argument("--method", required=True)
    p.add_argument("--n-bits", type=preflight.positive_int, required=True)
    p.add_argument("--seed", type=preflight.non_negative_int)
    p.add_argument("--protocol")
    p.add_argument("--backbone")
    p.add_argument("--pretrained")
    p.add_argument("--epochs", type=preflight.positive_int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device")
    p.add_argument("--amp", action="store_true", default=None)
    p.add_argument("--num-workers", type=int)
    p.add_argument("--eval-every", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--run-dir")
    p.add_argument("--data-root")
    p.add_argument("--cache-dir")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="any other RunConfig field")
    p.add_argument("--hp", action="append", default=[], metavar="NAME=VALUE",
                   help="a method hyper-parameter (method_overrides)")
    p.add_argument("--allow-protocol-deviation", action="store_true", default=None,
                   help="paper scale: run on split sizes other than the paper's")
    p.add_argument("--json", action="store_true", help="print the scalars as JSON")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def _pairs(items: list[str], flag: str) -> dict:
    out = {}
    for item in items:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ValueError(f"{flag} expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip().replace("-", "_") if flag == "--set" else k.strip()] = _value(v)
    return out


def check(cfg: RunConfig) -> list[str]:
    """The preflight of one run: device, weights, run folder, then (when those are fine)
    the protocol's data and images."""
    problems = preflight.check_device(cfg.device) + preflight.check_weights(cfg)
    if cfg.run_dir:
        problems += preflight.check_writable(cfg.run_dir, "run folder (--run-dir)")
    if not problems:
        problems += preflight.check_protocol(cfg.protocol, seed=cfg.protocol_seed,
                                             root=cfg.data_root, cache_dir=cfg.cache_dir)[1]
    return problems


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    fields = {k: getattr(a, k) for k in ("seed", "protocol", "backbone", "pretrained", "epochs",
                                         "batch_size", "lr", "device", "amp", "num_workers",
                                         "eval_every", "threads", "run_dir", "data_root",
                                         "cache_dir", "allow_protocol_deviation")
              if getattr(a, k) is not None}  # fmt: skip
    try:
        fields.update(_pairs(a.set, "--set"))
        if a.hp:
            fields["method_overrides"] = _pairs(a.hp, "--hp")
        cfg = RunConfig.from_scale(a.scale, method=a.method, n_bits=a.n_bits, **fields)
    except ValueError as err:
        return preflight.report([str(err)])
    try:
        if preflight.report(check(cfg)):
            return preflight.EXIT_CODE
        from hashlib_core.engine.train import ProtocolDeviation, run
        from hashlib_core.models.weights import WeightsUnavailable

        try:
            result = run(cfg, progress=not a.no_progress)
        except (WeightsUnavailable, ProtocolDeviation) as err:  # before training: one line
            return preflight.report([str(err)])
    except KeyboardInterrupt:
        where = f"; the same command resumes from {cfg.run_dir}" if cfg.run_dir else ""
        print(f"\ninterrupted (Ctrl-C){where}", file=sys.stderr)
        return 130
    if env_info().rank != 0:
        return 0
    if a.json:
        print(json.dumps({"scalars": result.scalars, "timings": result.timings,
                          "best_epoch": result.best_epoch}, default=float))  # fmt: skip
    else:
        for k, v in sorted(result.scalars.items()):
            print(f"{k} {v:.6f}" if isinstance(v, float) else f"{k} {v}")
        for k, v in result.timings.items():
            print(f"{k} {v:.2f}")
        print(f"best_epoch {result.best_epoch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
