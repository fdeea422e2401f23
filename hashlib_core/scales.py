"""The three scales' presets: ``smoke``, ``cpu`` and ``paper``.

A preset is the set of :class:`~hashlib_core.engine.RunConfig` fields that a scale fixes;
``RunConfig.from_scale(scale, method=..., n_bits=..., **overrides)`` starts from it, then
applies the per-method entries of :data:`METHOD_PRESETS` (where a method's procedure
needs another schedule at that scale), then the caller's overrides. A method's own
hyper-parameters are never set here: they are the class defaults (the papers' values),
changed only through ``method_overrides``.

``smoke``
    ``cifar10-smoke`` (a small real CIFAR-10 subset), the small CNN at 32 px, a few
    epochs: seconds per run, used by CI to build the whole book.
``cpu``
    ``cifar10-i`` (1,000 queries, 5,000 training images of which 500 are the
    validation split, 59,000 database images), the small CNN trained from scratch at 32
    px for 40 epochs with a cosine schedule (per epoch), validation every 2 epochs (the
    best epoch is kept). Adam at 1e-3 is the default; the grid's deep cells use each
    method's tuned optimiser and learning rate (:data:`hashlib_core.runner.grids.TUNE_CONFIGS`).
    40 epochs: at 30, 13 of 14 deep methods were still gaining more than 0.005
    validation mAP over the last 20% of the epochs (the first cpu grid); about four
    minutes per run on one thread.
``paper``
    The papers' setting: ImageNet-pretrained ResNet50 at 224 px, batch 64, RMSprop with
    lr 1e-5 and weight decay 1e-5 as DeepHash-pytorch's CSQ configuration, evaluated
    every 5 epochs; the protocol defaults to ``cifar10-i`` and is set per dataset
    (``imagenet100``, ``nuswide-21``, ``coco``), whose mAP cut-off comes with the protocol.
    Run for speed on a GPU: bf16 autocast (``amp``; ignored on a CPU), channels-last,
    ``cudnn.benchmark`` (``deterministic=False``), and :func:`loader_workers` persistent
    DataLoader workers with pinned memory for training and encoding (see
    :mod:`hashlib_core.engine.train`).
"""

from __future__ import annotations

import os
from typing import Any


def loader_workers(cpus: int | None = None) -> int:
    """DataLoader workers of the paper preset: every core but one for the main process,
    at most 16 (JPEG decoding at 224 px costs 4-6 ms of one core per image, so 16 workers
    feed about 3,000 images/s; more gain nothing at ResNet50's speed on one GPU), and
    divided among the processes of a ``torchrun`` run (``LOCAL_WORLD_SIZE``)."""
    cpus = cpus if cpus is not None else len(os.sched_getaffinity(0)) \
        if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_node = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(0, min(16, (cpus - per_node) // per_node))


SCALES = ("smoke", "cpu", "paper")

PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "protocol": "cifar10-smoke",
        "backbone": "smallcnn",
        "pretrained": None,
        "image_size": 32,
        "epochs": 4,
        "batch_size": 64,
        "optimizer": "adam",
        "lr": 1e-3,
        "weight_decay": 1e-5,
        "lr_schedule": "cosine",
        "eval_every": 2,
        "encode_batch_size": 500,
    },
    "cpu": {
        "protocol": "cifar10-i",
        "backbone": "smallcnn",
        "pretrained": None,
        "image_size": 32,
        "epochs": 40,
        "batch_size": 128,
        "optimizer": "adam",
        "lr": 1e-3,
        "weight_decay": 1e-5,
        "lr_schedule": "cosine",
        "eval_every": 2,
        # one thread encodes the small CNN 1.5x faster in batches of 128 than of 1,000
        # (cache-sized activations; benchmarks/bench_encode_batch.py)
        "encode_batch_size": 128,
    },
    "paper": {
        "protocol": "cifar10-i",
        "backbone": "resnet50",
        "pretrained": "IMAGENET1K_V1",
        "image_size": 224,
        "epochs": 150,
        "batch_size": 64,
        "optimizer": "rmsprop",
        "lr": 1e-5,
        "weight_decay": 1e-5,
        "lr_schedule": "constant",
        "eval_every": 5,
        "encode_batch_size": 256,
        "amp": True,
        "amp_dtype": "bfloat16",
        "deterministic": False,
    },
}

#: per-scale, per-method changes of the training schedule (not of the method's own
#: hyper-parameters), where a method's procedure counts epochs differently
METHOD_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {},
    "cpu": {},
    "paper": {
        # ADSH's schedule: 50 outer iterations (one engine epoch each: 3 passes over
        # 2,000 sampled items, then the closed-form code step); DSAH reuses it
        "adsh": {"epochs": 50},
        "dsah": {"epochs": 50},
        # SHNet's scan: Adam (0.9, 0.999), batch 64, batch-norm momentum 0.1 (torch's
        # defaults) and "0.005", read as the weight decay (reconstructed); the learning
        # rate's exponent is illegible, so CSQ's 1e-5 stays (reconstructed)
        "shnet": {"optimizer": "adam", "weight_decay": 5e-3},
    },
}


def preset(scale: str, method: str | None = None) -> dict[str, Any]:
    """The RunConfig fields a scale fixes (a fresh dict), with the method's entries applied.

    Raises
    ------
    ValueError
        If ``scale`` is not one of :data:`SCALES`.
    """
    if scale not in PRESETS:
        raise ValueError(f"scale: unknown scale {scale!r}; known: {', '.join(SCALES)}")
    out = dict(PRESETS[scale])
    if scale == "paper":
        out["num_workers"] = loader_workers()
    if method is not None:
        out.update(METHOD_PRESETS[scale].get(str(method).lower(), {}))
    out["scale"] = scale
    return out
