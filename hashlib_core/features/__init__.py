"""Hand-crafted image features for the shallow hashing baselines.

``gist(images)`` computes GIST-512 descriptors (Oliva and Torralba 2001, LMgist);
``cached_gist(images, key=..., cache_dir=...)`` computes them once per dataset and
keeps them on disk as ``.npy``.
"""

from hashlib_core.features.cache import cached_gist
from hashlib_core.features.gist import GIST_VERSION, gabor_bank, gist

__all__ = ["GIST_VERSION", "cached_gist", "gabor_bank", "gist"]
