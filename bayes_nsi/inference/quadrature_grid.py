"""Nodes of the quadrature grids over couplings and the 8B flux, and Simpson's weights on them.

Shared by the quadrature evidence (:mod:`bayes_nsi.inference.evidence`) and the grid posterior
(:mod:`bayes_nsi.inference.grid_posterior`); numpy and scipy only, so neither needs PyMC to build its grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import numpy as np

from bayes_nsi.inference.densities import truncated_normal_logpdf
from bayes_nsi.inference.priors import Prior, flux_8b_prior

# Normal priors are integrated over mu +- NORMAL_SPAN sigma (the tail mass beyond is ~1e-23).
NORMAL_SPAN = 10.0


def prior_grid(prior: Prior, points: int) -> np.ndarray:
    """Uniform grid over the prior support (normal priors: mu +- NORMAL_SPAN sigma); ``points`` is odd."""
    lo, hi = prior.support()
    if prior.dist == "normal":
        lo, hi = prior.mu - NORMAL_SPAN * prior.sigma, prior.mu + NORMAL_SPAN * prior.sigma
    return np.linspace(lo, hi, points)


def simpson_weights(x: np.ndarray) -> np.ndarray:
    """Weights w with sum(w f) = composite Simpson's rule on the uniform odd-sized grid x."""
    if x.size % 2 == 0:
        raise ValueError(f"Simpson's rule needs an odd number of points, got {x.size}")
    w = np.ones(x.size)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return w * (x[1] - x[0]) / 3.0


def outer_sum(terms: Sequence[np.ndarray]) -> np.ndarray:
    """sum_k terms[k][i_k] on the product grid, shape (len(terms[0]), len(terms[1]), ...); 0-d zero for no terms."""
    return reduce(np.add.outer, terms, np.zeros(()))


def flux_nodes(prior: str, points: int) -> tuple[np.ndarray, np.ndarray]:
    """8B flux nodes (1e6 cm^-2 s^-1) over mu +- NORMAL_SPAN sigma (cut at 0) and the ln prior density there
    (the PyMC model's TruncatedNormal(lower=0))."""
    mu, sigma = flux_8b_prior(prior)
    f = np.linspace(max(0.0, mu - NORMAL_SPAN * sigma), mu + NORMAL_SPAN * sigma, points)
    return f, truncated_normal_logpdf(f, mu, sigma, lower=0.0)
