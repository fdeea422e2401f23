r"""ADSH's asymmetric objective and its discrete (bit-wise closed-form) code update.

Jiang and Li, "Asymmetric Deep Supervised Hashing", AAAI 2018, eq. (2)-(10).
Query points :math:`\Omega` (a sample of the training set) are encoded by the network,
:math:`u_i = \tanh(F(x_i; \Theta))`; every training (database) point j has a directly
optimised code :math:`v_j \in \{-1,+1\}^K`. The targets are the official code's soft
similarities (``ADSH_pytorch``'s ``calc_sim``, also DeepHash-pytorch's ADSH):
:math:`S_{ij} = 1` for pairs that share a label and :math:`S_{ij} = -r` otherwise, with
:math:`r = \#\text{similar} / \#\text{dissimilar}` over the sampled rows
(:func:`soft_similarity`; about 1/9 on CIFAR-10). With the hard targets
:math:`S_{ij} = -1` the K-dimensional codes of ten classes cannot all reach inner product
-K with each other; the code step then follows the mean of U and the bits become
constant across classes (measured: 8 distinct bits of 32 on CIFAR-10).

.. math::

    J(\Theta, V) = \sum_{i \in \Omega} \sum_{j=1}^{n}
        \left(u_i^\top v_j - K S_{ij}\right)^2
      + \gamma \sum_{i \in \Omega} \lVert v_i - u_i \rVert_2^2 .

Network step (V fixed): mini-batch SGD on J restricted to the batch, divided by
``n * batch`` (the official code's scaling). Code step (Theta fixed, U = outputs of
the sampled points): with :math:`\bar U \in \mathbb{R}^{n \times K}` equal to U on the
rows of :math:`\Omega` and 0 elsewhere, :math:`J = \lVert V U^\top\rVert_F^2
+ \operatorname{tr}(V Q^\top) + \text{const}`,
:math:`Q = -2K S^\top U - 2\gamma \bar U`, and column k of V has the closed form

.. math::

    V_{*k} = -\operatorname{sign}\left(2 \hat V_k \hat U_k^\top U_{*k} + Q_{*k}\right),

:math:`\hat V_k, \hat U_k` being V and U without column k; the columns are updated
one after the other (each update minimises J exactly over its column, so J never
increases).
"""

from __future__ import annotations

import torch


def signed_similarity(labels_a: torch.Tensor, labels_b: torch.Tensor) -> torch.Tensor:
    """S_ij = +1 when items share a label, else -1; shape (n_a, n_b)."""
    dtype = labels_a.dtype if labels_a.is_floating_point() else torch.float32
    share = labels_a.to(dtype) @ labels_b.to(dtype).T > 0
    return 2.0 * share.to(dtype) - 1.0


def similarity_ratio(labels_a: torch.Tensor, labels_b: torch.Tensor) -> float:
    """r = #similar / #dissimilar pairs between two label sets (ADSH's soft constraint).

    Raises ``ValueError`` when no pair is dissimilar (r is undefined: one class only).
    """
    dtype = labels_a.dtype if labels_a.is_floating_point() else torch.float32
    share = labels_a.to(dtype) @ labels_b.to(dtype).T > 0
    n_sim = int(share.sum())
    n_dis = share.numel() - n_sim
    if n_dis == 0:
        raise ValueError(
            f"similarity_ratio: all {share.numel()} pairs share a label; ADSH's soft "
            "similarity needs dissimilar pairs"
        )
    return n_sim / n_dis


def soft_similarity(
    labels_a: torch.Tensor, labels_b: torch.Tensor, ratio: float | None = None
) -> torch.Tensor:
    """ADSH's soft targets: 1 for pairs that share a label, ``-ratio`` otherwise.

    ``S <- S (1 + r) - r`` applied to S in {0, 1}, as in the official ``calc_sim``;
    ``ratio`` defaults to :func:`similarity_ratio` of these two label sets.

    Examples
    --------
    >>> y = torch.eye(3)[[0, 0, 1, 2]]
    >>> soft_similarity(y[:2], y)
    tensor([[ 1.0000,  1.0000, -0.5000, -0.5000],
            [ 1.0000,  1.0000, -0.5000, -0.5000]])
    """
    r = similarity_ratio(labels_a, labels_b) if ratio is None else float(ratio)
    dtype = labels_a.dtype if labels_a.is_floating_point() else torch.float32
    share = (labels_a.to(dtype) @ labels_b.to(dtype).T > 0).to(dtype)
    return share * (1.0 + r) - r


def adsh_network_loss(
    u: torch.Tensor,
    s: torch.Tensor,
    v: torch.Tensor,
    v_self: torch.Tensor,
    *,
    gamma: float,
) -> torch.Tensor:
    """The network step's mini-batch loss.

    Parameters
    ----------
    u : torch.Tensor of shape (batch, K)
        Relaxed codes of the sampled query points in the batch.
    s : torch.Tensor of shape (batch, n)
        S_ij (:func:`soft_similarity`) between the batch and every training point.
    v : torch.Tensor of shape (n, K)
        Database codes V (constants here).
    v_self : torch.Tensor of shape (batch, K)
        The rows of V of the batch's own items.
    gamma : float
        Weight of ``||v_i - u_i||^2``.

    Returns
    -------
    torch.Tensor
        ``(sum (u V^T - K S)^2 + gamma sum ||v_i - u_i||^2) / (n * batch)``.
    """
    n, k = v.shape
    if u.shape[1] != k or s.shape != (u.shape[0], n) or v_self.shape != u.shape:
        raise ValueError(
            f"shapes do not match: u {tuple(u.shape)}, s {tuple(s.shape)}, V {tuple(v.shape)}, "
            f"v_self {tuple(v_self.shape)}"
        )
    square = (u @ v.T - k * s).pow(2).sum()
    quant = (v_self - u).pow(2).sum()
    return (square + gamma * quant) / (n * u.shape[0])


def adsh_objective(
    u: torch.Tensor,
    v: torch.Tensor,
    s: torch.Tensor,
    omega: torch.Tensor,
    *,
    gamma: float,
    target_codes: torch.Tensor | None = None,
    nu: float = 0.0,
) -> torch.Tensor:
    """J(V) for fixed U: ``||U V^T - K S||^2 + gamma ||V_Omega - U||^2 (+ nu ||V - T||^2)``.

    ``u`` (m, K) are the outputs of the sampled points ``omega`` (m,), ``v`` (n, K),
    ``s`` (m, n). The last term (DSAH's pull of V towards target codes T (n, K)) is
    added when ``nu`` is not 0.
    """
    k = v.shape[1]
    value = (u @ v.T - k * s).pow(2).sum() + gamma * (v[omega] - u).pow(2).sum()
    if nu:
        if target_codes is None or target_codes.shape != v.shape:
            raise ValueError(f"nu={nu} needs target_codes of shape {tuple(v.shape)}")
        value = value + nu * (v - target_codes.to(v)).pow(2).sum()
    return value


@torch.no_grad()
def adsh_update_codes(
    v: torch.Tensor,
    u: torch.Tensor,
    s: torch.Tensor,
    omega: torch.Tensor,
    *,
    gamma: float,
    target_codes: torch.Tensor | None = None,
    nu: float = 0.0,
) -> torch.Tensor:
    """ADSH's discrete cyclic coordinate update of V, one column (bit) at a time.

    Parameters
    ----------
    v : torch.Tensor of shape (n, K)
        Current codes in {-1,+1}.
    u : torch.Tensor of shape (m, K)
        Outputs of the sampled points.
    s : torch.Tensor of shape (m, n)
        S (:func:`soft_similarity`) between the sampled points and every point.
    omega : torch.Tensor of shape (m,)
        Positions of the sampled points among the n.
    gamma : float
        Weight of the ``||v_i - u_i||^2`` term.
    target_codes : torch.Tensor of shape (n, K), optional
        Codes T in {-1,+1} that V is pulled towards by ``nu ||V - T||^2`` (DSAH: the
        signs of the label auto-encoder's codes); since V is binary this term only adds
        ``-2 nu T`` to Q. Required when ``nu`` is not 0.
    nu : float
        Weight of the target term; 0 (the default) is ADSH's update.

    Returns
    -------
    torch.Tensor of shape (n, K)
        The updated codes (a new tensor), in {-1,+1}; sign(0) is taken as +1.
    """
    n, k = v.shape
    v = v.clone().to(u.dtype)
    u_bar = torch.zeros(n, k, dtype=u.dtype, device=u.device)
    u_bar[omega] = u
    q = -2.0 * k * (s.T.to(u.dtype) @ u) - 2.0 * gamma * u_bar
    if nu:
        if target_codes is None or target_codes.shape != (n, k):
            raise ValueError(f"nu={nu} needs target_codes of shape ({n}, {k})")
        q = q - 2.0 * nu * target_codes.to(q)
    for bit in range(k):
        rest = [c for c in range(k) if c != bit]
        v_rest = v[:, rest]
        u_rest = u[:, rest]
        z = 2.0 * v_rest @ (u_rest.T @ u[:, bit]) + q[:, bit]
        v[:, bit] = torch.where(z > 0, -1.0, 1.0).to(v.dtype)
    return v
