"""Hash heads: map backbone features to relaxed codes."""

from __future__ import annotations

import torch
from torch import nn


class HashHead(nn.Module):
    """FC (+ optional hidden layer) + tanh: ``u = tanh(W phi + b)``, shape (batch, n_bits).

    Parameters
    ----------
    in_features : int
        Backbone feature dimension.
    n_bits : int
        Code length K.
    hidden : int or None
        Width of an optional hidden FC + ReLU layer before the hash layer.
    activation : {"tanh", "identity", "sigmoid"}
        Output nonlinearity (DPSH uses linear outputs, DNNH sigmoid).
    """

    def __init__(
        self,
        in_features: int,
        n_bits: int,
        *,
        hidden: int | None = None,
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if hidden:
            layers += [nn.Linear(in_features, hidden), nn.ReLU(inplace=True)]
            in_features = hidden
        layers.append(nn.Linear(in_features, n_bits))
        self.fc = nn.Sequential(*layers)
        acts = {"tanh": nn.Tanh(), "identity": nn.Identity(), "sigmoid": nn.Sigmoid()}
        if activation not in acts:
            raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
        self.activation = acts[activation]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.activation(self.fc(features))
