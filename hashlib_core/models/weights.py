"""Pre-trained weights: find them before training, name them in the record.

``resolve_weights(spec, backbone)`` turns the ``pretrained`` setting of a run into a
file on this machine and its SHA-256, before any data is read or any network built:

* ``None``: random initialisation (nothing to resolve);
* a local state-dict file (``torch.save(model.state_dict(), path)`` of the torchvision
  model): checked to exist, hashed;
* a torchvision weights name (``"IMAGENET1K_V1"``): the file torchvision would use,
  ``$TORCH_HOME/hub/checkpoints/<file>`` (``torch.hub.get_dir()``); when absent it is
  downloaded once here (with a 20 s network timeout), so a grid downloads it once and
  not in every cell.

When the weights cannot be had (offline, file absent), :class:`WeightsUnavailable` is
raised with one line that says what is missing and the three ways to supply it::

    resnet50 weights IMAGENET1K_V1 not found: /root/.cache/torch/hub/checkpoints/resnet50-0676ba61.pth
    is absent and cannot be downloaded (offline: <urlopen error ...>); supply them by
    (1) --pretrained PATH (a local state-dict file; notebook parameter pretrained),
    (2) copying resnet50-0676ba61.pth into /root/.cache/torch/hub/checkpoints/, or
    (3) running once online: python -m hashlib_core.models.weights resnet50 IMAGENET1K_V1

(printed as a single line). ``python -m hashlib_core.models.weights BACKBONE [SPEC]``
resolves (downloads when online) and prints the file and its SHA-256.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from hashlib_core.data.cache import sha256_file

#: seconds the download of torchvision weights may wait for the network
DOWNLOAD_TIMEOUT = 20.0


class WeightsUnavailable(ValueError):
    """Pre-trained weights that are neither on this machine nor downloadable (one line)."""


@dataclass(frozen=True)
class ResolvedWeights:
    """What a ``pretrained`` setting resolved to.

    Attributes
    ----------
    spec : str or None
        The setting as given (a torchvision weights name or a path).
    path : str or None
        The file that will be loaded (None for random initialisation).
    sha256 : str or None
        SHA-256 of that file.
    source : {"none", "file", "torchvision"}
    """

    spec: str | None
    path: str | None
    sha256: str | None
    source: str

    def as_record(self) -> dict[str, str | None]:
        return {"spec": self.spec, "path": self.path, "sha256": self.sha256,
                "source": self.source}


def looks_like_path(spec: str | os.PathLike) -> bool:
    """A path (has a separator, a weights-file suffix, or exists) rather than a weights name."""
    text = os.fspath(spec)
    return os.sep in text or "/" in text or text.endswith((".pt", ".pth", ".bin")) \
        or Path(text).exists()


def _torchvision_weights(backbone: str, name: str):
    import torchvision

    try:
        enum = torchvision.models.get_model_weights(backbone)
    except (ValueError, KeyError) as err:
        raise ValueError(f"{backbone}: no torchvision weights exist for this backbone") from err
    try:
        return enum[name]
    except KeyError as err:
        known = [w.name for w in enum]
        raise ValueError(f"{backbone}: unknown torchvision weights {name!r}; known: {known}, "
                         "or pass the path of a local state-dict file") from err


def hub_file(backbone: str, name: str) -> Path:
    """Where torchvision keeps (or would download) the weights file ``name`` of ``backbone``."""
    import torch

    weights = _torchvision_weights(backbone, name)
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def missing_message(backbone: str, spec: str, target: Path, why: str) -> str:
    """The one-line error: what is missing and the three ways to supply it."""
    return (
        f"{backbone} weights {spec} not found: {target} is absent and cannot be downloaded "
        f"({why}); supply them by (1) --pretrained PATH (a local state-dict file of "
        f"torchvision's {backbone}; notebook parameter pretrained), (2) copying {target.name} "
        f"into {target.parent}/, or (3) running once online: "
        f"python -m hashlib_core.models.weights {backbone} {spec}"
    )


def _download(url: str, target: Path) -> None:
    import torch

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(target), hash_prefix=None, progress=False)
    finally:
        socket.setdefaulttimeout(previous)


def resolve_weights(spec: str | os.PathLike | None, backbone: str = "resnet50", *,
                    download: bool = True) -> ResolvedWeights:
    """Resolve a ``pretrained`` setting to a file and its SHA-256 (see the module doc).

    Raises
    ------
    WeightsUnavailable
        A torchvision weights name whose file is absent and cannot be downloaded, or a
        state-dict path that does not exist: one line naming the file and the three ways.
    ValueError
        An unknown weights name, or weights for a backbone that has none (smallcnn).
    """
    if spec is None or spec == "":
        return ResolvedWeights(None, None, None, "none")
    backbone = str(backbone).lower()
    if backbone == "smallcnn":
        raise ValueError("smallcnn: no pre-trained weights exist (pretrained must be None)")
    text = os.fspath(spec)
    if looks_like_path(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise WeightsUnavailable(
                f"{backbone} state-dict file not found: {path}; supply the weights by "
                f"(1) --pretrained PATH of an existing file, (2) the torchvision name "
                f"IMAGENET1K_V1 with its file in the torch hub cache, or (3) running once "
                f"online: python -m hashlib_core.models.weights {backbone} IMAGENET1K_V1")
        path = path.resolve()
        return ResolvedWeights(text, str(path), sha256_file(path), "file")
    weights = _torchvision_weights(backbone, text)
    target = hub_file(backbone, text)
    if not target.is_file():
        if not download:
            raise WeightsUnavailable(missing_message(backbone, text, target, "download disabled"))
        try:
            _download(weights.url, target)
        except Exception as err:  # noqa: BLE001 - any network failure means: not available
            why = " ".join(str(err).split())[:120] or type(err).__name__
            raise WeightsUnavailable(missing_message(backbone, text, target,
                                                     f"offline? {type(err).__name__}: {why}")) from None
    return ResolvedWeights(text, str(target), sha256_file(target), "torchvision")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        print("usage: python -m hashlib_core.models.weights BACKBONE [WEIGHTS_NAME_OR_PATH]",
              file=sys.stderr)
        return 2
    backbone, spec = args[0], (args[1] if len(args) > 1 else "IMAGENET1K_V1")
    try:
        w = resolve_weights(spec, backbone)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{w.path}\nsha256 {w.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
