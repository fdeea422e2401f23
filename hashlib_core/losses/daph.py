r"""DAPH's asymmetric pairwise objective between two networks, and its code step.

Shen, Gao, Liu, Yang and Shen, "Deep Asymmetric Pairwise Hashing", ACM Multimedia 2017.
A query network gives :math:`u_i`, a database network :math:`z_j` (both tanh outputs);
:math:`B, H \in \{-1,+1\}^{n \times K}` are their binary codes. As implemented (the
reading of the objective is ours, see ``hashlib_core.methods.daph``):

.. math::

    \mathcal L = \frac{1}{B^2} \sum_{i,j}
        \left(\log\left(1 + e^{\theta_{ij}}\right) - s_{ij}\theta_{ij}\right),
        \qquad \theta_{ij} = \tfrac12 u_i^\top z_j

    {} + \alpha\,\frac{1}{BK}\left(\lVert u - b\rVert^2 + \lVert z - h\rVert^2\right)
    + \lambda\,\frac{1}{K^2}\left(\lVert \tfrac1B u^\top u - I\rVert_F^2
                                  + \lVert \tfrac1B z^\top z - I\rVert_F^2\right)
    + \beta\,\frac1K\left(\lVert \tfrac1B u^\top \mathbf 1\rVert^2
                          + \lVert \tfrac1B z^\top \mathbf 1\rVert^2\right),

over the mini-batch: the asymmetric pairwise likelihood (all B x B pairs, the pair
(i, i) included: query and database codes of one image are two different vectors),
the quantisation to the codes, the decorrelation and the bit-balance terms. The code
step, for fixed outputs U, Z of all training items, minimises
:math:`\alpha(\lVert U - B\rVert^2 + \lVert Z - H\rVert^2) + \gamma \lVert B - H\rVert^2`
over B then over H: :math:`B = \operatorname{sign}(\alpha U + \gamma H)`,
:math:`H = \operatorname{sign}(\alpha Z + \gamma B)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _decorrelation(x: torch.Tensor) -> torch.Tensor:
    k = x.shape[1]
    eye = torch.eye(k, dtype=x.dtype, device=x.device)
    return (x.T @ x / x.shape[0] - eye).pow(2).sum() / (k * k)


def _balance(x: torch.Tensor) -> torch.Tensor:
    return x.mean(0).pow(2).mean()


def daph_loss(
    u: torch.Tensor,
    z: torch.Tensor,
    s: torch.Tensor,
    *,
    b: torch.Tensor | None,
    h: torch.Tensor | None,
    alpha: float,
    lam: float,
    beta: float,
    stream: str = "both",
) -> torch.Tensor:
    """DAPH's mini-batch objective.

    Parameters
    ----------
    u, z : torch.Tensor of shape (batch, K)
        Outputs of the query and database networks for the same images.
    s : torch.Tensor of shape (batch, batch)
        Pairwise similarity s_ij in [0, 1].
    b, h : torch.Tensor of shape (batch, K) or None
        Current binary codes of the batch's items; None leaves the quantisation out.
    alpha, lam, beta : float
        Weights of the quantisation, decorrelation and balance terms.
    stream : {"both", "query", "database"}
        Which network this step updates: the other one's output is a constant and its
        own terms (which are then constants) are left out.
    """
    if stream not in ("both", "query", "database"):
        raise ValueError(f"stream must be 'both', 'query' or 'database', got {stream!r}")
    if u.shape != z.shape or s.shape != (u.shape[0], u.shape[0]):
        raise ValueError(
            f"shapes do not match: u {tuple(u.shape)}, z {tuple(z.shape)}, s {tuple(s.shape)}"
        )
    if stream == "query":
        z = z.detach()
    elif stream == "database":
        u = u.detach()
    theta = 0.5 * (u @ z.T)
    loss = (F.softplus(theta) - s * theta).mean()
    for x, code, own in ((u, b, stream != "database"), (z, h, stream != "query")):
        if not own:
            continue
        if code is not None:
            loss = loss + alpha * (x - code).pow(2).mean()
        loss = loss + lam * _decorrelation(x) + beta * _balance(x)
    return loss


@torch.no_grad()
def daph_update_codes(
    u: torch.Tensor, z: torch.Tensor, h: torch.Tensor, *, alpha: float, gamma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The code step: ``B = sign(alpha U + gamma H)``, then ``H = sign(alpha Z + gamma B)``.

    All arguments are (n, K); returns the new (B, H) in {-1,+1} (sign(0) = +1).
    """

    def sign(x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    b = sign(alpha * u + gamma * h)
    return b, sign(alpha * z + gamma * b)
