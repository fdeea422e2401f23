"""Method revisions in records: a run made before its method's code changed what a seeded
run gives is stale (the runner makes it again; the readers leave it out until then).

A method class states its ``revision`` (1 unless its code was changed in a way that
changes results) and ``revision_note`` (what changed); :func:`hashlib_core.results.save_run`
stores the revision in ``provenance.method_revision``. A record without one was made at
revision 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def current_revision(method: Any) -> int | None:
    """The revision of ``method``'s code now (None for a name the registry lacks)."""
    from hashlib_core.methods import get_method_class  # the registry loads torch: lazily

    try:
        return int(get_method_class(str(method)).revision)
    except (KeyError, ValueError):
        return None


def stale_revision(record: Mapping[str, Any]) -> str | None:
    """Why ``record`` is stale, or None when it was made with its method's current
    revision.

    Examples
    --------
    >>> stale_revision({"key": {"method": "dpsh"}, "provenance": {}}) is None
    True
    >>> stale_revision({"key": {"method": "shnet"}, "provenance": {}})[:40]
    'made with SHNet revision 1; the code is '
    """
    method = (record.get("key") or {}).get("method")
    now = current_revision(method)
    made = (record.get("provenance") or {}).get("method_revision", 1)
    if now is None or not isinstance(made, int) or made >= now:
        return None
    from hashlib_core.methods import get_method_class

    cls = get_method_class(str(method))  # its class name is the papers' spelling
    return (f"made with {cls.__name__} revision {made}; the code is at revision {now}: "
            f"{cls.revision_note}")
