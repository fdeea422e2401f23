"""Relevance of database items to queries: an item is relevant when it shares at least one
label with the query (1-D classes compared directly, 2-D multi-hot labels packed into
uint64 bit masks), per chunk of queries, per distinct query label pattern, and counted."""

from __future__ import annotations

import numpy as np


class Relevance:
    """``relevant(q, j)`` = query q and database item j share at least one label.

    1-D labels compare classes; 2-D multi-hot labels are packed into uint64 bit masks,
    so the relevance of a chunk of queries is one AND per 64 classes.
    """

    def __init__(self, query_labels: np.ndarray, db_labels: np.ndarray) -> None:
        if query_labels.ndim != db_labels.ndim:
            raise ValueError(
                "query_labels and db_labels must both be 1-D classes or both 2-D multi-hot, "
                f"got shapes {query_labels.shape} and {db_labels.shape}"
            )
        if query_labels.ndim == 2 and query_labels.shape[1] != db_labels.shape[1]:
            raise ValueError(
                "query_labels and db_labels have different label widths: "
                f"{query_labels.shape} vs {db_labels.shape}"
            )
        self.multi = query_labels.ndim == 2
        if self.multi:
            self.query = _pack_words(query_labels)
            self.db = _pack_words(db_labels)
            patterns, self.pattern_of = np.unique(self.query, axis=0, return_inverse=True)
        else:
            self.query = query_labels
            self.db = db_labels
            patterns, self.pattern_of = np.unique(self.query, return_inverse=True)
        self._patterns = patterns
        self.pattern_of = self.pattern_of.reshape(-1)
        #: distinct query label patterns (single-label: classes); queries sharing one
        #: have the same relevant items
        self.n_patterns = len(patterns)

    def pattern_rows(self):
        """Yield the (n_db,) bool relevance of each distinct query label pattern."""
        for p in self._patterns:
            if not self.multi:
                yield self.db == p
            else:
                out = np.zeros(len(self.db), dtype=bool)
                for w in range(len(p)):
                    out |= (self.db[:, w] & p[w]) != 0
                yield out

    def chunk(self, start: int, stop: int) -> np.ndarray:
        """Bool relevance of queries ``start:stop`` to every database item, (stop-start, n_db)."""
        if not self.multi:
            return self.query[start:stop, None] == self.db[None, :]
        q = self.query[start:stop]
        out = (q[:, None, 0] & self.db[None, :, 0]) != 0
        for w in range(1, q.shape[1]):
            out |= (q[:, None, w] & self.db[None, :, w]) != 0
        return out

    def counts(self) -> np.ndarray:
        """Number of relevant database items of every query, shape (n_queries,) int64."""
        if not self.multi:
            classes, per_class = np.unique(self.db, return_counts=True)
            pos = np.searchsorted(classes, self.query)
            pos_c = np.minimum(pos, len(classes) - 1)
            found = classes[pos_c] == self.query
            return np.where(found, per_class[pos_c], 0).astype(np.int64)
        # distinct multi-hot patterns of the database, then one pass per pattern
        patterns, per_pattern = np.unique(self.db, axis=0, return_counts=True)
        out = np.zeros(len(self.query), dtype=np.int64)
        step = max(1, (1 << 24) // max(1, len(patterns)))
        for s in range(0, len(self.query), step):
            q = self.query[s : s + step]
            rel = np.zeros((len(q), len(patterns)), dtype=bool)
            for w in range(q.shape[1]):
                rel |= (q[:, None, w] & patterns[None, :, w]) != 0
            out[s : s + step] = rel @ per_pattern
        return out


def _pack_words(multi_hot: np.ndarray) -> np.ndarray:
    """(n, n_classes) bool -> (n, ceil(n_classes/64)) uint64 bit masks."""
    n, width = multi_hot.shape
    n_words = -(-width // 64)
    padded = np.zeros((n, n_words * 64), dtype=bool)
    padded[:, :width] = multi_hot
    return np.ascontiguousarray(np.packbits(padded, axis=1).view(np.uint64))
