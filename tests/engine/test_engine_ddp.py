"""DistributedDataParallel on CPU: two processes with gloo under torchrun end with the
same weights and the same codes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

pytestmark = pytest.mark.slow

DRIVER = textwrap.dedent(
    """
    import os, sys, torch
    from hashlib_core.engine import RunConfig, run
    out, cache, method, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    cfg = RunConfig.from_scale("smoke", method=method, n_bits=16, epochs=epochs,
                               eval_every=1, cache_dir=cache, threads=1)
    def dump(epoch, entry, method):
        state = {k: v.detach().clone() for k, v in method.state_dict().items()}
        torch.save(state, os.path.join(out, f"weights{os.environ['RANK']}.pt"))
    r = run(cfg, progress=False, callbacks=[dump])
    torch.save({"q": r.query_codes, "db": r.db_codes, "map": r.scalars["map"],
                "history": r.history}, os.path.join(out, f"result{os.environ['RANK']}.pt"))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(tmp_path, cache_dir, method: str, epochs: int) -> None:
    from hashlib_core.data import load_protocol

    load_protocol("cifar10-smoke", cache_dir=cache_dir)  # decode once, before the ranks
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
           str(script), str(tmp_path), str(cache_dir), method, str(epochs)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_two_gloo_processes_end_with_identical_weights(shared_data, cache_dir, tmp_path):
    _torchrun(tmp_path, cache_dir, "csq", 2)
    w0 = torch.load(tmp_path / "weights0.pt")
    w1 = torch.load(tmp_path / "weights1.pt")
    assert w0.keys() == w1.keys()
    for k in w0:
        assert torch.equal(w0[k], w1[k]), f"rank 0 and rank 1 differ in {k}"
    r0 = torch.load(tmp_path / "result0.pt", weights_only=False)
    r1 = torch.load(tmp_path / "result1.pt", weights_only=False)
    assert (r0["q"] == r1["q"]).all() and (r0["db"] == r1["db"]).all()
    assert r0["map"] == r1["map"] and len(r0["history"]) == 2


def test_memory_bank_is_whole_on_every_rank(shared_data, cache_dir, tmp_path):
    """ADSH's code step reads u of every sampled item: rows written by rank 1 must reach
    rank 0 (without the merge, rank 0's bank kept zeros there and its V step used them)."""
    _torchrun(tmp_path, cache_dir, "adsh", 1)
    w0 = torch.load(tmp_path / "weights0.pt")
    w1 = torch.load(tmp_path / "weights1.pt")
    omega, bank = w0["omega"], w0["u_bank"]
    assert omega.numel() > 0
    zero_rows = int((bank[omega].abs().sum(dim=1) == 0).sum())
    assert zero_rows == 0, f"{zero_rows} of {omega.numel()} sampled rows never reached rank 0"
    assert torch.equal(bank, w1["u_bank"]) and torch.equal(w0["codes"], w1["codes"])
