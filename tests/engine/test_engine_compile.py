"""``RunConfig.compile``: off in every preset, outside the keys of eager runs, set from the
command line, and a compiled run repeats its codes (issue 23)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from hashlib_core import scales
from hashlib_core.engine import RunConfig
from hashlib_core.engine.__main__ import _pairs, parse_args
from hashlib_core.engine.config import NON_RESULT_FIELDS


def test_compile_is_off_in_every_preset_and_a_bool():
    for scale in scales.SCALES:
        assert RunConfig.from_scale(scale, method="csq", n_bits=16).compile is False
    with pytest.raises(ValueError, match=r"RunConfig\.compile: must be True or False"):
        RunConfig(method="csq", n_bits=16, compile="true")


def test_compile_enters_the_key_only_when_on():
    """A record written before the field existed keeps its key; a compiled run has its own."""
    old = {"method": "csq", "n_bits": 16, "protocol": "cifar10-i", "scale": "cpu",
           "backbone": "smallcnn", "pretrained": None, "image_size": 32, "epochs": 40,
           "batch_size": 128, "lr": 0.01, "weight_decay": 1e-05, "optimizer": "adam",
           "momentum": 0.9, "lr_schedule": "cosine", "lr_step": 50, "seed": 0,
           "protocol_seed": 0, "device": "cpu", "amp": False, "amp_dtype": "bfloat16",
           "num_workers": 0, "eval_every": 2, "encode_batch_size": 1000, "run_dir": None,
           "method_overrides": {}, "features": "gist", "variant": None, "data_root": None,
           "cache_dir": None, "threads": None, "deterministic": True,
           "allow_protocol_deviation": False}  # a cpu record's config, before compile
    kept = {k: v for k, v in old.items() if k not in NON_RESULT_FIELDS and k != "deterministic"}
    old_key = hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()
    eager = RunConfig(**old)
    assert eager.compile is False and eager.result_key() == old_key
    compiled = eager.replace(compile=True)
    assert compiled.result_key() != old_key
    assert compiled.to_dict()["compile"] is True


def test_compile_from_the_command_line():
    a = parse_args(["--scale", "cpu", "--method", "csq", "--n-bits", "16",
                    "--set", "compile=true", "--set", "deterministic=False"])  # fmt: skip
    fields = _pairs(a.set, "--set")
    assert fields == {"compile": True, "deterministic": False}
    cfg = RunConfig.from_scale("cpu", method="csq", n_bits=16, **fields)
    assert cfg.compile is True and cfg.deterministic is False
    assert _pairs(["compile=FALSE"], "--set") == {"compile": False}


def test_compile_backbone_keeps_the_state_dict_and_the_outputs():
    """In place: checkpoints of eager and compiled runs load into each other."""
    from hashlib_core.engine.train import compile_backbone
    from hashlib_core.methods import create_method
    from hashlib_core.models.backbones import create_backbone

    torch.manual_seed(0)
    m = create_method("csq", 16, 10)
    m.build(lambda: create_backbone("smallcnn", pretrained=None, image_size=32))
    keys = list(m.state_dict())
    compile_backbone(m, RunConfig(method="csq", n_bits=16, compile=True))
    assert list(m.state_dict()) == keys
    assert hasattr(m.backbone, "_compiled_call_impl") and m.backbone._compiled_call_impl is not None


@pytest.mark.slow
def test_a_compiled_run_repeats_its_codes(shared_data, cache_dir):
    """Two compiled runs of one seed: the same codes, bit for bit (first compilation:
    tens of seconds on a loaded CPU; the second run reads inductor's cache)."""
    from hashlib_core.data import load_protocol
    from hashlib_core.engine import run

    try:
        load_protocol("cifar10-smoke", cache_dir=cache_dir)
    except (ValueError, FileNotFoundError) as err:
        pytest.skip(f"cifar10-smoke not available: {err}")
    cfg = RunConfig.from_scale("smoke", method="csq", n_bits=16, epochs=2, eval_every=1,
                               cache_dir=str(cache_dir), threads=1, compile=True)
    torch._dynamo.reset()
    a = run(cfg, progress=False)
    torch._dynamo.reset()
    b = run(cfg, progress=False)
    np.testing.assert_array_equal(a.query_codes, b.query_codes)
    np.testing.assert_array_equal(a.db_codes, b.db_codes)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert len(set(np.unique(a.db_codes))) == 2  # the network learnt codes of both signs
