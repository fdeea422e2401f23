"""Checks run once, before any training, by the batch runner and the engine's command line.

A batch of runs (``python -m hashlib_core.reproduce``) or a single run
(``python -m hashlib_core.engine``) first checks what it will need and stops before any
training when something is missing, with one ``error:`` line per problem and exit code
2, instead of failing each cell after it has trained:

* :func:`check_writable`: the results, artifacts, log and checkpoint folders can be
  written (a probe file is created and removed);
* :func:`check_device`: the requested torch device exists (``cuda`` needs CUDA,
  ``cuda:3`` a fourth GPU);
* :func:`check_weights`: pre-trained weights named by a local path exist and load as a
  state dict of the backbone;
* :func:`check_folders`: every folder a batch writes (results, artifacts, logs,
  ``<root>.checkpoints``, the cache) can be written, with some bytes (a full disk too);
* :func:`check_protocol`: the protocol can be built from the data on this machine, no
  split is empty, every image file of a list-file protocol exists and decodes (a JPEG
  at 1/8 scale, in parallel processes), each bad file named with its list file and line.

Each function returns a list of problems (strings, empty when all is well); :func:`report`
prints them.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from hashlib_core.cli_args import EXIT_CODE

#: at most this many missing images are named (the count says how many there are)
NAMED_MISSING = 5


def check_writable(path: str | os.PathLike, what: str, *, create: bool = True) -> list[str]:
    """``path`` (a folder) exists or can be created, and a file can be written in it."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        return [f"{what} {folder} is a file, not a folder"]
    if not folder.exists():
        if not create:
            parent = next((p for p in folder.parents if p.exists()), None)
            if parent is None or not os.access(parent, os.W_OK | os.X_OK):
                return [f"{what} {folder} cannot be created ({parent} is not writable)"]
            return []
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            return [f"{what} {folder} cannot be created: {err.strerror or err}"]
    probe = None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=folder)
        try:  # some bytes, flushed: an empty file can still be made on a full disk
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        full = getattr(err, "errno", None) == errno.ENOSPC
        why = "no space left on the device" if full else (err.strerror or str(err))
        return [f"{what} {folder} is not writable ({why}): "
                f"{'free some space or ' if full else ''}pass a writable folder"]
    finally:
        if probe is not None:
            try:
                os.unlink(probe)
            except OSError:
                pass
    return []


#: bytes written by the writability probe: an empty file can be created on a full disk
PROBE_BYTES = 64 * 1024


def checkpoint_folder(root: str | os.PathLike) -> Path:
    """Where a runner keeps the checkpoints and claims of a results root:
    ``<root>.checkpoints`` beside it (as :func:`hashlib_core.runner.plan.checkpoint_root`)."""
    root = Path(root).resolve()
    return root.with_name(root.name + ".checkpoints")


def run_folders(*, root: str | os.PathLike, artifacts: str | os.PathLike | None = None,
                logs: str | os.PathLike | None = None,
                cache_dir: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """Every folder a batch of runs writes: results, artifacts, logs, ``<root>.checkpoints``
    (not ``<logs>/../checkpoints``, which nothing uses) and the cache folder."""
    from hashlib_core.data.cache import cache_folder

    out = [(Path(root), "results folder (--root)")]
    if artifacts is not None:
        out.append((Path(artifacts), "artifacts folder (--artifacts)"))
    if logs is not None:
        out.append((Path(logs), "logs folder (--logs)"))
    out.append((checkpoint_folder(root), "checkpoints folder (<root>.checkpoints)"))
    out.append((cache_folder(cache_dir), "cache folder ($HASHLIB_CACHE or --cache-dir)"))
    return out


def check_folders(*, root: str | os.PathLike, artifacts: str | os.PathLike | None = None,
                  logs: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None) -> list[str]:
    """:func:`check_writable` of every folder of :func:`run_folders`: one line per folder
    that cannot be created or written (read-only, full, a file)."""
    problems = []
    for path, what in run_folders(root=root, artifacts=artifacts, logs=logs, cache_dir=cache_dir):
        problems += check_writable(path, what)
    return problems


def check_device(device: str) -> list[str]:
    """The torch device ``device`` (``cpu``, ``auto``, ``cuda``, ``cuda:<n>``) is present."""
    import torch

    text = str(device)
    valid = "cpu, auto, cuda, cuda:<n>"
    if text in ("cpu", "auto"):
        return []
    if text == "cuda" or text.startswith("cuda:"):
        index = text[5:] if text.startswith("cuda:") else "0"
        if not index.isdigit():
            return [f"device {text!r} is not a device name; valid: {valid}"]
        if not torch.cuda.is_available():
            return [f"device {text!r}: CUDA is not available on this machine "
                    "(torch.cuda.is_available() is False); use --device cpu"]
        count = torch.cuda.device_count()
        if int(index) >= count:
            return [f"device {text!r}: this machine has {count} CUDA device(s), "
                    f"cuda:0 to cuda:{count - 1}"]
        return []
    return [f"device {text!r} is not a device name; valid: {valid}"]


def check_weights(config: Any) -> list[str]:
    """The pre-trained weights of a run can be had: a local state-dict file that exists, or
    torchvision weights in the hub cache (downloaded once when online).

    One line when they cannot (:func:`hashlib_core.models.weights.resolve_weights`: what is
    missing and the three ways to supply it). Resolved once per (weights, backbone).
    """
    pretrained = getattr(config, "pretrained", None)
    if pretrained is None:
        return []
    return list(_weights_problem(os.fspath(pretrained), str(getattr(config, "backbone", "resnet50"))))


@functools.cache
def _weights_problem(spec: str, backbone: str) -> tuple[str, ...]:
    from hashlib_core.models.weights import resolve_weights

    try:
        resolved = resolve_weights(spec, backbone)
    except ValueError as err:
        return (" ".join(str(err).split()),)
    except OSError as err:  # a file that exists but cannot be read
        return (f"--pretrained {spec}: cannot be read ({err.strerror or err})",)
    if getattr(resolved, "source", None) == "file":
        # load it as the run will (torch.load, keys and shapes of the backbone), so a file
        # that is not a state dict of this backbone stops here, not after the data loads
        from hashlib_core.models.backbones import create_backbone

        try:
            create_backbone(backbone, pretrained=spec)
        except (ValueError, OSError) as err:
            text = " ".join(str(err).split())
            return (f"--pretrained {spec}: {text[:300]}{'...' if len(text) > 300 else ''}",)
    return ()


def _where(origin: str | None) -> str:
    """``"<list file> line <k>"`` (a split's origin) as ``"<list file>:<k>"``."""
    if not origin:
        return ""
    head, sep, line = origin.rpartition(" line ")
    return f"{head}:{line}" if sep and line.isdigit() else origin


def _images(protocol: Any) -> list[tuple[str, str]]:
    """(path, list file:line) of every distinct image file of a protocol's splits."""
    seen: set[str] = set()
    out = []
    for split in protocol.splits().values():
        for k, path in enumerate(split.paths or []):
            if path not in seen:
                seen.add(path)
                out.append((path, _where(split.origins[k] if split.origins else None)))
    return out


def missing_images(protocol: Any) -> tuple[int, list[str]]:
    """Image files of a list-file protocol that do not exist (each file once).

    Returns
    -------
    (count, examples)
        How many distinct files are missing, and up to :data:`NAMED_MISSING` of them
        as ``<list file>:<line>: <path>``.
    """
    count, examples = 0, []
    for path, where in _images(protocol):
        if not os.path.isfile(path):
            count += 1
            if len(examples) < NAMED_MISSING:
                examples.append(f"{where}: {path}" if where else path)
    return count, examples


def bad_images(protocol: Any, *, workers: int | None = None) -> tuple[int, list[str]]:
    """Image files of a list-file protocol that do not decode (truncated, empty, not an
    image, over Pillow's decompression-bomb limit), each once.

    Returns
    -------
    (count, examples)
        How many, and up to :data:`NAMED_MISSING` of them as
        ``<list file>:<line>: <problem>: <path>``, in list order.
    """
    from hashlib_core.data.images import probe_images

    items = _images(protocol)
    found = probe_images([p for p, _ in items], workers=workers)
    bad = [(p, w, why) for (p, w), why in zip(items, found) if why is not None]
    examples = [f"{w}: {why}: {p}" if w else f"{p}: {why}" for p, w, why in bad[:NAMED_MISSING]]
    return len(bad), examples


def split_problems(name: str, protocol: Any) -> list[str]:
    """A query, training or database split of the protocol that is empty (e.g. every
    item dropped for an all-zero label row): one line each. (An empty validation split
    is allowed: the run then keeps its last epoch.)"""
    problems = []
    for part, split in protocol.splits().items():
        if part != "val" and len(split) == 0:
            problems.append(f"protocol {name}: the {part} split is empty; nothing could be "
                            f"{'trained on' if part == 'train' else 'evaluated'}")
    return problems


def _listing(count: int, examples: list[str]) -> str:
    listed = "\n".join(f"  {e}" for e in examples)
    more = f"\n  ... and {count - len(examples):,} more" if count > len(examples) else ""
    return f"{listed}{more}"


def check_protocol(name: str, *, seed: int = 0, root: str | None = None,
                   cache_dir: str | None = None, decode: bool = True,
                   workers: int | None = None) -> tuple[Any, list[str]]:
    """Build protocol ``name``, check that no split is empty and that its images exist
    and (``decode``) decode, naming each bad file with its list file and line.

    Returns
    -------
    (protocol or None, problems)
    """
    from hashlib_core.data import load_protocol

    try:
        protocol = load_protocol(name, seed=seed, root=root, cache_dir=cache_dir)
    except (FileNotFoundError, ValueError) as err:
        return None, [f"protocol {name}: {err}"]
    problems = split_problems(name, protocol)
    count, examples = missing_images(protocol)
    if count:
        total = len(_images(protocol))
        head = (f"all {count:,} image files missing (is HASHLIB_IMAGES set, or image_root "
                f"right?), e.g." if count == total else f"{count:,} image file(s) missing, e.g.")
        return protocol, problems + [f"protocol {name}: {head}\n{_listing(count, examples)}\n"
                                     "Check the image root (image_root= or $HASHLIB_IMAGES)."]
    if decode and any(split.paths for split in protocol.splits().values()):
        count, examples = bad_images(protocol, workers=workers)
        if count:
            problems.append(f"protocol {name}: {count:,} image file(s) do not decode, e.g.\n"
                            f"{_listing(count, examples)}")
    return protocol, problems


def format_error(message: str) -> str:
    """``error: <first line>`` with the message's further lines indented under it."""
    lines = str(message).strip().splitlines() or [""]
    return "\n".join([f"error: {lines[0]}", *(f"       {line.strip()}" for line in lines[1:])])


def report(problems: Iterable[str], *, file: TextIO | None = None) -> int:
    """Print each problem once as an ``error:`` line; return :data:`EXIT_CODE` if any, else 0."""
    out = file if file is not None else sys.stderr
    unique = list(dict.fromkeys(problems))
    for problem in unique:
        print(format_error(problem), file=out)
    if len(unique) > 1:
        print(f"{len(unique)} problems found before any training; nothing was run.", file=out)
    return EXIT_CODE if unique else 0
