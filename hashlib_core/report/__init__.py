"""The report: the book's pages computed from the results store (no training).

Modules
-------
claims, claim_checks, intervals   the papers' claims, their verdicts and intervals
claims_page, claims_intro         the claims page; the introduction's summary of it
rankings, rankings_page           the papers' rankings against ours (Kendall's τ, its
                                  coverage); their tables and sentences on the claims page
names, markdown                   how the book names things; tables as text, Markdown, CSV
comparison, results_tables        the papers' numbers beside ours; the results pages' tables
run_list, provenance              every stored run; the runs behind a table, deviations
protocol_tables                   the protocols page: conventions, protocols and their runs
agreement                         rank agreement with the papers; the headline gap
learning, schedule                the learning check; is the training schedule long enough
ablation_effects, diagnosis_runs  what the ablation variants and the diagnosis runs change
grid_status, split_overlap        the grid's runs, seeds and cost; what the splits share
training, diagnostics             what the training curves and the runs say
code_health                       distinct, constant and redundant bits; effective bits
figures (a package), examples     figures; retrieval examples
reported                          the numbers the papers printed (the reported CSV)
book                              executes the page notebooks (papermill)
build                             MathJax and the HTML build (jupyter-book)

A page notebook imports only from this package and from :mod:`hashlib_core.results`. The
pages describe the grid the runner trains: its design (:mod:`hashlib_core.runner.grids`)
and its tuning choices (:mod:`hashlib_core.runner.tuning`) are re-exported here.
"""

from hashlib_core.runner import grids, tuning

__all__ = ["grids", "tuning"]
