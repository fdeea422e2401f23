"""Retrieval metrics on binary codes, with every convention explicit.

Codes are array-likes of shape (n, n_bits) with values in {-1,+1} (also {0,1} or bool);
labels are 1-D integer classes or 2-D multi-hot (n, n_classes); a database item is
*relevant* to a query when they share at least one label. Distances are exact Hamming
distances computed by popcount on packed bits, chunked over queries so that memory stays
bounded (a few hundred MB at most, whatever the sizes).

Conventions (each a keyword, see the functions):

* ``ties``: ``"index"`` orders equal distances by database index (deterministic, the
  stable argsort), ``"expected"`` averages over all orders of tied items (tie-aware,
  closed form).
* ``empty``: a query with no relevant item in the database counts as 0 (``"zero"``) or
  is left out (``"skip"``); a warning always gives the count.
* ``denominator`` (AP@K): relevant items retrieved in the top K (``"retrieved"``) or all
  relevant items (``"all"``).
* ``topk=None`` is mAP@ALL.

Ranking (:mod:`~hashlib_core.metrics.ranking`): :func:`average_precision`,
:func:`mean_average_precision`, :func:`precision_at_n`.
Hash lookup (:mod:`~hashlib_core.metrics.radius`): :func:`precision_recall_curve`,
:func:`precision_within_radius`, :func:`recall_within_radius`.
Codes (:mod:`~hashlib_core.metrics.hamming`, :mod:`~hashlib_core.metrics.bits`):
:func:`pack_codes`, :func:`hamming_distance`, :func:`bit_correlation`,
:func:`mean_absolute_correlation`, :func:`bit_balance`, :func:`code_health`.
Redundancy (:mod:`~hashlib_core.metrics.redundancy`): :func:`code_redundancy` (constant
bits each counted, varying bits, mAC over the varying bits, near-duplicate groups,
effective bits), :func:`constant_bit_mask`, :func:`duplicate_groups`,
:func:`effective_bits`.

Speed: the work runs in chunks of queries on :func:`get_num_threads` threads (default
``min(4, os.cpu_count())``, or ``HASHLIB_METRICS_THREADS``; :func:`set_num_threads`);
results do not depend on the number of threads or the chunk size.
"""

from hashlib_core.metrics._engine import get_num_threads, set_num_threads
from hashlib_core.metrics.bits import (
    CODE_HEALTH_KEYS,
    bit_balance,
    bit_correlation,
    code_health,
    mean_absolute_correlation,
)
from hashlib_core.metrics.hamming import hamming_distance, pack_codes
from hashlib_core.metrics.radius import (
    precision_recall_curve,
    precision_within_radius,
    recall_within_radius,
)
from hashlib_core.metrics.ranking import average_precision, mean_average_precision, precision_at_n
from hashlib_core.metrics.redundancy import (
    CODE_REDUNDANCY_KEYS,
    DUPLICATE_THRESHOLD,
    EFFECTIVE_VARIANCE,
    code_redundancy,
    constant_bit_mask,
    duplicate_groups,
    effective_bits,
)

__all__ = [
    "CODE_HEALTH_KEYS",
    "CODE_REDUNDANCY_KEYS",
    "DUPLICATE_THRESHOLD",
    "EFFECTIVE_VARIANCE",
    "average_precision",
    "bit_balance",
    "bit_correlation",
    "code_health",
    "code_redundancy",
    "constant_bit_mask",
    "duplicate_groups",
    "effective_bits",
    "get_num_threads",
    "hamming_distance",
    "mean_absolute_correlation",
    "mean_average_precision",
    "pack_codes",
    "precision_at_n",
    "precision_recall_curve",
    "precision_within_radius",
    "recall_within_radius",
    "set_num_threads",
]
