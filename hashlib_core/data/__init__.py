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

from hashlib_core.data.cache import cache_root, data_root
from hashlib_core.data.cifar import load_cifar10, read_cifar_batch
from hashlib_core.data.listfile import read_list_file
from hashlib_core.data.mnist import load_mnist, read_idx
from hashlib_core.data.protocols import describe_protocol, list_protocols, load_protocol
from hashlib_core.data.splits import Protocol, Split, manifest_digest
from hashlib_core.data.transforms import check_images, make_torch_dataset, read_image

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
