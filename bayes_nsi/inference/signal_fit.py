"""The 8B signal a data set (or several sharing one 8B flux) measures, from any likelihood term.

The parameter is the 8B flux scale mu = Phi / Phi_ref; data set i expects mu x N_i events, N_i its
Standard-Model prediction at Phi_ref. The profile -2 ln L(mu) = sum_i chi2_i(mu N_i) (nuisances of each
term profiled) is scanned on mu >= 0 and root-refined (``intervals.profile_scan``):
- best fit and 68 % interval: Delta chi^2 <= 1;
- background-only significance: Z = sqrt(q0), q0 = chi2(0) - chi2(mu_hat) with mu_hat >= 0, the
  asymptotic one-sided test statistic of Cowan, Cranmer, Gross, Vitells, EPJC 71 (2011) 1554, eq. 12 and
  Z = sqrt(q0) (their eq. 53). For a Gaussian term it equals measured / sigma.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bayes_nsi.inference.intervals import profile_scan
from bayes_nsi.inference.likelihoods import LikelihoodTerm


@dataclass(frozen=True)
class SignalFit:
    """Best fit and 68 % interval of the flux scale (several pieces are possible), and the significance."""

    scale: float
    scale_68: list[list[float]]
    significance_sigma: float
    chi2_min: float


def fit_signal(terms: Sequence[LikelihoodTerm], sm_events: Sequence[float], max_scale: float,
               points: int = 4001) -> SignalFit:
    """Fit one flux scale to the terms (one per data set) with SM predictions ``sm_events`` (events at scale 1).

    The scan covers [0, max_scale]; max_scale must lie well beyond the 68 % interval (checked).
    """
    sm = np.asarray(sm_events, float)
    if len(terms) != sm.size or np.any(sm <= 0):
        raise ValueError(f"sm_events: need one positive SM prediction per term, got {sm.tolist()}")

    def chi2(scale: np.ndarray) -> np.ndarray:
        scale = np.asarray(scale, float)
        return sum(t.chi2(scale * n) for t, n in zip(terms, sm, strict=True))

    result = profile_scan(chi2, 0.0, max_scale, points, (1.0,))
    pieces = result.intervals[1.0]
    if pieces and pieces[-1][1] >= max_scale:
        raise ValueError(f"max_scale: the 68% interval reaches the scan edge {max_scale:g}; allowed: a larger value")
    q0 = max(float(chi2(np.array([0.0]))[0]) - result.chi2_min, 0.0)
    return SignalFit(result.best_x, pieces, float(np.sqrt(q0)), result.chi2_min)
