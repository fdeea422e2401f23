"""The deep baselines' pairwise and triplet losses equal brute-force loops (float64)."""

from __future__ import annotations

import math

import pytest
import torch

from hashlib_core.losses.adsh import adsh_network_loss, signed_similarity
from hashlib_core.losses.daph import daph_loss, daph_update_codes
from hashlib_core.losses.dch import DCHLoss
from hashlib_core.losses.dhn import DHNLoss
from hashlib_core.losses.dnnh import TripletRankingLoss
from hashlib_core.losses.dtsh import DTSHLoss

K = 6


def _batch(seed: int, n: int = 7, multi_label: bool = False):
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, K, generator=g, dtype=torch.float64) * 2 - 1
    if multi_label:
        labels = (torch.rand(n, 4, generator=g) < 0.35).double()
        labels[labels.sum(1) == 0, 0] = 1.0
    else:
        labels = torch.nn.functional.one_hot(torch.randint(0, 3, (n,), generator=g), 3).double()
    return u, labels


def _share(labels, i, j) -> float:
    return float(labels[i] @ labels[j] > 0)


def _dot(a, b) -> float:
    return sum(float(x) * float(y) for x, y in zip(a, b, strict=True))


def _triplets(labels):
    n = labels.shape[0]
    for q in range(n):
        for p in range(n):
            for m in range(n):
                if q != p and _share(labels, q, p) and not _share(labels, q, m):
                    yield q, p, m


@pytest.mark.parametrize("multi_label", [False, True])
def test_dnnh_triplet_loss_equals_loop(multi_label):
    u, labels = _batch(1, multi_label=multi_label)
    u = (u + 1) / 2  # sigmoid-range outputs
    terms = []
    for q, p, m in _triplets(labels):
        dn = sum((float(u[q, k]) - float(u[m, k])) ** 2 for k in range(K))
        dp = sum((float(u[q, k]) - float(u[p, k])) ** 2 for k in range(K))
        terms.append(max(0.0, 1.0 - (dn - dp)))
    assert terms, "the toy batch must contain valid triplets"
    got = TripletRankingLoss(K, margin=1.0)(u, labels)
    assert got.item() == pytest.approx(sum(terms) / len(terms), rel=1e-12)


def test_dnnh_without_valid_triplet_is_zero_with_gradient():
    u = torch.rand(4, K, dtype=torch.float64, requires_grad=True)
    loss = TripletRankingLoss(K)(u, torch.zeros(4, dtype=torch.long))
    loss.backward()
    assert loss.item() == 0.0 and u.grad is not None


@pytest.mark.parametrize("multi_label", [False, True])
def test_dtsh_loss_equals_loop(multi_label):
    u, labels = _batch(2, multi_label=multi_label)
    u = u * 3  # linear outputs
    alpha, lam = K / 2, 0.3
    terms = []
    for q, p, m in _triplets(labels):
        x = 0.5 * _dot(u[q], u[p]) - 0.5 * _dot(u[q], u[m]) - alpha
        terms.append(-(x - math.log1p(math.exp(x))))
    quant = (
        sum(sum(((1.0 if float(v) >= 0 else -1.0) - float(v)) ** 2 for v in row) for row in u)
        / u.shape[0]
    )
    want = sum(terms) / len(terms) + lam * quant
    got = DTSHLoss(K, alpha=None, lam=lam)(u, labels)
    assert got.item() == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("multi_label", [False, True])
def test_dhn_loss_equals_loop(multi_label):
    u, labels = _batch(3, multi_label=multi_label)
    alpha, lam = 0.5, 0.7
    n = u.shape[0]
    pairs = []
    for i in range(n):
        for j in range(n):
            if i != j:
                t = alpha * _dot(u[i], u[j])
                pairs.append(math.log1p(math.exp(t)) - _share(labels, i, j) * t)
    quant = sum(math.log(math.cosh(abs(float(v)) - 1.0)) for v in u.flatten()) / u.numel()
    got = DHNLoss(K, alpha=alpha, lam=lam)(u, labels)
    assert got.item() == pytest.approx(sum(pairs) / len(pairs) + lam * quant, rel=1e-12)


@pytest.mark.parametrize("multi_label", [False, True])
def test_dch_loss_equals_loop(multi_label):
    u, labels = _batch(4, multi_label=multi_label)
    gamma, lam = 20.0, 0.4
    n = u.shape[0]

    def dist(a, b):
        cos = _dot(a, b) / math.sqrt(_dot(a, a) * _dot(b, b))
        return K / 2 * (1 - cos)

    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    n_pos = sum(_share(labels, i, j) for i, j in pairs)
    n_neg = len(pairs) - n_pos
    assert n_pos and n_neg
    total = 0.0
    for i, j in pairs:
        s = _share(labels, i, j)
        w = len(pairs) / n_pos if s else len(pairs) / n_neg
        d = dist(u[i], u[j])
        total += w * (s * math.log(d / gamma) + math.log(1 + gamma / d))
    quant = sum(math.log(1 + dist(row.abs(), torch.ones(K)) / gamma) for row in u) / n
    got = DCHLoss(K, gamma=gamma, lam=lam)(u, labels)
    assert got.item() == pytest.approx(total / len(pairs) + lam * quant, rel=1e-10)


def _dch_quant(row):
    a = [abs(float(v)) for v in row]
    cos = sum(a) / math.sqrt(sum(x * x for x in a) * K)
    return math.log1p(K / 2 * (1 - cos) / 20.0)


def _dhn_quant(row):
    return sum(math.log(math.cosh(abs(float(v)) - 1)) for v in row) / K


@pytest.mark.parametrize(
    ("loss", "quant"), [(DCHLoss(K, lam=0.5), _dch_quant), (DHNLoss(K, lam=0.5), _dhn_quant)]
)
def test_pairwise_losses_of_a_single_item_batch_are_the_quantisation_term(loss, quant):
    u = torch.tensor([[0.5, -0.2, 0.9, 0.1, -0.7, 0.3]], dtype=torch.float64, requires_grad=True)
    value = loss(u, torch.tensor([0]))
    value.backward()
    assert u.grad.abs().sum() > 0
    assert value.item() == pytest.approx(0.5 * quant(u[0].detach()), rel=1e-12)


def test_adsh_network_loss_equals_loop():
    g = torch.Generator().manual_seed(5)
    n, b, gamma = 9, 4, 200.0
    labels = torch.nn.functional.one_hot(torch.randint(0, 3, (n,), generator=g), 3).double()
    v = torch.where(torch.rand(n, K, generator=g) > 0.5, 1.0, -1.0).double()
    index = torch.tensor([0, 3, 4, 8])
    u = torch.rand(b, K, generator=g, dtype=torch.float64) * 2 - 1
    total = 0.0
    for a, i in enumerate(index.tolist()):
        for j in range(n):
            s = 1.0 if _share(labels, i, j) else -1.0
            total += (_dot(u[a], v[j]) - K * s) ** 2
        total += gamma * sum((float(v[i, k]) - float(u[a, k])) ** 2 for k in range(K))
    s = signed_similarity(labels[index], labels)
    got = adsh_network_loss(u, s, v, v[index], gamma=gamma)
    assert got.item() == pytest.approx(total / (n * b), rel=1e-12)


@pytest.mark.parametrize("stream", ["both", "query", "database"])
def test_daph_loss_equals_loop(stream):
    u, labels = _batch(6, n=5)
    z = torch.rand(5, K, generator=torch.Generator().manual_seed(7), dtype=torch.float64) * 2 - 1
    b = torch.where(u >= 0, 1.0, -1.0).flip(0)
    h = torch.where(z >= 0, 1.0, -1.0)
    alpha, lam, beta, n_items = 2.0, 0.3, 0.5, 50
    n = u.shape[0]
    lik = 0.0
    for i in range(n):
        for j in range(n):
            t = 0.5 * _dot(u[i], z[j])
            lik += math.log1p(math.exp(t)) - _share(labels, i, j) * t
    total = lik / n**2

    def own_terms(x, code):
        quant = sum((float(x[i, k]) - float(code[i, k])) ** 2 for i in range(n) for k in range(K))
        dec = 0.0
        for k in range(K):
            for m in range(K):
                c = sum(float(x[i, k]) * float(x[i, m]) for i in range(n)) / n
                dec += (c - (1.0 if k == m else 0.0)) ** 2
        bal = sum((sum(float(x[i, k]) for i in range(n)) / n) ** 2 for k in range(K))
        return alpha / n_items * quant / n + lam * dec / K**2 + beta * bal

    if stream != "database":
        total += own_terms(u, b)
    if stream != "query":
        total += own_terms(z, h)
    s = (labels @ labels.T > 0).double()
    got = daph_loss(u, z, s, b=b, h=h, alpha=alpha, lam=lam, beta=beta, n_items=n_items,
                    stream=stream)
    assert got.item() == pytest.approx(total, rel=1e-12)


def test_daph_stream_detaches_the_fixed_network():
    u, labels = _batch(8, n=5)
    z = u.flip(0).clone()
    u.requires_grad_(True)
    z.requires_grad_(True)
    s = (labels @ labels.T > 0).double()
    daph_loss(u, z, s, b=None, h=None, alpha=1.0, lam=0.1, beta=0.1, n_items=5,
              stream="query").backward()
    assert u.grad is not None and z.grad is None
    with pytest.raises(ValueError, match="stream"):
        daph_loss(u, z, s, b=None, h=None, alpha=1.0, lam=0.1, beta=0.1, n_items=5,
                  stream="both_ways")
    with pytest.raises(ValueError, match="n_items"):
        daph_loss(u, z, s, b=None, h=None, alpha=1.0, lam=0.1, beta=0.1, n_items=0)


@pytest.mark.parametrize(("alpha", "gamma"), [(10.0, 10.0), (10.0, 1.0), (1.0, 10.0), (3.0, 0.5)])
def test_daph_code_step_is_the_joint_minimiser(alpha, gamma):
    """Each entry's (b, h) attains the least of alpha((u-b)^2 + (z-h)^2) + gamma (b-h)^2
    over the four candidates (the objective separates over the entries)."""
    g = torch.Generator().manual_seed(9)
    u = torch.rand(40, K, generator=g, dtype=torch.float64) * 2 - 1
    z = torch.rand(40, K, generator=g, dtype=torch.float64) * 2 - 1
    b, h = daph_update_codes(u, z, alpha=alpha, gamma=gamma)
    assert set(b.unique().tolist()) <= {-1.0, 1.0} and set(h.unique().tolist()) <= {-1.0, 1.0}

    def cost(x, y, bb, hh):
        return alpha * ((x - bb) ** 2 + (y - hh) ** 2) + gamma * (bb - hh) ** 2

    for i in range(u.shape[0]):
        for k in range(K):
            x, y = float(u[i, k]), float(z[i, k])
            best = min(cost(x, y, bb, hh) for bb in (-1.0, 1.0) for hh in (-1.0, 1.0))
            assert cost(x, y, float(b[i, k]), float(h[i, k])) == pytest.approx(best, abs=1e-12)
    with pytest.raises(ValueError, match="gamma"):
        daph_update_codes(u, z, alpha=1.0, gamma=-1.0)


def test_daph_loss_does_not_depend_on_the_batch_size():
    """The paper's objective divided by n^2 and estimated on a batch: a batch repeated
    twice has the same loss, term by term. DeepHash-pytorch's balance term (the batch sum,
    squared) grows with the batch: repeated twice, it was 4 times larger."""
    g = torch.Generator().manual_seed(3)
    u = torch.rand(16, K, generator=g, dtype=torch.float64) * 2 - 1
    z = torch.rand(16, K, generator=g, dtype=torch.float64) * 2 - 1
    b, h = torch.where(u >= 0, 1.0, -1.0), torch.where(z >= 0, 1.0, -1.0)
    labels = torch.eye(4, dtype=torch.float64)[torch.arange(16) % 4]
    s = labels @ labels.T

    def loss(rep, **weights):
        return daph_loss(u.repeat(rep, 1), z.repeat(rep, 1), s.repeat(rep, rep),
                         b=b.repeat(rep, 1), h=h.repeat(rep, 1), n_items=100,
                         **weights).item()

    for weights in ({"alpha": 10.0, "lam": 0.0, "beta": 0.0},
                    {"alpha": 0.0, "lam": 0.01, "beta": 0.0},
                    {"alpha": 0.0, "lam": 0.0, "beta": 0.01},
                    {"alpha": 10.0, "lam": 0.01, "beta": 0.01}):
        assert loss(2, **weights) == pytest.approx(loss(1, **weights), rel=1e-12), weights


def test_daph_weights_follow_the_papers_sums():
    """Quantisation alpha / n per item against the likelihood's pair mean, balance beta
    times the squared batch mean of each bit: a common offset a on K bits costs beta K a^2
    for each stream it trains, at any batch size."""
    n, k, a = 64, 8, 0.5
    u = torch.full((n, k), a, dtype=torch.float64)
    z = -u
    s = torch.zeros(n, n, dtype=torch.float64)
    none = {"alpha": 0.0, "lam": 0.0, "beta": 0.0}
    plain = daph_loss(u, z, s, b=None, h=None, n_items=10, stream="query", **none)
    balance = daph_loss(u, z, s, b=None, h=None, n_items=10, stream="query",
                        **{**none, "beta": 0.01})
    assert (balance - plain).item() == pytest.approx(0.01 * k * a**2)
    ones = torch.ones_like(u)
    quant = daph_loss(u, z, s, b=ones, h=ones, n_items=10, stream="query",
                      **{**none, "alpha": 10.0})
    assert (quant - plain).item() == pytest.approx(10.0 / 10 * k * (1 - a) ** 2)


@pytest.mark.parametrize("classes", [4, 10, 100])
def test_daph_default_balance_makes_a_common_offset_unprofitable(classes):
    """The label-blind move of the two streams (u + a, z - a on every image) lowers the
    likelihood of the dissimilar pairs by about (1 - 2p)/4 |a|^2 near the start (p: the
    share of similar pairs) and costs 2 beta |a|^2 of balance: DAPH's default beta = 1/8
    makes it unprofitable for any p, a weaker balance (beta = 0.01, measured: offsets half
    the outputs' size on CIFAR-10) does not."""
    from hashlib_core.methods.daph import DAPH

    n, k = 200, 16
    g = torch.Generator().manual_seed(5)
    u = (torch.rand(n, k, generator=g, dtype=torch.float64) - 0.5) * 0.02
    z = (torch.rand(n, k, generator=g, dtype=torch.float64) - 0.5) * 0.02
    u, z = u - u.mean(0), z - z.mean(0)
    labels = torch.eye(classes, dtype=torch.float64)[torch.arange(n) % classes]
    s = labels @ labels.T
    a = torch.full((k,), 0.1, dtype=torch.float64)
    hp = DAPH.defaults
    weights = {"alpha": hp["alpha"], "lam": hp["lam"], "n_items": n}

    def change(beta):
        def loss(uu, zz):
            return daph_loss(uu, zz, s, b=None, h=None, beta=beta, **weights).item()
        return loss(u + a, z - a) - loss(u, z)

    assert hp["beta"] == 0.125
    assert change(hp["beta"]) > 0
    assert change(0.01) < 0
