"""Torch datasets over a :class:`~hashlib_core.data.splits.Split`, one transform per scale.

``scale="smoke"`` and ``"cpu"``: 32 x 32 pixels, per-channel normalisation with the
dataset's own constants (CIFAR-10, MNIST; ImageNet's for list-file datasets); with
``train=True`` a random crop after zero-padding by 4 and a horizontal flip (p = 0.5).
In-memory images are converted once to a padded uint8 tensor, so an item costs a slice,
an optional flip and one float conversion (tens of microseconds).

``scale="paper"``: as the CSQ / DeepHash-pytorch code: resize (shorter side) to 256, then
``train``: horizontal flip + random crop 224, else centre crop 224; ImageNet
normalisation. List-file images are read with PIL; CIFAR-10 arrays are upsampled.

All randomness comes from torch's global generator (``torch.randint``), so augmentation
is reproducible given ``torch.manual_seed`` (DataLoader workers are seeded from it too).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

from hashlib_core.data.splits import Split

SCALES = ("smoke", "cpu", "paper")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
#: per-channel mean and standard deviation of the training pixels (0..1 scale)
NORMALISATION = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "mnist": ((0.1307,) * 3, (0.3081,) * 3),
}
SMALL, PAD, RESIZE, CROP = 32, 4, 256, 224


def make_torch_dataset(split: Split, *, scale: str, train: bool) -> Dataset:
    """A torch ``Dataset`` over a split.

    Parameters
    ----------
    split : Split
        In-memory (``images``) or list-file (``paths``) split.
    scale : {"smoke", "cpu", "paper"}
        32 px (smoke, cpu) or 224 px (paper); see the module docstring.
    train : bool
        Random augmentation (crop + flip) when True; deterministic otherwise.

    Returns
    -------
    torch.utils.data.Dataset
        Item ``i`` is ``(image, label, i)``: image float32 of shape (3, 32, 32) or
        (3, 224, 224), label float32 of shape (n_classes,), and the position ``i`` in the
        split as a python int (collated to an int64 tensor).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if scale == "paper":
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    else:
        mean, std = NORMALISATION.get(split.dataset, (IMAGENET_MEAN, IMAGENET_STD))
    if split.images is not None:
        cls = _ArraySmall if scale != "paper" else _ArrayPaper
        return cls(split, train=train, mean=mean, std=std)
    return _PathDataset(split, train=train, mean=mean, std=std, small=scale != "paper")


class _Base(Dataset):
    def __init__(self, split: Split, *, train: bool, mean, std) -> None:
        self.train = bool(train)
        self.labels = torch.from_numpy(np.ascontiguousarray(split.labels)).float()
        # normalise uint8 directly: (x - 255 mean) / (255 std)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1) * 255.0
        self.inv_std = 1.0 / (torch.tensor(std, dtype=torch.float32).view(3, 1, 1) * 255.0)

    def __len__(self) -> int:
        return self.labels.shape[0]

    def _normalise(self, img: torch.Tensor) -> torch.Tensor:
        return (img.float() - self.mean) * self.inv_std

    def _crop_flip(self, img: torch.Tensor, size: int) -> torch.Tensor:
        """Random ``size`` crop of a (3, H, W) uint8 tensor, then a flip with p = 0.5."""
        h, w = img.shape[-2:]
        dy = int(torch.randint(0, h - size + 1, ()))
        dx = int(torch.randint(0, w - size + 1, ()))
        img = img[:, dy : dy + size, dx : dx + size]
        if bool(torch.randint(0, 2, ()) == 1):
            img = img.flip(-1)
        return img


def _to_square_uint8(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a (n, 3, H, W) uint8 batch to (n, 3, size, size), antialiased, in chunks."""
    if x.shape[-2:] == (size, size):
        return x
    out = torch.empty((x.shape[0], 3, size, size), dtype=torch.uint8)
    for start in range(0, x.shape[0], 4096):
        chunk = x[start : start + 4096].float()
        resized = F.interpolate(
            chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        out[start : start + 4096] = resized.round().clamp(0, 255).to(torch.uint8)
    return out


class _ArraySmall(_Base):
    """32 px from in-memory uint8 images; the padded tensor is built once."""

    def __init__(self, split: Split, *, train: bool, mean, std) -> None:
        super().__init__(split, train=train, mean=mean, std=std)
        x = torch.from_numpy(np.ascontiguousarray(split.images)).permute(0, 3, 1, 2)
        x = _to_square_uint8(x.contiguous(), SMALL)
        self.images = F.pad(x, (PAD,) * 4).contiguous() if self.train else x.contiguous()

    def __getitem__(self, i: int):
        img = self.images[i]
        if self.train:
            img = self._crop_flip(img, SMALL)
        return self._normalise(img), self.labels[i], int(i)


class _ArrayPaper(_Base):
    """224 px from in-memory images: resize to 256 (antialiased bilinear), crop 224."""

    def __init__(self, split: Split, *, train: bool, mean, std) -> None:
        super().__init__(split, train=train, mean=mean, std=std)
        self.images = torch.from_numpy(np.ascontiguousarray(split.images)).permute(0, 3, 1, 2)

    def __getitem__(self, i: int):
        img = TF.resize(self.images[i], [RESIZE], antialias=True)
        img = self._crop_flip(img, CROP) if self.train else TF.center_crop(img, [CROP])
        return self._normalise(img), self.labels[i], int(i)


def read_image(path: str, *, origin: str | None = None) -> torch.Tensor:
    """Read an image file as an RGB uint8 tensor (3, H, W); ValueError naming the file.

    Parameters
    ----------
    path : str
    origin : str, optional
        Where the path came from (``"<list file> line <k>"``), quoted in errors.
    """
    where = f" ({origin})" if origin else ""
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            return TF.pil_to_tensor(im)
    except FileNotFoundError as err:
        raise ValueError(f"image file missing: {path}{where}") from err
    except Image.DecompressionBombError as err:
        raise ValueError(f"image too large: {path}{where}: over Pillow's decompression-bomb "
                         f"limit of {Image.MAX_IMAGE_PIXELS:,} pixels") from err
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"unreadable or corrupt image: {path}{where}: {err}") from err


class _PathDataset(_Base):
    """Images read from files with PIL (list-file datasets)."""

    def __init__(self, split: Split, *, train: bool, mean, std, small: bool) -> None:
        super().__init__(split, train=train, mean=mean, std=std)
        self.paths = list(split.paths or [])
        self.origins = split.origins
        self.small = small

    def __getitem__(self, i: int):
        img = read_image(self.paths[i], origin=self.origins[i] if self.origins else None)
        if self.small:
            img = TF.center_crop(TF.resize(img, [SMALL], antialias=True), [SMALL])
            if self.train:
                img = self._crop_flip(F.pad(img, (PAD,) * 4), SMALL)
        else:
            img = TF.resize(img, [RESIZE], antialias=True)
            img = self._crop_flip(img, CROP) if self.train else TF.center_crop(img, [CROP])
        return self._normalise(img), self.labels[i], int(i)


def check_images(*splits) -> list[str]:
    """Open and fully decode every image of list-file splits; return the problems found.

    Parameters
    ----------
    *splits : Split or Protocol
        One or more splits, or a protocol (all four of its splits). An image in several
        of them (the training images are in the database) is checked and reported once.

    Returns
    -------
    list of str
        One message per missing or unreadable file, naming the file and its list line;
        empty when every image decodes.
    """
    problems, seen = [], set()
    for part in splits:
        for split in (part.splits().values() if hasattr(part, "splits") else (part,)):
            for k, path in enumerate(split.paths or []):
                if path in seen:
                    continue
                seen.add(path)
                try:
                    read_image(path, origin=split.origins[k] if split.origins else None)
                except ValueError as err:
                    problems.append(str(err))
    return problems
