"""Encoding splits to codes, and the validation mAP used for model selection."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from hashlib_core.data import make_torch_dataset
from hashlib_core.engine.distributed import DistInfo, all_gather_objects, shard


def to_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a batch to ``device`` in channels-last layout (faster convolutions)."""
    images = images.to(device, non_blocking=True)
    if images.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)
    return images


#: batches each loader worker prepares ahead (DataLoader's prefetch_factor)
PREFETCH = 4


def make_loader(dataset, *, device: torch.device, num_workers: int, persistent: bool = False,
                batch_size: int | None = None, batch_sampler=None,
                generator: torch.Generator | None = None) -> DataLoader:
    """A DataLoader set up for speed: pinned memory on CUDA; with workers, a prefetch of
    :data:`PREFETCH` batches each and (``persistent``) workers kept alive between passes."""
    kwargs = {}
    if num_workers > 0:
        kwargs = {"prefetch_factor": PREFETCH, "persistent_workers": persistent}
    if batch_sampler is not None:
        return DataLoader(dataset, batch_sampler=batch_sampler, num_workers=num_workers,
                          pin_memory=device.type == "cuda", generator=generator, **kwargs)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                      pin_memory=device.type == "cuda", generator=generator, **kwargs)


def encode_split(
    method: torch.nn.Module,
    split,
    *,
    scale: str,
    which: str,
    device: torch.device,
    batch_size: int,
    num_workers: int = 0,
    rows: np.ndarray | None = None,
    info: DistInfo | None = None,
    autocast: torch.autocast | None = None,
    progress: bool = False,
    desc: str = "encode",
    cache: dict | None = None,
) -> np.ndarray:
    """Codes in {-1,+1} of (some rows of) a split, with augmentation off.

    Parameters
    ----------
    method : DeepHashMethod
        Put in eval mode here; ``which`` picks ``encode_query`` or ``encode_database``.
    split : hashlib_core.data.Split
    scale : str
        The transform (``make_torch_dataset(split, scale=scale, train=False)``).
    which : {"query", "database"}
    rows : ndarray of int, optional
        Positions in the split to encode (default: all), in the order returned.
    info : DistInfo, optional
        Under DDP every rank encodes a contiguous shard; the shards are gathered.
    cache : dict, optional
        Keeps this split's loader (persistent workers) for the next call with the same
        split and rows (the splits encoded at every validation).

    Returns
    -------
    ndarray of shape (len(rows), n_bits), int8
    """
    if which not in ("query", "database"):
        raise ValueError(f"which must be 'query' or 'database', got {which!r}")
    info = info or DistInfo()
    rows = np.arange(len(split)) if rows is None else np.asarray(rows, dtype=np.int64)
    mine = rows[list(shard(len(rows), info))] if info.enabled else rows
    key = (id(split), which, hash(mine.tobytes()))
    loader = None if cache is None else cache.get(key)
    if loader is None:
        dataset = Subset(make_torch_dataset(split, scale=scale, train=False), mine.tolist())
        loader = make_loader(dataset, device=device, num_workers=num_workers,
                             batch_size=batch_size, persistent=cache is not None)
        if cache is not None:
            cache[key] = loader
    encode = method.encode_query if which == "query" else method.encode_database
    was_training = method.training
    method.eval()
    chunks = []
    with torch.inference_mode():
        for images, _, _ in tqdm(loader, desc=desc, leave=False, disable=not progress):
            images = to_device(images, device)
            if autocast is not None:
                with autocast:
                    codes = encode(images)
            else:
                codes = encode(images)
            chunks.append(codes.to(torch.int8))  # on the device: one copy at the end
    method.train(was_training)
    n_bits = int(method.n_bits)
    out = torch.cat(chunks).cpu().numpy() if chunks else np.zeros((0, n_bits), np.int8)
    if info.enabled:
        out = np.concatenate(all_gather_objects(out, info))
    return out


def check_codes(codes: np.ndarray, n_rows: int, n_bits: int, what: str) -> np.ndarray:
    """Validate codes: shape (n_rows, n_bits), values in {-1,+1}; return them as int8."""
    codes = np.asarray(codes)
    if codes.shape != (n_rows, n_bits):
        raise ValueError(f"{what}: codes have shape {codes.shape}, expected ({n_rows}, {n_bits})")
    if not np.isin(codes, (-1, 1)).all():
        bad = np.unique(codes[~np.isin(codes, (-1, 1))])[:5]
        raise ValueError(f"{what}: codes must be in {{-1,+1}}, found values {bad.tolist()}")
    return codes.astype(np.int8)
