"""Shallow baselines (LSH, SH, ITQ, KSH, SDH, FastH) on real CIFAR-10 GIST-512.

Data: the exact-pixel CIFAR-10 subset (../shared/data/cifar10-exact-subset): 2,034
training/database images (the first 1,017 of data_batch_1 and of data_batch_2) and 500
queries (the first 500 of test_batch); GIST computed once per session (cached).
"""

from __future__ import annotations

import numpy as np
import pytest

from hashlib_core.features import cached_gist
from hashlib_core.methods import create_method, list_methods
from hashlib_core.metrics import mean_average_precision

SHALLOW = ["lsh", "sh", "itq", "ksh", "sdh", "fasth"]
# test-sized settings (everything else at the paper defaults); KSH uses the paper's
# other labelled-set size, l = 1000
FAST = {
    "ksh": {"n_labelled": 1000},
    "fasth": {"n_trees": 10, "n_train_max": 400},
}
TINY = {
    "ksh": {"n_anchors": 40, "n_labelled": 200, "max_iter": 30},
    "sdh": {"n_anchors": 60},
    "fasth": {"n_trees": 5, "n_train_max": 200},
}


@pytest.fixture(scope="module")
def cifar_gist(shared_data, cache_dir):
    npz = np.load(shared_data / "cifar10-exact-subset" / "cifar10_exact_1017perbatch.npz")
    db_x = np.concatenate([npz["data_batch_1_x"], npz["data_batch_2_x"]])
    db_y = np.concatenate([npz["data_batch_1_y"], npz["data_batch_2_y"]]).astype(np.int64)
    q_x, q_y = npz["test_batch_x"][:500], npz["test_batch_y"][:500].astype(np.int64)
    feats = cached_gist(np.concatenate([db_x, q_x]), key="cifar10-exact-test", cache_dir=cache_dir)
    return feats[: len(db_x)], db_y, feats[len(db_x) :], q_y


@pytest.fixture(scope="module")
def map_at_32(cifar_gist):
    """mAP@ALL at 32 bits of LSH, ITQ, KSH and SDH (trained on the database items)."""
    db_f, db_y, q_f, q_y = cifar_gist
    out = {}
    for name in ("lsh", "itq", "ksh", "sdh"):
        m = create_method(name, 32, 10, seed=0, **FAST.get(name, {})).fit(db_f, db_y)
        out[name] = mean_average_precision(m.encode(q_f), m.encode(db_f), q_y, db_y)
    return out


def test_registry_holds_the_six_shallow_methods():
    assert set(SHALLOW) <= set(list_methods("shallow"))
    for name in SHALLOW:
        cls = type(create_method(name, 8, 10))
        assert cls.kind == "shallow" and cls.citation and cls.name == name


@pytest.mark.slow
def test_itq_beats_lsh_at_32_bits(map_at_32):
    assert map_at_32["itq"] > map_at_32["lsh"] + 0.01, map_at_32


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ksh", "sdh"])
def test_supervised_beats_itq_at_32_bits(map_at_32, name):
    assert map_at_32[name] > map_at_32["itq"] + 0.05, map_at_32


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "fasth" else n for n in SHALLOW]
)
def test_codes_are_signs_of_requested_width_and_seeded(cifar_gist, name):
    db_f, db_y, q_f, _ = cifar_gist
    n_bits = 8
    fit = (db_f[:300], db_y[:300])

    def codes(seed):
        m = create_method(name, n_bits, 10, seed=seed, **TINY.get(name, {})).fit(*fit)
        return m.encode(q_f[:50])

    a, b = codes(0), codes(0)
    assert a.shape == (50, n_bits) and a.dtype == np.int8
    assert set(np.unique(a)) <= {-1, 1}
    np.testing.assert_array_equal(a, b)
    if name not in ("sh",):  # SH has no randomness
        assert not np.array_equal(a, codes(1))


def test_multi_hot_labels_equal_integer_labels(cifar_gist):
    db_f, db_y, q_f, _ = cifar_gist
    one_hot = np.eye(10, dtype=np.uint8)[db_y[:300]]
    a = create_method("sdh", 16, 10, n_anchors=60).fit(db_f[:300], db_y[:300])
    b = create_method("sdh", 16, 10, n_anchors=60).fit(db_f[:300], one_hot)
    np.testing.assert_array_equal(a.encode(q_f[:50]), b.encode(q_f[:50]))


def test_itq_quantisation_loss_decreases(cifar_gist):
    m = create_method("itq", 32, 10).fit(cifar_gist[0])
    loss = np.array(m.loss_history_)
    assert len(loss) == 50 and (np.diff(loss) <= 1e-6 * loss[0]).all() and loss[-1] < loss[0]


def test_ksh_bits_reduce_the_residual(cifar_gist):
    """Each greedy KSH bit agrees with the residual target: h^T R h > 0."""
    m = create_method("ksh", 8, 10, **TINY["ksh"]).fit(cifar_gist[0][:300], cifar_gist[1][:300])
    assert all(v > 0 for v in m.bit_objective_)


def test_nan_features_are_refused_with_position():
    x = np.random.default_rng(0).standard_normal((20, 16))
    x[3, 5] = np.nan
    x[7, 2] = np.inf
    for name in SHALLOW:
        with pytest.raises(ValueError, match=r"2 non-finite values .* row 3, column 5"):
            create_method(name, 4, 2).fit(x, np.arange(20) % 2)


@pytest.mark.parametrize("name", ["itq", "sh"])
def test_pca_methods_refuse_more_bits_than_dimensions(name):
    x = np.random.default_rng(0).standard_normal((50, 8))
    with pytest.raises(ValueError, match="n_bits=16 is larger than the feature dimension 8"):
        create_method(name, 16, 2).fit(x)


@pytest.mark.parametrize("name", ["ksh", "sdh", "fasth"])
def test_supervised_methods_need_labels(name):
    x = np.random.default_rng(0).standard_normal((50, 8))
    with pytest.raises(ValueError, match="supervised"):
        create_method(name, 4, 2).fit(x)


@pytest.mark.parametrize("name", SHALLOW)
def test_label_count_mismatch_and_encode_before_fit(name):
    x = np.random.default_rng(0).standard_normal((50, 8))
    with pytest.raises(ValueError, match="49 labels for 50 feature rows"):
        create_method(name, 4, 2).fit(x, np.zeros(49, dtype=int))
    with pytest.raises(ValueError, match="before fit"):
        create_method(name, 4, 2).encode(x)


def test_bad_label_values_and_feature_width():
    x = np.random.default_rng(0).standard_normal((50, 8))
    with pytest.raises(ValueError, match="n_classes=2"):
        create_method("sdh", 4, 2).fit(x, np.arange(50) % 3)
    m = create_method("lsh", 4, 2).fit(x)
    with pytest.raises(ValueError, match="9 dimensions but the method was fitted on 8"):
        m.encode(np.zeros((3, 9)))


@pytest.mark.parametrize("multi_label", [False, True])
def test_pair_residual_matches_the_dense_matrix(multi_label):
    """KSH / FastH's residual R = r S - H H^T, low-rank (single label) or dense."""
    from hashlib_core.methods._shallow_utils import PairResidual

    rng = np.random.default_rng(0)
    y = np.eye(4)[rng.integers(0, 4, 30)]
    if multi_label:
        y[::3, 0] = 1.0
    s = np.where(y @ y.T > 0, 1.0, -1.0)
    res = PairResidual(y, scale=8)
    assert res.one_hot is not multi_label
    h = np.where(rng.standard_normal((30, 2)) >= 0, 1.0, -1.0)
    for col in h.T:
        res.add_bit(col)
    r = 8 * s - h @ h.T
    v = rng.standard_normal((30, 3))
    np.testing.assert_allclose(res.matvec(v), r @ v)
    np.testing.assert_allclose(res.column(7), r[:, 7])
    np.testing.assert_allclose(res.diag(), np.diag(r))
    assert res.quad(v[:, 0]) == pytest.approx(v[:, 0] @ r @ v[:, 0])


def test_fasth_inference_reaches_a_single_flip_local_optimum():
    from hashlib_core.methods._shallow_utils import PairResidual
    from hashlib_core.methods.fasth import infer_bit

    rng = np.random.default_rng(3)
    res = PairResidual(np.eye(5)[rng.integers(0, 5, 200)], scale=16)
    res.add_bit(np.where(rng.standard_normal(200) >= 0, 1.0, -1.0))
    z, value = infer_bit(res, rng, sweeps=100)
    g = res.matvec(z)
    assert value == pytest.approx(z @ g)
    assert (-4 * z * (g - res.diag() * z) <= 1e-9).all()  # no single flip improves


def test_sdh_dcc_never_increases_its_objective():
    from hashlib_core.methods.sdh import dcc_update

    rng = np.random.default_rng(4)
    b0 = np.where(rng.standard_normal((100, 12)) >= 0, 1.0, -1.0)
    w, q = rng.standard_normal((12, 5)), rng.standard_normal((100, 12))

    def objective(b):
        return ((b @ w) ** 2).sum() - 2 * (b * q).sum()

    b1 = dcc_update(b0, w, q, sweeps=1)
    b2 = dcc_update(b1, w, q, sweeps=50)
    assert objective(b2) <= objective(b1) < objective(b0)
    np.testing.assert_array_equal(dcc_update(b2, w, q, sweeps=50), b2)  # a fixed point


def test_fasth_encodes_the_same_bits_on_one_thread():
    """encode runs its trees on one OpenMP thread (faster on a busy machine): the codes are
    those of the trees' own decision functions at scikit-learn's default threads."""
    from hashlib_core.methods._shallow_utils import sign_codes

    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 32)).astype(np.float32)
    y = np.eye(4)[rng.integers(0, 4, 300)]
    model = create_method("fasth", 6, 4, seed=0, **TINY["fasth"]).fit(x, y)
    items = rng.standard_normal((2000, 32)).astype(np.float32)
    direct = np.column_stack([sign_codes(t.decision_function(items)) for t in model.trees_])
    np.testing.assert_array_equal(model.encode(items), direct)
