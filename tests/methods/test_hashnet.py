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


def _hashnet(**overrides):
    m = create_method("hashnet", 8, 3, **overrides)
    m.build(lambda: (torch.nn.Flatten(), 12))
    return m


def test_official_step_schedule_counts_training_iterations_and_head_learning_rate():
    m = _hashnet(schedule_iterations=None)  # the official code's own counter
    assert m.beta() == 1.0
    m.train()
    x = torch.randn(4, 3, 2, 2)
    for _ in range(199):
        m(x)
    assert int(m.iteration) == 199 and m.beta() == 1.0  # beta changes every 200 iterations
    out = m(x)  # the 200th iteration already uses the new scale, as the official layer
    assert abs(m.beta() - (1 + 0.005 * 200) ** 0.5) < 1e-12
    torch.testing.assert_close(out, torch.tanh(m.beta() * m.head(m.backbone(x))))
    m.eval()
    m(x)
    assert int(m.iteration) == 200  # only training iterations count
    # from scratch the hash layer learns at the backbone's rate; the paper's tenfold
    # rate (fine-tuning a pre-trained backbone) is an override
    assert [g["lr"] for g in m.param_groups(1e-3)] == [1e-3, 1e-3]
    tenfold = _hashnet(head_lr_mult=10)
    groups = tenfold.param_groups(1e-3)
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in tenfold.head.parameters()}


def _short_run(m, n_train=50, batch=10, n_epochs=3):
    """The engine's calls for a run of n_epochs epochs; the beta of every iteration."""
    labels = torch.nn.functional.one_hot(torch.arange(n_train) % 3, 3).float()
    m.setup(labels, torch.Generator().manual_seed(0))
    betas = []
    for epoch in range(n_epochs):
        m.begin_epoch(epoch, n_epochs)
        m.train()
        for start in range(0, n_train, batch):
            m(torch.randn(min(batch, n_train - start), 3, 2, 2))
            betas.append(m.beta())
    return betas


def test_continuation_reaches_the_official_final_beta_at_the_end_of_a_short_run():
    # 15 iterations here stand for the official 10,000: beta ends at sqrt(1 + 0.005 * 1e4)
    betas = _short_run(_hashnet())
    assert betas[-1] == pytest.approx(math.sqrt(51.0), rel=1e-12)
    # the first iteration (10 of 150 items) stands for 667 official ones: t = 600
    assert betas[0] == pytest.approx(math.sqrt(1 + 0.005 * 600), rel=1e-12)
    assert all(a <= b for a, b in zip(betas, betas[1:]))
    # the schedule follows the run's progress, not its number of iterations: with
    # batches of 5, halfway through the run (75 of 150 items) t = 5,000
    finer = _short_run(_hashnet(), batch=5)
    assert finer[14] == pytest.approx(math.sqrt(1 + 0.005 * 5000), rel=1e-12)
    assert finer[-1] == pytest.approx(betas[-1], rel=1e-12)


def test_continuation_resumes_from_a_checkpoint():
    m = _hashnet()
    _short_run(m, n_epochs=3)
    fresh = _hashnet()
    fresh.load_state_dict(m.state_dict())
    assert fresh.beta() == m.beta() and int(fresh.items_seen) == 150


def test_bad_schedule_length_is_refused():
    with pytest.raises(ValueError, match="schedule_iterations"):
        create_method("hashnet", 8, 3, schedule_iterations=0)
