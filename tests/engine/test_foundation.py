"""The package imports, the registry refuses bad names, GPU tests skip cleanly."""

import pytest
import torch

import hashlib_core
from hashlib_core.methods import create_method, list_methods
from hashlib_core.models.heads import HashHead


def test_version():
    assert hashlib_core.__version__.count(".") == 2


def test_unknown_method_is_named_in_error():
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        create_method("nope", 16, 10)


def test_list_methods_kind_filter():
    assert set(list_methods("deep")) | set(list_methods("shallow")) == set(list_methods())
    with pytest.raises(ValueError, match="kind"):
        list_methods("medium")


def test_hash_head_range_and_shape():
    u = HashHead(8, 12)(torch.randn(5, 8) * 100)
    assert u.shape == (5, 12)
    assert u.abs().max() <= 1


@pytest.mark.gpu
def test_cuda_tensor_roundtrip():
    x = torch.arange(4.0, device="cuda")
    assert x.sum().item() == 6.0
