"""The runner: trains the cells of a scale's grid, each once, resumably, on one machine or
several (``python -m hashlib_core.reproduce``, ``make reproduce``).

Modules
-------
grids      the experiment design: the cells of each scale (method, protocol, bits, seed,
           variant), the tuning settings, the claims' seeds and baselines
tuning     the tuning winner of each method, chosen on validation mAP (and the tie rule)
plan       what each cell needs now: run, resume, rerun, copy, skip (its record and
           settings); the selection and its shards; where a cell's checkpoints, claim and
           log go
locking    claim files with a heartbeat (two runners never train one cell)
execution  the grid's cells one by one, each under its claim; one cell: the papermill run
           of ``notebooks/train_eval.ipynb``, the progress relay, stop signals
twins      a cell whose settings equal its tuning winner's run is copied, not retrained
checks     the runner's preflight: folders, weights, protocols, leftovers of killed runs
summary    what ran, failed, was stopped; exit codes
cli        the command line (``hashlib_core.reproduce`` is its entry point); after the
           grid it builds the book (:mod:`hashlib_core.report.build`)
"""
