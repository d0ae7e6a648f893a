"""Bayes factors of one-coupling hypotheses against the SM from one posterior of the SM's nuisances.

H_c frees coupling c (prior pi(eps)) and keeps the SM's nuisances nu (prior pi(nu)); the SM fixes eps = 0:

    B_c0 = Z_c / Z_0 = int pi(eps) r(eps) deps,
    r(eps) = Z(eps) / Z(0) = E_{nu ~ p(nu | data, SM)} [L(eps, nu) / L(0, nu)]

with Z(eps) = int L(eps, nu) pi(nu) dnu: the importance-sampling identity for a ratio of normalizing constants
(Meng & Wong 1996, Statistica Sinica 6, 831), with the SM posterior as the sampling density. One NUTS run of the
SM then serves every hypothesis and every eps; r(eps) is integrated over the prior by Simpson's rule on a grid.
The estimator is reliable where the weights L(eps, nu) / L(0, nu) vary little over the SM posterior: each grid
point reports the weights' Kish effective sample size, and the error of ln B is the spread of the per-chain
estimates (chains are independent; draws within a chain are not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from bayes_nsi.inference.quadrature_grid import simpson_weights


@dataclass(frozen=True)
class RatioBayesFactor:
    """ln B(H_c vs SM), its error (per-chain spread / sqrt(chains)), ln r(eps) on the grid, the weights' Kish ESS."""

    ln_b: float
    ln_b_err: float
    grid: np.ndarray
    ln_ratio: np.ndarray
    kish_ess: np.ndarray
    draws: int

    @property
    def min_relevant_ess(self) -> float:
        """Smallest Kish ESS over the grid points that carry 99 % of the integral (the ones that matter)."""
        weight = np.exp(self.ln_ratio - self.ln_ratio.max())
        order = np.argsort(weight)[::-1]
        keep = order[: int(np.searchsorted(np.cumsum(weight[order]) / weight.sum(), 0.99)) + 1]
        return float(self.kish_ess[keep].min())


def ln_ratio_and_ess(ln_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ln of the mean weight and the Kish ESS (sum w)^2 / sum w^2, over the last axis of ln w (..., D)."""
    n = ln_weights.shape[-1]
    ln_mean = special.logsumexp(ln_weights, axis=-1) - np.log(n)
    ess = np.exp(2.0 * special.logsumexp(ln_weights, axis=-1) - special.logsumexp(2.0 * ln_weights, axis=-1))
    return ln_mean, ess


def ln_bayes_factor(grid: np.ndarray, ln_prior: np.ndarray, ln_l: np.ndarray, ln_l0: np.ndarray,
                    chains: np.ndarray) -> RatioBayesFactor:
    """ln B of a one-coupling hypothesis against eps = 0 from ln L at the grid (G, D) and at eps = 0 (D,).

    grid: odd, equally spaced, covering the prior's support (ln_prior (G,): its log density there); chains (D,):
    the chain of each draw (the error is the spread of the per-chain ln B).
    """
    ln_w = ln_l - ln_l0[None, :]
    ln_r, ess = ln_ratio_and_ess(ln_w)
    ln_simpson = np.log(simpson_weights(grid))

    def integral(ln_ratio: np.ndarray) -> float:
        return float(special.logsumexp(ln_ratio + ln_prior + ln_simpson))

    per_chain = [integral(ln_ratio_and_ess(ln_w[:, chains == c])[0]) for c in np.unique(chains)]
    err = float(np.std(per_chain, ddof=1) / np.sqrt(len(per_chain))) if len(per_chain) > 1 else float("nan")
    return RatioBayesFactor(integral(ln_r), err, grid, ln_r, ess, ln_w.shape[-1])
