"""DHEH's and CSDH's losses against brute-force pair loops (float64), and their methods."""

from __future__ import annotations

import importlib
import itertools
from pathlib import Path

import pytest
import torch

from hashlib_core.losses.code_similarity import CodeSimilarityLoss
from hashlib_core.losses.hamming_embedding import HammingEmbeddingLoss
from hashlib_core.methods import create_method, get_method_class


def _batch(n=7, k=12, c=5, seed=0, multi=True):
    g = torch.Generator().manual_seed(seed)
    u = torch.tanh(2 * torch.randn(n, k, generator=g, dtype=torch.float64))
    if multi:
        labels = (torch.rand(n, c, generator=g) < 0.35).double()
        labels[labels.sum(1) == 0, 0] = 1.0
    else:
        labels = torch.nn.functional.one_hot(torch.randint(0, c, (n,), generator=g), c).double()
    return u, labels


def _share(y, i, j):
    return 1.0 if float(y[i] @ y[j]) > 0 else 0.0


def _cos(y, i, j):
    return float(y[i] @ y[j]) / (float(y[i].norm()) * float(y[j].norm()))


def _he_pair(u, i, j, s, m):
    k = u.shape[1]
    d = 0.5 * (k - float(u[i] @ u[j]))
    return (s * d**2 + (1 - s) * max(0.0, m - d) ** 2) / k


def _quant(u):
    return sum((abs(float(x)) - 1.0) ** 2 for x in u.flatten()) / u.numel()


@pytest.mark.parametrize("margin", [None, 3.0])
@pytest.mark.parametrize("multi", [False, True])
def test_hamming_embedding_equals_pair_loop(margin, multi):
    u, y = _batch(multi=multi)
    n, k = u.shape
    m = k / 2 if margin is None else margin
    pairs = list(itertools.combinations(range(n), 2))
    expected = sum(_he_pair(u, i, j, _share(y, i, j), m) for i, j in pairs) / len(pairs)
    expected += 0.1 * _quant(u)
    got = HammingEmbeddingLoss(k, margin=margin, eta=0.1)(u, y)
    assert got.dtype == torch.float64
    assert got.item() == pytest.approx(expected, rel=1e-12)
    # the ordered-pair mean (i != j) is the same number: the loss is symmetric in i, j
    ordered = [(i, j) for i in range(n) for j in range(n) if i != j]
    alt = sum(_he_pair(u, i, j, _share(y, i, j), m) for i, j in ordered) / len(ordered)
    assert alt + 0.1 * _quant(u) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("beta", [0.0, 1.0, 0.5])
def test_code_similarity_equals_pair_loop(beta):
    u, y = _batch(n=6, k=10, c=4, seed=3, multi=True)
    n, k = u.shape
    pairs = list(itertools.combinations(range(n), 2))
    expected = 0.0
    for i, j in pairs:
        s = _cos(y, i, j)
        expected += (float(u[i] @ u[j]) / k - (2 * s - 1)) ** 2
        expected += beta * _he_pair(u, i, j, s, k / 2)
    expected = expected / len(pairs) + 0.1 * _quant(u)
    got = CodeSimilarityLoss(k, beta=beta, eta=0.1)(u, y)
    # cosine_label_similarity (losses.base) normalises the labels in float32: s_ij carries
    # float32 rounding, so the match is to ~1e-8, not to float64 precision
    assert got.item() == pytest.approx(expected, rel=1e-7)


def test_cosine_similarity_is_graded_on_multilabel():
    y = torch.tensor([[1.0, 1, 0], [1, 0, 0], [0, 0, 1]])
    u = torch.tensor([[1.0, 1], [1, 1], [-1, -1]])
    # a pair sharing one of two labels has s = 1/sqrt(2): the code-similarity target
    # 2s - 1 = 0.414 is not met by identical codes (c = 1), so the loss is not zero
    loss = CodeSimilarityLoss(2, beta=0.0, eta=0.0)(u, y)
    expected = ((1 - (2 / 2**0.5 - 1)) ** 2 + 0 + 0) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_loss_refuses_bad_shapes():
    loss = HammingEmbeddingLoss(8)
    with pytest.raises(ValueError, match="shape"):
        loss(torch.zeros(4, 7), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="at least 2"):
        loss(torch.zeros(1, 8), torch.tensor([0]))
    with pytest.raises(ValueError, match="margin"):
        HammingEmbeddingLoss(8, margin=-1.0)


@pytest.mark.parametrize("name", ["dheh", "csdh"])
def test_perfect_codes_have_lower_loss_than_random(name):
    """Codes equal per class and far apart across classes score better than random ones."""
    k, n_classes = 16, 4
    labels = torch.nn.functional.one_hot(torch.arange(16) % n_classes, n_classes).float()
    centres = torch.tensor(
        [[1.0] * 16, [-1.0] * 16, [1.0] * 8 + [-1.0] * 8, [-1.0] * 8 + [1.0] * 8]
    )
    perfect = centres[torch.arange(16) % n_classes]
    rand = torch.where(torch.rand(16, k, generator=torch.Generator().manual_seed(0)) < 0.5, -1.0, 1.0)
    method = create_method(name, k, n_classes)
    idx = torch.arange(16)
    assert method.loss(perfect, labels, idx) < 0.5 * method.loss(rand, labels, idx)


def test_reconstructed_names_are_hyperparameters():
    for name in ("dheh", "csdh"):
        cls = type(create_method(name, 8, 3))
        assert set(cls.reconstructed) <= set(cls.defaults)
    with pytest.raises(ValueError, match="similarity"):
        create_method("dheh", 8, 3, similarity="jaccard")


# ---- documentation: every reconstructed choice is named where a reader looks -----------

BOOK = Path(__file__).resolve().parents[2] / "book" / "methods"


@pytest.mark.parametrize("name", ["shnet", "dheh", "csdh", "dsah", "daph"])
def test_reconstructed_choices_are_documented(name):
    cls = get_method_class(name)
    assert cls.reconstructed and set(cls.reconstructed) <= set(cls.defaults)
    doc = importlib.import_module(cls.__module__).__doc__
    section = doc.split("Reconstructed\n-------------", 1)
    assert len(section) == 2, f"{name}: module docstring has no 'Reconstructed' section"
    page = (BOOK / f"{name}.md").read_text()
    box = page.split("```{admonition} Reconstructed", 1)
    assert len(box) == 2 and ":class: warning" in box[1][:40], f"{name}: book page has no box"
    box_text = box[1].split("```", 1)[0]
    for hp in cls.reconstructed:
        assert f"``{hp}" in section[1], f"{name}: {hp} missing from the docstring's Reconstructed"
        assert f"`{hp}" in box_text, f"{name}: {hp} missing from the book's Reconstructed box"
        assert f"`{hp}`" in page.split("## Hyper-parameters", 1)[1], f"{name}: {hp} not in the table"
