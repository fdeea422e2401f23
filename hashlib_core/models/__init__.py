"""Backbones and hash heads.

:func:`create_backbone` builds a feature extractor by name (``"alexnet"``, ``"vgg16"``,
``"resnet18"``, ``"resnet50"``, ``"smallcnn"``); the hash heads live in
:mod:`hashlib_core.models.heads` and the method-specific modules beside it.
"""

from hashlib_core.models.backbones import BACKBONES, SmallCNN, create_backbone
from hashlib_core.models.heads import HashHead

__all__ = ["BACKBONES", "HashHead", "SmallCNN", "create_backbone"]
