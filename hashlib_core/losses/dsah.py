r"""DSAH's label-code term of the image network's loss (added to ADSH's asymmetric loss).

Reconstruction (see ``hashlib_core.methods.dsah``). DSAH's image network is trained on
ADSH's loss (:func:`hashlib_core.losses.adsh.adsh_network_loss`) plus a pull of each
sampled point's relaxed code :math:`u_i` towards its label auto-encoder code
:math:`l_i`, scaled like ADSH's terms (the official ADSH code divides by :math:`n|B|`):

.. math::

    L = \frac{1}{n|B|} \sum_{i \in B} \Bigl[ \sum_{j=1}^{n} (u_i^\top v_j - K S_{ij})^2
        + \gamma \lVert v_i - u_i \rVert^2 \Bigr]
      + \frac{\mu}{n|B|} \sum_{i \in B} \lVert u_i - l_i \rVert^2 .

This module holds the last term. DSAH's other constraint,
:math:`\nu \lVert v_j - \operatorname{sign}(l_j)\rVert^2`, does not depend on the
network: it enters only the code update (``adsh_update_codes(..., target_codes, nu)``).
"""

from __future__ import annotations

import torch


def label_code_penalty(
    u: torch.Tensor, label_codes: torch.Tensor, *, n_database: int, mu: float
) -> torch.Tensor:
    """``mu * sum_i ||u_i - l_i||^2 / (n_database * batch)``.

    Parameters
    ----------
    u : torch.Tensor of shape (batch, K)
        Relaxed codes of the batch.
    label_codes : torch.Tensor of shape (batch, K)
        The label auto-encoder's codes ``l_i`` of the same items (constants).
    n_database : int
        n, the number of database codes (ADSH's scaling).
    mu : float
        Weight of the term.

    Examples
    --------
    >>> import torch
    >>> float(label_code_penalty(torch.zeros(2, 3), torch.ones(2, 3), n_database=3, mu=1.0))
    1.0
    """
    if u.shape != label_codes.shape or u.dim() != 2:
        raise ValueError(
            f"u {tuple(u.shape)} and label_codes {tuple(label_codes.shape)} must both be (batch, K)"
        )
    if n_database <= 0:
        raise ValueError(f"n_database must be positive, got {n_database}")
    return mu * (u - label_codes.to(u)).pow(2).sum() / (n_database * u.shape[0])
