"""Code statistics: bit correlation, mean absolute correlation (mAC), bit balance.

Computed on the {-1,+1} values of the bits over a set of codes (usually the database).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from hashlib_core.metrics._checks import as_bits

__all__ = ["bit_balance", "bit_correlation", "code_health", "mean_absolute_correlation"]


def _signed(codes: Any) -> np.ndarray:
    bits = as_bits(codes)
    if len(bits) < 2:
        raise ValueError(f"codes: need at least 2 codes for bit statistics, got shape {bits.shape}")
    return bits.astype(np.float64) * 2.0 - 1.0


def bit_correlation(codes: Any) -> np.ndarray:
    r"""Pearson correlation between every pair of bits over a set of codes.

    .. math::

        C_{kl} = \frac{\mathrm{cov}(b_k, b_l)}{\sigma_k \sigma_l}

    over the codes, with bits as {-1,+1}. A constant bit (all codes equal there) has no
    correlation defined; its row and column are set to 0 off the diagonal (a warning
    gives the count). The diagonal is 1.

    Parameters
    ----------
    codes : array-like of shape (n, n_bits)
        At least 2 codes, values in {-1,+1}, {0,1} or bool.

    Returns
    -------
    correlation : ndarray of shape (n_bits, n_bits), float64
        Symmetric, in ``[-1, 1]``.

    Examples
    --------
    >>> bit_correlation([[1, 1, -1], [-1, -1, 1], [1, 1, 1], [-1, -1, -1]])
    array([[1., 1., 0.],
           [1., 1., 0.],
           [0., 0., 1.]])
    """
    x = _signed(codes)
    x = x - x.mean(axis=0)
    std = np.sqrt((x * x).mean(axis=0))
    constant = std == 0
    if constant.any():
        warnings.warn(
            f"{int(constant.sum())} of {x.shape[1]} bits are constant over the codes; "
            "their correlation is set to 0",
            RuntimeWarning,
            stacklevel=2,
        )
    scale = np.where(constant, 1.0, std)
    z = x / scale
    corr = (z.T @ z) / len(z)
    np.clip(corr, -1.0, 1.0, out=corr)
    np.fill_diagonal(corr, 1.0)
    return corr


def mean_absolute_correlation(codes: Any) -> float:
    r"""mAC: the mean absolute Pearson correlation over distinct bit pairs.

    .. math::

        \mathrm{mAC} = \frac{2}{B(B-1)} \sum_{k<l} |C_{kl}|

    with ``C`` from :func:`bit_correlation` (constant bits count as uncorrelated) and
    ``B = n_bits``. 0 for independent-looking bits, 1 when every bit copies another.

    Parameters
    ----------
    codes : array-like of shape (n, n_bits)
        At least 2 codes and 2 bits.

    Returns
    -------
    mac : float

    Examples
    --------
    >>> mean_absolute_correlation([[1, 1, -1], [-1, -1, 1], [1, 1, 1], [-1, -1, -1]])
    0.3333333333333333
    """
    corr = bit_correlation(codes)
    n_bits = corr.shape[0]
    if n_bits < 2:
        raise ValueError(f"codes: mAC needs at least 2 bits, got n_bits={n_bits}")
    upper = np.triu_indices(n_bits, k=1)
    return float(np.abs(corr[upper]).mean())


def bit_balance(codes: Any) -> float:
    r"""Mean absolute bit mean: how far bits are from being +1 on half of the codes.

    .. math::

        \mathrm{balance} = \frac{1}{B} \sum_{k=1}^{B} \Big| \frac{1}{n} \sum_i b_{ik} \Big|

    with bits as {-1,+1}: 0 when every bit is +1 on exactly half of the codes, 1 when every
    bit is constant. Lower is better.

    Parameters
    ----------
    codes : array-like of shape (n, n_bits)
        At least 2 codes.

    Returns
    -------
    balance : float
        In ``[0, 1]``.

    Examples
    --------
    >>> bit_balance([[1, 1], [-1, 1], [1, 1], [-1, 1]])
    0.5
    """
    return float(np.abs(_signed(codes).mean(axis=0)).mean())


def _n_unique_rows(packed: np.ndarray) -> int:
    """The number of different rows of a uint8 array, each row read as one opaque value
    (a 1-D sort of fixed-size byte strings: much faster than ``np.unique(axis=0)``)."""
    rows = np.ascontiguousarray(packed)
    return len(np.unique(rows.view(np.dtype((np.void, rows.shape[1]))).ravel()))


#: the keys of :func:`code_health`, in display order
CODE_HEALTH_KEYS = ("distinct_bits", "distinct_codes", "mac", "bit_balance", "constant_bits")


def code_health(codes: Any) -> dict[str, float]:
    r"""How much of its code length a set of codes uses: the signs of collapse in one dict.

    * ``distinct_bits``: the number of different bit columns, a column and its negation
      counted once (a bit that copies or inverts another adds nothing); ``n_bits`` at best;
    * ``distinct_codes``: the number of different codes (rows);
    * ``mac``: :func:`mean_absolute_correlation` (0 for independent-looking bits);
    * ``bit_balance``: :func:`bit_balance` (0 when every bit splits the codes in half);
    * ``constant_bits``: the fraction of bits with one value on every code.

    Conventions to keep in mind (the names are kept for the records the book reads):
    ``distinct_bits`` merges exact copies only, and every constant bit canonicalises to
    the same all-zero column, so all constant bits together count as *one* distinct bit
    (32 bits with 2 constant give 31, where 30 bits vary); ``constant_bits`` is a
    fraction, not a count; ``mac`` counts a constant bit as uncorrelated with every
    other, so dead bits lower it. :func:`hashlib_core.metrics.code_redundancy` gives the
    count of constant bits, the mAC over the varying bits, near-duplicate groups and the
    effective number of bits.

    Parameters
    ----------
    codes : array-like of shape (n, n_bits)
        At least 2 codes and 2 bits, values in {-1,+1}, {0,1} or bool.

    Returns
    -------
    health : dict
        The five values above (floats), keys in :data:`CODE_HEALTH_KEYS` order.

    Examples
    --------
    >>> h = code_health([[1, -1, 1], [-1, 1, 1], [1, -1, 1], [-1, 1, 1]])
    >>> h["distinct_bits"], h["distinct_codes"], h["constant_bits"]
    (2.0, 2.0, 0.3333333333333333)
    """
    bits = as_bits(codes)
    if len(bits) < 2 or bits.shape[1] < 2:
        raise ValueError(f"codes: code health needs at least 2 codes and 2 bits, got shape {bits.shape}")
    # a column up to sign: flip it so that its first entry is 0
    canon = bits ^ bits[:1]
    distinct_bits = _n_unique_rows(np.packbits(canon.T, axis=1))
    distinct_codes = _n_unique_rows(np.packbits(bits, axis=1))
    constant = (bits == bits[:1]).all(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mac = mean_absolute_correlation(bits)
    return {"distinct_bits": float(distinct_bits), "distinct_codes": float(distinct_codes),
            "mac": mac, "bit_balance": bit_balance(bits),
            "constant_bits": float(constant.mean())}
