"""What the PandaX-4T 8B publication says about its two samples together (the paired and US2 data sets).

Z. Bo et al. (PandaX-4T), PRL 133 (2024) 191001, arXiv:2407.10892: a combined fit of the paired and US2
samples sharing one 8B flux gives 2.64 sigma over the background-only hypothesis and a flux of
(8.4 +- 3.1)e6 cm^-2 s^-1.
"""

from bayes_nsi.experiments.base import PublishedFit

CITATION = "Z. Bo et al. (PandaX-4T), PRL 133 (2024) 191001, arXiv:2407.10892"
PUBLISHED_FIT = PublishedFit(("paired", "us2"), 2.64, 8.4, 3.1, 3.1, CITATION)
