"""hashlib_core: a reproducible companion to deep hashing papers for image retrieval.

Subpackages
-----------
metrics   retrieval metrics on packed binary codes (mAP, P-R, P@N, radius precision, mAC)
data      real datasets and named, seeded split protocols
models    backbones and hash heads
losses    one loss per file, composable
methods   the method registry: ``create_method(name, n_bits, n_classes)``, ``list_methods()``
engine    ``RunConfig`` and ``run(cfg)``: train, select on validation, encode, evaluate
results   the results store, one record per run
"""

__version__ = "0.1.0"


def _install_warning_format() -> None:
    """Warnings of this package are shown as ``Category: message``, without the source
    file's absolute path and line (Python's default), so a built book page never shows
    the build machine's paths. Other warnings keep Python's format, with the file's name
    only (``module.py:12: FutureWarning: ...``)."""
    import os
    import warnings

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    default = warnings.formatwarning
    if getattr(default, "_hashlib_core", False):
        return

    def formatwarning(message, category, filename, lineno, line=None):
        ours = (str(filename).startswith(package)
                or getattr(category, "__module__", "").startswith("hashlib_core"))
        if ours:
            return f"{category.__name__}: {message}\n"
        # another package's warning: its file by name only (no build machine's folders)
        return default(message, category, os.path.basename(str(filename)), lineno, line)

    formatwarning._hashlib_core = True  # type: ignore[attr-defined]
    warnings.formatwarning = formatwarning


_install_warning_format()
