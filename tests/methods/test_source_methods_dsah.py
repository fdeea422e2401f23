"""DSAH: the database-code update decreases its objective at every step; the LAE learns."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from hashlib_core.losses.adsh import adsh_objective, adsh_update_codes, signed_similarity
from hashlib_core.methods import create_method
from hashlib_core.methods.adsh import ADSH
from hashlib_core.methods.base import binarize


def _problem(n=8, m=4, k=4, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.nn.functional.one_hot(torch.randint(0, c, (n,), generator=g), c).double()
    omega = torch.randperm(n, generator=g)[:m]
    u = torch.tanh(2 * torch.randn(m, k, generator=g, dtype=torch.float64))
    v = binarize(torch.randn(n, k, generator=g, dtype=torch.float64))
    target = binarize(torch.randn(n, k, generator=g, dtype=torch.float64))
    s = signed_similarity(labels[omega], labels)
    return u, v, s, omega, target


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_code_update_is_exact_columnwise_minimisation(seed):
    """Each bit of the update is the exact minimiser over its column (checked against all
    2^n columns), so the objective never increases at any step; it decreases overall."""
    u, v0, s, omega, target = _problem(seed=seed)
    gamma, nu = 3.0, 2.0
    n, k = v0.shape

    def objective(v):
        return float(adsh_objective(u, v, s, omega, gamma=gamma, target_codes=target, nu=nu))

    columns = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=n)), dtype=torch.float64)
    v = v0.clone()
    values = [objective(v)]
    for col in range(k):
        best, best_val = None, float("inf")
        for cand in columns:
            trial = v.clone()
            trial[:, col] = cand
            val = objective(trial)
            if val < best_val - 1e-9:
                best, best_val = cand, val
        v[:, col] = best
        values.append(best_val)
    assert all(b <= a + 1e-9 for a, b in zip(values, values[1:]))  # every step
    assert values[-1] < values[0] - 1e-6
    got = adsh_update_codes(v0, u, s, omega, gamma=gamma, target_codes=target, nu=nu)
    torch.testing.assert_close(got, v)  # the closed form takes exactly these steps


def test_code_update_with_huge_nu_returns_targets():
    u, v0, s, omega, target = _problem(n=30, m=10, k=8, seed=4)
    got = adsh_update_codes(v0, u, s, omega, gamma=1.0, target_codes=target, nu=1e6)
    torch.testing.assert_close(got, target)
    with pytest.raises(ValueError, match="target_codes"):
        adsh_update_codes(v0, u, s, omega, gamma=1.0, nu=1.0)


class _Flat(nn.Module):
    def forward(self, x):
        return x.flatten(1)


def _method(n_bits=8, n_classes=4, **kw):
    torch.manual_seed(0)
    method = create_method("dsah", n_bits, n_classes, **kw)
    method.build(lambda: (nn.Sequential(_Flat(), nn.Linear(6, 16), nn.ReLU()), 16))
    return method


def _labels(n=60, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.one_hot(torch.randint(0, c, (n,), generator=g), c).float()


def test_lae_pretraining_reduces_its_loss():
    labels = _labels()
    method = _method(lae_steps=150, lae_hidden=64)
    before = float(method.lae_objective(labels))
    method.setup(labels, torch.Generator().manual_seed(0))
    after = float(method.lae_objective(labels))
    assert after < 0.6 * before
    assert len(method.lae_history) == 150
    # the label codes separate the classes: same class -> same sign code
    codes = binarize(method.label_codes)
    same = labels @ labels.T > 0
    agree = (codes @ codes.T) / codes.shape[1]
    assert agree[same].mean() > 0.9 and agree[~same].mean() < 0.2
    # the LAE is frozen: it is not trained by the engine's optimiser
    assert not any(p.requires_grad for p in method.lae.parameters())
    torch.testing.assert_close(method.codes, codes)  # init_codes="lae"


def test_outer_iterations_decrease_code_objective_and_train_network():
    """Alternate network steps and the code step on a tiny problem: each code step lowers
    the DSAH objective in V, and the loss gets a gradient on every trainable parameter."""
    labels = _labels(n=40)
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))
    method = _method(lae_steps=50, num_samples=16, inner_epochs=1, init_codes="random")
    g = torch.Generator().manual_seed(0)
    method.setup(labels, g)
    opt = torch.optim.Adam([p for p in method.parameters() if p.requires_grad], lr=1e-2)
    hp = method.hparams
    for epoch in range(3):
        idx = method.epoch_indices(epoch, 40, g)
        method.train()
        for batch in idx.split(8):
            loss = method.loss(method(x[batch]), labels[batch], batch)
            opt.zero_grad()
            loss.backward()
            assert all(p.grad is not None for p in method.parameters() if p.requires_grad)
            opt.step()
        omega = method.omega
        s = signed_similarity(labels[omega], labels)
        target = binarize(method.label_codes)

        def objective(v, omega=omega, s=s, target=target):
            return float(adsh_objective(
                method.u_bank[omega], v, s, omega, gamma=hp["gamma"], target_codes=target,
                nu=hp["nu"],
            ))

        before = objective(method.codes)
        method.end_epoch(epoch)
        assert objective(method.codes) <= before + 1e-6
    codes = method.train_database_codes()
    assert codes.shape == (40, 8) and set(codes.unique().tolist()) <= {-1.0, 1.0}


def test_dsah_loss_is_adsh_loss_plus_label_term():
    labels = _labels(n=20)
    dsah = _method(lae_steps=5, mu=0.0)
    dsah.setup(labels, torch.Generator().manual_seed(0))
    adsh = ADSH(8, 4)
    adsh.setup(labels, torch.Generator().manual_seed(0))
    adsh.codes = dsah.codes.clone()
    u = torch.tanh(torch.randn(5, 8, dtype=torch.float64))
    idx = torch.tensor([0, 3, 5, 7, 11])
    base = adsh.loss(u, labels[idx], idx)
    torch.testing.assert_close(dsah.loss(u, labels[idx], idx), base)
    dsah.hparams["mu"] = 7.0
    extra = 7.0 * ((u - dsah.label_codes[idx].double()) ** 2).sum() / (20 * 5)
    torch.testing.assert_close(dsah.loss(u, labels[idx], idx), base + extra)


def test_dsah_refuses_bad_hyperparameters():
    with pytest.raises(ValueError, match="init_codes"):
        create_method("dsah", 8, 4, init_codes="zeros")
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        create_method("dsah", 8, 4, n_samples=10)
    method = _method()
    with pytest.raises(ValueError, match="train_labels"):
        method.setup(torch.zeros(10, 3), torch.Generator())
