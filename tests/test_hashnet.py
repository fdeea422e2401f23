"""HashNet: the weighted pairwise loss against a loop, and the continuation schedule."""

from __future__ import annotations

import math

import pytest
import torch

from hashlib_core.losses.hashnet import HashNetLoss
from hashlib_core.methods import create_method


def _loop(u, labels, alpha, balanced):
    n = u.shape[0]
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    s = {p: float((labels[p[0]] * labels[p[1]]).sum() > 0) for p in pairs}
    n_pos = sum(s.values())
    n_neg = len(pairs) - n_pos
    total = 0.0
    for i, j in pairs:
        theta = alpha * float(u[i] @ u[j])
        w = (len(pairs) / n_pos if s[(i, j)] else len(pairs) / n_neg) if balanced else 1.0
        total += w * (math.log1p(math.exp(theta)) - s[(i, j)] * theta)
    return total / len(pairs)


@pytest.mark.parametrize("weighting", ["balanced", "none"])
def test_loss_equals_a_loop_over_pairs(weighting):
    torch.manual_seed(1)
    u = torch.tanh(torch.randn(6, 8, dtype=torch.float64))
    labels = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 0, 1, 0]), 3).double()
    got = HashNetLoss(8, weighting=weighting)(u, labels)  # alpha = 10 / K
    assert float(got) == pytest.approx(_loop(u, labels, 10 / 8, weighting == "balanced"), rel=1e-9)


def test_continuation_schedule_and_head_learning_rate():
    m = create_method("hashnet", 8, 3)
    m.build(lambda: (torch.nn.Flatten(), 12))
    assert m.beta() == 1.0
    m.train()
    labels = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 0]), 3).float()
    for _ in range(200):
        m.loss(torch.zeros(4, 8), labels, torch.arange(4))
    assert int(m.iteration) == 200
    assert abs(m.beta() - (1 + 0.005 * 200) ** 0.5) < 1e-12
    x = torch.randn(4, 3, 2, 2)
    torch.testing.assert_close(m(x), torch.tanh(m.beta() * m.head(m.backbone(x))))
    m.eval()
    m.loss(torch.zeros(4, 8), labels, torch.arange(4))
    assert int(m.iteration) == 200  # only training iterations count
    groups = m.param_groups(1e-3)
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in m.head.parameters()}
