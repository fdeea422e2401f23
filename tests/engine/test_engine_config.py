"""RunConfig: validation naming the field, scale presets, hashing, CLI parsing."""

from __future__ import annotations

import pytest

from hashlib_core import scales
from hashlib_core.engine import RunConfig
from hashlib_core.engine.__main__ import _pairs, parse_args
from hashlib_core.engine.train import epoch_batches, lr_factor


def test_from_scale_fills_the_presets():
    cpu = RunConfig.from_scale("cpu", method="csq", n_bits=64)
    assert (cpu.protocol, cpu.backbone, cpu.image_size, cpu.scale) == ("cifar10-i", "smallcnn", 32, "cpu")
    smoke = RunConfig.from_scale("smoke", method="dpsh", n_bits=16, epochs=2)
    assert smoke.protocol == "cifar10-smoke" and smoke.epochs == 2
    paper = RunConfig.from_scale("paper", method="hashnet", n_bits=32, protocol="imagenet100")
    assert (paper.backbone, paper.pretrained, paper.image_size, paper.batch_size) == (
        "resnet50", "IMAGENET1K_V1", 224, 64)  # fmt: skip
    assert paper.protocol == "imagenet100" and paper.dataset == "imagenet100"
    assert set(scales.SCALES) == {"smoke", "cpu", "paper"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"method": "nope"}, "method"),
        ({"n_bits": 0}, "n_bits"),
        ({"n_bits": -16}, "n_bits"),
        ({"scale": "huge"}, "scale"),
        ({"protocol": "cifar11"}, "protocol"),
        ({"backbone": "resnet7"}, "backbone"),
        ({"optimizer": "lion"}, "optimizer"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"device": "tpu"}, "device"),
        ({"seed": -1}, "seed"),
        ({"method_overrides": {"lamda": 1}}, "method_overrides"),
    ],
)
def test_bad_fields_are_named(changes, field):
    base = {"method": "csq", "n_bits": 16}
    with pytest.raises(ValueError, match=rf"RunConfig\.{field}"):
        RunConfig(**{**base, **changes})


def test_from_scale_unknown_field_and_scale():
    with pytest.raises(ValueError, match="unknown field"):
        RunConfig.from_scale("cpu", method="csq", n_bits=16, epoch=3)
    with pytest.raises(ValueError, match="scale"):
        RunConfig.from_scale("gpu", method="csq", n_bits=16)


def test_frozen_hashable_and_result_key():
    a = RunConfig(method="csq", n_bits=16, method_overrides={"lam": 0.1})
    b = RunConfig(method="CSQ", n_bits=16, method_overrides={"lam": 0.1})
    assert a == b and hash(a) == hash(b) and a.method == "csq"
    assert a.overrides == {"lam": 0.1} and a.to_dict()["method_overrides"] == {"lam": 0.1}
    with pytest.raises(AttributeError):
        a.n_bits = 32  # frozen
    # where it runs does not change the result key; what it computes does
    assert a.replace(run_dir="/tmp/x", num_workers=2).result_key() == a.result_key()
    assert a.replace(seed=1).result_key() != a.result_key()
    assert a.replace(method_overrides={"lam": 0.2}).result_key() != a.result_key()


def test_encode_batch_is_a_speed_setting_only():
    """The encoding batch is left out of a run's identity (result key and record
    settings) because, in eval mode, each image's code does not depend on its batch."""
    import torch

    from hashlib_core.engine.settings import result_settings
    from hashlib_core.methods import get_method_class
    from hashlib_core.models import create_backbone

    a = RunConfig.from_scale("cpu", method="csq", n_bits=16)
    b = a.replace(encode_batch_size=1000)
    assert a.encode_batch_size != 1000
    assert a.result_key() == b.result_key()
    assert result_settings(a, "m") == result_settings(b, "m")
    torch.manual_seed(0)
    method = get_method_class("csq")(16, 10)
    method.build(lambda: create_backbone("smallcnn", pretrained=None))
    x = torch.randn(60, 3, 32, 32)
    method.train()
    method(x)  # batch-norm running statistics that differ from their initial values
    method.eval()
    with torch.inference_mode():
        whole = method.encode_database(x)
        pieces = torch.cat([method.encode_database(x[i : i + 7]) for i in range(0, 60, 7)])
    assert torch.equal(whole, pieces)


def test_schedule_and_batches():
    cfg = RunConfig(method="csq", n_bits=16, epochs=10)
    assert lr_factor(cfg, 0) == 1.0 and lr_factor(cfg, 5) == pytest.approx(0.5)
    assert lr_factor(cfg.replace(lr_schedule="step", lr_step=3), 7) == pytest.approx(0.01)
    batches = epoch_batches(list(range(9)), 4)
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]  # no batch of one item
    assert epoch_batches(list(range(10)), 4)[-1] == [8, 9]


def test_cli_parsing():
    a = parse_args(["--scale", "smoke", "--method", "csq", "--n-bits", "16", "--hp", "lam=0.01",
                    "--set", "lr-schedule=constant"])  # fmt: skip
    assert (a.scale, a.method, a.n_bits) == ("smoke", "csq", 16)
    assert _pairs(a.hp, "--hp") == {"lam": 0.01}
    assert _pairs(a.set, "--set") == {"lr_schedule": "constant"}


def test_paper_method_presets():
    """ADSH's and DSAH's 50 outer iterations and SHNet's optimiser at the paper scale; a
    caller's override still wins, and other scales keep the shared schedule."""
    assert RunConfig.from_scale("paper", method="adsh", n_bits=32).epochs == 50
    assert RunConfig.from_scale("paper", method="dsah", n_bits=32).epochs == 50
    shnet = RunConfig.from_scale("paper", method="shnet", n_bits=32)
    csq = RunConfig.from_scale("paper", method="csq", n_bits=32)
    assert (shnet.optimizer, shnet.weight_decay, shnet.batch_size) == ("adam", 5e-3, 64)
    assert (csq.optimizer, csq.epochs) == ("rmsprop", 150)
    assert RunConfig.from_scale("paper", method="adsh", n_bits=32, epochs=7).epochs == 7
    assert RunConfig.from_scale("cpu", method="shnet", n_bits=32).optimizer == \
        RunConfig.from_scale("cpu", method="csq", n_bits=32).optimizer
