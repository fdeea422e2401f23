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
