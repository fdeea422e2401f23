"""DPSH: the loss against a loop over pairs, and the memory bank."""

from __future__ import annotations

import math

import pytest
import torch

from hashlib_core.losses.dpsh import DPSHLoss
from hashlib_core.methods import create_method


def _loop(u, labels, bank_u, bank_labels, eta):
    b, n = u.shape[0], bank_u.shape[0]
    like = 0.0
    for i in range(b):
        for j in range(n):
            theta = 0.5 * float(u[i] @ bank_u[j])
            s = float((labels[i] * bank_labels[j]).sum() > 0)
            like += math.log1p(math.exp(theta)) - s * theta
    quant = sum(float(((torch.sign(u[i]) - u[i]) ** 2).sum()) for i in range(b))
    return like / (b * n) + eta * quant / (b * n)


def test_loss_equals_a_loop_over_pairs():
    torch.manual_seed(0)
    u = torch.randn(4, 6, dtype=torch.float64) * 2
    bank = torch.randn(7, 6, dtype=torch.float64) * 2
    labels = torch.tensor([[1.0, 0, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1]], dtype=torch.float64)
    bank_labels = torch.nn.functional.one_hot(torch.arange(7) % 3, 3).double()
    got = DPSHLoss(6, eta=10.0)(u, labels, bank, bank_labels)
    assert float(got) == pytest.approx(_loop(u, labels, bank, bank_labels, 10.0), rel=1e-9)
    within = DPSHLoss(6, eta=0.5, n_train=50)(u, labels)  # no bank: the batch itself
    assert float(within) == pytest.approx(_batch_loop(u, labels, 0.5, 50), rel=1e-9)


def _batch_loop(u, labels, eta, n_train):
    b = u.shape[0]
    pairs = [(i, j) for i in range(b) for j in range(b) if i != j]
    like = 0.0
    for i, j in pairs:
        theta = 0.5 * float(u[i] @ u[j])
        s = float((labels[i] * labels[j]).sum() > 0)
        like += math.log1p(math.exp(theta)) - s * theta
    quant = sum(float(((torch.sign(u[i]) - u[i]) ** 2).sum()) for i in range(b))
    return like / len(pairs) + eta / n_train * quant / b


def test_batch_pairs_use_current_outputs_only():
    """pairs="batch": the loss of a batch is its own pairs' likelihood with current outputs
    (the paper's gradient, sampled), whatever stale outputs a memory bank holds."""
    torch.manual_seed(0)
    train_labels = torch.nn.functional.one_hot(torch.arange(20) % 3, 3).double()
    idx = torch.tensor([3, 7, 11, 0, 5])
    u = torch.randn(5, 4, dtype=torch.float64)
    losses = []
    for stale in (torch.zeros(20, 4), 5 * torch.randn(20, 4)):
        m = create_method("dpsh", 4, 3).double()
        assert m.hparams["pairs"] == "batch"
        m.setup(train_labels, torch.Generator())
        m.bank_u.copy_(stale)
        m.train()
        losses.append(float(m.loss(u, train_labels[idx], idx)))
    assert losses[0] == losses[1]
    assert losses[0] == pytest.approx(_batch_loop(u, train_labels[idx], 10.0, 20), rel=1e-9)
    # the official code's memory bank: the same batch's loss follows the stale rows
    bank = create_method("dpsh", 4, 3, pairs="bank").double()
    bank.setup(train_labels, torch.Generator())
    bank.bank_u.copy_(5 * torch.randn(20, 4))
    bank.train()
    assert float(bank.loss(u, train_labels[idx], idx)) != pytest.approx(losses[0], rel=1e-3)
    with pytest.raises(ValueError, match="pairs"):
        create_method("dpsh", 4, 3, pairs="all")


def test_bank_holds_the_latest_outputs_and_is_a_constant():
    m = create_method("dpsh", 4, 2, pairs="bank")
    assert m.hparams["eta"] == 10.0
    m.build(lambda: (torch.nn.Flatten(), 12))
    train_labels = torch.nn.functional.one_hot(torch.arange(6) % 2, 2).float()
    m.setup(train_labels, torch.Generator())
    assert m.bank_u.shape == (6, 4) and not m.bank_u.any()
    m.train()
    x = torch.randn(3, 3, 2, 2)
    u = m(x)
    assert m.head.activation.__class__.__name__ == "Identity"  # linear outputs
    idx = torch.tensor([4, 0, 2])
    loss = m.loss(u, train_labels[idx], idx)
    torch.testing.assert_close(m.bank_u[idx], u.detach())
    assert not m.bank_u[[1, 3, 5]].any()
    loss.backward()
    m.eval()  # in eval mode the bank is left alone
    before = m.bank_u.clone()
    m.loss(torch.zeros(3, 4), train_labels[idx], idx)
    assert torch.equal(m.bank_u, before)
