"""Brute-force reference implementations of the retrieval metrics (slow, obvious loops).

The other ``test_metrics_*`` files import these; the tests here check the references
themselves on hand-computed examples.
"""

from __future__ import annotations

import itertools

import numpy as np


def bits(codes) -> np.ndarray:
    return (np.asarray(codes) > 0).astype(int)


def distances(query_codes, db_codes) -> np.ndarray:
    q, d = bits(query_codes), bits(db_codes)
    return np.array([[int(np.sum(a != b)) for b in d] for a in q])


def relevance(query_labels, db_labels) -> np.ndarray:
    ql, dl = np.asarray(query_labels), np.asarray(db_labels)
    if ql.ndim == 1:
        return np.array([[a == b for b in dl] for a in ql])
    return np.array([[bool(np.any((a > 0) & (b > 0))) for b in dl] for a in ql])


def ap_of_ranking(rel_ranked, k, n_rel_total, denominator) -> float:
    """AP@k of one ranked relevance list (python loop over ranks)."""
    hits, total = 0, 0.0
    for rank, r in enumerate(rel_ranked[:k], start=1):
        if r:
            hits += 1
            total += hits / rank
    z = hits if denominator == "retrieved" else n_rel_total
    return total / z if z > 0 else 0.0


def index_order(dist_row) -> list[int]:
    """Database indices sorted by (distance, index), written as a plain sort."""
    return sorted(range(len(dist_row)), key=lambda j: (dist_row[j], j))


def tie_orders(dist_row):
    """Every ranking consistent with the distances: all orders of each tied group."""
    groups = [[j for j in range(len(dist_row)) if dist_row[j] == d] for d in sorted(set(dist_row))]
    for parts in itertools.product(*(itertools.permutations(g) for g in groups)):
        yield [j for part in parts for j in part]


def average_precision(q, db, ql, dl, *, topk=None, ties="index", denominator="retrieved"):
    dist, rel = distances(q, db), relevance(ql, dl)
    k = dist.shape[1] if topk is None else topk
    out = []
    for i in range(len(dist)):
        n_rel = int(rel[i].sum())
        orders = [index_order(dist[i])] if ties == "index" else list(tie_orders(dist[i]))
        values = [ap_of_ranking(rel[i][o], k, n_rel, denominator) for o in orders]
        out.append(float(np.mean(values)))
    return np.array(out)


def precision_at_n(q, db, ql, dl, *, n, ties="index"):
    dist, rel = distances(q, db), relevance(ql, dl)
    per_query = []
    for i in range(len(dist)):
        orders = [index_order(dist[i])] if ties == "index" else list(tie_orders(dist[i]))
        per_query.append([np.mean([rel[i][o][:c].sum() / c for o in orders]) for c in n])
    return np.mean(per_query, axis=0)


def stable_argsort_ap(q, db, ql, dl, topk=None):
    """The plain per-query loop of deep hashing code: Hamming distance, stable argsort,
    mean of t / rank_t over the relevant items of the top k (0 without any). The fast
    paths must equal it bit for bit (same divisions, same np.mean)."""
    dist, rel = distances(q, db), relevance(ql, dl)
    k = dist.shape[1] if topk is None else topk
    out = np.zeros(len(dist))
    for i in range(len(dist)):
        ranks = np.flatnonzero(rel[i][np.argsort(dist[i], kind="stable")[:k]]) + 1
        if len(ranks):
            out[i] = np.mean(np.arange(1, len(ranks) + 1) / ranks)
    return out


def tied_problem(seed, n_q, n_db, n_bits, n_classes, *, multi=False, n_protos=3, flip=0.02):
    """Codes near a few prototypes (long runs of equal distances). Single-label: the last
    query's class is absent from the database; multi-label: random label sets."""
    rng = np.random.default_rng(seed)
    protos = rng.choice([-1, 1], size=(n_protos, n_bits))

    def near(n):
        codes = protos[rng.integers(0, n_protos, n)]
        return np.where(rng.random(codes.shape) < flip, -codes, codes)

    q, db = near(n_q), near(n_db)
    if multi:
        return (q, db, (rng.random((n_q, n_classes)) < 0.3).astype(np.uint8),
                (rng.random((n_db, n_classes)) < 0.3).astype(np.uint8))
    ql = rng.integers(0, n_classes, n_q)
    ql[-1] = n_classes  # no relevant item
    return q, db, ql, rng.integers(0, n_classes, n_db)


def radius_counts(q, db, ql, dl):
    """(n_q, n_bits+1) returned and relevant-returned counts within each radius."""
    dist, rel = distances(q, db), relevance(ql, dl)
    n_bits = bits(q).shape[1]
    ret = np.array(
        [[int(np.sum(dist[i] <= r)) for r in range(n_bits + 1)] for i in range(len(dist))]
    )
    good = np.array(
        [
            [int(np.sum((dist[i] <= r) & rel[i])) for r in range(n_bits + 1)]
            for i in range(len(dist))
        ]
    )
    return ret, good, rel.sum(axis=1)


def correlation(codes) -> np.ndarray:
    x = np.where(np.asarray(codes) > 0, 1.0, -1.0)
    n_bits = x.shape[1]
    c = np.eye(n_bits)
    for k in range(n_bits):
        for m in range(n_bits):
            if k != m and x[:, k].std() > 0 and x[:, m].std() > 0:
                c[k, m] = np.corrcoef(x[:, k], x[:, m])[0, 1]
    return c


# ---- the references on hand-computed cases --------------------------------------------------
def test_reference_ap_hand_example():
    # ranking: rel, irr, rel, irr, rel -> AP = (1/1 + 2/3 + 3/5) / 3
    assert np.isclose(ap_of_ranking([1, 0, 1, 0, 1], 5, 3, "retrieved"), (1 + 2 / 3 + 3 / 5) / 3)
    # top 3: (1 + 2/3) / 2 retrieved, / 3 all
    assert np.isclose(ap_of_ranking([1, 0, 1, 0, 1], 3, 3, "retrieved"), (1 + 2 / 3) / 2)
    assert np.isclose(ap_of_ranking([1, 0, 1, 0, 1], 3, 3, "all"), (1 + 2 / 3) / 3)
    assert ap_of_ranking([0, 0, 1], 2, 1, "retrieved") == 0.0


def test_reference_tie_orders_count_and_consistency():
    dist = [1, 0, 1, 2, 1]
    orders = list(tie_orders(dist))
    assert len(orders) == 6  # 3! orders of the three items at distance 1
    assert all(o[0] == 1 and o[-1] == 3 for o in orders)
    assert index_order(dist) == [1, 0, 2, 4, 3]
