"""DNNH: the piece-wise threshold lets bits learn (straight-through) or freezes them (exact)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hashlib_core.methods import create_method
from hashlib_core.models.divide_encode import piecewise_threshold

K = 8
D = 2 * K  # slices of two entries: (class sign, item noise)


def _toy(seed=0, n_per_class=20):
    """Slice k of an item's feature: (its class's sign, +-3 drawn per item and bit)."""
    g = torch.Generator().manual_seed(seed)
    sign = torch.tensor([1.0, -1.0]).repeat_interleave(n_per_class)
    noise = 3.0 * (torch.randint(0, 2, (2 * n_per_class, K), generator=g) * 2.0 - 1)
    x = torch.stack([sign[:, None].expand(-1, K), noise], dim=2).reshape(2 * n_per_class, D)
    labels = nn.functional.one_hot((sign < 0).long(), 2).float()
    return x, labels


def _train(threshold_gradient, steps=60):
    torch.manual_seed(0)
    m = create_method("dnnh", K, 2, threshold_gradient=threshold_gradient)
    m.build(lambda: (nn.Identity(), D))
    with torch.no_grad():  # bit k = sign of the noise: every output far outside the band
        m.head.weight.copy_(torch.tensor([0.1, 1.0]).repeat(K, 1))
        m.head.bias.zero_()
    x, labels = _toy()
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    m.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = m.loss(m(x), labels, torch.arange(len(x)))
        loss.backward()
        opt.step()
    m.eval()
    return m.encode_query(x), labels


def _class_bits(codes, labels):
    """Fraction of bits constant within each class and different between the two."""
    a, b = codes[labels[:, 0] == 1], codes[labels[:, 1] == 1]
    return float(((a == a[0]).all(0) & (b == b[0]).all(0) & (a[0] != b[0])).float().mean())


def test_bits_frozen_outside_the_band_learn_with_the_straight_through_gradient():
    x, labels = _toy()
    codes, _ = _train("straight_through")
    assert _class_bits(codes, labels) >= 0.75
    # the exact derivative of g is 0 outside [0.5 - eps, 0.5 + eps]: the bits stay the
    # noise's signs, which split no class
    frozen, _ = _train("exact")
    assert torch.equal(frozen, torch.where(x[:, 1::2] > 0, 1.0, -1.0))
    assert _class_bits(frozen, labels) == 0.0


def test_training_output_is_the_threshold_and_its_gradient_passes_through():
    m = create_method("dnnh", K, 2)
    m.build(lambda: (nn.Identity(), D))
    x = torch.randn(5, D)
    m.train()
    out = m(x)
    s = torch.sigmoid(m.head.pre_activation(x))
    torch.testing.assert_close(out, piecewise_threshold(s, 0.1))
    z = m.head.pre_activation(x).detach().requires_grad_()
    sz = torch.sigmoid(z)
    (sz + (piecewise_threshold(sz, 0.1) - sz).detach()).sum().backward()
    assert (z.grad > 0).all()  # no zero gradient outside the band
    m.eval()
    torch.testing.assert_close(m(x), s)
    with pytest.raises(ValueError, match="threshold_gradient"):
        create_method("dnnh", K, 2, threshold_gradient="sign")
