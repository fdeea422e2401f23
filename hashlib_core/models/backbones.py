"""Backbones: torchvision AlexNet, VGG16, ResNet18, ResNet50 and a small CNN for 32 px images.

``create_backbone(name, pretrained=...)`` returns ``(module, feature_dim)``: the network
without its classifier, mapping images (batch, 3, H, W) to features (batch, feature_dim).

Pre-trained weights come through one code path: ``pretrained`` is a torchvision weights
name (``"IMAGENET1K_V1"``, downloaded by torchvision for users online) or the path of a
local state-dict file (``torch.save(model.state_dict(), path)`` of the torchvision model,
classifier included or not); both end in ``load_state_dict(strict=True)`` on the full
torchvision model before the classifier is removed, so a mismatched file fails loudly.
Before a run builds its network, :func:`hashlib_core.models.weights.resolve_weights` finds
the file (one-line error with the three ways to supply it when it is missing) and its
SHA-256, which the run's record keeps.

The small CNN (``"smallcnn"``) is the ``cpu`` scale's network: three blocks of [3x3 conv,
BN, ReLU, 2x2 max-pool] with 32-64-128 channels, then FC 2048 -> 512 + BN + ReLU
(1.1 M parameters). Measured on this project's 2-core machine at a quiet moment, in
channels-last layout: about 2,300 training and 2,800-4,000 encoding images per second
(fp32, 2 threads), i.e. about 2 s per epoch of the 4,500 cifar10-i training images
and 15-20 s to encode its 60,000 query and database images.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

TORCHVISION_BACKBONES = ("alexnet", "vgg16", "resnet18", "resnet50")
BACKBONES = (*TORCHVISION_BACKBONES, "smallcnn")


class SmallCNN(nn.Module):
    """Small CNN for 32 x 32 images: (batch, 3, 32, 32) -> (batch, feature_dim).

    Parameters
    ----------
    channels : tuple of int
        Output channels of the three conv blocks (each: conv 3x3, BN, ReLU, max-pool 2).
    hidden : int
        Width of the final FC + BN + ReLU layer (the feature dimension).
    image_size : int
        Input side length in pixels (a multiple of 8).
    """

    def __init__(
        self,
        *,
        channels: tuple[int, ...] = (32, 64, 128),
        hidden: int = 512,
        image_size: int = 32,
    ) -> None:
        super().__init__()
        if image_size % (2 ** len(channels)) != 0:
            raise ValueError(
                f"smallcnn: image_size must be a multiple of {2 ** len(channels)}, got {image_size}"
            )
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in channels:
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c_in = c_out
        side = image_size // (2 ** len(channels))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * side * side, hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
        )
        self.feature_dim = hidden

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(images))


class _TorchvisionTrunk(nn.Module):
    """A torchvision classifier with its last classification layer removed."""

    def __init__(self, name: str, model: nn.Module) -> None:
        super().__init__()
        self.name = name
        if name.startswith("resnet"):
            self.feature_dim = model.fc.in_features
            model.fc = nn.Identity()
            self.body = model
        else:  # alexnet, vgg16: keep fc6/fc7 (4096-d), drop the last Linear
            self.feature_dim = model.classifier[-1].in_features
            model.classifier = nn.Sequential(*list(model.classifier.children())[:-1])
            self.body = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)


def _torchvision_model(name: str, pretrained: str | os.PathLike | None) -> nn.Module:
    import torchvision

    builder = getattr(torchvision.models, name)
    if pretrained is None:
        return builder(weights=None)
    text = os.fspath(pretrained)
    looks_like_path = os.sep in text or text.endswith((".pt", ".pth", ".bin")) or Path(text).exists()
    if not looks_like_path:
        try:
            weights = torchvision.models.get_model_weights(name)[text]
        except KeyError as err:
            known = [w.name for w in torchvision.models.get_model_weights(name)]
            raise ValueError(
                f"{name}: unknown torchvision weights {text!r}; known: {known}, "
                "or pass the path of a local state-dict file"
            ) from err
        return builder(weights=weights)
    path = Path(text)
    if not path.is_file():
        raise ValueError(f"{name}: pretrained state-dict file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"{name}: cannot read state-dict file {path}: {err}") from err
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{name}: {path} does not hold a state dict (got {type(state).__name__})")
    model = builder(weights=None)
    # a file saved without the classifier is accepted: the classifier is dropped anyway
    classifier = {k for k in model.state_dict() if _is_classifier_key(name, k)}
    missing_ok = classifier if not (classifier & set(state)) else set()
    expected = set(model.state_dict())
    missing = sorted(expected - set(state) - missing_ok)
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        raise ValueError(
            f"{name}: state dict in {path} does not match torchvision's {name}: "
            f"missing keys {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected keys {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
        )
    try:
        model.load_state_dict(state, strict=not missing_ok)
    except RuntimeError as err:
        raise ValueError(f"{name}: state dict in {path} does not fit: {err}") from err
    return model


def _is_classifier_key(name: str, key: str) -> bool:
    if name.startswith("resnet"):
        return key.startswith("fc.")
    return key.startswith("classifier.6.")


def create_backbone(
    name: str,
    *,
    pretrained: str | os.PathLike | None = None,
    image_size: int | None = None,
) -> tuple[nn.Module, int]:
    """Build a backbone without classifier.

    Parameters
    ----------
    name : {"alexnet", "vgg16", "resnet18", "resnet50", "smallcnn"}
    pretrained : str, path-like or None
        torchvision weights name (e.g. ``"IMAGENET1K_V1"``), or a local state-dict file of
        the torchvision model; None = random initialisation. Not available for smallcnn.
    image_size : int or None
        Input side in pixels; only smallcnn depends on it (default 32). The torchvision
        models expect 224 (AlexNet/VGG pool adaptively, so other sizes run too).

    Returns
    -------
    module : nn.Module
        Maps (batch, 3, H, W) float images to (batch, feature_dim) features.
    feature_dim : int
        512 (smallcnn, resnet18), 2048 (resnet50), 4096 (alexnet, vgg16).

    Examples
    --------
    >>> net, dim = create_backbone("smallcnn")
    >>> net(torch.zeros(2, 3, 32, 32)).shape, dim
    (torch.Size([2, 512]), 512)
    """
    key = str(name).lower()
    if key not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}")
    if key == "smallcnn":
        if pretrained is not None:
            raise ValueError("smallcnn: no pre-trained weights exist (pretrained must be None)")
        net = SmallCNN(image_size=32 if image_size is None else int(image_size))
        return net, net.feature_dim
    trunk = _TorchvisionTrunk(key, _torchvision_model(key, pretrained))
    return trunk, trunk.feature_dim
