"""bayes_nsi: Bayesian and frequentist constraints on neutrino NSI from solar-8B CEvNS in xenon.

Public API: :func:`survival_probability`, :func:`expected_events`, :func:`sm_events`, and the names
of the couplings (:data:`COUPLINGS`) and data sets (:data:`DATASETS`).
"""

import warnings

warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

from .api import expected_events, sm_events, survival_probability  # noqa: E402
from .constants import DATASETS  # noqa: E402
from .couplings import COUPLINGS  # noqa: E402

__all__ = ["COUPLINGS", "DATASETS", "expected_events", "sm_events", "survival_probability"]
