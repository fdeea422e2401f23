"""``torch.compile`` against eager in the cpu preset, on one machine, in one process.

    python benchmarks/bench_compile.py            # writes benchmarks/results/compile_cpu.json
    python benchmarks/bench_compile.py --reps 2 --epochs 4 --batches 10

The cpu preset (the small CNN at 32 px on CIFAR-10 protocol I, one OpenMP thread), one
method (``--method``, default CSQ at 64 bits) and the engine's own code
(:class:`hashlib_core.engine.train._Trainer`, :func:`hashlib_core.engine.run`) with
``RunConfig.compile`` off and on. Three measurements:

* **bare**: the training step (forward, the method's loss, backward, Adam step) on one
  batch of 128 resident images, repeated ``--batches`` times, and the encoding forward
  (eval mode, inference mode) on the same batch; images/s in wall time and in CPU time
  (this process and its finished children: the C++ compiler). Modes: ``eager``, ``compiled`` (the engine's option: the backbone compiled
  with a dynamic batch) and ``compiled-static`` (``torch.compile``'s default shapes, for
  reference). The first step of a compiled mode is its compilation: reported apart.
* **training**: a real run of ``--epochs`` epochs on the full training split (4,500
  images, validation every 2 epochs, final encoding of the 1,000 queries and 59,000
  database images), eager vs compiled: wall and CPU time, compilation included; and the
  projected time of a full 40-epoch cpu run: the steady epochs (2: training, 3: training
  and validation) x 20, plus the compilation overhead of epochs 0-1, plus the rest of the
  run as measured (in CPU time too, which the load distorts less).
* **determinism**: the compiled runs of one seed give bit-identical codes (and the eager
  ones too), and whether compiled codes equal eager codes (bits that differ, mAP of each).

Eager and compiled repetitions are interleaved (the order alternates), since the machine
may be loaded by other work: the load average (``os.getloadavg()``) before and after each
measurement is in the output. CPU time is the steadier measure on a loaded machine;
inductor compiles in this process (``TORCHINDUCTOR_COMPILE_THREADS=1``) and its C++
compiler runs as a child process, so both are counted. ``--cold`` starts from an empty inductor cache (a temporary
``TORCHINDUCTOR_CACHE_DIR``): the first compilation then costs what it costs on a fresh
machine, the later ones hit the cache as a grid's later runs would.

Result (``benchmarks/results/compile_cpu.json``; 2-core AMD EPYC, torch 2.11, gcc 12, one
thread, load average about 7 from other work): the training step 1,768 images/s of CPU
time eager vs 1,442 compiled (x0.82; static shapes x0.69); encoding 6,120 vs 7,070 (x1.16);
a 4-epoch run 27 s of CPU eager vs 43 s compiled (the first compilation about 40 s of CPU
with a cold cache, 3 s with a warm one); compiled runs repeat their codes bit for bit,
and differ from eager codes in 2.7% of the bits. The engine's eager network is already
channels-last, which is where its speed comes from (contiguous eager: about 1,200 images/s).
So the cpu preset stays eager.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_JSON = REPO / "benchmarks" / "results" / "compile_cpu.json"
#: the cpu preset's full run, for the projection
FULL_EPOCHS = 40


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the C++ compiler that
    inductor runs is a child process)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _clock() -> tuple[float, float]:
    return time.perf_counter(), _cpu()


def _since(t: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - t[0], _cpu() - t[1]


def _graphs() -> dict[str, int]:
    from torch._dynamo.utils import counters

    stats = counters["stats"]
    return {"unique_graphs": int(stats.get("unique_graphs", 0)),
            "calls_captured": int(stats.get("calls_captured", 0))}


def _reset_dynamo() -> None:
    import torch._dynamo
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()


def bare(protocol, mode: str, *, method: str, n_bits: int, batches: int) -> dict:
    """Images/s of the training step and of the encoding forward on a resident batch."""
    import torch

    from hashlib_core.engine import RunConfig
    from hashlib_core.engine.distributed import DistInfo
    from hashlib_core.engine.train import _Trainer

    _reset_dynamo()
    cfg = RunConfig.from_scale("cpu", method=method, n_bits=n_bits, threads=1,
                               compile=mode == "compiled")
    trainer = _Trainer(cfg, protocol, DistInfo(), torch.device("cpu"), progress=False)
    if mode == "compiled-static":  # torch.compile's default: static shapes first
        trainer.method.backbone.compile(options={"fallback_random": True, "deterministic": True})
    trainer.epoch_sampler.batches = [list(range(cfg.batch_size))]
    images, labels, index = next(iter(trainer.train_loader(0)))
    x = images.contiguous(memory_format=torch.channels_last)
    model, m = trainer.model, trainer.method
    m.train()

    def step() -> None:
        trainer.optimizer.zero_grad(set_to_none=True)
        loss = m.loss(model(x).float(), labels, index)
        loss.backward()
        trainer.optimizer.step()

    load0 = _load()
    t = _clock()
    step()  # compiles the training graph (eager: the first call)
    first_wall, first_cpu = _since(t)
    step()
    t = _clock()
    for _ in range(batches):
        step()
    wall, cpu = _since(t)
    m.eval()
    with torch.inference_mode():
        t = _clock()
        m.encode_database(x)  # compiles the encoding graph
        enc_first_wall, enc_first_cpu = _since(t)
        m.encode_database(x)
        t = _clock()
        reps = 4 * batches
        for _ in range(reps):
            m.encode_database(x)
        enc_wall, enc_cpu = _since(t)
    n = batches * x.shape[0]
    trainer.close()
    return {"mode": mode, "batch": int(x.shape[0]), "batches": batches,
            "train_ips_wall": n / wall, "train_ips_cpu": n / cpu,
            "first_step_s_wall": first_wall, "first_step_s_cpu": first_cpu,
            "encode_ips_wall": reps * x.shape[0] / enc_wall,
            "encode_ips_cpu": reps * x.shape[0] / enc_cpu,
            "first_encode_s_wall": enc_first_wall, "first_encode_s_cpu": enc_first_cpu,
            "load_before": load0, "load_after": _load(), **_graphs()}


def training(mode: str, *, method: str, n_bits: int, epochs: int, seed: int) -> tuple[dict, object]:
    """A real run of ``epochs`` epochs (the engine's ``run``), its times and its result."""
    from hashlib_core.engine import RunConfig, run

    _reset_dynamo()
    cfg = RunConfig.from_scale("cpu", method=method, n_bits=n_bits, threads=1, epochs=epochs,
                               seed=seed, compile=mode == "compiled")
    load0 = _load()
    t = _clock()
    marks = [_cpu()]
    r = run(cfg, progress=False, callbacks=[lambda epoch, entry, method: marks.append(_cpu())])
    wall, cpu = _since(t)
    epoch_s = [float(h["seconds"]) for h in r.history]
    epoch_cpu = [b - a for a, b in zip(marks, marks[1:])]  # training + validation, CPU time
    out = {"mode": mode, "epochs": epochs, "seed": seed, "wall_s": wall, "cpu_s": cpu,
           "train_s": r.timings["train_s"], "encode_s": r.timings["encode_s"],
           "eval_s": r.timings["eval_s"], "epoch_s": epoch_s, "epoch_cpu_s": epoch_cpu,
           "map": r.eval.scalars["map"], "load_before": load0, "load_after": _load(),
           **_graphs()}
    if epochs >= 4 and r.config.eval_every == 2:
        # epochs 0 and 1 pay the compilations (training graph, then encoding graph at the
        # first validation); epochs 2 (no validation) and 3 (validation) are steady; the
        # rest of the run (setup, final encoding of 60,000 images, evaluation) as measured
        for unit, per_epoch, total in (("s", epoch_s, wall), ("cpu_s", epoch_cpu, cpu)):
            train_only, with_val = per_epoch[2], per_epoch[3]
            overhead = max(0.0, per_epoch[0] - train_only) + max(0.0, per_epoch[1] - with_val)
            rest = total - sum(per_epoch)
            out[f"first_epochs_overhead_{unit}"] = overhead
            out[f"projected_full_run_{unit}"] = \
                (FULL_EPOCHS // 2) * (train_only + with_val) + overhead + rest
    return out, r


def _median(values: list[float]) -> float:
    import numpy as np

    return float(np.median(values))


def measure(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    from hashlib_core.data import load_protocol

    torch.set_num_threads(args.threads)
    protocol = load_protocol("cifar10-i")
    modes = ["eager", "compiled"] + (["compiled-static"] if args.static else [])
    bare_runs: list[dict] = []
    for rep in range(args.reps):
        order = modes if rep % 2 == 0 else modes[::-1]
        for mode in order:
            r = bare(protocol, mode, method=args.method, n_bits=args.n_bits, batches=args.batches)
            r["rep"] = rep
            print(f"bare  rep {rep} {mode:15s} train {r['train_ips_wall']:6.0f} img/s wall "
                  f"{r['train_ips_cpu']:6.0f} cpu, encode {r['encode_ips_wall']:6.0f} wall "
                  f"{r['encode_ips_cpu']:6.0f} cpu, first step {r['first_step_s_wall']:5.1f} s "
                  f"(load {r['load_before'][0]})", flush=True)
            bare_runs.append(r)
    runs: list[dict] = []
    results: dict[str, list] = {"eager": [], "compiled": []}
    for rep in range(args.train_reps):
        for mode in (("compiled", "eager") if rep % 2 == 0 else ("eager", "compiled")):
            r, res = training(mode, method=args.method, n_bits=args.n_bits, epochs=args.epochs,
                              seed=args.seed)
            r["rep"] = rep
            print(f"train rep {rep} {mode:9s} {r['wall_s']:6.1f} s wall {r['cpu_s']:6.1f} s cpu, "
                  f"epochs {[round(s, 1) for s in r['epoch_s']]}, mAP {r['map']:.4f} "
                  f"(load {r['load_before'][0]})", flush=True)
            runs.append(r)
            results[mode].append(res)

    def same(a, b) -> bool:
        return bool(np.array_equal(a.query_codes, b.query_codes)
                    and np.array_equal(a.db_codes, b.db_codes))

    def differing(a, b) -> float:
        n = a.query_codes.size + a.db_codes.size
        return float(((a.query_codes != b.query_codes).sum()
                      + (a.db_codes != b.db_codes).sum()) / n)

    e, c = results["eager"], results["compiled"]
    determinism = {
        "compiled_runs_identical": all(same(c[0], x) for x in c[1:]) if len(c) > 1 else None,
        "eager_runs_identical": all(same(e[0], x) for x in e[1:]) if len(e) > 1 else None,
        "compiled_equals_eager": same(c[0], e[0]),
        "compiled_vs_eager_bits_differing": differing(c[0], e[0]),
        "compiled_vs_eager_first_loss": [c[0].history[0]["loss"], e[0].history[0]["loss"]],
        "map_eager": e[0].eval.scalars["map"], "map_compiled": c[0].eval.scalars["map"],
    }

    def med(rows: list[dict], mode: str, key: str) -> float | None:
        vals = [r[key] for r in rows if r["mode"] == mode and key in r]
        return _median(vals) if vals else None

    summary = {}
    for key in ("train_ips_wall", "train_ips_cpu", "encode_ips_wall", "encode_ips_cpu",
                "first_step_s_cpu", "first_encode_s_cpu"):
        summary[f"bare_{key}"] = {m: med(bare_runs, m, key) for m in modes}
    # the first compilation of the process (a cold cache with --cold), then the cached ones
    summary["first_compile_cpu_s"] = {
        m: [r["first_step_s_cpu"] + r["first_encode_s_cpu"] for r in bare_runs if r["mode"] == m]
        for m in modes if m != "eager"}
    for key in ("wall_s", "cpu_s", "first_epochs_overhead_s", "first_epochs_overhead_cpu_s",
                "projected_full_run_s", "projected_full_run_cpu_s"):
        summary[f"training_{key}"] = {m: med(runs, m, key) for m in ("eager", "compiled")}
    for key in ("train_ips_wall", "train_ips_cpu", "encode_ips_wall", "encode_ips_cpu"):
        s = summary[f"bare_{key}"]
        s["speedup"] = s["compiled"] / s["eager"]
    for key in ("wall_s", "cpu_s", "projected_full_run_s", "projected_full_run_cpu_s"):
        s = summary[f"training_{key}"]
        if s["eager"] and s["compiled"]:
            s["speedup"] = s["eager"] / s["compiled"]
    return {"bare": bare_runs, "training": runs, "determinism": determinism, "summary": summary}


def machine() -> dict:
    import torch

    def first_line(cmd: list[str]) -> str | None:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return None

    cpu = None
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu or platform.processor(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "python": platform.python_version(),
            "compiler": first_line(["gcc", "--version"]), "threads": torch.get_num_threads(),
            "commit": first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="csq")
    ap.add_argument("--n-bits", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions of the bare step")
    ap.add_argument("--batches", type=int, default=10, help="timed steps per bare repetition")
    ap.add_argument("--train-reps", type=int, default=2,
                    help="interleaved training runs per mode (2: the determinism check)")
    ap.add_argument("--epochs", type=int, default=4,
                    help="epochs of each training run (4: two steady epochs for the projection)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the cpu grid's 1)")
    ap.add_argument("--static", action="store_true",
                    help="also the bare step with torch.compile's default (static) shapes")
    ap.add_argument("--cold", action="store_true", help="start from an empty inductor cache")
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="write the results here")
    args = ap.parse_args(argv)
    for name in ("n_bits", "reps", "batches", "train_reps", "epochs", "threads"):
        if getattr(args, name) < 1:
            print(f"error: --{name.replace('_', '-')} {getattr(args, name)}: must be at least 1",
                  file=sys.stderr)
            return 2
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
    tmp = None
    if args.cold:
        tmp = tempfile.TemporaryDirectory(prefix="bench-compile-inductor-")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tmp.name
    t0 = _clock()
    load0 = _load()
    try:
        out = measure(args)
    except (OSError, ValueError) as err:  # missing data, a protocol that cannot be built
        print("error: " + " ".join(str(err).split()), file=sys.stderr)
        return 2
    finally:
        if tmp is not None:
            tmp.cleanup()
    wall, cpu = _since(t0)
    out = {"benchmark": "bench_compile", "preset": "cpu", "protocol": "cifar10-i",
           "method": args.method, "n_bits": args.n_bits, "args": vars(args),
           "machine": machine(), "load_start": load0, "load_end": _load(),
           "cold_cache": bool(args.cold), "total_wall_s": wall, "total_cpu_s": cpu, **out}
    s = out["summary"]
    print(f"bare train img/s (cpu time): eager {s['bare_train_ips_cpu']['eager']:.0f}, compiled "
          f"{s['bare_train_ips_cpu']['compiled']:.0f} (x{s['bare_train_ips_cpu']['speedup']:.2f}); "
          f"encode: eager {s['bare_encode_ips_cpu']['eager']:.0f}, compiled "
          f"{s['bare_encode_ips_cpu']['compiled']:.0f}")
    print(f"training run cpu s: {s['training_cpu_s']}; determinism: {out['determinism']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
