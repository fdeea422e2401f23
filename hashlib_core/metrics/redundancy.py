r"""Redundancy of a set of codes: constant bits, near-duplicate bits, effective bits.

:func:`hashlib_core.metrics.code_health` counts *exact* copies only and lumps every
constant bit into one distinct bit; its mAC counts a constant bit as uncorrelated with
every other bit, which makes a code with many dead bits look healthy. The measures here
look at what the bits carry (issue 24):

* **constant bits**, each counted: a bit with one value on every code carries nothing;
* **varying bits** = ``n_bits`` - constant bits;
* **mAC over the varying bits**: :func:`mean_absolute_correlation` restricted to them;
* **near-duplicate groups**: varying bits linked when ``|r| >= threshold`` (0.9), the
  connected components of that graph; ``redundant_bits`` = varying bits - groups (the bits
  that nearly copy, or invert, another bit of their group);
* **effective bits**: see :func:`effective_bits`.

Conventions: bits are read as {-1,+1}; statistics are over the given codes (the query or
the database codes of a run); every count is an integer returned as a float in
:func:`code_redundancy` (so that it sits beside the other scalars of a record).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hashlib_core.metrics._checks import as_bits

__all__ = [
    "CODE_REDUNDANCY_KEYS",
    "DUPLICATE_THRESHOLD",
    "EFFECTIVE_VARIANCE",
    "code_redundancy",
    "constant_bit_mask",
    "duplicate_groups",
    "effective_bits",
]

#: two varying bits are near-duplicates when their |Pearson r| reaches this
DUPLICATE_THRESHOLD = 0.9
#: the share of the codes' variance that :func:`effective_bits` explains
EFFECTIVE_VARIANCE = 0.99
#: the keys of :func:`code_redundancy`, in display order
CODE_REDUNDANCY_KEYS = ("n_constant_bits", "varying_bits", "mac_varying", "dup_groups",
                        "redundant_bits", "effective_bits")


def _bits(codes: Any, n_bits: int | None) -> np.ndarray:
    """{0,1} uint8 bits of shape (n, n_bits); ``n_bits`` given = ``codes`` are packed."""
    if n_bits is None:
        return as_bits(codes)
    packed = np.asarray(codes)
    if packed.dtype != np.uint8 or packed.ndim != 2:
        raise ValueError(f"codes: packed codes must be a 2-D uint8 array, got dtype "
                         f"{packed.dtype} and shape {packed.shape}")
    if packed.shape[1] != -(-int(n_bits) // 8):
        raise ValueError(f"codes: packed shape {packed.shape} does not hold n_bits={n_bits} "
                         f"(need {-(-int(n_bits) // 8)} bytes per code)")
    return np.unpackbits(packed, axis=1, count=int(n_bits))


def _centred(bits: np.ndarray) -> np.ndarray:
    if len(bits) < 2:
        raise ValueError(f"codes: need at least 2 codes for bit statistics, got shape {bits.shape}")
    x = bits.astype(np.float64) * 2.0 - 1.0
    return x - x.mean(axis=0)


def constant_bit_mask(codes: Any, *, n_bits: int | None = None) -> np.ndarray:
    """Which bits have one value on every code.

    Parameters
    ----------
    codes : array-like of shape (n, n_bits)
        Values in {-1,+1}, {0,1} or bool; or uint8 packed codes of shape
        (n, ceil(n_bits / 8)) when ``n_bits`` is given.
    n_bits : int, optional
        The code length of packed ``codes``.

    Returns
    -------
    mask : ndarray of shape (n_bits,), bool

    Examples
    --------
    >>> constant_bit_mask([[1, 1, -1], [1, -1, -1]])
    array([ True, False,  True])
    """
    bits = _bits(codes, n_bits)
    return (bits == bits[:1]).all(axis=0)


def _groups(corr: np.ndarray, threshold: float) -> list[np.ndarray]:
    """Connected components of the graph ``|corr| >= threshold`` (union-find)."""
    n = len(corr)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(np.abs(corr) >= threshold, k=1))):
        ri, rj = root(int(i)), root(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([root(i) for i in range(n)])
    return [np.flatnonzero(roots == r) for r in np.unique(roots)]


def duplicate_groups(codes: Any, *, threshold: float = DUPLICATE_THRESHOLD,
                     n_bits: int | None = None) -> list[np.ndarray]:
    r"""Groups of varying bits that nearly copy (or invert) one another.

    Two varying bits ``k, l`` are linked when :math:`|r_{kl}| \ge` ``threshold``
    (Pearson correlation over the codes, bits as {-1,+1}); the groups are the connected
    components of that graph (so a chain of near-copies is one group). A bit linked to no
    other is a group of its own. Constant bits are in no group.

    Parameters
    ----------
    codes : array-like of shape (n, n_bits)
        At least 2 codes; {-1,+1}, {0,1}, bool, or packed with ``n_bits``.
    threshold : float
        In (0, 1]; default :data:`DUPLICATE_THRESHOLD` (0.9).
    n_bits : int, optional
        The code length of packed ``codes``.

    Returns
    -------
    groups : list of ndarray of int
        Bit indices of each group, sorted by their first bit.

    Examples
    --------
    >>> codes = [[1, 1, -1, 1], [-1, -1, 1, 1], [1, 1, 1, 1], [-1, -1, -1, 1]]
    >>> [g.tolist() for g in duplicate_groups(codes)]
    [[0, 1], [2]]
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    bits = _bits(codes, n_bits)
    varying = np.flatnonzero(~(bits == bits[:1]).all(axis=0))
    if len(varying) == 0:
        return []
    x = _centred(bits[:, varying])
    x /= np.sqrt((x * x).mean(axis=0))
    corr = (x.T @ x) / len(x)
    return [varying[g] for g in _groups(corr, threshold)]


def effective_bits(codes: Any, *, variance: float = EFFECTIVE_VARIANCE,
                   n_bits: int | None = None) -> int:
    r"""The number of principal components that explain ``variance`` of the codes.

    With bits as {-1,+1}, centred over the codes, and :math:`\lambda_1 \ge \dots \ge
    \lambda_B` the eigenvalues of their covariance matrix,

    .. math::

        B_\mathrm{eff} = \min \Big\{ k : \sum_{i \le k} \lambda_i \ge
        v \sum_{i} \lambda_i \Big\}, \qquad v = 0.99,

    and :math:`B_\mathrm{eff} = 0` when every bit is constant (no variance). Constant bits
    have zero variance, so this equals the same count over the varying bits alone.

    Why this definition: it is the number of independent directions the codes really
    use. ``n`` independent balanced bits give ``n`` (each component holds about ``1/n`` of
    the variance, far above the 1% left out); a code whose second half copies its first
    half gives ``n/2`` exactly (rank ``n/2``); constant bits add nothing; a near-copy that
    differs on a few codes adds a component holding well under 1% of the variance, so it
    is not counted. Two alternatives fail on the book's data: the entropy of the code
    distribution is bounded by :math:`\log_2 n_\mathrm{codes}` (about 10 bits for 1,000
    query codes, whatever the code length), and the participation ratio
    :math:`(\sum\lambda)^2 / \sum\lambda^2` is dominated by the class structure (about 10
    for every method on CIFAR-10's 10 classes), so neither separates a code that repeats
    itself from one that does not.

    Tolerance: with few codes, sampling noise spreads the eigenvalues of independent bits
    (Marchenko-Pastur); for ``n_bits / n_codes <= 0.064`` (64 bits, 1,000 codes) the
    smallest share stays near 1% and independent bits give ``n_bits`` or ``n_bits - 1``.
    On the book's 1,000 stored query codes (cpu scale, seed 0) the count is stable: over
    20 bootstrap resamples it moved by at most 4 (CSQ 32 bits: 14 on all codes, 13-14
    resampled; SHNet 64 bits: 36, 32-35; DSAH 32 bits: 29, 29-29).

    Parameters
    ----------
    codes : array-like of shape (n, n_bits)
        At least 2 codes; {-1,+1}, {0,1}, bool, or packed with ``n_bits``.
    variance : float
        The share of variance to explain, in (0, 1]; default :data:`EFFECTIVE_VARIANCE`.
    n_bits : int, optional
        The code length of packed ``codes``.

    Returns
    -------
    effective : int
        In ``0 .. n_bits``.

    Examples
    --------
    >>> half = [[1, 1], [1, -1], [-1, 1], [-1, -1]]
    >>> effective_bits(half)
    2
    >>> effective_bits([r + r for r in half])  # the same two bits twice
    2
    >>> effective_bits([[1, -1], [1, -1]])  # constant
    0
    """
    if not 0 < variance <= 1:
        raise ValueError(f"variance must be in (0, 1], got {variance!r}")
    return _effective(_centred(_bits(codes, n_bits)), variance)


def _effective(x: np.ndarray, variance: float) -> int:
    lam = np.clip(np.linalg.eigvalsh((x.T @ x) / len(x))[::-1], 0.0, None)
    total = lam.sum()
    if total <= 1e-12:
        return 0
    share = np.cumsum(lam) / total
    return int(np.searchsorted(share, variance - 1e-12) + 1)


def code_redundancy(codes: Any, *, threshold: float = DUPLICATE_THRESHOLD,
                    variance: float = EFFECTIVE_VARIANCE,
                    n_bits: int | None = None) -> dict[str, float]:
    r"""Every redundancy measure of a set of codes, in one pass.

    * ``n_constant_bits``: bits with one value on every code, each counted;
    * ``varying_bits``: ``n_bits - n_constant_bits``;
    * ``mac_varying``: mean absolute Pearson correlation over pairs of varying bits,
      :math:`\frac{2}{V(V-1)} \sum_{k<l \in \mathrm{varying}} |r_{kl}|` (NaN with fewer
      than 2 varying bits);
    * ``dup_groups``: the number of :func:`duplicate_groups` (``|r| >= threshold``);
    * ``redundant_bits``: ``varying_bits - dup_groups``;
    * ``effective_bits``: :func:`effective_bits`.

    Parameters
    ----------
    codes : array-like of shape (n, n_bits)
        At least 2 codes; {-1,+1}, {0,1}, bool, or packed with ``n_bits``.
    threshold, variance : float
        As in :func:`duplicate_groups` and :func:`effective_bits`.
    n_bits : int, optional
        The code length of packed ``codes``.

    Returns
    -------
    redundancy : dict
        Floats, keys in :data:`CODE_REDUNDANCY_KEYS` order.

    Examples
    --------
    >>> codes = [[1, 1, -1, 1], [-1, -1, 1, 1], [1, 1, 1, 1], [-1, -1, -1, 1]]
    >>> r = code_redundancy(codes)
    >>> r["n_constant_bits"], r["varying_bits"], r["dup_groups"], r["effective_bits"]
    (1.0, 3.0, 2.0, 2.0)
    >>> round(r["mac_varying"], 4)
    0.3333
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    if not 0 < variance <= 1:
        raise ValueError(f"variance must be in (0, 1], got {variance!r}")
    bits = _bits(codes, n_bits)
    x = _centred(bits)
    constant = (bits == bits[:1]).all(axis=0)
    v = x[:, ~constant]
    n_var = v.shape[1]
    if n_var >= 2:
        z = v / np.sqrt((v * v).mean(axis=0))
        corr = np.clip((z.T @ z) / len(z), -1.0, 1.0)
        np.fill_diagonal(corr, 1.0)
        mac = float(np.abs(corr[np.triu_indices(n_var, 1)]).mean())
        groups = len(_groups(corr, threshold))
    else:
        mac, groups = float("nan"), n_var
    return {"n_constant_bits": float(constant.sum()), "varying_bits": float(n_var),
            "mac_varying": mac, "dup_groups": float(groups),
            "redundant_bits": float(n_var - groups),
            "effective_bits": float(_effective(x, variance))}
