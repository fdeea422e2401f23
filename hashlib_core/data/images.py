"""Decode checks of image files, shared by ``python -m hashlib_core.data check`` and the
preflight of a run (:func:`hashlib_core.preflight.check_protocol`): no torch needed.

:func:`probe_image` opens and decodes one file (a JPEG at 1/8 scale: the whole stream
is read, so a truncated file is found, at a fraction of the cost) and says what is wrong:
missing, empty (zero bytes), not an image, truncated or corrupt, or larger than Pillow's
decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``). :func:`probe_images` does
many in parallel worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

#: below this many files the decoding stays in this process
PARALLEL_FROM = 64


def probe_image(path: str) -> str | None:
    """None when ``path`` opens and decodes completely, else the reason (one phrase).

    Examples
    --------
    >>> probe_image("/nonexistent/x.jpg")
    'image file missing'
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        return "image file missing"
    try:
        if os.path.getsize(path) == 0:
            return "empty image file (0 bytes)"
    except OSError as err:
        return f"image file cannot be read ({err.strerror or err})"
    try:
        with warnings.catch_warnings():
            # between MAX_IMAGE_PIXELS and twice that, Pillow only warns: an error here
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.format == "JPEG":
                    im.draft("RGB", (64, 64))  # decodes the whole stream at 1/8 scale: fast
                im.load()
                if im.size[0] < 1 or im.size[1] < 1:
                    return "empty image"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        return (f"image too large: over Pillow's decompression-bomb limit of "
                f"{Image.MAX_IMAGE_PIXELS:,} pixels ({' '.join(str(err).split())[:100]})")
    except UnidentifiedImageError:
        return "unreadable or corrupt image (not an image file: Pillow cannot identify it)"
    except Exception as err:  # noqa: BLE001 - every failure is a finding
        return f"unreadable or corrupt image ({type(err).__name__}: {err})"
    return None


def probe_images(paths: Sequence[str], *, workers: int | None = None) -> list[str | None]:
    """:func:`probe_image` of every path (in order), in ``workers`` processes (default:
    all cores) when there are many."""
    n_workers = max(1, workers or (os.cpu_count() or 1))
    if n_workers == 1 or len(paths) < PARALLEL_FROM:
        return [probe_image(p) for p in paths]
    with ProcessPoolExecutor(n_workers) as pool:
        return list(pool.map(probe_image, paths, chunksize=64))
