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
    within = DPSHLoss(6, eta=0.5)(u, labels)  # no bank: the batch itself
    assert float(within) == pytest.approx(_loop(u, labels, u, labels, 0.5), rel=1e-9)


def test_bank_holds_the_latest_outputs_and_is_a_constant():
    m = create_method("dpsh", 4, 2)
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
