"""Procedures of the deep baselines: CNNH stage 1, ADSH's code step, DNNH's wiring, DAPH's streams."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hashlib_core.losses.adsh import adsh_objective, adsh_update_codes, signed_similarity
from hashlib_core.losses.cnnh import cnnh_objective, cnnh_stage_one
from hashlib_core.methods import create_method
from hashlib_core.models.divide_encode import DivideAndEncode, piecewise_threshold

N_FEAT = 20


def tiny_backbone() -> tuple[nn.Module, int]:
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, N_FEAT), nn.ReLU()), N_FEAT


def _labels(n: int, n_classes: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return nn.functional.one_hot(torch.randint(0, n_classes, (n,), generator=g), n_classes).float()


# ---- CNNH -----------------------------------------------------------------------------
def test_cnnh_stage_one_beats_random_codes_and_never_increases():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 60)
    s = np.where(y[:, None] == y[None, :], 1.0, -1.0)
    h, history = cnnh_stage_one(s, 8, sweeps=5, tol=0.0, rng=rng)
    assert np.all(np.diff(history) <= 1e-9 * history[0])
    assert np.abs(h).max() <= 1.0
    random_codes = np.sign(rng.uniform(-1, 1, size=h.shape))
    assert cnnh_objective(np.sign(h), s) < 0.8 * cnnh_objective(random_codes, s)
    # the relaxed objective reported in the history is the one of the returned H
    assert history[-1] == pytest.approx(cnnh_objective(h, s), rel=1e-9)


def test_cnnh_setup_gives_label_consistent_targets():
    labels = _labels(45, seed=1)
    m = create_method("cnnh", 8, 3, stage1_sweeps=4)
    m.build(tiny_backbone)
    m.setup(labels, torch.Generator().manual_seed(0))
    t = m.targets
    assert t.shape == (45, 8) and set(t.unique().tolist()) <= {-1.0, 1.0}
    agree = (t @ t.T) / 8
    same = labels @ labels.T > 0
    assert agree[same].mean() > agree[~same].mean() + 0.5
    u = torch.zeros(4, 8, requires_grad=True)
    m.loss(u, labels[:4], torch.arange(4)).backward()
    assert torch.allclose(u.grad, -2 * t[:4] / u.numel())


def test_cnnh_plus_predicts_labels_jointly():
    labels = _labels(12, seed=2)
    m = create_method("cnnh", 8, 3, stage1_sweeps=1, predict_labels=True)
    m.build(tiny_backbone)
    m.setup(labels, torch.Generator().manual_seed(0))
    x = torch.randn(6, 3, 4, 4)
    m.loss(m(x), labels[:6], torch.arange(6)).backward()
    assert m.classifier.weight.grad is not None and m.classifier.weight.grad.abs().sum() > 0


# ---- ADSH -----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adsh_code_update_does_not_increase_objective(seed):
    g = torch.Generator().manual_seed(seed)
    n, m, k, gamma = 30, 10, 6, 200.0
    labels = _labels(n, 4, seed)
    omega = torch.randperm(n, generator=g)[:m]
    u = torch.tanh(torch.randn(m, k, generator=g, dtype=torch.float64))
    s = signed_similarity(labels[omega].double(), labels.double())
    v = torch.where(torch.rand(n, k, generator=g) > 0.5, 1.0, -1.0).double()
    before = adsh_objective(u, v, s, omega, gamma=gamma)
    v1 = adsh_update_codes(v, u, s, omega, gamma=gamma)
    after = adsh_objective(u, v1, s, omega, gamma=gamma)
    assert set(v1.unique().tolist()) <= {-1.0, 1.0}
    assert after <= before + 1e-9 and after < before
    # the last column is optimal given the others: no single flip in it helps
    for i in range(n):
        flipped = v1.clone()
        flipped[i, -1] *= -1
        assert adsh_objective(u, flipped, s, omega, gamma=gamma) >= after - 1e-9


def test_adsh_samples_adapt_to_small_training_sets_and_update_v():
    n = 25
    labels = _labels(n, seed=3)
    m = create_method("adsh", 8, 3)  # num_samples 2000 > n
    m.build(tiny_backbone)
    g = torch.Generator().manual_seed(0)
    m.setup(labels, g)
    idx = m.epoch_indices(0, n, g)
    assert idx.shape == (3 * n,) and sorted(idx[:n].tolist()) == list(range(n))
    m2 = create_method("adsh", 8, 3, num_samples=10, inner_epochs=2)
    m2.build(tiny_backbone)
    m2.setup(labels, g)
    idx2 = m2.epoch_indices(0, n, g)
    assert idx2.shape == (20,) and set(idx2[:10].tolist()) == set(idx2[10:].tolist())
    # a loss call writes u of its items; end_epoch changes V; V survives a state dict
    v0 = m.train_database_codes().clone()
    x = torch.randn(n, 3, 4, 4)
    u = m(x)
    m.loss(u, labels, torch.arange(n)).backward()
    assert torch.equal(m.u_bank, u.detach())
    m.end_epoch(0)
    v1 = m.train_database_codes()
    assert not torch.equal(v0, v1)
    fresh = create_method("adsh", 8, 3)
    fresh.build(tiny_backbone)
    fresh.load_state_dict(m.state_dict())
    assert torch.equal(fresh.train_database_codes(), v1)


# ---- DNNH -----------------------------------------------------------------------------
def test_divide_and_encode_bit_k_sees_only_slice_k():
    d, k = 23, 5  # not a multiple: slices 5,5,5,4,4
    module = DivideAndEncode(d, k)
    module.eval()
    x = torch.randn(d, dtype=torch.float64)
    module.double()
    jac = torch.autograd.functional.jacobian(lambda v: module(v.unsqueeze(0)).squeeze(0), x)
    bounds = np.cumsum([0, *module.slice_sizes])
    assert module.slice_sizes == [5, 5, 5, 4, 4]
    for bit in range(k):
        inside = jac[bit, bounds[bit] : bounds[bit + 1]]
        outside = torch.cat([jac[bit, : bounds[bit]], jac[bit, bounds[bit + 1] :]])
        assert inside.abs().min() > 0
        assert outside.abs().max() == 0


def test_piecewise_threshold_training_mode_and_codes():
    s = torch.tensor([0.2, 0.45, 0.5, 0.58, 0.7], requires_grad=True)
    out = piecewise_threshold(s, 0.1)
    out.sum().backward()
    assert out.tolist() == pytest.approx([0.0, 0.45, 0.5, 0.58, 1.0])
    assert s.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    m = create_method("dnnh", 4, 3)
    m.build(tiny_backbone)
    x = torch.randn(5, 3, 4, 4)
    m.eval()
    codes = m.encode_query(x)
    assert torch.equal(codes, torch.where(m(x) > 0.5, 1.0, -1.0))
    with pytest.raises(ValueError, match="n_bits <= in_features"):
        DivideAndEncode(3, 4)


def test_dnnh_fc_encoder_gives_every_bit_the_whole_feature():
    """The diagnosis encoder ("fc"): one linear layer, so each bit depends on every entry
    of the feature (the paper's module: only on its own slice); same threshold, same codes
    rule."""
    torch.manual_seed(0)
    m = create_method("dnnh", 4, 3, encoder="fc")
    m.build(tiny_backbone)
    m.eval()
    assert isinstance(m.head, nn.Linear)
    feature = torch.randn(1, m.head.in_features)
    jac = torch.autograd.functional.jacobian(lambda v: torch.sigmoid(m.head(v)), feature)
    assert jac.reshape(4, -1).abs().min() > 0
    x = torch.randn(5, 3, 4, 4)
    assert torch.equal(m.encode_query(x), torch.where(m(x) > 0.5, 1.0, -1.0))
    m.train()
    out = m(x)
    assert out.shape == (5, 4) and ((out >= 0) & (out <= 1)).all()
    with pytest.raises(ValueError, match="encoder must be"):
        create_method("dnnh", 4, 3, encoder="conv")


# ---- DAPH -----------------------------------------------------------------------------
def test_daph_encodes_the_database_with_its_second_network():
    m = create_method("daph", 8, 3)
    m.build(tiny_backbone)
    m.setup(_labels(10), torch.Generator().manual_seed(0))
    m.eval()
    x = torch.randn(10, 3, 4, 4)
    q, db = m.encode_query(x), m.encode_database(x)
    assert not torch.equal(q, db)
    assert torch.equal(db, torch.where(m.db_head(m.db_backbone(x)) >= 0, 1.0, -1.0))
    with torch.no_grad():
        m.db_head.fc[-1].bias.add_(5.0)
    assert torch.equal(m.encode_query(x), q)
    assert torch.all(m.encode_database(x) == 1)


def _daph(n: int, seed: int = 4, **overrides):
    labels = _labels(n, seed=seed)
    m = create_method("daph", 8, 3, **overrides)
    m.build(tiny_backbone)
    m.setup(labels, torch.Generator().manual_seed(0))
    query = [p for name, p in m.named_parameters() if not name.startswith("db_")]
    database = [p for name, p in m.named_parameters() if name.startswith("db_")]
    return m, labels, query, database


def _daph_step(m, x, labels):
    m.zero_grad(set_to_none=True)
    m.loss(m(x), labels, torch.arange(x.shape[0])).backward()


def test_daph_epoch_schedule_alternates_between_its_networks_and_updates_codes():
    n = 12
    m, labels, query, database = _daph(n, alternate="epoch")
    x = torch.randn(n, 3, 4, 4)
    for epoch, (trained, fixed) in enumerate([(query, database), (database, query)]):
        m.begin_epoch(epoch, 2)
        _daph_step(m, x, labels)
        assert all(p.grad is not None for p in trained)
        assert all(p.grad is None for p in fixed)
        m.end_epoch(epoch)
    assert bool(m.codes_ready)
    assert set(m.codes_b.unique().tolist()) <= {-1.0, 1.0}
    # on codes alone, the loss uses the database-stream memory (a constant)
    m._z = None
    m.phase.fill_(0)  # joint step: the loss is a function of u alone
    u = torch.zeros(n, 8, dtype=torch.float64, requires_grad=True)
    m.double()
    assert torch.autograd.gradcheck(lambda v: m.loss(v, labels.double(), torch.arange(n)), (u,))


def test_daph_batch_schedule_updates_both_networks_at_every_step():
    n = 12
    m, labels, query, database = _daph(n)
    assert m.hparams["alternate"] == "batch"
    x = torch.randn(n, 3, 4, 4)
    for epoch in range(2):
        m.begin_epoch(epoch, 2)
        for _ in range(2):
            _daph_step(m, x, labels)
            assert all(p.grad is not None for p in query + database)


def test_daph_step_schedule_alternates_within_an_epoch_and_restarts_with_the_query():
    n = 12
    m, labels, query, database = _daph(n, alternate="step")
    x = torch.randn(n, 3, 4, 4)
    for epoch in range(2):
        m.begin_epoch(epoch, 2)
        for trained, fixed in [(query, database), (database, query), (query, database)]:
            _daph_step(m, x, labels)
            assert all(p.grad is not None for p in trained)
            assert all(p.grad is None for p in fixed)
        m.end_epoch(epoch)
    # eval mode (gradcheck, validation) leaves the schedule where it is
    m.begin_epoch(2, 3)
    m.eval()
    m.loss(torch.zeros(n, 8), labels, torch.arange(n))
    assert int(m.phase) == 1


def test_daph_rejects_unknown_schedules_and_negative_weights():
    with pytest.raises(ValueError, match="alternate"):
        create_method("daph", 8, 3, alternate=True)
    with pytest.raises(ValueError, match="alpha"):
        create_method("daph", 8, 3, alpha=-1.0)


def test_daph_codes_follow_the_networks_after_every_epoch():
    """The code step is not stuck at its first value (the block-wise B-then-H step was:
    with alpha = gamma and |u| < 1 it returns B = H = the previous H)."""
    n = 12
    m, labels, _, _ = _daph(n)
    x = torch.randn(n, 3, 4, 4)
    m.begin_epoch(0, 2)
    _daph_step(m, x, labels)
    m.end_epoch(0)
    sign = lambda t: torch.where(t >= 0, 1.0, -1.0)  # noqa: E731
    assert torch.equal(m.codes_b, sign(m.u_bank + m.z_bank))
    assert torch.equal(m.codes_h, m.codes_b)  # gamma >= alpha: one code per item
    first = m.codes_b.clone()
    with torch.no_grad():  # the networks move: their outputs now disagree with the codes
        m.head.fc[-1].bias.copy_(-3.0 * first[0])
        m.db_head.fc[-1].bias.copy_(-3.0 * first[0])
    m.begin_epoch(1, 2)
    _daph_step(m, x, labels)
    m.end_epoch(1)
    assert torch.equal(m.codes_b, sign(m.u_bank + m.z_bank))
    assert not torch.equal(m.codes_b, first)
