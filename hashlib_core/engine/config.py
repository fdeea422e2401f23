"""``RunConfig``: everything that defines one training-and-evaluation run, validated."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hashlib_core import scales

OPTIMIZERS = ("adam", "sgd", "rmsprop")
LR_SCHEDULES = ("cosine", "constant", "step")
DEVICES = ("cpu", "cuda", "auto")
AMP_DTYPES = ("bfloat16", "float16")
FEATURES = ("gist",)
#: the shortest code: the evaluation's precision within Hamming radius 2 needs 2 bits
MIN_BITS = 2
#: the fields :meth:`RunConfig.from_scale` takes as arguments (not as overrides)
KEY_ARGUMENTS = ("scale", "method", "n_bits")
#: fields that do not change the result (where it runs, how it reports, where it saves,
#: and the encoding batch: in eval mode each image's code does not depend on its batch)
NON_RESULT_FIELDS = ("device", "num_workers", "run_dir", "data_root", "cache_dir", "threads",
                     "allow_protocol_deviation", "encode_batch_size")
#: fields only a network reads (its training and schedule): a shallow method, fitted on
#: GIST features in closed form or by its own solver, gives the same codes whatever they
#: are, so they leave its result identity (a new epoch preset does not rerun ITQ)
NETWORK_FIELDS = ("backbone", "pretrained", "image_size", "epochs", "batch_size", "lr",
                  "weight_decay", "optimizer", "momentum", "lr_schedule", "lr_step", "amp",
                  "amp_dtype", "eval_every", "deterministic", "compile")
#: fields added later that enter the result key only when they differ from their default
#: (so the keys, and the checkpoints, of earlier configurations stay valid)
KEY_IF_CHANGED = {"deterministic": True, "compile": False}


def _freeze(value: Any) -> Any:
    """A hashable, JSON-friendly copy: mappings -> sorted tuples of pairs, lists -> tuples."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def check_hyper_parameter(default: Any, value: Any) -> str | None:
    """Why ``value`` cannot replace a hyper-parameter whose default is ``default``; None if it can.

    The default's type decides: a number must be a finite number >= 0 (every numeric
    hyper-parameter of the registered methods is a weight, rate, count, margin or seed),
    an integer must be an integer, a flag a bool, a name a string; a default of None
    (computed from the data) accepts None or a number >= 0.

    Examples
    --------
    >>> check_hyper_parameter(0.1, "abc")
    'must be a number >= 0'
    >>> check_hyper_parameter(0.1, -5)
    'must be a number >= 0'
    >>> check_hyper_parameter(0.1, 2) is None
    True
    """

    def number(v: Any) -> bool:
        return (not isinstance(v, bool) and isinstance(v, (int, float))
                and math.isfinite(v) and v >= 0)

    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be True or False"
    if isinstance(default, int):
        return None if number(value) and isinstance(value, int) else "must be an integer >= 0"
    if isinstance(default, float):
        return None if number(value) else "must be a number >= 0"
    if isinstance(default, str):
        return None if isinstance(value, str) and value else "must be a name (a string)"
    if default is None:
        return None if value is None or number(value) else "must be None or a number >= 0"
    return None


@dataclass(frozen=True)
class RunConfig:
    """One run: method, data protocol, network, optimisation, seed, device.

    Construct directly or with :meth:`from_scale`. Validated on construction: a bad
    value raises ``ValueError`` naming the field.

    Attributes
    ----------
    method : str
        A registered method (:func:`hashlib_core.methods.list_methods`).
    n_bits : int
        Code length K (> 0).
    protocol : str
        A data protocol (:func:`hashlib_core.data.list_protocols`), e.g. ``"cifar10-i"``.
    scale : {"smoke", "cpu", "paper"}
        Picks the image transform (32 px or 224 px) and labels the results.
    backbone, pretrained, image_size
        :func:`hashlib_core.models.create_backbone` arguments.
    epochs, batch_size, lr, weight_decay, optimizer, momentum, lr_schedule
        Optimisation: ``optimizer`` in {"adam", "sgd", "rmsprop"}; ``lr_schedule`` in
        {"cosine" (per epoch, to 0), "constant", "step" (x0.1 every ``lr_step`` epochs)}.
    seed : int
        Seeds torch, numpy, python, the shuffling generator and the method's draws.
    protocol_seed : int
        Seeds the protocol's splits (kept apart from ``seed``, so seeds vary training
        on fixed splits).
    device : {"cpu", "cuda", "auto"}
    amp : bool
        Autocast (``amp_dtype``) + GradScaler, only on CUDA.
    num_workers : int
        DataLoader workers (0: in the main process, the deterministic default).
    eval_every : int
        Validation mAP (val queries vs. the remaining training items) every this many
        epochs and after the last one; the best epoch is kept. 0: no selection (last).
    run_dir : str or None
        Checkpoints (every epoch, and the best), resumed when present; None: none.
    method_overrides : mapping
        The method's hyper-parameters that differ from its class defaults; stored as a
        sorted tuple of pairs so the config stays hashable (see :attr:`overrides`).
    features : {"gist"}
        Input features of shallow methods.
    variant : str or None
        A label for ablation variants (results are stored apart).
    deterministic : bool
        Deterministic algorithms (``torch.use_deterministic_algorithms``, warn only);
        False lets cuDNN pick the fastest kernels (``cudnn.benchmark``): the paper preset.
    compile : bool
        Compile the backbone with ``torch.compile`` (inductor, a batch dimension of any
        size: one graph for training and one for encoding, whatever the batch). Off in
        every preset: in the cpu preset (one thread) the compiled training step is slower
        than the eager channels-last one (``benchmarks/results/compile_cpu.json``). A compiled network runs other kernels than the eager one (fused,
        other summation orders), so its codes may differ from the eager run's: the field
        enters the result key when True (a compiled run is its own record; the keys of
        eager runs do not change). Repeated runs of one compiled config give the same
        codes on one machine (``benchmarks/bench_compile.py``, ``tests/engine/test_engine_compile.py``).
    allow_protocol_deviation : bool
        A paper-scale run on a protocol whose split sizes differ from the paper's
        (:data:`hashlib_core.data.protocols.PAPER_SIZES`) refuses to start unless True;
        the record then says so.
    """

    method: str
    n_bits: int
    protocol: str = "cifar10-smoke"
    scale: str = "smoke"
    backbone: str = "smallcnn"
    pretrained: str | None = None
    image_size: int = 32
    epochs: int = 4
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-5
    optimizer: str = "adam"
    momentum: float = 0.9
    lr_schedule: str = "cosine"
    lr_step: int = 50
    seed: int = 0
    protocol_seed: int = 0
    device: str = "cpu"
    amp: bool = False
    amp_dtype: str = "bfloat16"
    num_workers: int = 0
    eval_every: int = 1
    encode_batch_size: int = 500
    run_dir: str | None = None
    method_overrides: Any = field(default=())
    features: str = "gist"
    variant: str | None = None
    data_root: str | None = None
    cache_dir: str | None = None
    threads: int | None = None
    deterministic: bool = True
    allow_protocol_deviation: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "method_overrides", _freeze(self.method_overrides or ()))
        self._validate()

    # ---- validation --------------------------------------------------------------
    def _validate(self) -> None:
        from hashlib_core.data import list_protocols
        from hashlib_core.methods import get_method_class, list_methods

        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"RunConfig.{name}: {why}, got {getattr(self, name)!r}")

        if not isinstance(self.method, str) or self.method.lower() not in list_methods():
            raise bad("method", f"unknown method; known: {', '.join(list_methods())}")
        object.__setattr__(self, "method", self.method.lower())
        for name in ("n_bits", "epochs", "batch_size", "image_size", "encode_batch_size", "lr_step"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise bad(name, "must be a positive integer")
        if self.batch_size < 2:
            raise bad("batch_size", "must be at least 2 (pairwise losses and batch norm need "
                                    "two items per batch)")
        for name in ("seed", "protocol_seed", "num_workers", "eval_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise bad(name, "must be a non-negative integer")
        if self.scale not in scales.SCALES:
            raise bad("scale", f"unknown scale; known: {', '.join(scales.SCALES)}")
        if self.protocol not in list_protocols():
            raise bad("protocol", f"unknown protocol; known: {', '.join(list_protocols())}")
        from hashlib_core.models.backbones import BACKBONES

        if self.backbone not in BACKBONES:
            raise bad("backbone", f"unknown backbone; known: {', '.join(BACKBONES)}")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", f"must be one of {OPTIMIZERS}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise bad("lr_schedule", f"must be one of {LR_SCHEDULES}")
        if self.device not in DEVICES and not str(self.device).startswith("cuda:"):
            raise bad("device", f"must be one of {DEVICES} or 'cuda:<n>'")
        if self.amp_dtype not in AMP_DTYPES:
            raise bad("amp_dtype", f"must be one of {AMP_DTYPES}")
        if self.features not in FEATURES:
            raise bad("features", f"must be one of {FEATURES}")
        for name in ("lr", "weight_decay", "momentum"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise bad(name, "must be a non-negative number")
        if not self.lr > 0:
            raise bad("lr", "must be positive")
        for name in ("deterministic", "allow_protocol_deviation", "amp", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "must be True or False")
        if self.n_bits < MIN_BITS:
            raise bad("n_bits", f"must be at least {MIN_BITS}: the evaluation's precision within "
                                f"Hamming radius {MIN_BITS} needs codes of {MIN_BITS} bits or more")
        if self.threads is not None and (isinstance(self.threads, bool)
                                         or not isinstance(self.threads, int) or self.threads <= 0):
            raise bad("threads", "must be None or a positive integer")
        cls = get_method_class(self.method)
        try:
            names = [k for k, _ in self.method_overrides]
        except (TypeError, ValueError) as err:
            raise bad("method_overrides", "must be a mapping of hyper-parameter names") from err
        unknown = sorted(set(names) - set(cls.defaults))
        if unknown:
            raise bad(
                "method_overrides",
                f"unknown hyper-parameter(s) {unknown} of {self.method}; known: {sorted(cls.defaults)}",
            )
        for name, value in self.method_overrides:
            why = check_hyper_parameter(cls.defaults[name], value)
            if why:
                raise ValueError(f"RunConfig.method_overrides: {self.method}'s {name!r} {why} "
                                 f"(default {cls.defaults[name]!r}), got {value!r}")

    # ---- views ---------------------------------------------------------------------
    @property
    def overrides(self) -> dict[str, Any]:
        """``method_overrides`` as a plain dict (values as given; lists become tuples)."""
        return dict(self.method_overrides)

    @property
    def dataset(self) -> str:
        """The protocol's dataset family (``"cifar10"``, ``"mnist"``, ``"coco"``, ...)."""
        return self.protocol.split("-")[0]

    @property
    def method_kind(self) -> str:
        from hashlib_core.methods import get_method_class

        return get_method_class(self.method).kind

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of every field (``method_overrides`` as a dict)."""
        out = dataclasses.asdict(self)
        out["method_overrides"] = {k: v for k, v in self.method_overrides}
        return out

    def result_key(self) -> str:
        """SHA-256 of the fields that determine the result (not device, paths, workers)."""
        d = {k: v for k, v in self.to_dict().items() if k not in NON_RESULT_FIELDS
             and not (k in KEY_IF_CHANGED and v == KEY_IF_CHANGED[k])}
        text = json.dumps(d, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_scale(cls, scale: str, *, method: str, n_bits: int, **overrides: Any) -> RunConfig:
        """A config from a scale's preset (:mod:`hashlib_core.scales`), then ``overrides``.

        Examples
        --------
        >>> cfg = RunConfig.from_scale("cpu", method="csq", n_bits=64)
        >>> cfg.protocol, cfg.backbone, cfg.image_size
        ('cifar10-i', 'smallcnn', 32)
        """
        given = sorted(set(overrides) & set(KEY_ARGUMENTS))
        if given:
            raise ValueError(f"RunConfig.from_scale: {', '.join(given)} cannot be overridden "
                             f"(they are arguments: --{given[0].replace('_', '-')} on the "
                             "command line)")
        fields = scales.preset(scale, method)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"RunConfig.from_scale: unknown field(s) {unknown}; known: {sorted(names)}")
        fields.update(overrides)
        return cls(method=method, n_bits=n_bits, **fields)


def _protocol_classes(protocol: str) -> int | None:
    """The label width of a protocol, known without building it (None when unknown)."""
    if protocol.startswith(("cifar10", "mnist")):
        return 10
    from hashlib_core.data.listfile import LIST_PROTOCOLS

    entry = LIST_PROTOCOLS.get(protocol)
    return None if entry is None else int(entry[1])


def method_problems(config: RunConfig) -> list[str]:
    """Why the method of ``config`` cannot be made with its hyper-parameters (one line
    each; [] when it can), found by constructing the method (its loss, centres, head
    sizes: no network, no data) before any protocol is loaded.

    Examples
    --------
    >>> cfg = RunConfig(method="shnet", n_bits=16, protocol="cifar10-smoke",
    ...                 method_overrides={"head": "diagonal"})
    >>> method_problems(cfg)[0]  # doctest: +ELLIPSIS
    "--hp head='diagonal' of shnet: shnet: head must be one of ('serial', 'parallel'), ..."
    """
    from hashlib_core.methods import get_method_class

    n_classes = _protocol_classes(config.protocol)
    if n_classes is None:
        return []
    cls = get_method_class(config.method)
    hp = ", ".join(f"{k}={v!r}" for k, v in config.method_overrides) or "the defaults"
    try:
        if getattr(cls, "kind", "deep") == "shallow":
            cls(config.n_bits, n_classes, seed=config.seed, **config.overrides)
        else:
            cls(config.n_bits, n_classes, **config.overrides)
    except (ValueError, TypeError, KeyError) as err:
        why = " ".join(str(err).split())
        return [f"--hp {hp} of {config.method}: {why}"]
    return []
