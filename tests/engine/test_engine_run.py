"""run(): results, selection on validation, determinism, resume after a kill, asymmetric
database rows, shallow methods, the command line. Real data (cifar10-smoke), tiny runs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from hashlib_core.engine import RunConfig, RunResult, run
from hashlib_core.engine import checkpoint as ckpt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke(shared_data, cache_dir):
    from hashlib_core.data import load_protocol

    try:
        return load_protocol("cifar10-smoke", cache_dir=cache_dir)
    except (ValueError, FileNotFoundError) as err:
        pytest.skip(f"cifar10-smoke not available: {err}")


def _cfg(cache_dir, **kw) -> RunConfig:
    base = {"epochs": 3, "eval_every": 1, "cache_dir": str(cache_dir), "threads": 2}
    return RunConfig.from_scale("smoke", method=kw.pop("method", "csq"), n_bits=kw.pop("n_bits", 16),
                                **{**base, **kw})  # fmt: skip


def test_result_selection_and_checkpoints(smoke, cache_dir, tmp_path):
    cfg = _cfg(cache_dir, run_dir=str(tmp_path / "run"))
    r = run(cfg, progress=False)
    assert isinstance(r, RunResult) and r.config == cfg
    assert r.query_codes.shape == (len(smoke.query), 16) and r.query_codes.dtype == np.int8
    assert r.db_codes.shape == (len(smoke.database), 16)
    assert set(np.unique(r.db_codes)) <= {-1, 1}
    np.testing.assert_array_equal(r.query_labels, smoke.query.labels)
    assert r.manifest_sha256 == smoke.manifest_sha256
    assert 0.0 <= r.eval.scalars["map"] <= 1.0
    vals = [h["val_map"] for h in r.history]
    assert len(r.history) == 3 and all(v is not None for v in vals)
    assert r.best_epoch == int(np.argmax(vals))  # selected on validation, first best
    assert {"train_s", "encode_s", "eval_s", "total_s", "epoch_s"} <= set(r.timings)
    last = ckpt.load(tmp_path / "run" / ckpt.LAST)
    best = ckpt.load(tmp_path / "run" / ckpt.BEST)
    assert last["epoch"] == 2 and best["epoch"] == r.best_epoch
    assert {"torch", "numpy", "python", "generator"} <= set(last["rng"][0])
    # same run_dir, other config: the message names the differing field and the way out
    with pytest.raises(ValueError, match=r"checkpoint of other settings \(lr: checkpoint 0.001, "
                                         r"now 0.002\); to start afresh remove .*--force"):
        run(cfg.replace(lr=2e-3), progress=False)
    # a checkpoint of an earlier revision of the method's code is never resumed (CSQ's
    # revision 2: a run resumed from a revision-1 checkpoint would mix the two losses)
    assert last["method_revision"] == 2
    state = torch.load(tmp_path / "run" / ckpt.LAST, weights_only=True)
    state["method_revision"] = 1
    torch.save(state, tmp_path / "run" / ckpt.LAST)
    with pytest.raises(ValueError, match=r"checkpoint of csq revision 1; the code is at "
                                         r"revision 2 \(CSQ's BCE term in float64"):
        run(cfg, progress=False)
    from hashlib_core.runner.plan import _checkpoint_state

    state_now, why = _checkpoint_state(tmp_path / "run", cfg)
    assert state_now == "other" and "made with csq revision 1" in why


class _Killed(RuntimeError):
    pass


def test_same_seed_same_codes_and_resume_after_kills(smoke, cache_dir, tmp_path, monkeypatch):
    ref = run(_cfg(cache_dir, run_dir=str(tmp_path / "a")), progress=False)
    cfg = _cfg(cache_dir, run_dir=str(tmp_path / "b"))

    def kill_after_first_epoch(epoch, entry, method):
        if epoch == 0:
            raise _Killed("killed after the checkpoint of epoch 0")

    with pytest.raises(_Killed):
        run(cfg, progress=False, callbacks=[kill_after_first_epoch])
    assert ckpt.load(tmp_path / "b" / ckpt.LAST)["epoch"] == 0

    from hashlib_core.methods.csq import CSQ

    original, calls = CSQ.loss, {"n": 0}

    def loss_killed_mid_epoch(self, u, labels, index):
        calls["n"] += 1
        if calls["n"] == 10:  # epoch 1 has 8 batches: this is inside epoch 2
            raise _Killed("killed inside epoch 2")
        return original(self, u, labels, index)

    monkeypatch.setattr(CSQ, "loss", loss_killed_mid_epoch)
    with pytest.raises(_Killed):
        run(cfg, progress=False)
    assert ckpt.load(tmp_path / "b" / ckpt.LAST)["epoch"] == 1
    monkeypatch.setattr(CSQ, "loss", original)
    resumed = run(cfg, progress=False)
    # the record's times count the epochs trained before the resume too
    assert resumed.timings["resumed_after_epochs"] == 2 and "resumed_after_epochs" not in ref.timings
    epochs_s = sum(h["seconds"] for h in resumed.history)
    assert resumed.timings["train_s"] >= epochs_s
    assert resumed.timings["total_s"] >= resumed.timings["train_s"] + resumed.timings["encode_s"]
    np.testing.assert_array_equal(resumed.query_codes, ref.query_codes)
    np.testing.assert_array_equal(resumed.db_codes, ref.db_codes)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in ref.history]
    assert resumed.best_epoch == ref.best_epoch
    other = run(_cfg(cache_dir, seed=1), progress=False)
    assert not np.array_equal(other.query_codes, ref.query_codes)


def test_asymmetric_database_rows_are_the_learned_codes(smoke, cache_dir):
    captured = {}

    def grab(epoch, entry, method):
        captured["v"] = method.train_database_codes().cpu().numpy()

    r = run(_cfg(cache_dir, method="adsh", epochs=2, eval_every=0, method_overrides={"num_samples": 200}),
            progress=False, callbacks=[grab])  # fmt: skip
    pos = np.asarray(smoke.train_in_database)
    inside = pos >= 0
    assert inside.sum() == len(smoke.train)
    np.testing.assert_array_equal(r.db_codes[pos[inside]], captured["v"][inside].astype(np.int8))
    assert set(np.unique(r.db_codes)) <= {-1, 1}


def test_shallow_method_through_run(smoke, cache_dir):
    r = run(RunConfig.from_scale("smoke", method="lsh", n_bits=16, cache_dir=str(cache_dir)), progress=False)
    assert r.history == [] and r.best_epoch == -1
    assert r.query_codes.shape == (len(smoke.query), 16) and 0 < r.eval.scalars["map"] < 1


def test_command_line(smoke, cache_dir):
    out = subprocess.run(
        [sys.executable, "-m", "hashlib_core.engine", "--scale", "smoke", "--method", "csq",
         "--n-bits", "8", "--epochs", "1", "--cache-dir", str(cache_dir), "--threads", "2",
         "--json", "--no-progress"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert 0 < data["scalars"]["map"] <= 1 and data["timings"]["total_s"] > 0
    bad = subprocess.run([sys.executable, "-m", "hashlib_core.engine", "--scale", "smoke",
                          "--method", "csq", "--n-bits", "0"], capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "--n-bits: must be a positive integer" in bad.stderr


def test_amp_is_ignored_on_cpu(smoke, cache_dir):
    r = run(_cfg(cache_dir, epochs=1, amp=True), progress=False)
    assert r.device == "cpu" and torch.isfinite(torch.tensor(r.history[0]["loss"]))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_amp_on_cuda(smoke, cache_dir, dtype):
    r = run(_cfg(cache_dir, epochs=2, device="cuda", amp=True, amp_dtype=dtype), progress=False)
    assert r.device.startswith("cuda") and all(np.isfinite(h["loss"]) for h in r.history)
    assert set(np.unique(r.query_codes)) <= {-1, 1} and r.eval.scalars["map"] > 0
