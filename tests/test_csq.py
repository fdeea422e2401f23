"""CSQ: hash centres (Hadamard / Bernoulli, majority vote) and the loss against a loop."""

from __future__ import annotations

import math

import pytest
import torch

from hashlib_core.losses.csq import CSQLoss, hash_centers, majority_centers
from hashlib_core.methods import create_method


def test_hadamard_centres_are_half_the_code_apart():
    c = hash_centers(10, 16)
    assert set(c.unique().tolist()) == {-1.0, 1.0}
    d = (c[:, None, :] != c[None, :, :]).sum(-1)
    off = d[~torch.eye(10, dtype=torch.bool)]
    assert off.min() >= 8  # K/2 (or K between a row and its negation)
    c20 = hash_centers(20, 16)  # uses -H rows too
    assert torch.equal(c20[16], -c20[0])


def test_bernoulli_centres_when_hadamard_impossible():
    gen = torch.Generator().manual_seed(0)
    c = hash_centers(10, 12, generator=gen)  # 12 is not a power of two
    assert c.shape == (10, 12) and set(c.unique().tolist()) == {-1.0, 1.0}
    d = (c[:, None, :] != c[None, :, :]).sum(-1)[~torch.eye(10, dtype=torch.bool)]
    assert d.min() >= 3  # drawn apart (threshold lowered from K/2 only as needed)
    again = hash_centers(10, 12, generator=torch.Generator().manual_seed(0))
    assert torch.equal(c, again)
    many = hash_centers(100, 16)  # more classes than 2K: Bernoulli
    assert many.shape == (100, 16) and len({tuple(r.tolist()) for r in many}) == 100
    with pytest.raises(ValueError, match="Hadamard"):
        hash_centers(10, 12, method="hadamard")


def test_majority_vote_centres():
    centers = torch.tensor([[1.0, 1.0, -1.0, 1.0], [1.0, -1.0, -1.0, -1.0], [-1.0, -1.0, 1.0, 1.0]])
    tie = torch.tensor([1.0, -1.0, 1.0, -1.0])
    labels = torch.tensor([[1.0, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0]])
    got = majority_centers(labels, centers, tie)
    assert torch.equal(got[0], centers[0])
    assert torch.equal(got[1], torch.tensor([1.0, -1.0, -1.0, -1.0]))  # ties 2 and 4 -> tie bits
    assert torch.equal(got[2], torch.tensor([1.0, -1.0, -1.0, 1.0]))
    assert torch.equal(got[3], tie)  # no label: the tie-breaking centre


def test_loss_equals_an_elementwise_loop():
    torch.manual_seed(0)
    k, n = 8, 5
    centers = hash_centers(3, k)
    loss = CSQLoss(k, centers=centers, lam=0.3)
    u = torch.tanh(torch.randn(n, k, dtype=torch.float64))
    labels = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 0, 2]), 3).double()
    total_bce, total_q = 0.0, 0.0
    for i in range(n):
        c = centers[int(labels[i].argmax())]
        for j in range(k):
            h, t = (float(u[i, j]) + 1) / 2, (float(c[j]) + 1) / 2
            total_bce -= t * math.log(h) + (1 - t) * math.log(1 - h)
            total_q += (abs(float(u[i, j])) - 1) ** 2
    expected = total_bce / (n * k) + 0.3 * total_q / (n * k)
    assert abs(float(loss(u, labels)) - expected) < 1e-10


def test_method_defaults_and_loss_minimum_at_the_centres():
    m = create_method("csq", 16, 4)
    assert m.hparams == {"lam": 1e-4, "centers": "auto", "center_seed": 0}
    labels = torch.eye(4)
    at = 0.999 * m.criterion.centers
    away = -at
    idx = torch.arange(4)
    assert m.loss(at, labels, idx) < 0.01 < m.loss(away, labels, idx)


def test_saturated_outputs_keep_finite_gradients():
    c = hash_centers(2, 4)
    loss = CSQLoss(4, centers=c)
    u = torch.tensor([[1.0, -1.0, 1.0, -1.0], [-1.0, 1.0, 1.0, 1.0]], requires_grad=True)
    value = loss(u, torch.eye(2))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(u.grad).all()
