"""Priors and nuisances as data (in the manner of pymc-marketing's ``Prior``): described first, turned into
PyMC variables by one function, with densities and supports available without PyMC.

Nuisances beyond the paper (docs/physics.md): the 8B flux, B16-GS98 5.46 +- 12 % (Vinyoles et al.,
ApJ 835 (2017) 202) or SNO 5.25 +- 0.20 (Aharmim et al., PRC 88 (2013) 025501), in 1e6 cm^-2 s^-1; the
neutron rms radius R_n ~ Normal(R_C + 0.2 fm, sigma) (xenon's neutron skin is unmeasured); a per-data-set
acceptance multiplier ~ Normal(1, sigma) truncated at 0 (the curves' own uncertainties are not public).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_nsi.inference.densities import normal_logpdf, truncated_normal_logpdf, uniform_logpdf
from bayes_nsi.physics import inputs
from bayes_nsi.physics.constants import HELM_SKIN_FM

PRIOR_DISTS = ("uniform", "normal", "truncated_normal")
FLUX_UNIT = 1e6  # flux_8b is sampled in 1e6 cm^-2 s^-1
FLUX_8B_PRIOR_NAMES = ("b16", "sno")
R_N_MIN_FM = np.sqrt(3.0) * HELM_SKIN_FM  # Helm R0^2 = 5/3 (R_n^2 - 3 s^2) must stay positive
NUISANCES = ("flux_8b", "r_n", "acceptance_scale")


def b16_flux() -> float:
    """The physics graph's 8B normalization (B16-GS98, Table I), in 1e6 cm^-2 s^-1."""
    return inputs.spectrum("8B").flux_cm2_s / FLUX_UNIT


def flux_8b_prior(name: str) -> tuple[float, float]:
    """(mean, sigma) of an 8B flux prior in 1e6 cm^-2 s^-1: "b16" (the shipped table's 12 %) or "sno"."""
    if name == "b16":
        return b16_flux(), inputs.spectrum("8B").sigma_rel * b16_flux()
    if name == "sno":
        return 5.25, 0.20
    raise ValueError(f"nuisances.flux_8b.prior: unknown {name!r}; allowed: {', '.join(FLUX_8B_PRIOR_NAMES)}")


@dataclass(frozen=True)
class Prior:
    """A one-dimensional prior: uniform (lower, upper), normal (mu, sigma) or truncated normal (all four)."""

    dist: str
    lower: float = -np.inf
    upper: float = np.inf
    mu: float = 0.0
    sigma: float = 1.0

    def __post_init__(self) -> None:
        if self.dist not in PRIOR_DISTS:
            raise ValueError(f"dist: unknown {self.dist!r}; allowed: {', '.join(PRIOR_DISTS)}")
        if self.dist != "normal" and not self.lower < self.upper:
            raise ValueError(f"lower: {self.lower} is not below upper = {self.upper}; allowed: lower < upper")
        if self.dist != "uniform" and not self.sigma > 0:
            raise ValueError(f"sigma: {self.sigma} is not > 0; allowed: sigma > 0")

    @classmethod
    def uniform(cls, lower: float, upper: float) -> Prior:
        return cls("uniform", lower=float(lower), upper=float(upper))

    def support(self) -> tuple[float, float]:
        """(lower, upper); infinite for a normal prior."""
        return (-np.inf, np.inf) if self.dist == "normal" else (float(self.lower), float(self.upper))

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """log density at x, independent of PyMC."""
        if self.dist == "uniform":
            return uniform_logpdf(x, self.lower, self.upper)
        if self.dist == "normal":
            return normal_logpdf(x, self.mu, self.sigma)
        return truncated_normal_logpdf(x, self.mu, self.sigma, self.lower, self.upper)

    def create(self, name: str):
        """The PyMC random variable ``name`` in the active model."""
        import pymc as pm

        if self.dist == "uniform":
            return pm.Uniform(name, lower=self.lower, upper=self.upper)
        if self.dist == "normal":
            return pm.Normal(name, mu=self.mu, sigma=self.sigma)
        return pm.TruncatedNormal(name, mu=self.mu, sigma=self.sigma, lower=self.lower, upper=self.upper)

    def describe(self) -> str:
        """E.g. ``uniform(-1,1)`` or ``normal(0,0.5)``."""
        if self.dist == "uniform":
            args = (self.lower, self.upper)
        elif self.dist == "normal":
            args = (self.mu, self.sigma)
        else:
            args = (self.mu, self.sigma, self.lower, self.upper)
        return f"{self.dist}({','.join(f'{v:g}' for v in args)})"


@dataclass(frozen=True)
class Nuisances:
    """Nuisances switched on in a model: None means fixed at its nominal value.

    flux_8b: prior name ("b16" or "sno"); r_n_sigma_fm: width of the R_n prior; acceptance_scale_sigma:
    width of each data set's acceptance multiplier.
    """

    flux_8b: str | None = None
    r_n_sigma_fm: float | None = None
    acceptance_scale_sigma: float | None = None

    def __post_init__(self) -> None:
        if self.flux_8b is not None:
            flux_8b_prior(self.flux_8b)

    @property
    def names(self) -> tuple[str, ...]:
        """The switched-on nuisances, in :data:`NUISANCES` order."""
        on = (self.flux_8b is not None, self.r_n_sigma_fm is not None, self.acceptance_scale_sigma is not None)
        return tuple(n for n, flag in zip(NUISANCES, on, strict=True) if flag)
