"""Real datasets and named, seeded split protocols.

>>> from hashlib_core.data import load_protocol, make_torch_dataset
>>> p = load_protocol("cifar10-smoke", seed=0)  # doctest: +SKIP
>>> len(p.query), len(p.train), len(p.val), len(p.database)  # doctest: +SKIP
(100, 450, 50, 2000)

Modules: :mod:`~hashlib_core.data.protocols` (the named protocols and their policies),
:mod:`~hashlib_core.data.splits` (``Split``, ``Protocol``), :mod:`~hashlib_core.data.cifar`,
:mod:`~hashlib_core.data.mnist`, :mod:`~hashlib_core.data.listfile`,
:mod:`~hashlib_core.data.transforms` (torch datasets per scale),
:mod:`~hashlib_core.data.cache` (data root, cache folder, atomic writes).
"""

from importlib import import_module

#: public name -> the module that defines it; imported on first use, so that
#: ``python -m hashlib_core.data --help`` (and this package) does not import torch
_LAZY = {
    "cache_root": "cache", "data_root": "cache",
    "load_cifar10": "cifar", "read_cifar_batch": "cifar",
    "read_list_file": "listfile",
    "load_mnist": "mnist", "read_idx": "mnist",
    "describe_protocol": "protocols", "list_protocols": "protocols", "load_protocol": "protocols",
    "Protocol": "splits", "Split": "splits", "manifest_digest": "splits",
    "check_images": "transforms", "make_torch_dataset": "transforms", "read_image": "transforms",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "Protocol",
    "Split",
    "cache_root",
    "check_images",
    "data_root",
    "describe_protocol",
    "list_protocols",
    "load_cifar10",
    "load_mnist",
    "load_protocol",
    "make_torch_dataset",
    "manifest_digest",
    "read_cifar_batch",
    "read_idx",
    "read_image",
    "read_list_file",
]
