"""The results store: one record per run, written atomically, read back as a tidy table.

Layout (``root`` is ``results/`` by default, committed; ``artifacts`` is
``runs/artifacts/``, git-ignored)::

    results/<scale>/<protocol>/manifest-<sha12>.json      the protocol manifest (shared by runs)
    results/<scale>/<protocol>/<method>/<run_id>/
        record.json                  config, scalars, curves, history, timings, provenance
        query_codes-<sha12>.npz      packed query codes + query labels (small: committed)
        run.ipynb                    the executed train_eval notebook (written by the runner)
    runs/artifacts/<scale>/<protocol>/<method>/<run_id>/
        db_codes-<sha12>.npz         packed database codes + labels (large: not committed)

``run_id`` is ``<n_bits>b_seed<seed>``, or ``<n_bits>b_seed<seed>_<variant>`` for an
ablation variant of a method (e.g. ``32b_seed0_segments3``).

``record.json`` is the commit point of a run: it is written last, by ``os.replace`` of a
complete temporary file, and it names the codes files by their content hash. A crash at
any moment leaves either the old record (pointing at its old, still present codes) or
the new one, never a mix. Readers verify the hashes.

:func:`load_results` returns one row per run (the ``key`` columns, provenance columns,
and one column per scalar metric, NaN where a run lacks it): a tidy table whose
observational unit is a run. :func:`load_curves` returns the same rows with one column
per curve holding a NumPy array.

A corrupt or unreadable ``record.json`` (truncated, not JSON, missing fields, no read
permission) never stops a reader: :func:`iter_records` skips it with a
:class:`CorruptRecordWarning` naming the file and the reason, and :func:`load_results` /
:func:`load_curves` list the skipped files in ``df.attrs["skipped_records"]``
(:func:`skipped_note` turns that into a sentence for a page). The batch runner treats
such a cell as not done and reruns it. So is a record that reads but is not valid
(:func:`record_problems`: a key or scalar of the wrong type, a name with markup, a codes
file that is missing, altered, pickled or of another shape than the record's ``n_bits``
and ``eval_info.n_queries``): readers skip it the same way, naming the file.

What a run was made with: :func:`hashlib_core.engine.settings.settings_differences`
compares the result-determining settings stored in a record (its configuration without device, paths and workers, and
the protocol manifest's hash) with the settings wanted now; the batch runner counts a
record as done only when they agree.

A record holds no absolute path (:mod:`~hashlib_core.results.portable`): the folders a
run used are stored relative to ``root`` or dropped.

Modules: :mod:`~hashlib_core.results.records` (naming, writing and reading one record),
:mod:`~hashlib_core.results.validation` (its checks), :mod:`~hashlib_core.results.store`
(iterating records, tables, codes and manifests), :mod:`~hashlib_core.results.codes`
(packed codes files), :mod:`~hashlib_core.results.provenance` (commit, host, versions),
:mod:`~hashlib_core.results.portable` (paths in a record).
"""

from hashlib_core.results.provenance import git_commit, host_info, package_versions
from hashlib_core.results.records import (
    DEFAULT_RUN_CURVES,
    KEY_COLUMNS,
    RECORD,
    RECORD_SCALARS,
    SCHEMA,
    read_record,
    record_dir,
    record_gaps,
    run_id,
    save_run,
)
from hashlib_core.results.store import (
    CorruptRecordWarning,
    has_record,
    iter_records,
    load_curves,
    load_db_codes,
    load_manifest,
    load_query_codes,
    load_results,
    skipped_note,
    stale_sentences,
)
from hashlib_core.results.validation import REQUIRED_SCALARS, record_problems

__all__ = [
    "DEFAULT_RUN_CURVES", "KEY_COLUMNS", "RECORD", "RECORD_SCALARS", "REQUIRED_SCALARS",
    "SCHEMA", "CorruptRecordWarning", "git_commit", "has_record", "host_info", "iter_records",
    "load_curves", "load_db_codes", "load_manifest", "load_query_codes", "load_results",
    "package_versions", "read_record", "record_dir", "record_gaps", "record_problems",
    "run_id", "save_run", "skipped_note", "stale_sentences",
]
