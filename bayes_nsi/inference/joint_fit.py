"""Joint fits of counting experiments and a binned template likelihood that share one 8B flux.

Every 8B prediction is proportional to the 8B flux. A binned release carries the flux as its signal-rate
multiplier m (XENONnT: ``b8_rate_multiplier``, Gaussian 1 +- 3.81 % about the SNO flux, its templates at that
flux); a counting experiment's signal s (at the same reference flux) then scales by the same m:

    -2 ln L(eps; nu) = -2 ln L_binned(m, nu_binned; T(eps)) + sum_p chi2_p(m s_p(eps))

with chi2_p the counting term with its background profiled in closed form
(:func:`~bayes_nsi.inference.likelihoods.poisson_counting_chi2`). :class:`JointProfiler` minimizes this over
all binned nuisances (m included) with the binned profiler's bounded L-BFGS-B; the counting signals are a second
input of the compiled value and gradient. :func:`flux_profiled_chi2` is the same profile for counting terms
alone (no binned data: m is constrained by its Gaussian only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.inference import binned as bn
from bayes_nsi.inference.binned_fit import Profiler
from bayes_nsi.inference.likelihoods import PoissonCounting

FLUX_GRID_SIGMAS = 6.0  # flux_profiled_chi2 scans the multiplier over 1 +- 6 sigma
FLUX_GRID_POINTS = 241


class JointProfiler(Profiler):
    """-2 ln L of a binned model plus counting terms whose signals scale with the rate nuisance ``multiplier``.

    ``signal`` of every method is the pair (templates (runs, A, A, bins) per t*yr, counting signals (n_terms,)
    at the multiplier's reference flux).
    """

    def __init__(self, model: bn.BinnedModel, counting: Sequence[PoissonCounting], multiplier: str) -> None:
        if multiplier not in model.parameter_names:
            raise ValueError(f"multiplier: {multiplier!r} is not a nuisance of the binned model; allowed: "
                             f"{', '.join(model.parameter_names)}")
        if not counting:
            raise ValueError("counting: need at least one counting term (else use Profiler)")
        self.counting, self.multiplier = tuple(counting), multiplier
        super().__init__(model)

    def _objective(self, params: Mapping) -> tuple[list, pt.TensorVariable]:
        templates = pt.tensor("signal", shape=(None,) * 4, dtype="float64")
        signals = pt.dvector("counting_signal")
        value = bn.neg2_log_likelihood(self.model, templates, params)
        for i, term in enumerate(self.counting):
            value = value + term.chi2(params[self.multiplier] * signals[i])
        return [templates, signals], value


def flux_profiled_chi2(term: PoissonCounting, signal: np.ndarray, sigma_rel: float) -> np.ndarray:
    """min over m of chi2(m s) + ((m - 1) / sigma_rel)^2 for signals s (n,): a counting term with a Gaussian flux.

    The multiplier is scanned on 1 +- FLUX_GRID_SIGMAS sigma_rel (FLUX_GRID_POINTS values) and the minimum refined
    by the parabola through the lowest grid point and its neighbours: written out here because it is one
    vectorized line over the whole coupling batch, where a scalar minimizer would run once per point.
    """
    if not sigma_rel > 0:
        raise ValueError(f"sigma_rel: {sigma_rel} is not > 0; allowed: a positive relative flux error")
    m = 1.0 + sigma_rel * np.linspace(-FLUX_GRID_SIGMAS, FLUX_GRID_SIGMAS, FLUX_GRID_POINTS)
    s = np.asarray(signal, dtype=float)[..., None]
    total = term.chi2(s * m) + ((m - 1.0) / sigma_rel) ** 2
    i = np.clip(np.argmin(total, axis=-1), 1, FLUX_GRID_POINTS - 2)
    lo, mid, hi = (np.take_along_axis(total, (i + k)[..., None], -1)[..., 0] for k in (-1, 0, 1))
    curvature = np.maximum(lo - 2.0 * mid + hi, 1e-300)
    return mid - (hi - lo) ** 2 / (8.0 * curvature)
