"""The report: the book's pages computed from the results store (no training).

Modules
-------
claims, claim_checks, intervals   the papers' claims, their verdicts and intervals
claims_page                       the claims page and the introduction's summary
tables                            results tables beside the papers' numbers
findings, training, diagnostics   what the training curves and the runs say
code_health                       distinct, constant and redundant bits; effective bits
plots, examples                   figures; retrieval examples
reported                          the numbers the papers printed (the reported CSV)
book                              executes the page notebooks (papermill)
build                             MathJax and the HTML build (jupyter-book)

A page notebook imports only from this package and from :mod:`hashlib_core.results`. The
pages describe the grid the runner trains: its design (:mod:`hashlib_core.runner.grids`)
and its tuning choices (:mod:`hashlib_core.runner.tuning`) are re-exported here.
"""

from hashlib_core.runner import grids, tuning

__all__ = ["grids", "tuning"]
