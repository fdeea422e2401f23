"""A short DAPH training probe: a few epochs on a protocol, the validation mAP every
other epoch and, at the end, how far the two streams drift on a common offset.

The measurement behind the DAPH page's "Normalisation" section (``book/methods/daph.md``):
with a weak balance term the query and database networks move their outputs apart on a
common offset (u near a, z near -a on every image), which lowers the likelihood of the
dissimilar pairs without looking at the labels. The probe prints, per epoch, the mean
over the bits of |mean_i u_ik| (the offset) next to mean |u_ik|, for both streams, and
the cosine between the two streams' offsets (-1: opposite directions).

Usage (about 50 s per epoch of ``cifar10-i`` on one core)::

    python scripts/daph_probe.py --epochs 4 --beta 0.125
    python scripts/daph_probe.py --epochs 4 --beta 0.01    # a weaker balance, to compare
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--protocol", default="cifar10-i")
    ap.add_argument("--scale", default="cpu")
    ap.add_argument("--bits", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--optimizer", default="adam")
    ap.add_argument("--seed", type=int, default=0)
    for name in ("alpha", "gamma", "lam", "beta"):
        ap.add_argument(f"--{name}", type=float, default=None,
                        help=f"DAPH's {name} (default: the method's)")
    args = ap.parse_args(argv)

    from hashlib_core.data.protocols import load_protocol
    from hashlib_core.engine import distributed as ddp
    from hashlib_core.engine import train as T
    from hashlib_core.engine.config import RunConfig

    torch.set_num_threads(1)
    overrides = {k: getattr(args, k) for k in ("alpha", "gamma", "lam", "beta")
                 if getattr(args, k) is not None}
    cfg = RunConfig.from_scale(args.scale, method="daph", n_bits=args.bits,
                               protocol=args.protocol, seed=args.seed,
                               optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
                               run_dir=None, method_overrides=overrides)
    protocol = load_protocol(cfg.protocol, seed=cfg.protocol_seed)
    trainer = T._Trainer(cfg, protocol, ddp.env_info(), torch.device("cpu"), False)
    method = trainer.method
    print(json.dumps({"settings": {**method.hparams, "lr": args.lr, "bits": args.bits,
                                   "protocol": args.protocol}}), flush=True)
    start = time.time()
    for epoch in range(args.epochs):
        loss = trainer.train_epoch(epoch)
        method.eval()
        val = trainer.validate() if epoch % 2 == 1 or epoch == args.epochs - 1 else None
        row = {"epoch": epoch + 1, "loss": round(loss, 4),
               "val_map": None if val is None else round(val, 4),
               "seconds": round(time.time() - start)}
        for stream, bank in (("u", method.u_bank), ("z", method.z_bank)):
            row[f"{stream}_offset"] = round(bank.mean(0).abs().mean().item(), 3)
            row[f"{stream}_magnitude"] = round(bank.abs().mean().item(), 3)
        # -1: the two streams' offsets point in opposite directions (the label-blind move)
        row["offset_cosine"] = round(torch.nn.functional.cosine_similarity(
            method.u_bank.mean(0), method.z_bank.mean(0), dim=0).item(), 3)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
