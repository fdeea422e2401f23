"""``run(cfg)``: train, select on the validation split, encode, evaluate.

Deep methods go through the hooks of :class:`~hashlib_core.methods.base.DeepHashMethod`
in the documented order; shallow methods are fitted on GIST features (cached).

Model selection: every ``cfg.eval_every`` epochs (and after the last) the validation
split is encoded as queries against the training items (for asymmetric methods: their
learned codes) and the mAP (the protocol's cut-off) is computed; the epoch with the best
validation mAP is kept (first best on ties). The query split is never looked at before
the final evaluation.

Checkpoints (``cfg.run_dir``): ``last.pt`` after every epoch (method, optimiser,
scheduler, grad-scaler, the RNG states of torch / numpy / python / the run's generator,
history, best epoch) and ``best.pt`` (the selected weights), both written atomically.
Re-running the same config resumes after the last completed epoch and ends with the
same codes as an uninterrupted run (same seed, CPU, ``num_workers=0``); a run interrupted
inside an epoch repeats that epoch from its start.

``cfg.compile`` (off in every preset): the backbone runs compiled (:func:`compile_backbone`);
its first batches pay the compilation (cached on disk for later processes).

Speed (the paper preset; see :mod:`hashlib_core.scales`): autocast in ``cfg.amp_dtype``
(bf16) on CUDA, channels-last inputs and weights, ``cudnn.benchmark`` unless
``cfg.deterministic``; one training DataLoader for the whole run with persistent workers,
pinned memory and a prefetch of 4 batches per worker (the epoch's batches are handed to
it through a mutable batch sampler), and persistent loaders for the splits encoded at
every validation. Nothing waits for the GPU inside an epoch: the batch losses stay on the
device and are read (and checked to be finite) once at the end of the epoch.

Several GPUs (``torchrun``, see :mod:`hashlib_core.engine.distributed`): ``batch_size`` is
the global batch, split evenly over the ranks (``batch_size / world_size`` per GPU), so
the learning rate of a preset needs no change; the record keeps the world size and the
global batch. (A larger global batch, set by the user, is a different setting: the rule
this project states for it is the linear one, lr x new batch / 64, not applied
automatically.)

Progress (:mod:`hashlib_core.progress`): ``progress=True`` shows tqdm bars;
``progress="lines"`` prints one plain line per epoch (epochs done, loss, last validation
mAP, elapsed, time left; no carriage returns, for logs and executed notebooks). Whatever
``progress`` is, a run with a ``run_dir`` rewrites ``run_dir/progress.json`` after every
epoch, which the grid runner polls and relays to its console.

Before anything is read: the pre-trained weights are resolved
(:func:`hashlib_core.models.weights.resolve_weights`, one-line error when absent), and a
paper-scale run on a protocol whose sizes differ from the paper's stops unless
``cfg.allow_protocol_deviation``; both facts go into ``RunResult.run_info``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler
from tqdm.auto import tqdm

from hashlib_core import progress as live
from hashlib_core.data import load_protocol, make_torch_dataset
from hashlib_core.engine import checkpoint as ckpt
from hashlib_core.engine import distributed as ddp
from hashlib_core.engine.config import RunConfig
from hashlib_core.engine.encode import check_codes, encode_split, make_loader, to_device
from hashlib_core.engine.result import RunResult, evaluate_codes, run_shallow
from hashlib_core.methods import create_method, get_method_class
from hashlib_core.models.backbones import create_backbone
from hashlib_core.models.weights import resolve_weights

Callback = Callable[[int, dict[str, Any], torch.nn.Module], None]


def resolve_device(name: str, info: ddp.DistInfo) -> torch.device:
    """``"auto"`` -> cuda when available; under DDP on CUDA, the local rank's GPU (ranks
    share the GPUs round-robin when there are fewer GPUs than ranks: the one-GPU check)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"RunConfig.device: {name!r} requested but CUDA is not available")
        if info.enabled and name == "cuda":
            name = f"cuda:{info.local_rank % torch.cuda.device_count()}"
        torch.cuda.set_device(torch.device(name))
    return torch.device(name)


def make_optimizer(cfg: RunConfig, method: torch.nn.Module) -> torch.optim.Optimizer:
    groups = method.param_groups(cfg.lr)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def lr_factor(cfg: RunConfig, epoch: int) -> float:
    """Learning-rate multiplier of an epoch (0-based)."""
    if cfg.lr_schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * epoch / cfg.epochs))
    if cfg.lr_schedule == "step":
        return 0.1 ** (epoch // cfg.lr_step)
    return 1.0


class _EpochBatches:
    """A batch sampler whose batches are replaced before each epoch: one DataLoader (and
    its persistent workers) serves every epoch of a run."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def per_rank_batch(batch_size: int, info: ddp.DistInfo) -> int:
    """The batch of one rank: the global ``batch_size`` split evenly over the ranks."""
    if batch_size % info.world_size:
        raise ValueError(f"RunConfig.batch_size: the global batch {batch_size} does not split "
                         f"evenly over {info.world_size} processes")
    return batch_size // info.world_size


def epoch_batches(order: list[int], batch_size: int) -> list[list[int]]:
    """Split an epoch's order into batches; a last batch of one item joins the previous one
    (pairwise losses need two items)."""
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) < 2:
        tail = batches.pop()
        batches[-1] = batches[-1] + tail
    return batches


def compile_backbone(method: torch.nn.Module, cfg: RunConfig) -> None:
    """Compile ``method.backbone`` in place (``cfg.compile``): ``torch.compile`` with the
    inductor backend, its state-dict keys unchanged (checkpoints stay interchangeable).

    The batch dimension is dynamic from the first call, so every batch (the last, smaller
    one of an epoch, each split's remainder at encoding) runs the same kernels: one graph
    for training and one for encoding instead of one per batch size, and a run resumed
    mid-training uses the kernels an uninterrupted run uses (with the default, the first
    batch of a process would run a static-shape graph and the next ones a dynamic one).
    With ``cfg.deterministic``, random operations (dropout) fall back to the eager
    generator and inductor skips timing-based kernel choices (its ``fallback_random`` and
    ``deterministic`` options), so seeded runs repeat.
    """
    options = {"fallback_random": True, "deterministic": True} if cfg.deterministic else None
    method.backbone.compile(dynamic=True, options=options)


class _Trainer:
    """State of one deep run; ``run()`` drives it."""

    def __init__(self, cfg: RunConfig, protocol, info: ddp.DistInfo, device: torch.device,
                 progress: bool) -> None:  # fmt: skip
        self.cfg, self.protocol, self.info, self.device = cfg, protocol, info, device
        self.progress = progress is True and info.is_main  # tqdm bars
        self.lines = progress == "lines" and info.is_main  # one plain line per epoch
        self.use_amp = bool(cfg.amp) and device.type == "cuda"
        dtype = torch.bfloat16 if cfg.amp_dtype == "bfloat16" else torch.float16
        self.autocast = torch.autocast("cuda", dtype=dtype) if self.use_amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and dtype == torch.float16)
        self.generator = ckpt.seed_everything(cfg.seed)
        if info.enabled:  # augmentation differs per rank, the epoch order does not
            torch.manual_seed(cfg.seed + 7919 * info.rank)
        self.method = create_method(cfg.method, cfg.n_bits, protocol.n_classes, **cfg.overrides)
        self.method.build(lambda: create_backbone(cfg.backbone, pretrained=cfg.pretrained,
                                                  image_size=cfg.image_size))  # fmt: skip
        self.method.to(device).to(memory_format=torch.channels_last)
        self.train_labels = torch.from_numpy(protocol.train.labels.astype(np.float32))
        self.method.setup(self.train_labels.to(device), self.generator)
        self.method.to(device)
        if cfg.compile:
            compile_backbone(self.method, cfg)
        self.optimizer = make_optimizer(cfg, self.method)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda e: lr_factor(cfg, e)
        )
        self.model = self.method
        if info.enabled:
            self.model = torch.nn.parallel.DistributedDataParallel(
                self.method, device_ids=[device.index] if device.type == "cuda" else None,
                # no buffer broadcast at every forward: it would overwrite the rows of a
                # memory bank that other ranks wrote; banks are merged and the other
                # buffers (BN statistics) copied from rank 0 at the end of each epoch
                find_unused_parameters=True, broadcast_buffers=False,
            )  # fmt: skip
        self.train_set = make_torch_dataset(protocol.train, scale=cfg.scale, train=True)
        self.rank_batch = per_rank_batch(cfg.batch_size, info)
        self.epoch_sampler = _EpochBatches()
        self.loader = None  # built at the first epoch (after resume: its seed)
        self.encode_loaders: dict = {}  # persistent loaders of the splits of validation
        self.start_epoch, self.history = 0, []
        self.best_epoch, self.best_val, self.best_state = -1, -math.inf, None
        self.run_dir = Path(cfg.run_dir) if cfg.run_dir else None

    # ---- checkpoints -----------------------------------------------------------------
    def resume(self) -> None:
        if self.run_dir is None:
            return
        state = ckpt.load(self.run_dir / ckpt.LAST)
        if state is None:
            return
        if state["result_key"] != self.cfg.result_key():
            from hashlib_core.engine.settings import result_settings, settings_differences

            diff = settings_differences({"config": state["config"]},
                                        result_settings(self.cfg, None), stored_as="checkpoint")
            raise ValueError(
                f"{self.run_dir / ckpt.LAST} holds a checkpoint of other settings "
                f"({'; '.join(diff) or 'another configuration'}); to start afresh remove "
                f"{self.run_dir} (python -m hashlib_core.reproduce: --force) or use another run_dir"
            )
        made = state.get("method_revision", 1)
        if made != type(self.method).revision:
            raise ValueError(
                f"{self.run_dir / ckpt.LAST} holds a checkpoint of {self.cfg.method} revision "
                f"{made}; the code is at revision {type(self.method).revision} "
                f"({type(self.method).revision_note}); to start afresh remove {self.run_dir}")
        self.method.load_state_dict(state["method"])
        self.method.to(self.device)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        rngs = state["rng"]
        ckpt.set_rng_state(rngs[self.info.rank] if self.info.rank < len(rngs) else rngs[0],
                           self.generator)  # fmt: skip
        self.history = list(state["history"])
        self.start_epoch = int(state["epoch"]) + 1
        self.best_epoch, self.best_val = int(state["best_epoch"]), float(state["best_val"])
        best = ckpt.load(self.run_dir / ckpt.BEST)
        if best is not None:
            self.best_state = best["method"]

    def save(self, epoch: int) -> None:
        rngs = ddp.all_gather_objects(ckpt.rng_state(self.generator), self.info)
        if self.run_dir is None or not self.info.is_main:
            return
        ckpt.atomic_save({
            "format": ckpt.FORMAT, "config": self.cfg.to_dict(), "result_key": self.cfg.result_key(),
            "epoch": epoch, "method": self.method.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(), "rng": rngs, "history": self.history,
            "best_epoch": self.best_epoch, "best_val": self.best_val,
            "method_revision": type(self.method).revision,
        }, self.run_dir / ckpt.LAST)  # fmt: skip

    # ---- one epoch -----------------------------------------------------------------
    def train_loader(self, epoch: int) -> DataLoader:
        if self.loader is None:
            self.loader = make_loader(
                self.train_set, batch_sampler=self.epoch_sampler, device=self.device,
                num_workers=self.cfg.num_workers, persistent=True,
                generator=torch.Generator().manual_seed(self.cfg.seed * 1000 + epoch))
        return self.loader

    def close(self) -> None:
        """Stop the loaders' worker processes."""
        self.loader = None
        self.encode_loaders.clear()

    def train_epoch(self, epoch: int, max_batches: int | None = None) -> float:
        cfg, method = self.cfg, self.method
        n_train = len(self.protocol.train)
        idx = method.epoch_indices(epoch, n_train, self.generator)
        if idx is None:
            order = torch.randperm(n_train, generator=self.generator).tolist()
        else:
            order = torch.as_tensor(idx, dtype=torch.int64).tolist()
            if order and (min(order) < 0 or max(order) >= n_train):
                raise ValueError(f"{cfg.method}.epoch_indices: indices outside [0, {n_train})")
        if self.info.enabled:
            sampler = DistributedSampler(order, num_replicas=self.info.world_size,
                                         rank=self.info.rank, shuffle=False)  # fmt: skip
            order = [order[i] for i in sampler]
        batches = epoch_batches(order, self.rank_batch)
        if max_batches is not None:  # benchmarks only: a few batches of the real loop
            batches = batches[:max_batches]
        self.epoch_sampler.batches = batches
        loader = self.train_loader(epoch)
        method.begin_epoch(epoch, cfg.epochs)
        method.train()
        # batch losses and sizes stay on the device: no host-device sync inside the epoch
        losses = torch.zeros(len(batches), dtype=torch.float32, device=self.device)
        sizes = torch.tensor([len(b) for b in batches], dtype=torch.float32, device=self.device)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=not self.progress)  # fmt: skip
        for b, (images, labels, index) in enumerate(bar):
            images = to_device(images, self.device)
            labels = labels.to(self.device, non_blocking=True)
            index = index.to(self.device, non_blocking=True)
            self.optimizer.zero_grad(set_to_none=True)
            ctx = self.autocast if self.autocast is not None else contextlib.nullcontext()
            with ctx:
                out = self.model(images)
            loss = method.loss(out.float(), labels, index)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            losses[b] = loss.detach()
        values = losses.cpu()
        bad = torch.nonzero(~torch.isfinite(values)).flatten()
        if bad.numel():
            b = int(bad[0])
            raise FloatingPointError(
                f"{cfg.method}: non-finite loss {float(values[b])} at epoch {epoch}, batch {b}"
            )
        total = float((losses * sizes).sum()) if len(batches) else 0.0
        count = sum(len(b) for b in batches)
        ddp.merge_bank_rows(method, method.bank_buffers, order, self.info)
        method.end_epoch(epoch)
        ddp.sync_buffers(method, self.info)
        self.scheduler.step()
        return total / max(count, 1)

    # ---- validation ------------------------------------------------------------------
    def train_codes(self) -> np.ndarray:
        """Database codes of the training items: learned (asymmetric) or encoded."""
        v = self.method.train_database_codes()
        if v is not None:
            return check_codes(v.detach().cpu().numpy(), len(self.protocol.train),
                               self.cfg.n_bits, f"{self.cfg.method}.train_database_codes()")  # fmt: skip
        return self.encode(self.protocol.train, "database", desc="encode train", keep=True)

    def encode(self, split, which: str, rows=None, desc: str = "encode",
               keep: bool = False) -> np.ndarray:
        """Codes of a split; ``keep``: reuse a persistent loader (splits of validation)."""
        return encode_split(self.method, split, scale=self.cfg.scale, which=which,
                            device=self.device, batch_size=self.cfg.encode_batch_size,
                            num_workers=self.cfg.num_workers, rows=rows, info=self.info,
                            autocast=self.autocast, progress=self.progress, desc=desc,
                            cache=self.encode_loaders if keep else None)  # fmt: skip

    def validate(self) -> float:
        from hashlib_core.metrics import mean_average_precision

        p = self.protocol
        q = self.encode(p.val, "query", desc="encode val", keep=True)
        db = self.train_codes()
        # the cut-off is clipped to the validation database (the training items), as the
        # final evaluation clips it to the database
        topk = None if p.topk is None else min(int(p.topk), len(p.train))
        return float(mean_average_precision(q, db, p.val.labels, p.train.labels, topk=topk))

    def report(self, state: dict[str, Any]) -> None:
        """Progress: a plain line (``progress="lines"``) and ``run_dir/progress.json``."""
        if not self.info.is_main:
            return
        if self.lines:
            print(f"{self.cfg.method} {self.cfg.n_bits} bits: {live.format_state(state)}",
                  flush=True)
        if self.run_dir is not None:
            live.write(self.run_dir, state)

    def progress_state(self, epoch: int, t0: float, seconds: list[float], phase: str = "training"):
        earlier = float(sum(h.get("seconds", 0.0) for h in self.history[: self.start_epoch]))
        vals = [h for h in self.history if h.get("val_map") is not None]
        last = self.history[-1] if self.history else {}
        return live.state(epoch=epoch, epochs=self.cfg.epochs, loss=last.get("loss"),
                          val_map=vals[-1]["val_map"] if vals else None,
                          val_epoch=vals[-1]["epoch"] + 1 if vals else None,
                          elapsed_s=earlier + time.perf_counter() - t0,
                          epoch_seconds=seconds, phase=phase)

    def fit(self, callbacks: Sequence[Callback]) -> float:
        cfg = self.cfg
        selecting = cfg.eval_every > 0 and len(self.protocol.val) > 0
        t0 = time.perf_counter()
        seconds: list[float] = []
        if self.start_epoch < cfg.epochs:
            self.report(self.progress_state(self.start_epoch, t0, seconds))
        bar = tqdm(range(self.start_epoch, cfg.epochs), total=cfg.epochs, initial=self.start_epoch,
                   desc=f"{cfg.method} {cfg.n_bits} bits", disable=not self.progress)  # fmt: skip
        for epoch in bar:
            te = time.perf_counter()
            lr = self.optimizer.param_groups[0]["lr"]
            loss = self.train_epoch(epoch)
            entry: dict[str, Any] = {"epoch": epoch, "loss": loss, "lr": lr, "val_map": None}
            last = epoch == cfg.epochs - 1
            if selecting and ((epoch + 1) % cfg.eval_every == 0 or last):
                val = self.validate()
                entry["val_map"] = val
                if val > self.best_val:
                    self.best_val, self.best_epoch = val, epoch
                    self.best_state = {k: v.detach().clone() for k, v in self.method.state_dict().items()}
                    if self.run_dir is not None and self.info.is_main:
                        ckpt.atomic_save({"format": ckpt.FORMAT, "epoch": epoch,
                                          "method": self.best_state}, self.run_dir / ckpt.BEST)  # fmt: skip
            entry["seconds"] = time.perf_counter() - te
            self.history.append(entry)
            self.save(epoch)
            seconds.append(entry["seconds"])
            self.report(self.progress_state(epoch + 1, t0, seconds))
            bar.set_postfix(loss=f"{loss:.4f}", val_map="-" if entry["val_map"] is None
                            else f"{entry['val_map']:.3f}")  # fmt: skip
            for cb in callbacks:
                cb(epoch, entry, self.method)
        self.report(self.progress_state(cfg.epochs, t0, seconds, phase="encoding"))
        if not selecting:
            self.best_epoch, self.best_state = cfg.epochs - 1, None
        if self.best_state is not None:
            self.method.load_state_dict(self.best_state)
            self.method.to(self.device)
        return time.perf_counter() - t0

    def encode_all(self) -> tuple[np.ndarray, np.ndarray]:
        p, k = self.protocol, self.cfg.n_bits
        query = self.encode(p.query, "query", desc="encode query")
        db = np.zeros((len(p.database), k), dtype=np.int8)
        todo = np.ones(len(p.database), dtype=bool)
        v = self.method.train_database_codes()
        if v is not None:
            v = check_codes(v.detach().cpu().numpy(), len(p.train), k,
                            f"{self.cfg.method}.train_database_codes()")  # fmt: skip
            pos = np.asarray(p.train_in_database)
            inside = pos >= 0
            db[pos[inside]] = v[inside]
            todo[pos[inside]] = False
        rows = np.flatnonzero(todo)
        if rows.size:
            db[rows] = self.encode(p.database, "database", rows=rows, desc="encode database")
        return check_codes(query, len(p.query), k, "query"), check_codes(db, len(p.database), k, "database")


class ProtocolDeviation(ValueError):
    """A paper-scale run on a protocol whose sizes are not the paper's, not allowed."""


def protocol_check(cfg: RunConfig, protocol) -> dict[str, Any]:
    """Compare the protocol's sizes with the paper's; stop a paper-scale run on a
    deviation unless ``cfg.allow_protocol_deviation``.

    Returns
    -------
    dict
        ``protocol_sizes``, ``protocol_deviations`` (list of str, empty when the sizes are
        the paper's) and ``protocol_deviation_allowed`` (bool), for the record.
    """
    from hashlib_core.data.protocols import PAPER_SIZES, protocol_sizes, size_deviations

    deviations = size_deviations(protocol)
    if cfg.scale == "paper" and deviations and not cfg.allow_protocol_deviation:
        raise ProtocolDeviation(
            f"{protocol.name}: not the paper's protocol ({'; '.join(deviations)}); check the "
            f"dataset with python -m hashlib_core.data check {protocol.name}, or pass "
            "--allow-protocol-deviation (RunConfig.allow_protocol_deviation) to run on it anyway "
            "(the record and the book's tables then mark the run)")
    return {"protocol_sizes": protocol_sizes(protocol),
            "paper_sizes": PAPER_SIZES.get(protocol.name),
            "protocol_deviations": deviations,
            "protocol_deviation_allowed": bool(deviations) and cfg.allow_protocol_deviation}


def run(cfg: RunConfig, *, progress: bool | str = True,
        callbacks: Sequence[Callback] = ()) -> RunResult:
    """Train (or fit) one configuration, select on validation, encode and evaluate.

    Parameters
    ----------
    cfg : RunConfig
    progress : bool or "lines"
        True: tqdm bars (epochs, batches, encoding) with time left; ``"lines"``: one plain
        line per epoch (for logs); rank 0 only. ``run_dir/progress.json`` is written
        either way (:mod:`hashlib_core.progress`).
    callbacks : sequence of callables
        ``callback(epoch, history_entry, method)`` after each epoch's checkpoint (tests
        use one that raises to simulate a run killed at epoch k).

    Returns
    -------
    RunResult
    """
    if not isinstance(cfg, RunConfig):
        raise ValueError(f"run: cfg must be a RunConfig, got {type(cfg).__name__}")
    if progress not in (True, False, "lines"):
        raise ValueError(f"run: progress must be True, False or 'lines', got {progress!r}")
    t_start = time.perf_counter()
    prev_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_bench = torch.backends.cudnn.benchmark
    deep = get_method_class(cfg.method).kind != "shallow"
    # before anything else: the weights (one line when absent), then the device
    weights = resolve_weights(cfg.pretrained if deep else None, cfg.backbone)
    torch.use_deterministic_algorithms(cfg.deterministic, warn_only=True)
    torch.backends.cudnn.benchmark = not cfg.deterministic
    if cfg.device != "cpu" and cfg.deterministic:  # deterministic cuBLAS (before CUDA starts)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    info = ddp.env_info()
    device = resolve_device(cfg.device, info)
    owns_group = info.enabled and not torch.distributed.is_initialized()
    info = ddp.init(device)
    trainer = None
    try:
        protocol = load_protocol(cfg.protocol, seed=cfg.protocol_seed, root=cfg.data_root,
                                 cache_dir=cfg.cache_dir)  # fmt: skip
        run_info = protocol_check(cfg, protocol)
        run_info["weights"] = weights.as_record()
        if not deep:
            result = run_shallow(cfg, protocol, t_start=t_start)
            result.run_info = {**run_info, "world_size": 1, "global_batch": None}
            return result
        trainer = _Trainer(cfg, protocol, info, device, progress)
        run_info.update(world_size=info.world_size, per_device_batch=trainer.rank_batch,
                        global_batch=trainer.rank_batch * info.world_size,
                        amp=trainer.autocast is not None,
                        amp_dtype=cfg.amp_dtype if trainer.autocast is not None else None,
                        cudnn_benchmark=bool(torch.backends.cudnn.benchmark),
                        num_workers=cfg.num_workers)  # fmt: skip
        return _train_and_evaluate(trainer, protocol, run_info, device, callbacks, t_start)
    finally:
        if trainer is not None:
            trainer.close()
        if owns_group:
            ddp.cleanup(info)
        torch.backends.cudnn.benchmark = prev_bench
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.set_num_threads(prev_threads)


def _train_and_evaluate(trainer: _Trainer, protocol, run_info: dict[str, Any], device,
                        callbacks: Sequence[Callback], t_start: float) -> RunResult:
    """The deep run's steps after its setup: resume, train with validation selection,
    encode the query and database splits, evaluate; the result with its timings."""
    cfg = trainer.cfg
    trainer.resume()
    # a resumed run's times include the epochs its earlier processes trained (their
    # seconds are in the checkpointed history): the record states what the run cost
    earlier_s = float(sum(h.get("seconds", 0.0) for h in trainer.history))
    resumed_after = trainer.start_epoch
    train_s = trainer.fit(callbacks) + earlier_s
    trainer.close()
    t1 = time.perf_counter()
    query_codes, db_codes = trainer.encode_all()
    encode_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    ev = evaluate_codes(query_codes, db_codes, protocol)
    eval_s = time.perf_counter() - t2
    timings = {"train_s": train_s, "encode_s": encode_s, "eval_s": eval_s,
               "total_s": time.perf_counter() - t_start + earlier_s}  # fmt: skip
    if resumed_after:
        timings["resumed_after_epochs"] = resumed_after
    done = [h for h in trainer.history if "seconds" in h]
    if done:
        timings["epoch_s"] = float(np.mean([h["seconds"] for h in done]))
    return RunResult(
        config=cfg, query_codes=query_codes, db_codes=db_codes,
        query_labels=protocol.query.labels, db_labels=protocol.database.labels,
        eval=ev, history=trainer.history, best_epoch=trainer.best_epoch, timings=timings,
        device=str(device), manifest=protocol.manifest, manifest_sha256=protocol.manifest_sha256,
        run_info=run_info,
    )  # fmt: skip
