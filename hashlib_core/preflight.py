"""Checks run once, before any training, by the batch runner and the engine's command line.

A batch of runs (``python -m hashlib_core.reproduce``) or a single run
(``python -m hashlib_core.engine``) first checks what it will need and stops before any
training when something is missing, with one ``error:`` line per problem and exit code
2, instead of failing each cell after it has trained:

* :func:`check_writable`: the results, artifacts, log and checkpoint folders can be
  written (a probe file is created and removed);
* :func:`check_device`: the requested torch device exists (``cuda`` needs CUDA,
  ``cuda:3`` a fourth GPU);
* :func:`check_weights`: pre-trained weights named by a local path exist (the place
  where a check of the weights' checksum belongs);
* :func:`check_protocol`: the protocol can be built from the data on this machine, and
  every image file of a list-file protocol exists (a fast existence check, about 1 s
  per 100,000 files here; decoding every image is ``check_images``' job).

Each function returns a list of problems (strings, empty when all is well); :func:`report`
prints them.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn, TextIO

EXIT_CODE = 2
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
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return [f"{what} {folder} is not writable ({err.strerror or err}): pass a writable folder"]
    return []


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
        resolve_weights(spec, backbone)
    except ValueError as err:
        return (" ".join(str(err).split()),)
    return ()


def missing_images(protocol: Any) -> tuple[int, list[str]]:
    """Image files of a list-file protocol that do not exist (each file once).

    Returns
    -------
    (count, examples)
        How many distinct files are missing, and up to :data:`NAMED_MISSING` of them
        with the list line they come from.
    """
    seen: set[str] = set()
    count, examples = 0, []
    for split in protocol.splits().values():
        for k, path in enumerate(split.paths or []):
            if path in seen:
                continue
            seen.add(path)
            if not os.path.isfile(path):
                count += 1
                if len(examples) < NAMED_MISSING:
                    origin = f" ({split.origins[k]})" if split.origins else ""
                    examples.append(f"{path}{origin}")
    return count, examples


def check_protocol(name: str, *, seed: int = 0, root: str | None = None,
                   cache_dir: str | None = None) -> tuple[Any, list[str]]:
    """Build protocol ``name`` and check that its images exist.

    Returns
    -------
    (protocol or None, problems)
    """
    from hashlib_core.data import load_protocol

    try:
        protocol = load_protocol(name, seed=seed, root=root, cache_dir=cache_dir)
    except (FileNotFoundError, ValueError) as err:
        return None, [f"protocol {name}: {err}"]
    count, examples = missing_images(protocol)
    if count:
        listed = "\n".join(f"  {e}" for e in examples)
        more = f"\n  ... and {count - len(examples)} more" if count > len(examples) else ""
        return protocol, [f"protocol {name}: {count} image file(s) missing, e.g.\n{listed}{more}\n"
                          "Check the image root (image_root= or $HASHLIB_IMAGES)."]
    return protocol, []


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


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse`` parser whose errors are one ``error:`` line (value and valid
    choices, as argparse words them) and a pointer to ``--help``, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CODE, f"error: {message}\n       ({self.prog} --help lists the options)\n")


def _int_at_least(low: int, words: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be {words}, got {text!r}")
        return value

    return parse


#: ``argparse`` types: an integer >= 1, an integer >= 0
positive_int = _int_at_least(1, "a positive integer")
non_negative_int = _int_at_least(0, "an integer >= 0")
