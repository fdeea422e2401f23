"""The book's figures, drawn from the stored runs (never from training).

Modules
-------
style            the house style: the Okabe-Ito palette, the pairs in colour, the figure
                 value (``Drawn``: figure, caption, alt text), its display (``show``) and
                 the layout helpers every figure shares
precision        P-R curves by Hamming radius, precision of the top N, precision within
                 Hamming radius 2
bit_correlation  bit-correlation matrices and the mAC of every method, beside the code health
tsne             t-SNE maps of query codes
budgets          each pairwise claim's difference against the training budget (the
                 claims page)

The training curves (:mod:`hashlib_core.report.training`) and the retrieval examples
(:mod:`hashlib_core.report.examples`) draw in the same style. Figures are drawn off-screen
(Matplotlib's Agg backend, set here before any figure module imports pyplot); a page shows
them with :func:`hashlib_core.report.figures.style.show`.
"""

import matplotlib

matplotlib.use("Agg")
