"""The method registry: every deep and shallow method, by name.

>>> from hashlib_core.methods import create_method, list_methods
>>> "csq" in list_methods()  # doctest: +SKIP
True

A method module registers itself with :func:`register`; every module in this package
is imported on first use, so adding a file adds a method (and the registry-wide tests
parametrized over :func:`list_methods` cover it at once).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from hashlib_core.methods.base import DeepHashMethod, ShallowHashMethod, binarize

_REGISTRY: dict[str, type] = {}
_loaded = False


def register(cls: type) -> type:
    """Class decorator: add a method class to the registry under ``cls.name``."""
    name = cls.name
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"method {name!r} registered twice: {_REGISTRY[name]} and {cls}")
    _REGISTRY[name] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def list_methods(kind: str | None = None) -> list[str]:
    """Names of the registered methods, sorted; ``kind`` = "deep" or "shallow" filters."""
    _load_all()
    if kind not in (None, "deep", "shallow"):
        raise ValueError(f"kind must be None, 'deep' or 'shallow', got {kind!r}")
    return sorted(n for n, c in _REGISTRY.items() if kind is None or c.kind == kind)


def get_method_class(name: str) -> type:
    _load_all()
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; known methods: {', '.join(list_methods())}")
    return _REGISTRY[key]


def create_method(name: str, n_bits: int, n_classes: int, **overrides: Any):
    """Instantiate a registered method with its paper's defaults, overridden by keyword."""
    return get_method_class(name)(n_bits, n_classes, **overrides)


__all__ = [
    "DeepHashMethod",
    "ShallowHashMethod",
    "binarize",
    "create_method",
    "get_method_class",
    "list_methods",
    "register",
]
