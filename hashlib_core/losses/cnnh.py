r"""CNNH stage 1: approximate hash codes from the similarity matrix alone.

Xia, Pan, Lai, Liu and Yan, "Supervised Hashing for Image Retrieval via Image
Representation Learning", AAAI 2014, section "Stage 1", eq. (2)-(8).
With :math:`S_{ij} = +1` for similar and :math:`-1` for dissimilar training pairs
(:math:`S_{ii} = 1`), stage 1 solves the relaxed problem

.. math::

    \min_{H \in [-1, 1]^{n \times K}} \; \lVert H H^\top - K S \rVert_F^2

(K^2 times the paper's :math:`\lVert S - \tfrac1K H H^\top \rVert_F^2`) by random
coordinate descent with Newton directions: with the residual :math:`R = H H^\top - K S`,
changing one entry :math:`H_{ij} \to H_{ij} + d` changes the objective by

.. math::

    g(d) = 4d\,(R H)_{ij} + 2 d^2 \left(\lVert H_{*j}\rVert^2 + H_{ij}^2 + R_{ii}\right)
           + O(d^3),

so the Newton step is :math:`d = -(RH)_{ij} / (\lVert H_{*j}\rVert^2 + H_{ij}^2 + R_{ii})`,
clipped so that :math:`H_{ij} + d \in [-1, 1]`. R is updated in O(n) per step (row and
column i), so a sweep over all n K entries (in a random order) costs O(n^2 K).
The approximate codes are :math:`\operatorname{sign}(H)`.

Safeguard (ours): the exact change of the quartic objective is evaluated for each
step (O(1) given :math:`(RH)_{ij}`) and a step that would not decrease it, or whose
curvature is not positive, is skipped; so the objective never increases.
"""

from __future__ import annotations

import numpy as np


def cnnh_objective(h: np.ndarray, s: np.ndarray) -> float:
    """``||H H^T - K S||_F^2`` for H (n, K) and S (n, n) in {-1,+1}."""
    k = h.shape[1]
    r = h @ h.T - k * s
    return float((r * r).sum())


def cnnh_stage_one(
    s: np.ndarray,
    n_bits: int,
    *,
    sweeps: int = 10,
    tol: float = 1e-4,
    rng: np.random.Generator,
    h0: np.ndarray | None = None,
) -> tuple[np.ndarray, list[float]]:
    """Random coordinate descent with Newton steps on ``||H H^T - K S||^2``.

    Parameters
    ----------
    s : np.ndarray of shape (n, n)
        Symmetric similarity matrix in {-1,+1} with ones on the diagonal.
    n_bits : int
        Code length K.
    sweeps : int
        Maximum number of sweeps (each visits all n K entries once, random order).
    tol : float
        Stop when a sweep lowers the objective by less than this fraction.
    rng : np.random.Generator
        Source of the initial H (uniform in [-1, 1]) and of the visiting orders.
    h0 : np.ndarray of shape (n, K), optional
        Initial H in [-1, 1] instead of a random one.

    Returns
    -------
    h : np.ndarray of shape (n, K)
        The relaxed solution in [-1, 1] (the codes are its signs).
    history : list of float
        The objective before the first sweep and after each sweep.
    """
    s = np.asarray(s, dtype=np.float64)
    n = s.shape[0]
    if s.ndim != 2 or s.shape[1] != n:
        raise ValueError(f"s must be a square (n, n) matrix, got shape {s.shape}")
    if n_bits <= 0 or sweeps < 0:
        raise ValueError(f"need n_bits > 0 and sweeps >= 0, got {n_bits}, {sweeps}")
    k = int(n_bits)
    if h0 is None:
        h = rng.uniform(-1.0, 1.0, size=(n, k))
    else:
        h = np.clip(np.asarray(h0, dtype=np.float64), -1.0, 1.0).copy()
        if h.shape != (n, k):
            raise ValueError(f"h0 must have shape {(n, k)}, got {h.shape}")
    ht = np.ascontiguousarray(h.T)  # (K, n): column j of H is the contiguous row ht[j]
    r = ht.T @ ht - k * s
    col_sq = (ht * ht).sum(1)
    history = [float((r * r).sum())]
    for _ in range(sweeps):
        _sweep(ht, r, col_sq, rng.permutation(n * k))
        history.append(float((r * r).sum()))
        if history[-2] - history[-1] < tol * max(history[-2], 1e-12):
            break
    return ht.T.copy(), history


def _sweep(ht: np.ndarray, r: np.ndarray, col_sq: np.ndarray, order: np.ndarray) -> None:
    """One sweep of Newton steps over the entries of H in ``order`` (flat indices), in
    place: ``ht`` is H transposed, ``r`` the residual H H^T - K S, ``col_sq`` the squared
    norms of H's columns; a step is taken only when it lowers the objective."""
    k = ht.shape[0]
    for flat in order:
        i, j = divmod(int(flat), k)
        col = ht[j]
        hij = col[i]
        rii = r[i, i]
        a = float(r[i] @ col)  # (R H)_ij
        curv = col_sq[j] + hij * hij + rii
        if curv <= 0.0:
            continue
        d = min(max(-a / curv, -1.0 - hij), 1.0 - hij)
        if d == 0.0:
            continue
        # exact change of the objective for H_ij -> H_ij + d
        diag = rii + 2.0 * d * hij + d * d
        delta = (
            4.0 * d * (a - rii * hij)
            + 2.0 * d * d * (col_sq[j] - hij * hij)
            + diag * diag
            - rii * rii
        )
        if delta >= 0.0:
            continue
        step = d * col
        r[i] += step
        r[:, i] += step
        r[i, i] = diag
        col_sq[j] += 2.0 * d * hij + d * d
        col[i] = hij + d
