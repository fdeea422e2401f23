"""SHNet's serial hash layer (the check segment is a function of the information segment) and method."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hashlib_core.methods import create_method
from hashlib_core.models.heads import HashHead
from hashlib_core.models.serial_head import SerialHashHead, segment_sizes

IN, K = 20, 12


def _null_space_perturbation(head: SerialHashHead, phi: torch.Tensor) -> torch.Tensor:
    """phi + delta with W1 delta = 0: the information segment a stays the same."""
    w1 = head.segments[0][0].weight.detach()  # (K1, IN)
    _, _, vh = torch.linalg.svd(w1, full_matrices=True)
    null = vh[w1.shape[0] :]  # rows span the null space of W1 (IN - K1 of them)
    coef = torch.randn(phi.shape[0], null.shape[0], generator=torch.Generator().manual_seed(1))
    return phi + 3.0 * coef @ null


@pytest.mark.parametrize("n_segments", [2, 3])
def test_check_segment_depends_on_phi_only_through_a(n_segments):
    torch.manual_seed(0)
    head = SerialHashHead(IN, K, n_segments=n_segments).eval()
    phi = torch.randn(8, IN)
    phi2 = _null_space_perturbation(head, phi)
    assert (phi2 - phi).abs().max() > 1.0  # a real perturbation of the feature
    s1, s2 = head.forward_segments(phi), head.forward_segments(phi2)
    torch.testing.assert_close(s2[0], s1[0], atol=1e-5, rtol=0)  # a held fixed
    for t in range(1, n_segments):
        torch.testing.assert_close(s2[t], s1[t], atol=1e-5, rtol=0)  # every check unchanged


def test_check_segment_sees_features_when_configured():
    torch.manual_seed(0)
    head = SerialHashHead(IN, K, check_sees_features=True).eval()
    phi = torch.randn(8, IN)
    phi2 = _null_space_perturbation(head, phi)
    s1, s2 = head.forward_segments(phi), head.forward_segments(phi2)
    torch.testing.assert_close(s2[0], s1[0], atol=1e-5, rtol=0)
    assert (s2[1] - s1[1]).abs().max() > 1e-2  # now c changes with phi at fixed a
    assert head.segments[1][0].in_features == K // 2 + IN


def test_check_loss_gradient_reaches_information_weights():
    torch.manual_seed(0)
    head = SerialHashHead(IN, K)  # train mode: batch statistics
    phi = torch.randn(16, IN)
    a, c = head.forward_segments(phi)
    (c * torch.randn_like(c)).sum().backward()  # a loss on the check segment only
    w1 = head.segments[0][0].weight
    assert w1.grad is not None and w1.grad.abs().sum() > 0
    # and nothing flows from a loss on c into W1 without the serial path
    head.zero_grad()
    a, c = head.forward_segments(phi)
    c2 = head.segments[1](a.detach())
    (c2 * torch.randn_like(c2)).sum().backward()
    assert head.segments[0][0].weight.grad is None or head.segments[0][0].weight.grad.abs().sum() == 0


def test_three_segments_chain():
    torch.manual_seed(0)
    head = SerialHashHead(IN, K, n_segments=3).eval()
    assert head.sizes == [6, 3, 3]
    assert [blk[0].in_features for blk in head.segments] == [IN, 6, 9]
    # segment 3 is a function of [a; s2]: its jacobian w.r.t. s2 is not zero
    phi = torch.randn(4, IN)
    a, s2, _ = head.forward_segments(phi)
    jac = torch.autograd.functional.jacobian(
        lambda x: head.segments[2](torch.cat([a, x], dim=1)), s2
    )
    assert jac.abs().sum() > 0
    u = head(phi)
    assert u.shape == (4, K) and u.abs().max() < 1


def test_segment_sizes_and_errors():
    assert segment_sizes(16, n_segments=1, info_fraction=0.5) == [16]
    assert segment_sizes(48, n_segments=2, info_fraction=0.75) == [36, 12]
    assert segment_sizes(13, n_segments=4, info_fraction=0.5) == [6, 3, 2, 2]  # K1 = round(6.5) = 6
    with pytest.raises(ValueError, match="info_fraction"):
        segment_sizes(16, n_segments=2, info_fraction=1.0)
    with pytest.raises(ValueError, match="cannot split"):
        segment_sizes(4, n_segments=4, info_fraction=0.5)
    with pytest.raises(ValueError, match="features must have shape"):
        SerialHashHead(IN, K)(torch.randn(3, IN + 1))


# ---- the SHNet method ------------------------------------------------------------------


def _shnet(**kw):
    torch.manual_seed(0)
    method = create_method("shnet", K, 4, **kw)
    method.build(lambda: (nn.Sequential(nn.Linear(6, IN), nn.ReLU()), IN))
    return method


def test_shnet_uses_csqs_loss_on_the_whole_code():
    method, csq = _shnet(), create_method("csq", K, 4)
    u = torch.tanh(torch.randn(8, K, dtype=torch.float64))
    labels = torch.nn.functional.one_hot(torch.arange(8) % 4, 4).float()
    idx = torch.arange(8)
    torch.testing.assert_close(method.loss(u, labels, idx), csq.loss(u, labels, idx))
    assert type(method.criterion) is type(csq.criterion)  # one implementation (CSQ's)


def test_shnet_check_bits_loss_trains_information_weights():
    method = _shnet()
    x = torch.randn(16, 6)
    labels = torch.nn.functional.one_hot(torch.arange(16) % 4, 4).float()
    u = method(x)
    k1 = method.segment_sizes[0]
    # CSQ's loss restricted to the check bits: only W2 and, through a, W1 can lower it
    centres = method.criterion.centers[labels.argmax(1)]
    h, t = (u[:, k1:] + 1) / 2, (centres[:, k1:] + 1) / 2
    torch.nn.functional.binary_cross_entropy(h, t).backward()
    w1 = method.head.segments[0][0].weight
    assert w1.grad is not None and w1.grad.abs().sum() > 0
    backbone_w = method.backbone[0].weight
    assert backbone_w.grad is not None and backbone_w.grad.abs().sum() > 0


def test_shnet_heads_and_options():
    assert isinstance(_shnet(head="parallel").head, HashHead)  # = CSQ's head (ablation)
    three = _shnet(n_segments=3)
    assert three.head.sizes == [6, 3, 3] and three.segment_sizes == [6, 3, 3]
    sees = _shnet(check_sees_features=True)
    assert sees.head.segments[1][0].in_features == K // 2 + IN
    assert _shnet(info_fraction=0.75).head.sizes == [9, 3]
    u = _shnet()(torch.randn(5, 6))
    assert u.shape == (5, K) and u.abs().max() < 1
    with pytest.raises(ValueError, match="head"):
        create_method("shnet", K, 4, head="tree")
    with pytest.raises(ValueError, match="cannot split"):
        create_method("shnet", 4, 4, n_segments=5)
