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


def _centre_grad(z: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """d(centre loss)/dz through float32 tanh, as the network computes it."""
    z = z.clone().requires_grad_()
    CSQLoss(centers.shape[1], centers=centers, lam=0.0)(torch.tanh(z), labels).backward()
    return z.grad


def test_gradient_is_the_papers_one_ulp_below_saturation():
    # float32 tanh(z) = 1 - 2**-24 for z in about [8.4, 9.0]: (u + 1) / 2 rounded to 1 in
    # float32 and BCELoss's backward divided by its 1e-12 floor, giving a gradient ~6e4
    # times 1/(BK) for a wrong-sign output (the weak cifar10-i 16-bit seeds); the paper's
    # gradient of BCE(sigmoid(2z), t) in z is 2 (sigmoid(2z) - t) / (BK), at most 2/(BK)
    centers = hash_centers(2, 4)  # rows of H_4: centre 1 is [1, -1, 1, -1]
    z = torch.tensor([[8.6, 8.6, -8.6, 8.6]])
    assert float(1 - torch.tanh(z[0, 1])) == 2.0**-24
    labels = torch.tensor([[0.0, 1.0]])
    grad = _centre_grad(z, labels, centers)
    t = (centers[1] + 1) / 2
    expected = 2 * (torch.sigmoid(2 * z.double()) - t.double()) / 4
    assert torch.allclose(grad.double(), expected, atol=1e-6), grad
    assert grad.abs().max() <= 2 / 4 + 1e-6


def test_gradient_matches_the_exact_one_on_random_logits():
    gen = torch.Generator().manual_seed(0)
    n, k = 256, 16
    centers = hash_centers(10, k)
    z = torch.randn(n, k, generator=gen) * 4  # about 1% of entries in the rounding band
    labels = torch.nn.functional.one_hot(torch.randint(0, 10, (n,), generator=gen), 10).float()
    grad = _centre_grad(z, labels, centers).double()
    t = (centers[labels.argmax(1)].double() + 1) / 2
    exact = 2 * (torch.sigmoid(2 * z.double()) - t) / (n * k)
    live = torch.tanh(z).abs() < 1  # exactly saturated tanh passes no gradient (as official)
    err = ((grad - exact).abs() * (n * k) / 2)[live]
    assert err.max() < 1e-5, float(err.max())


def test_loss_value_of_saturated_and_one_ulp_entries():
    # one entry per row has the wrong sign: exactly saturated (BCELoss's log clamp, 100),
    # one ulp below saturation (-log(2**-25) = 25 log 2; float32 BCELoss rounded h to 1 and
    # reported the clamp, 100), and far from it (exact BCE)
    centers = -torch.ones(1, 2)
    one_ulp = 1 - 2.0**-24
    u = torch.tensor([[1.0, -1.0], [one_ulp, -1.0], [0.5, -1.0]])
    got = CSQLoss(2, centers=centers, lam=0.0)(u, torch.ones(3, 1))
    assert got.dtype == torch.float32
    expected = (100 + 25 * math.log(2) - math.log(0.25)) / 6  # the -1 entries add 0
    assert abs(float(got) - expected) < 1e-5, float(got)
