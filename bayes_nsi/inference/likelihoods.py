"""One likelihood layer: each data set's likelihood as a pure function of its expected 8B signal events.

The same term serves the frequentist scans (``chi2``: -2 ln L with every nuisance profiled, up to a
constant), the evidence (``log_likelihood``: the normalized likelihood with nuisances integrated over
their constraints) and the PyMC models (``observe``: nuisances as random variables, the data observed).
``chi2`` is written once for numpy arrays and PyTensor tensors alike (batch axes first).

- ``gaussian``: eq. (20) of the reference paper, ((R_exp - R_th) / sigma)^2.
- ``split_normal``: the same with an asymmetric error (Barlow, arXiv:physics/0306138): sigma_up where the
  prediction lies above the measurement, sigma_down below (XENONnT's +3.7/-4.2).
- ``poisson_counting``: n observed events ~ Poisson(s + b), background b constrained by a (split) normal
  around the experiment's expectation, b >= 0. Profiled in closed form (:func:`profiled_background`).
- ``binned_poisson``: the interface a binned template likelihood implements (:class:`LikelihoodTerm`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pytensor.tensor as pt
from scipy import special

from bayes_nsi.inference.densities import poisson_logpmf
from bayes_nsi.names import LIKELIHOODS

# Gauss-Legendre nodes on each side of the background constraint's peak (+- BACKGROUND_SPAN sigma, cut at 0;
# split at the peak, where the split normal's width changes) for the marginal likelihood.
BACKGROUND_NODES = 100
BACKGROUND_SPAN = 10.0


class LikelihoodTerm(Protocol):
    """What every likelihood of one data set provides (``binned_poisson`` included).

    ``signal`` is the expected 8B signal of the data set with batch shape (...): a number of events for
    the counting and Gaussian terms, events per analysis bin (..., n_bins) for a binned term.
    """

    name: str
    dataset: str

    def chi2(self, signal):
        """-2 ln L with every nuisance profiled, shape (...); numpy or PyTensor."""

    def log_likelihood(self, signal: np.ndarray) -> np.ndarray:
        """Normalized ln L of the data with nuisances integrated over their constraints (numpy)."""

    def observe(self, signal, name: str) -> None:
        """Inside an active ``pm.Model``: create the nuisances and the observed variable ``name``."""

    def simulate(self, signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Pseudo-data (the term's observable) drawn at the given signal, nuisances from their constraints."""


# -- pure functions --------------------------------------------------------------------------------------


def gaussian_chi2(signal, measured: float, sigma: float):
    """((R_exp - R_th) / sigma)^2 (eq. 20)."""
    return ((measured - signal) / sigma) ** 2


def split_normal_chi2(signal, measured: float, sigma_up: float, sigma_down: float):
    """((R_th - R_exp) / s)^2 with s = sigma_up where R_th > R_exp, else sigma_down."""
    residual = signal - measured
    above = residual > 0
    return (residual / (sigma_up * above + sigma_down * (1 - above))) ** 2


def split_normal_log_norm(sigma_up: float, sigma_down: float) -> float:
    """ln of the split normal's normalization sqrt(2/pi) / (sigma_up + sigma_down)."""
    return 0.5 * np.log(2.0 / np.pi) - np.log(sigma_up + sigma_down)


def _sqrt(x):
    return pt.sqrt(x) if isinstance(x, pt.Variable) else np.sqrt(x)


def _log(x):
    return pt.log(x) if isinstance(x, pt.Variable) else np.log(x)


def _maximum(x, y):
    return pt.maximum(x, y) if isinstance(x, pt.Variable) else np.maximum(x, y)


def _where(c, x, y):
    return pt.switch(c, x, y) if isinstance(c, pt.Variable) else np.where(c, x, y)


def _background_root(signal, observed: int, background: float, sigma: float):
    """Stationary point of 2[(s+b) - n ln(s+b)] + ((b - b0)/sigma)^2 in b, cut at b = 0.

    Setting the derivative to zero gives b^2 + b (s - b0 + sigma^2) + (s sigma^2 - n sigma^2 - b0 s) = 0,
    whose discriminant is (s + b0 - sigma^2)^2 + 4 n sigma^2 >= 0; the larger root is the minimum.
    """
    var = sigma**2
    root = 0.5 * (-(signal - background + var) + _sqrt((signal + background - var) ** 2 + 4.0 * observed * var))
    return _maximum(root, 0.0)


def profiled_background(signal, observed: int, background: float, sigma_up: float, sigma_down: float):
    """The background b that minimizes the counting chi^2 at signal s (closed form, split constraint).

    The objective is convex in b; with the upper-side width its minimum lies above b0, or else it lies
    below b0 and is the minimum of the lower-side quadratic.
    """
    up = _background_root(signal, observed, background, sigma_up)
    down = _background_root(signal, observed, background, sigma_down)
    return _where(up >= background, up, down)


def _n_log_n_over_mu(observed, mu):
    """n ln(n / mu), 0 at n = 0: ``observed`` a constant count (PyTensor or numpy ``mu``) or counts broadcasting
    with a numpy ``mu`` (pseudo-data)."""
    if isinstance(mu, pt.Variable):
        return observed * pt.log(observed / mu) if observed > 0 else 0.0
    return special.xlogy(observed, observed / mu)


def poisson_counting_chi2(signal, observed, background, sigma_up: float, sigma_down: float):
    """-2 ln [L(s, b_hat(s)) / L_saturated]: 2 [mu - n + n ln(n / mu)] + constraint, mu = s + b_hat(s).

    On numpy, ``observed`` and ``background`` (the auxiliary measurement of b) may be arrays broadcasting with
    ``signal``: pseudo-data sets of a toy study.
    """
    b = profiled_background(signal, observed, background, sigma_up, sigma_down)
    mu = signal + b
    poisson = 2.0 * (mu - observed + _n_log_n_over_mu(observed, mu))
    return poisson + split_normal_chi2(b, background, sigma_up, sigma_down)


# -- terms -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gaussian:
    """eq. (20): a Gaussian measurement of the signal."""

    dataset: str
    measured: float
    sigma: float
    name: str = "gaussian"

    def chi2(self, signal):
        return gaussian_chi2(signal, self.measured, self.sigma)

    def log_likelihood(self, signal: np.ndarray) -> np.ndarray:
        return -np.log(self.sigma * np.sqrt(2.0 * np.pi)) - 0.5 * self.chi2(signal)

    def observe(self, signal, name: str) -> None:
        import pymc as pm

        pm.Normal(name, mu=signal, sigma=self.sigma, observed=self.measured)

    def simulate(self, signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return signal + self.sigma * rng.standard_normal(np.shape(signal))


@dataclass(frozen=True)
class SplitNormal:
    """A measurement with asymmetric errors: a split normal of widths sigma_up (above) and sigma_down (below)."""

    dataset: str
    measured: float
    sigma_up: float
    sigma_down: float
    name: str = "split_normal"

    def chi2(self, signal):
        return split_normal_chi2(signal, self.measured, self.sigma_up, self.sigma_down)

    def log_likelihood(self, signal: np.ndarray) -> np.ndarray:
        return split_normal_log_norm(self.sigma_up, self.sigma_down) - 0.5 * self.chi2(signal)

    def observe(self, signal, name: str) -> None:
        import pymc as pm

        pm.CustomDist(name, signal, self.sigma_up, self.sigma_down, logp=_split_normal_logp,
                      random=split_normal_random, observed=self.measured)

    def simulate(self, signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return split_normal_random(signal, self.sigma_up, self.sigma_down, rng=rng)


def _split_normal_logp(value, mu, sigma_up, sigma_down):
    """log density of the measurement ``value`` given the prediction ``mu`` (PyMC CustomDist)."""
    norm = 0.5 * np.log(2.0 / np.pi) - pt.log(sigma_up + sigma_down)
    return norm - 0.5 * split_normal_chi2(mu, value, sigma_up, sigma_down)


def split_normal_random(mu, sigma_up, sigma_down, rng: np.random.Generator | None = None, size=None) -> np.ndarray:
    """Measurements around ``mu``: above it (width sigma_down) with probability s_down / (s_up + s_down),
    else below it (width sigma_up); chi^2 uses sigma_up where the prediction is above the measurement."""
    size = np.broadcast_shapes(np.shape(mu), np.shape(sigma_up), np.shape(sigma_down)) if size is None else size
    half = np.abs(rng.standard_normal(size))
    above = rng.uniform(size=size) < sigma_down / (sigma_up + sigma_down)
    return mu + np.where(above, sigma_down * half, -sigma_up * half)


@dataclass(frozen=True)
class PoissonCounting:
    """n observed ~ Poisson(s + b) with b ~ split normal(b0, sigma_up, sigma_down) truncated at 0."""

    dataset: str
    observed: int
    background: float
    sigma_up: float
    sigma_down: float
    name: str = "poisson_counting"

    def chi2(self, signal):
        return poisson_counting_chi2(signal, self.observed, self.background, self.sigma_up, self.sigma_down)

    def background_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Legendre nodes b and ln(weight x constraint density), the density normalized on b >= 0."""
        lo = max(0.0, self.background - BACKGROUND_SPAN * self.sigma_down)
        hi = self.background + BACKGROUND_SPAN * self.sigma_up
        x, w = np.polynomial.legendre.leggauss(BACKGROUND_NODES)
        sides = ((lo, self.background), (self.background, hi))
        b = np.concatenate([0.5 * (e - a) * x + 0.5 * (e + a) for a, e in sides])
        ln_w = np.log(np.concatenate([0.5 * (self.background - lo) * w, 0.5 * (hi - self.background) * w]))
        ln_density = split_normal_log_norm(self.sigma_up, self.sigma_down) - 0.5 * split_normal_chi2(
            b, self.background, self.sigma_up, self.sigma_down)
        ln_density -= special.logsumexp(ln_density + ln_w)  # renormalized on [lo, hi]: the truncation at 0
        return b, ln_density + ln_w

    def log_likelihood(self, signal: np.ndarray) -> np.ndarray:
        b, ln_w = self.background_nodes()
        mu = np.asarray(signal, float)[..., None] + b
        return special.logsumexp(poisson_logpmf(self.observed, mu) + ln_w, axis=-1)

    def observe(self, signal, name: str) -> None:
        import pymc as pm

        background = pm.CustomDist(f"{name}_background", self.background, self.sigma_up, self.sigma_down,
                                   logp=_truncated_split_normal_logp, random=_truncated_split_normal_random)
        pm.Poisson(name, mu=signal + background, observed=self.observed)

    def simulate(self, signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        b = _truncated_split_normal_random(self.background, self.sigma_up, self.sigma_down, rng=rng,
                                           size=np.shape(signal))
        return rng.poisson(np.asarray(signal) + b)


def _truncated_split_normal_logp(value, mu, sigma_up, sigma_down):
    """Split normal restricted to value >= 0 (renormalized): the background constraint of a counting term."""
    above = value > mu
    sigma = sigma_up * above + sigma_down * (1 - above)
    norm = 0.5 * np.log(2.0 / np.pi) - pt.log(sigma_up + sigma_down)
    # mass of the split normal below 0 (on the lower side): 2 s_down / (s_up + s_down) Phi(-mu / s_down)
    below = 2.0 * sigma_down / (sigma_up + sigma_down) * 0.5 * pt.erfc(mu / (sigma_down * np.sqrt(2.0)))
    logp = norm - 0.5 * ((value - mu) / sigma) ** 2 - pt.log1p(-below)
    return pt.switch(value >= 0, logp, -np.inf)


def _truncated_split_normal_random(mu, sigma_up, sigma_down, rng=None, size=None):
    """Draws of the truncated split normal by rejection (the mass below 0 is small for these data sets)."""
    size = () if size is None else size
    out = np.asarray(split_normal_random(mu, sigma_up, sigma_down, rng=rng, size=size), float)
    bad = out < 0
    while np.any(bad):
        out[bad] = split_normal_random(mu, sigma_up, sigma_down, rng=rng, size=int(bad.sum()))
        bad = out < 0
    return out


def term(dataset, likelihood: str, sigma_scale: float = 1.0) -> LikelihoodTerm:
    """The likelihood term of a data set (a :class:`~bayes_nsi.experiments.base.DataSet`) by name.

    ``sigma_scale`` multiplies the measurement errors of the Gaussian terms (exposure projections).
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood: unknown {likelihood!r}; allowed: {', '.join(LIKELIHOODS)}")
    dataset.check_likelihood(likelihood)
    s = dataset.signal
    if likelihood == "gaussian":
        return Gaussian(dataset.name, s.value, s.sigma * sigma_scale)
    if likelihood == "split_normal":
        return SplitNormal(dataset.name, s.value, s.sigma_up * sigma_scale, s.sigma_down * sigma_scale)
    if sigma_scale != 1.0:
        raise ValueError(f"likelihood: {likelihood!r} of {dataset.name!r} has no measurement error to scale; "
                         "allowed with error scaling: gaussian, split_normal")
    if likelihood == "poisson_counting":
        c = dataset.counting
        return PoissonCounting(dataset.name, c.observed, c.background, c.background_sigma_up,
                               c.background_sigma_down)
    raise ValueError(f"likelihood: {likelihood!r} for {dataset.name!r} is built by its data set's binned model")
