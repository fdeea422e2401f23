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

# only light modules here: ``--help`` and argument errors answer without importing torch
from hashlib_core import cli_args, preflight


def _value(text: str):
    """A ``--set``/``--hp`` value: a Python literal (``3``, ``1e-3``, ``None``, ``True``),
    ``true``/``false`` in any case as a bool (``--set compile=true``), else the text."""
    if text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def build_parser() -> cli_args.ArgumentParser:
    """The command line's parser (every option with its help text)."""
    p = cli_args.ArgumentParser(prog="python -m hashlib_core.engine", description=__doc__)
    p.add_argument("--scale", required=True, choices=["smoke", "cpu", "paper"],
                   help="the preset of settings (hashlib_core.scales): smoke (seconds), "
                        "cpu (the CPU grid's), paper (the papers' networks and epochs)")
    p.add_argument("--method", required=True,
                   help="a registered method (hashlib_core.methods.list_methods()), e.g. csq")
    p.add_argument("--n-bits", type=cli_args.positive_int, required=True,
                   help="code length in bits (at least 2: the radius-2 precision needs 2)")
    p.add_argument("--seed", type=cli_args.non_negative_int,
                   help="training seed (default 0); the splits use the protocol seed")
    p.add_argument("--protocol", help="data protocol (default: the scale's), e.g. cifar10-i, "
                                      "nuswide-21 (hashlib_core.data.list_protocols())")
    p.add_argument("--backbone", help="network (default: the scale's), e.g. smallcnn, "
                                      "alexnet, resnet50")
    p.add_argument("--pretrained", help="backbone weights: a torchvision weights name "
                                        "(IMAGENET1K_V1) or a local state-dict file")
    p.add_argument("--epochs", type=cli_args.positive_int,
                   help="training epochs (default: the scale's)")
    p.add_argument("--batch-size", type=int, help="global batch size (default: the scale's)")
    p.add_argument("--lr", type=float, help="learning rate (default: the method's at the scale)")
    p.add_argument("--device", help="cpu, cuda, cuda:<n> or auto (default: the scale's)")
    p.add_argument("--amp", action="store_true", default=None,
                   help="mixed precision on CUDA (default: the scale's)")
    p.add_argument("--num-workers", type=int, help="data-loading processes (0: in this one)")
    p.add_argument("--eval-every", type=int,
                   help="validation mAP every this many epochs (0: none, keep the last)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--run-dir", help="checkpoint folder: the same command resumes from it")
    p.add_argument("--data-root", help="raw data folder (default: $HASHLIB_DATA)")
    p.add_argument("--cache-dir", help="cache folder (default: $HASHLIB_CACHE or ~/.cache)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="any other RunConfig field, e.g. --set weight_decay=0 (repeatable; "
                        "not scale, method or n_bits, which have their own options)")
    p.add_argument("--hp", action="append", default=[], metavar="NAME=VALUE",
                   help="a method hyper-parameter (method_overrides), e.g. --hp lam=0.001 "
                        "(repeatable; checked before any data is loaded)")
    p.add_argument("--allow-protocol-deviation", action="store_true", default=None,
                   help="paper scale: run on split sizes other than the paper's")
    p.add_argument("--json", action="store_true", help="print the scalars as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def parse_args(argv: list[str] | None = None):
    return build_parser().parse_args(argv)


def _pairs(items: list[str], flag: str) -> dict:
    out = {}
    for item in items:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ValueError(f"{flag} expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        k = k.strip().replace("-", "_") if flag == "--set" else k.strip()
        if flag == "--set" and k in ("scale", "method", "n_bits"):
            raise ValueError(f"--set {item}: {k} has its own option, "
                             f"--{k.replace('_', '-')} {v.strip() or 'VALUE'}")
        out[k] = _value(v)
    return out


def checkpoint_problems(cfg) -> list[str]:
    """A checkpoint in ``cfg.run_dir`` that this run cannot resume (unreadable, or made
    with other settings): one line, before any data is loaded."""
    from pathlib import Path

    from hashlib_core.engine import checkpoint as ckpt

    if not cfg.run_dir:
        return []
    path = Path(cfg.run_dir) / ckpt.LAST
    try:
        state = ckpt.load(path)
    except ValueError as err:
        return [" ".join(str(err).split())]
    if state is None or state.get("result_key") == cfg.result_key():
        return []
    from hashlib_core.engine.settings import result_settings, settings_differences

    diff = settings_differences({"config": state.get("config") or {}},
                                result_settings(cfg, None), stored_as="checkpoint")
    return [f"{path} holds a checkpoint of other settings "
            f"({'; '.join(diff) or 'another configuration'}); to start afresh remove "
            f"{cfg.run_dir} or pass another --run-dir"]


def check(cfg) -> list[str]:
    """The preflight of one run: the method's hyper-parameters, device, weights (loaded),
    run and cache folders, a checkpoint to resume, then (when those are fine) the
    protocol's data, split sizes and images (decoded)."""
    from hashlib_core.engine.config import method_problems

    problems = method_problems(cfg)
    if problems:
        return problems
    problems = preflight.check_device(cfg.device) + preflight.check_weights(cfg)
    if cfg.run_dir:
        problems += preflight.check_writable(cfg.run_dir, "run folder (--run-dir)")
    from hashlib_core.data.cache import cache_folder

    problems += preflight.check_writable(cache_folder(cfg.cache_dir),
                                         "cache folder (--cache-dir or $HASHLIB_CACHE)")
    if not problems:
        problems += checkpoint_problems(cfg)
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
        from hashlib_core.engine.config import RunConfig

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
    from hashlib_core.engine.distributed import env_info

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
