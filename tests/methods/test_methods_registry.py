"""Registry-wide tests: every registered deep method, the moment it is registered.

For each method (``list_methods("deep")``) on a tiny backbone and a tiny batch: the loss
is a finite scalar, every trainable parameter gets a gradient (over the first two epochs,
for methods that alternate between networks), a float64 gradcheck of ``loss`` w.r.t.
``u``, codes in {-1,+1}, and clear errors for bad configurations. Marked slow: each
method learns on the real ``mnist-small`` protocol (900 training digits, 3 epochs)
through ``run()`` and its mAP beats that of random codes by more than 0.1.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from hashlib_core.methods import create_method, get_method_class, list_methods

DEEP = list_methods("deep")
K, C, B = 8, 3, 6


def tiny_backbone() -> tuple[nn.Module, int]:
    """(batch, 3, 8, 8) -> (batch, 32): conv + BN + ReLU + 2x2 pooling."""
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(),
    )  # fmt: skip
    return net, 32


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, 3, 8, 8, generator=g)
    labels = torch.nn.functional.one_hot(torch.arange(B) % C, C).float()
    return x, labels, torch.arange(B)


_BUILT: dict[str, nn.Module] = {}


def _method(name: str):
    """A built method after ``setup`` (built once per name: some setups pre-train)."""
    if name not in _BUILT:
        torch.manual_seed(0)
        m = create_method(name, K, C)
        m.build(tiny_backbone)
        n_train = 2 * B
        train_labels = torch.nn.functional.one_hot(torch.arange(n_train) % C, C).float()
        m.setup(train_labels, torch.Generator().manual_seed(0))
        _BUILT[name] = m
    return copy.deepcopy(_BUILT[name])


def _step(m, epoch: int, n_epochs: int = 2):
    m.epoch_indices(epoch, 2 * B, torch.Generator().manual_seed(epoch))
    m.begin_epoch(epoch, n_epochs)
    m.train()
    x, labels, index = _batch(epoch)
    m.zero_grad(set_to_none=True)
    loss = m.loss(m(x), labels, index)
    loss.backward()
    return loss


@pytest.mark.parametrize("name", DEEP)
def test_loss_is_a_finite_scalar(name):
    loss = _step(_method(name), 0)
    assert loss.dim() == 0 and torch.isfinite(loss)


@pytest.mark.parametrize("name", DEEP)
def test_every_trainable_parameter_gets_a_gradient(name):
    m = _method(name)
    got: set[str] = set()
    for epoch in range(2):
        _step(m, epoch)
        got |= {n for n, p in m.named_parameters() if p.grad is not None and torch.isfinite(p.grad).all()}
        m.end_epoch(epoch)
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable, f"{name} has no trainable parameter"
    assert trainable <= got, f"{name}: no gradient for {sorted(trainable - got)}"


@pytest.mark.parametrize("name", DEEP)
def test_gradcheck_of_the_loss_wrt_u(name):
    m = _method(name)
    _step(m, 0)  # fill memory banks / codes the loss reads
    m.end_epoch(0)
    m.begin_epoch(0, 2)  # the first epoch's phase (alternating methods train u in it)
    m.double().eval()  # eval mode: loss() must not change the method's state
    _, labels, index = _batch(0)
    g = torch.Generator().manual_seed(3)
    u = (0.8 * torch.tanh(torch.randn(B, K, generator=g, dtype=torch.float64))).requires_grad_()
    state = {k: v.clone() for k, v in m.state_dict().items()}
    assert torch.autograd.gradcheck(lambda v: m.loss(v, labels.double(), index), (u,), atol=1e-5)
    for k, v in m.state_dict().items():  # and it did not
        assert torch.equal(v, state[k]), f"{name}: loss() in eval mode changed {k}"


@pytest.mark.parametrize("name", DEEP)
def test_codes_are_plus_minus_one(name):
    m = _method(name)
    _step(m, 0)
    m.eval()
    x, _, _ = _batch(0)
    for codes in (m.encode_query(x), m.encode_database(x)):
        assert codes.shape == (B, K)
        assert set(codes.unique().tolist()) <= {-1.0, 1.0}


@pytest.mark.parametrize("name", DEEP)
def test_labels_wider_than_n_classes_are_refused(name):
    m = _method(name)
    m.train()
    x, _, index = _batch(0)
    wide = torch.nn.functional.one_hot(torch.arange(B) % C, C + 1).float()
    with pytest.raises(ValueError, match="n_classes"):
        m.loss(m(x), wide, index)


@pytest.mark.parametrize("name", DEEP)
def test_bad_sizes_and_hyper_parameters_are_refused(name):
    for bad in (0, -8):
        with pytest.raises(ValueError, match="n_bits"):
            create_method(name, bad, C)
    with pytest.raises(ValueError, match="n_classes"):
        create_method(name, K, 0)
    with pytest.raises(ValueError, match="no_such_parameter"):
        create_method(name, K, C, no_such_parameter=1)
    cls = get_method_class(name)
    assert cls.citation and cls.__module__.split(".")[-1] == name
    assert (cls.__module__ and __import__(cls.__module__, fromlist=["_"]).__doc__ or "").strip(), \
        f"{name}: module docstring (citation + equations) missing"  # fmt: skip


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        create_method("nope", K, C)


# ---- learning on real data through the engine ----------------------------------------

LEARN_EPOCHS = 3  # measured: CSQ 0.77, DPSH 0.48, HashNet 0.48 vs about 0.1 for random codes


@pytest.fixture(scope="module")
def mnist_small(shared_data, cache_dir):
    from hashlib_core.data import load_protocol

    try:
        return load_protocol("mnist-small", cache_dir=cache_dir)
    except (ValueError, FileNotFoundError) as err:
        pytest.skip(f"mnist-small not available: {err}")


#: methods known not to pass the learning test yet, with the measured reason (kept visible
#: as xfail rather than removed; each is an open item of the method's issue)
KNOWN_SLOW_LEARNERS: dict[str, str] = {}


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_SLOW_LEARNERS[n], strict=False))
    if n in KNOWN_SLOW_LEARNERS else n
    for n in DEEP
])  # fmt: skip
def test_learns_on_real_mnist_small(name, mnist_small, cache_dir):
    from hashlib_core.engine import RunConfig, run
    from hashlib_core.metrics import mean_average_precision

    cfg = RunConfig.from_scale("smoke", method=name, n_bits=16, protocol="mnist-small",
                               epochs=LEARN_EPOCHS, eval_every=0, cache_dir=str(cache_dir),
                               threads=2)  # fmt: skip
    result = run(cfg, progress=False)
    p = mnist_small
    rng = np.random.default_rng(0)
    rand_q = rng.choice([-1, 1], size=result.query_codes.shape)
    rand_db = rng.choice([-1, 1], size=result.db_codes.shape)
    random_map = mean_average_precision(rand_q, rand_db, p.query.labels, p.database.labels, topk=p.topk)
    scalars = result.eval.scalars
    trained = scalars["map"]
    assert trained > random_map + 0.1, f"{name}: mAP {trained:.3f} vs random {random_map:.3f}"
    # code health: the codes use their length (ADSH's and DSAH's collapsed onto a few bits
    # under hard similarity targets while their mAP still beat random codes)
    health = {k: scalars[k] for k in ("query_distinct_bits", "distinct_bits", "query_mac",
                                      "mac", "constant_bits", "query_constant_bits")}
    assert min(health["query_distinct_bits"], health["distinct_bits"]) >= 0.8 * 16, (name, health)
    # (after 3 epochs one bit of 16 may still be constant on the database: CSQ measured)
    assert max(health["constant_bits"], health["query_constant_bits"]) <= 2 / 16, (name, health)
    assert max(health["query_mac"], health["mac"]) < 0.5, (name, health)
