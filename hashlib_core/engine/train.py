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
same codes as an uninterrupted run (same seed, CPU); a run interrupted inside an epoch
repeats that epoch from its start.
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

from hashlib_core.data import load_protocol, make_torch_dataset
from hashlib_core.engine import checkpoint as ckpt
from hashlib_core.engine import distributed as ddp
from hashlib_core.engine.config import RunConfig
from hashlib_core.engine.encode import check_codes, encode_split, to_device
from hashlib_core.engine.result import RunResult, evaluate_codes, run_shallow
from hashlib_core.methods import create_method, get_method_class
from hashlib_core.models.backbones import create_backbone

Callback = Callable[[int, dict[str, Any], torch.nn.Module], None]


def resolve_device(name: str, info: ddp.DistInfo) -> torch.device:
    """``"auto"`` -> cuda when available; under DDP on CUDA, the local rank's GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"RunConfig.device: {name!r} requested but CUDA is not available")
        if info.enabled and name == "cuda":
            name = f"cuda:{info.local_rank}"
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


def epoch_batches(order: list[int], batch_size: int) -> list[list[int]]:
    """Split an epoch's order into batches; a last batch of one item joins the previous one
    (pairwise losses need two items)."""
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) < 2:
        tail = batches.pop()
        batches[-1] = batches[-1] + tail
    return batches


class _Trainer:
    """State of one deep run; ``run()`` drives it."""

    def __init__(self, cfg: RunConfig, protocol, info: ddp.DistInfo, device: torch.device,
                 progress: bool) -> None:  # fmt: skip
        self.cfg, self.protocol, self.info, self.device = cfg, protocol, info, device
        self.progress = progress and info.is_main
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
            from hashlib_core.results import result_settings, settings_differences

            diff = settings_differences({"config": state["config"]},
                                        result_settings(self.cfg, None), stored_as="checkpoint")
            raise ValueError(
                f"{self.run_dir / ckpt.LAST} holds a checkpoint of other settings "
                f"({'; '.join(diff) or 'another configuration'}); to start afresh remove "
                f"{self.run_dir} (python -m hashlib_core.reproduce: --force) or use another run_dir"
            )
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
        }, self.run_dir / ckpt.LAST)  # fmt: skip

    # ---- one epoch -----------------------------------------------------------------
    def train_epoch(self, epoch: int) -> float:
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
        batches = epoch_batches(order, cfg.batch_size)
        loader = DataLoader(self.train_set, batch_sampler=batches, num_workers=cfg.num_workers,
                            generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch),
                            pin_memory=self.device.type == "cuda")  # fmt: skip
        method.begin_epoch(epoch, cfg.epochs)
        method.train()
        total, count = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=not self.progress)  # fmt: skip
        for b, (images, labels, index) in enumerate(bar):
            images = to_device(images, self.device)
            labels, index = labels.to(self.device), index.to(self.device)
            self.optimizer.zero_grad(set_to_none=True)
            ctx = self.autocast if self.autocast is not None else contextlib.nullcontext()
            with ctx:
                out = self.model(images)
            loss = method.loss(out.float(), labels, index)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{cfg.method}: non-finite loss {loss.item()} at epoch {epoch}, batch {b}"
                )
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total += float(loss.detach()) * len(index)
            count += len(index)
            bar.set_postfix(loss=f"{total / count:.4f}")
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
        return self.encode(self.protocol.train, "database", desc="encode train")

    def encode(self, split, which: str, rows=None, desc: str = "encode") -> np.ndarray:
        return encode_split(self.method, split, scale=self.cfg.scale, which=which,
                            device=self.device, batch_size=self.cfg.encode_batch_size,
                            num_workers=self.cfg.num_workers, rows=rows, info=self.info,
                            autocast=self.autocast, progress=self.progress, desc=desc)  # fmt: skip

    def validate(self) -> float:
        from hashlib_core.metrics import mean_average_precision

        p = self.protocol
        q = self.encode(p.val, "query", desc="encode val")
        db = self.train_codes()
        return float(mean_average_precision(q, db, p.val.labels, p.train.labels, topk=p.topk))

    def fit(self, callbacks: Sequence[Callback]) -> float:
        cfg = self.cfg
        selecting = cfg.eval_every > 0 and len(self.protocol.val) > 0
        t0 = time.perf_counter()
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
            bar.set_postfix(loss=f"{loss:.4f}", val_map="-" if entry["val_map"] is None
                            else f"{entry['val_map']:.3f}")  # fmt: skip
            for cb in callbacks:
                cb(epoch, entry, self.method)
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


def run(cfg: RunConfig, *, progress: bool = True, callbacks: Sequence[Callback] = ()) -> RunResult:
    """Train (or fit) one configuration, select on validation, encode and evaluate.

    Parameters
    ----------
    cfg : RunConfig
    progress : bool
        tqdm bars (epochs, batches, encoding) with time left; rank 0 only.
    callbacks : sequence of callables
        ``callback(epoch, history_entry, method)`` after each epoch's checkpoint (tests
        use one that raises to simulate a run killed at epoch k).

    Returns
    -------
    RunResult
    """
    if not isinstance(cfg, RunConfig):
        raise ValueError(f"run: cfg must be a RunConfig, got {type(cfg).__name__}")
    t_start = time.perf_counter()
    prev_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    if cfg.device != "cpu":  # deterministic cuBLAS (must be set before CUDA starts)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    info = ddp.env_info()
    device = resolve_device(cfg.device, info)
    owns_group = info.enabled and not torch.distributed.is_initialized()
    info = ddp.init(device)
    try:
        protocol = load_protocol(cfg.protocol, seed=cfg.protocol_seed, root=cfg.data_root,
                                 cache_dir=cfg.cache_dir)  # fmt: skip
        if get_method_class(cfg.method).kind == "shallow":
            return run_shallow(cfg, protocol, t_start=t_start)
        trainer = _Trainer(cfg, protocol, info, device, progress)
        trainer.resume()
        train_s = trainer.fit(callbacks)
        t1 = time.perf_counter()
        query_codes, db_codes = trainer.encode_all()
        encode_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        ev = evaluate_codes(query_codes, db_codes, protocol)
        eval_s = time.perf_counter() - t2
        timings = {"train_s": train_s, "encode_s": encode_s, "eval_s": eval_s,
                   "total_s": time.perf_counter() - t_start}  # fmt: skip
        done = [h for h in trainer.history if "seconds" in h]
        if done:
            timings["epoch_s"] = float(np.mean([h["seconds"] for h in done]))
        return RunResult(
            config=cfg, query_codes=query_codes, db_codes=db_codes,
            query_labels=protocol.query.labels, db_labels=protocol.database.labels,
            eval=ev, history=trainer.history, best_epoch=trainer.best_epoch, timings=timings,
            device=str(device), manifest=protocol.manifest, manifest_sha256=protocol.manifest_sha256,
        )  # fmt: skip
    finally:
        if owns_group:
            ddp.cleanup(info)
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.set_num_threads(prev_threads)
