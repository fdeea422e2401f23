"""Which settings decide a run's result, and how a record's or a checkpoint's settings differ
from the run wanted now (the runner's "rerun: epochs: record 6, now 4")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hashlib_core.engine.config import NETWORK_FIELDS, NON_RESULT_FIELDS
from hashlib_core.jsonable import jsonable
from hashlib_core.methods import get_method_class

#: configuration fields that do not change a stored result (where it runs, how it reports
#: and saves, the encoding batch): :data:`~hashlib_core.engine.config.NON_RESULT_FIELDS`
#: less ``allow_protocol_deviation`` (a record says whether its run was allowed to deviate)
RECORD_NON_RESULT_FIELDS = tuple(f for f in NON_RESULT_FIELDS if f != "allow_protocol_deviation")


def _config_dict(config: Any) -> dict[str, Any]:
    """A run configuration as plain JSON values (``RunConfig.to_dict()`` when it has one)."""
    return jsonable(config.to_dict() if hasattr(config, "to_dict") else config)


def _plain(value: Any) -> Any:
    """A value as it reads back from JSON (tuples -> lists, NaN -> None)."""
    return json.loads(json.dumps(jsonable(value), sort_keys=True))


def _is_shallow(method: Any) -> bool:
    try:
        return get_method_class(str(method)).kind == "shallow"
    except (KeyError, ValueError):
        return False


def result_settings(config: Any, manifest_sha256: str | None) -> dict[str, Any]:
    """The settings that decide a run's result: its configuration without
    :data:`RECORD_NON_RESULT_FIELDS` (and, for a shallow method, without the fields only a
    network reads, ``engine.config.NETWORK_FIELDS``), plus ``manifest_sha256`` (the
    protocol's splits and data)."""
    cfg = _config_dict(config)
    drop = set(RECORD_NON_RESULT_FIELDS) | (set(NETWORK_FIELDS) if _is_shallow(cfg.get("method")) else set())
    out = {k: _plain(v) for k, v in cfg.items() if k not in drop}
    out["manifest_sha256"] = manifest_sha256
    return out


def settings_differences(
    record: Mapping[str, Any], wanted: Mapping[str, Any], *,
    defaults: Mapping[str, Any] | None = None, stored_as: str = "record",
) -> list[str]:
    """How the settings a record was made with differ from ``wanted``; [] when they agree.

    Parameters
    ----------
    record : dict
        A record (:func:`hashlib_core.results.read_record`): its ``config`` and ``provenance.manifest_sha256``.
    wanted : dict
        :func:`result_settings` of the run wanted now. A ``manifest_sha256`` of None is
        not compared (the protocol could not be built here).
    defaults : dict, optional
        Values of fields a record may lack (written before the field existed): a missing
        field counts as its default. Fields only the record has are not compared.
    stored_as : str
        How the messages name the stored side (``"record"``, ``"checkpoint"``).

    Returns
    -------
    list of str
        ``"epochs: record 6, now 4"`` per differing field, in field order.

    Examples
    --------
    >>> rec = {"config": {"epochs": 6, "lr": 0.001}, "provenance": {"manifest_sha256": "ab"}}
    >>> settings_differences(rec, {"epochs": 4, "lr": 0.001, "manifest_sha256": "ab"})
    ['epochs: record 6, now 4']
    """
    stored = result_settings(record.get("config") or {},
                             (record.get("provenance") or {}).get("manifest_sha256"))
    defaults = {k: _plain(v) for k, v in (defaults or {}).items()}
    out = []
    for name, value in wanted.items():
        if name == "manifest_sha256":
            if value is not None and stored.get(name) != value:
                out.append(f"protocol manifest: {stored_as} {str(stored.get(name))[:12]}, "
                           f"now {str(value)[:12]} (other splits or data)")
            continue
        have = stored.get(name, defaults.get(name, value))
        if _plain(have) != _plain(value):
            out.append(f"{name}: {stored_as} {have!r}, now {_plain(value)!r}")
    return out
