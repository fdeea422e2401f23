"""Backbones: shapes, feature dims, and local state-dict loading (no network needed)."""

from __future__ import annotations

import pytest
import torch
import torchvision

from hashlib_core.models import BACKBONES, create_backbone


def test_smallcnn_shape_and_dim():
    net, dim = create_backbone("smallcnn")
    assert dim == 512
    net.eval()
    assert net(torch.zeros(3, 3, 32, 32)).shape == (3, 512)
    assert sum(p.numel() for p in net.parameters()) < 2_000_000  # sized for the cpu scale


def test_smallcnn_bad_arguments():
    with pytest.raises(ValueError, match="multiple of 8"):
        create_backbone("smallcnn", image_size=30)
    with pytest.raises(ValueError, match="no pre-trained weights"):
        create_backbone("smallcnn", pretrained="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="unknown backbone 'resnet7'"):
        create_backbone("resnet7")


def test_state_dict_file_round_trip(tmp_path):
    torch.manual_seed(0)
    ref = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(ref.state_dict(), path)
    net, dim = create_backbone("resnet18", pretrained=path)
    assert dim == 512
    loaded = net.body.state_dict()
    for k, v in ref.state_dict().items():
        if k.startswith("fc."):
            assert k not in loaded  # classifier removed
            continue
        assert torch.equal(loaded[k], v), k
    net.eval()
    ref.eval()
    x = torch.randn(2, 3, 32, 32)
    ref.fc = torch.nn.Identity()
    torch.testing.assert_close(net(x), ref(x))


def test_state_dict_without_classifier_is_accepted(tmp_path):
    ref = torchvision.models.resnet18(weights=None)
    state = {k: v for k, v in ref.state_dict().items() if not k.startswith("fc.")}
    path = tmp_path / "trunk.pth"
    torch.save(state, path)
    net, _ = create_backbone("resnet18", pretrained=str(path))
    assert torch.equal(net.body.conv1.weight, ref.conv1.weight)


def test_bad_state_dict_files_name_the_file(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(ValueError, match="nope.pt"):
        create_backbone("resnet18", pretrained=missing)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="corrupt.pt"):
        create_backbone("resnet18", pretrained=corrupt)
    other = tmp_path / "smallcnn.pt"
    torch.save(create_backbone("smallcnn")[0].state_dict(), other)
    with pytest.raises(ValueError, match="smallcnn.pt.*does not match"):
        create_backbone("resnet18", pretrained=other)


def test_unknown_weights_name():
    with pytest.raises(ValueError, match="unknown torchvision weights 'IMAGENET9K'"):
        create_backbone("resnet18", pretrained="IMAGENET9K")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "dim"), [("alexnet", 4096), ("vgg16", 4096), ("resnet50", 2048)])
def test_torchvision_trunks(name, dim):
    assert name in BACKBONES
    net, got = create_backbone(name)
    assert got == dim
    net.eval()
    with torch.inference_mode():
        assert net(torch.zeros(1, 3, 64, 64)).shape == (1, dim)
