"""ADSH's (and DSAH's) soft similarity targets and the code step they feed (issue 13).

With the hard targets S in {-1,+1}, ADSH's closed-form code step made the database codes
of CIFAR-10's ten classes collapse onto a few bits (8 distinct bits of 32 in the first
cpu grid); the official code's soft targets (1 similar, -r dissimilar) do not.
"""

from __future__ import annotations

import pytest
import torch

from hashlib_core.losses.adsh import (
    adsh_update_codes,
    signed_similarity,
    similarity_ratio,
    soft_similarity,
)
from hashlib_core.methods import create_method
from hashlib_core.metrics import code_health
from hashlib_core.models.backbones import create_backbone

N_CLASSES, PER_CLASS, K, M = 10, 60, 16, 200


def _labels() -> torch.Tensor:
    return torch.eye(N_CLASSES)[torch.arange(N_CLASSES).repeat_interleave(PER_CLASS)]


def _alternate(similarity) -> torch.Tensor:
    """ADSH's code step, 8 outer iterations, against a 'network' that fits the current codes
    of its inputs with noise; returns V."""
    labels = _labels()
    g = torch.Generator().manual_seed(0)
    v = torch.randint(0, 2, (len(labels), K), generator=g).float() * 2 - 1
    for _ in range(8):
        omega = torch.randperm(len(labels), generator=g)[:M]
        u = torch.tanh(0.8 * v[omega] + 0.5 * torch.randn(M, K, generator=g))
        v = adsh_update_codes(v, u, similarity(labels[omega], labels), omega, gamma=200.0)
    return v


def _class_codes(v: torch.Tensor) -> torch.Tensor:
    labels = _labels()
    return torch.stack([v[labels[:, c] > 0].mean(0).sign() for c in range(N_CLASSES)])


def test_soft_similarity_matches_the_official_formula():
    g = torch.Generator().manual_seed(1)
    y = torch.eye(4)[torch.randint(0, 4, (30,), generator=g)]
    share = (y @ y.T > 0).float()
    r = share.sum() / (1 - share).sum()
    expected = share * (1 + r) - r
    assert similarity_ratio(y, y) == pytest.approx(float(r))
    torch.testing.assert_close(soft_similarity(y, y), expected)
    torch.testing.assert_close(soft_similarity(y, y, ratio=0.5), share * 1.5 - 0.5)


def test_similarity_ratio_needs_a_dissimilar_pair():
    y = torch.eye(3)[[0, 0, 0]]
    with pytest.raises(ValueError, match="dissimilar"):
        similarity_ratio(y, y)


def test_code_step_with_soft_targets_keeps_every_bit_and_class():
    v = _alternate(soft_similarity)
    health = code_health(v.numpy())
    assert health["distinct_bits"] == K
    assert health["constant_bits"] == 0.0
    assert len(torch.unique(_class_codes(v), dim=0)) == N_CLASSES


def test_code_step_with_hard_targets_collapses():
    """The failure the soft targets fix (kept as a guard that the toy shows it)."""
    v = _alternate(signed_similarity)
    health = code_health(v.numpy())
    assert health["distinct_bits"] < K / 2
    assert len(torch.unique(_class_codes(v), dim=0)) < N_CLASSES


@pytest.mark.parametrize("name", ["adsh", "dsah"])
def test_methods_use_the_soft_targets(name):
    labels = _labels()
    method = create_method(name, K, N_CLASSES, **({"lae_steps": 5} if name == "dsah" else {}))
    method.build(lambda: create_backbone("smallcnn", image_size=32))
    method.setup(labels, torch.Generator().manual_seed(0))
    method.epoch_indices(0, len(labels), torch.Generator().manual_seed(0))
    s = method.similarity(labels[:5], labels)
    r = float(method.sim_ratio)
    assert r == pytest.approx(1 / 9, rel=0.2)
    assert sorted(torch.unique(s).tolist()) == pytest.approx([-r, 1.0])


@pytest.mark.parametrize("multi", [False, True])
def test_gathered_targets_are_the_computed_ones_bit_for_bit(multi):
    """ADSH's targets against the training set come from one row per label vector: the
    same bits as soft_similarity (single-label, and multi-label with few combinations),
    the same ratio; a label vector unseen in training, or too many distinct vectors, fall
    back to the direct product."""
    g = torch.Generator().manual_seed(3)
    labels = _labels()
    if multi:  # a second label on a third of the items: 20 distinct label vectors
        extra = torch.eye(N_CLASSES)[(torch.arange(len(labels)) * 7) % N_CLASSES]
        labels = ((labels + extra * (torch.arange(len(labels)) % 3 == 0)[:, None]) > 0).float()
    method = create_method("adsh", K, N_CLASSES)
    method.build(lambda: create_backbone("smallcnn", image_size=32))
    method.setup(labels, g)
    method.epoch_indices(0, len(labels), g)
    sample = labels[method.omega]
    assert float(method.sim_ratio) == float(torch.tensor(similarity_ratio(sample, labels)))
    r = float(method.sim_ratio)
    for rows in (sample, labels[:7], labels[:7].double()):
        fast = method.train_similarity(rows)
        slow = soft_similarity(rows, labels.to(rows), ratio=r)
        assert fast.dtype == slow.dtype and torch.equal(fast, slow)
    assert method._target_rows() is not None
    unseen = torch.ones(2, N_CLASSES)
    assert method._target_rows().targets(unseen, r) is None
    assert torch.equal(method.train_similarity(unseen), soft_similarity(unseen, labels, ratio=r))


def test_many_label_vectors_keep_the_direct_product():
    labels = (torch.rand(300, N_CLASSES, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    method = create_method("adsh", K, N_CLASSES)
    method.build(lambda: create_backbone("smallcnn", image_size=32))
    method.setup(labels, torch.Generator().manual_seed(0))
    assert method._target_rows() is None  # more than MAX_PATTERNS distinct label vectors
    method.epoch_indices(0, len(labels), torch.Generator().manual_seed(0))
    r = float(method.sim_ratio)
    assert r == float(torch.tensor(similarity_ratio(labels[method.omega], labels)))
    assert torch.equal(method.train_similarity(labels[:9]), soft_similarity(labels[:9], labels, ratio=r))
