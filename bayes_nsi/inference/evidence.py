"""Bayesian model comparison: evidences by SMC, Bayes factors, Savage-Dickey ratios, quadrature evidences.

Evidence Z = int L(theta) pi(theta) dtheta of each hypothesis and Bayes factor B_10 = Z_1 / Z_0, read on
the Jeffreys scale of Trotta (2008, Contemp. Phys. 49, 71, Table 1). The SMC evidence of one chain is the
product over the tempering stages of the mean incremental weights (Ching & Chen 2007, J. Eng. Mech. 133,
816; Del Moral et al. 2006, J. R. Stat. Soc. B 68, 411), as returned by ``pm.sample_smc``.

The PyMC models are those of :func:`bayes_nsi.inference.pymc_model.build_pymc_model`. The quadrature
evidence is an independent check: the same likelihood terms (normalized, nuisances of the terms integrated)
on a grid with the compiled :class:`~bayes_nsi.inference.scans.Chi2Scanner`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import arviz as az
import numpy as np
import pymc as pm
import pytensor
from pymc.model.transform import extract_deterministics
from scipy import special, stats

from bayes_nsi.experiments.base import DataSet
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.inference import observations as data
from bayes_nsi.inference.grid_posterior import grid_posterior
from bayes_nsi.inference.priors import Nuisances, Prior
from bayes_nsi.inference.pymc_model import SWITCH, SWITCHED, build_pymc_model, build_switch_model
from bayes_nsi.inference.quadrature_grid import outer_sum, simpson_weights
from bayes_nsi.inference.scans import Chi2Scanner
from bayes_nsi.names import COUPLINGS

# Trotta (2008), Table 1: |ln B| thresholds of the Jeffreys scale and their reading.
JEFFREYS_SCALE = ((1.0, "inconclusive"), (2.5, "weak"), (5.0, "moderate"), (np.inf, "strong"))
JEFFREYS_REFERENCE = "Trotta 2008, Contemp. Phys. 49, 71, Table 1"
# NUTS settings of the Savage-Dickey posteriors (nutpie). The one-coupling posteriors are bimodal (two
# near-equal modes, a valley in between), so the ESS is set by the hops between modes: 8 x 1500 draws give
# a bulk ESS of ~1000, an error of ~0.08 on ln B, in ~9 s including the compilation.
SD_DRAWS, SD_TUNE, SD_CHAINS = 1500, 500, 8
R_GAUSS_KERNEL = 1.0 / (2.0 * np.sqrt(np.pi))  # int K^2 of the unit Gaussian kernel


def jeffreys(ln_b: float) -> str:
    """Strength of evidence for |ln B| on the Jeffreys scale of Trotta (2008), Table 1."""
    size = abs(ln_b)
    return next(label for limit, label in JEFFREYS_SCALE if size < limit)


def favoured(ln_b: float, hypothesis: str, reference: str = "sm") -> str:
    """The hypothesis a Bayes factor ln B(hypothesis vs reference) leans to, with its Jeffreys strength."""
    strength = jeffreys(ln_b)
    if strength == "inconclusive":
        return strength
    return f"{strength}, favours {hypothesis if ln_b > 0 else reference}"


# -- evidence by sequential Monte Carlo ---------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """ln Z with its error, and how it was computed.

    method "smc": the mean of independent SMC chains (``chains``), error of that mean std / sqrt(n_chains);
    method "quadrature": the quadrature on the full grid, error |ln Z(full grid) - ln Z(half grid)| (an upper
    bound: Simpson's error falls as h^4, so the full grid's is ~1/16 of that difference).
    """

    ln_z: float
    ln_z_err: float
    chains: tuple[float, ...] = ()
    method: str = "smc"

    @classmethod
    def from_chains(cls, ln_z_chains: Sequence[float]) -> Evidence:
        values = np.asarray(ln_z_chains, dtype=float)
        if values.size < 2 or not np.all(np.isfinite(values)):
            raise ValueError(f"need >= 2 finite per-chain ln Z values, got {values.tolist()}")
        return cls(float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size)), tuple(values.tolist()))

    @classmethod
    def from_quadrature(cls, ln_z_full: float, ln_z_half: float) -> Evidence:
        if not np.isfinite([ln_z_full, ln_z_half]).all():
            raise ValueError(f"need finite quadrature ln Z values, got {ln_z_full}, {ln_z_half}")
        return cls(float(ln_z_full), float(abs(ln_z_full - ln_z_half)), method="quadrature")


def final_log_marginal_likelihood(idata) -> np.ndarray:
    """Last-stage ln Z of each chain of a ``pm.sample_smc`` result.

    The ``log_marginal_likelihood`` statistic is (chain, stage) with NaN before the last stage, or, when the
    chains needed different numbers of stages, one list per chain; either way the last finite value counts.
    """
    rows = idata["sample_stats"]["log_marginal_likelihood"].values
    out = []
    for row in rows:
        values = np.asarray(row, dtype=float).ravel()
        out.append(values[np.isfinite(values)][-1])
    return np.array(out)


def smc_evidence(model: pm.Model, draws: int, chains: int, seed: int) -> Evidence:
    """ln Z of ``model`` by ``pm.sample_smc`` (IMH kernel), ``chains`` independent runs of ``draws`` particles.

    Deterministics are dropped first (they change nothing in the evidence, and would be compiled and
    evaluated for every particle). The log-densities, called ~10^5 times, run on numba; the prior draws of
    the initial population are compiled with the C VM, which caches across graphs and spares a numba JIT
    compile per chain.
    """
    bare, _ = extract_deterministics(model)
    with bare, pytensor.config.change_flags(linker="cvm"):
        idata = pm.sample_smc(draws=draws, chains=chains, cores=1, random_seed=seed, progressbar=False,
                              compute_convergence_checks=False, compile_kwargs={"mode": "NUMBA"})
    return Evidence.from_chains(final_log_marginal_likelihood(idata))


def bayes_factor(hypothesis: Evidence, reference: Evidence) -> tuple[float, float]:
    """ln B = ln Z_h - ln Z_ref with the two independent errors added in quadrature."""
    return hypothesis.ln_z - reference.ln_z, float(np.hypot(hypothesis.ln_z_err, reference.ln_z_err))


# -- Savage-Dickey density ratio ----------------------------------------------------------------------


@dataclass(frozen=True)
class PointDensity:
    """Kernel density at one point: value, bandwidth, relative standard deviation and relative leading bias."""

    density: float
    bandwidth: float
    ln_sd: float
    ln_bias: float


def density_at(samples: np.ndarray, at: float, lower: float = -np.inf, upper: float = np.inf,
               n_eff: float | None = None) -> PointDensity:
    """Gaussian-kernel density of ``samples`` at ``at``, reflected at finite support ends (Schuster 1985,
    Commun. Stat. Theory Methods 14, 1123).

    Pointwise, the estimator has relative bias h^2 f''/(2 f) and variance R(K) f / (n_eff h) to leading
    order (Silverman 1986, Density Estimation, sec. 3.3.1), so the bandwidth minimizing the mean squared
    error is h = [R(K) f / (n_eff f''^2)]^(1/5); f and f'' come from a pilot estimate at Silverman's
    h_p = 0.9 min(sd, IQR/1.34) n^(-1/5) (his eq. 3.31), and h is kept in [h_p/10, h_p]. n_eff (the
    effective sample size of correlated draws) defaults to the number of samples.
    """
    x = np.asarray(samples, dtype=float).ravel()
    n_eff = float(x.size if n_eff is None else n_eff)
    points = np.concatenate([x] + [2.0 * b - x for b in (lower, upper) if np.isfinite(b)])

    def kde(h: float) -> tuple[float, float]:
        u = (at - points) / h
        phi = stats.norm.pdf(u)
        return phi.sum() / (x.size * h), ((u**2 - 1.0) * phi).sum() / (x.size * h**3)

    pilot = 0.9 * min(x.std(ddof=1), stats.iqr(x) / 1.34) * x.size ** -0.2
    f_pilot, f2_pilot = kde(pilot)
    with np.errstate(divide="ignore"):
        h = float(np.clip((R_GAUSS_KERNEL * f_pilot / (n_eff * f2_pilot**2)) ** 0.2, pilot / 10.0, pilot))
    density, _ = kde(h)
    return PointDensity(float(density), h, float(np.sqrt(R_GAUSS_KERNEL / (n_eff * h * density))),
                        float(0.5 * h**2 * f2_pilot / f_pilot))


@dataclass(frozen=True)
class SavageDickey:
    """ln B(free vs fixed) = ln p(eps = 0) - ln p(eps = 0 | data) (Dickey 1971, Ann. Math. Stat. 42, 204).

    ln_b is corrected for the kernel's leading smoothing bias; ln_b_err adds that correction in quadrature
    to the estimator's standard deviation (see :func:`density_at`).
    """

    ln_b: float
    ln_b_err: float
    posterior_density: float
    prior_density: float
    bandwidth: float
    ess: float
    r_hat: float


def savage_dickey(samples: np.ndarray, ess: float, prior_density: float, lower: float, upper: float,
                  r_hat: float = np.nan, at: float = 0.0) -> SavageDickey:
    """Savage-Dickey ln B of the hypothesis that frees one coupling against the nested one that fixes it at ``at``."""
    est = density_at(samples, at, lower, upper, ess)
    ln_posterior = np.log(est.density) - est.ln_bias
    return SavageDickey(float(np.log(prior_density) - ln_posterior), float(np.hypot(est.ln_sd, est.ln_bias)),
                        float(np.exp(ln_posterior)), float(prior_density), est.bandwidth, float(ess), float(r_hat))


def nuts_savage_dickey(model: pm.Model, coupling: str, prior: Prior, seed: int, at: float = 0.0,
                       draws: int = SD_DRAWS, tune: int = SD_TUNE, chains: int = SD_CHAINS) -> SavageDickey:
    """NUTS (nutpie) posterior of a one-coupling model, then :func:`savage_dickey` at eps = ``at``.

    The prior density at ``at`` is the model's own (``pm.logp`` of the coupling's prior); ``prior`` gives
    the support for the reflection.
    """
    bare, _ = extract_deterministics(model)
    with bare:
        idata = pm.sample(draws=draws, tune=tune, chains=chains, random_seed=seed, nuts_sampler="nutpie",
                          progressbar=False, quiet=True, compute_convergence_checks=False)
    prior_density = float(np.exp(pm.logp(bare[coupling], at).eval()))
    ess = float(az.ess(idata, var_names=[coupling], method="bulk")[coupling])
    r_hat = float(az.rhat(idata, var_names=[coupling])[coupling])
    return savage_dickey(idata["posterior"][coupling].values, ess, prior_density, *prior.support(),
                         r_hat=r_hat, at=at)


# -- quadrature evidence ------------------------------------------------------------------------------


def quadrature_ln_z(scanner: Chi2Scanner, datasets: Sequence[str], priors: Mapping[str, Prior],
                    flux_prior: str | None, points: int | None = None, flux_points: int = 201,
                    chunk: int = 4096) -> float:
    """ln Z = ln int L(eps, f) pi(eps) pi(f) d eps df by composite Simpson quadrature on a grid.

    priors: 0, 1 or 2 couplings (the others zero); flux_prior: "b16", "sno" or None (flux fixed at B16).
    Events scale linearly with the flux, events(eps, f) = f / f_B16 events(eps, f_B16) (eq. 3), so the
    graph is evaluated once per coupling point and the flux axis is broadcast. ``datasets`` selects
    columns of the scanner's data sets. points: odd number of nodes per coupling axis (default 2001 in
    1-D, 201 in 2-D; doubling them changes ln Z by < 1e-8 for the uniform [-1, 1] priors).
    """
    posterior = grid_posterior(scanner, priors, flux_prior, points, flux_points, chunk, datasets)
    ln_simpson = outer_sum([np.log(simpson_weights(x)) for x in posterior.nodes])
    return float(special.logsumexp(posterior.ln_density + ln_simpson))


def quadrature_evidence(scanner: Chi2Scanner, datasets: Sequence[str], priors: Mapping[str, Prior],
                        flux_prior: str | None, points: int | None = None, flux_points: int = 201) -> Evidence:
    """:func:`quadrature_ln_z` on its default grid and on the grid with every other node, as an :class:`Evidence`."""
    points = points or (2001 if len(priors) == 1 else 201)
    if points % 4 != 1 or flux_points % 4 != 1:
        raise ValueError(f"points, flux_points: {points}, {flux_points} must be 1 + a multiple of 4 (both grids odd)")
    full = quadrature_ln_z(scanner, datasets, priors, flux_prior, points, flux_points)
    half = quadrature_ln_z(scanner, datasets, priors, flux_prior, (points + 1) // 2, (flux_points + 1) // 2)
    return Evidence.from_quadrature(full, half)


# -- the models of a study, picklable for worker processes ------------------------------------------


@dataclass(frozen=True)
class StudyModel:
    """One PyMC model of a comparison: data sets (overrides applied), likelihoods, acceptance, the free
    couplings' priors and the nuisances. Frozen and hashable: two hypotheses with the same StudyModel are
    the same model, so their evidence is computed once."""

    datasets: tuple[DataSet, ...]
    likelihoods: tuple[tuple[str, str], ...]
    acceptance: str
    priors: tuple[tuple[str, Prior], ...]
    nuisances: Nuisances
    physics: str = "paper"

    @classmethod
    def of(cls, obs: data.Observations, acceptance: str, priors: Mapping[str, Prior], nuisances: Nuisances,
           datasets: Sequence[str] | None = None, physics: str = "paper") -> StudyModel:
        """The model of ``obs`` restricted to ``datasets`` (default all) with the couplings ``priors`` free."""
        block = data.select(obs, datasets or obs.datasets)
        return cls(block.sources, tuple(block.likelihoods.items()), acceptance,
                   tuple((c, priors[c]) for c in COUPLINGS if c in priors), nuisances, physics)

    @property
    def couplings(self) -> dict[str, Prior]:
        return dict(self.priors)

    @property
    def label(self) -> str:
        """E.g. ``ee_u~uniform(-1,1) on paired+us2+xenonnt``."""
        free = [f"{c}~{p.describe()}" for c, p in self.priors]
        return f"{'+'.join(free) or 'sm'} on {'+'.join(d.name for d in self.datasets)}"

    def build(self) -> pm.Model:
        """The PyMC model of :func:`build_pymc_model` (physics constants cached per process)."""
        physics, obs = _physics(self.datasets, self.likelihoods, self.acceptance, self.physics)
        return build_pymc_model(physics, obs, self.couplings, self.nuisances).model

    @property
    def switch_key(self) -> tuple:
        """Everything but the names of the free couplings: models with equal keys share one switch model."""
        return (self.datasets, self.likelihoods, self.acceptance, tuple(p for _, p in self.priors), self.nuisances,
                self.physics)

    def seed(self, base: int, purpose: str) -> int:
        """A seed fixed by the spec seed, the model and the purpose, independent of the order of the jobs."""
        key = zlib.crc32(f"{purpose}|{self.label}|{self.acceptance}|{self.physics}|{self.nuisances}|{self.likelihoods}|"
                         f"{[(d.name, d.signal, d.exposure_tonne_year) for d in self.datasets]}".encode())
        return int(np.random.SeedSequence([base, key]).generate_state(1)[0])


@cache
def _physics(datasets: tuple[DataSet, ...], likelihoods: tuple[tuple[str, str], ...], acceptance: str,
             physics: str):
    obs = data.observations(datasets, likelihoods=dict(likelihoods))
    return physics_model(obs.sources, acceptance, physics=physics), obs


def evidence_job(model: StudyModel, draws: int, chains: int, seed: int) -> Evidence:
    """:func:`smc_evidence` of a study model (a top-level function, so worker processes can run it)."""
    return smc_evidence(model.build(), draws, chains, model.seed(seed, "smc"))


def savage_dickey_job(models: Sequence[StudyModel], seed: int, at: float = 0.0, draws: int = SD_DRAWS,
                      tune: int = SD_TUNE, chains: int = SD_CHAINS) -> tuple[SavageDickey, ...]:
    """Savage-Dickey ln B at eps = ``at`` of one-coupling study models that differ only in which coupling is free.

    One :func:`~bayes_nsi.inference.pymc_model.build_switch_model` is compiled (nutpie) for all of them, and each
    hypothesis swaps in its coupling with ``with_data``: the compile (~14 s) is paid once, not per hypothesis,
    and each posterior is then ~2 s of NUTS. Seeds per model as :meth:`StudyModel.seed`.
    """
    import nutpie

    first = models[0]
    (coupling, prior), = first.couplings.items()
    if len({m.switch_key for m in models}) != 1 or any(len(m.priors) != 1 for m in models):
        raise ValueError("models: need one-coupling models that differ only in which coupling is free")
    physics, obs = _physics(first.datasets, first.likelihoods, first.acceptance, first.physics)
    bare, _ = extract_deterministics(build_switch_model(physics, obs, prior, coupling, first.nuisances).model)
    compiled = nutpie.compile_pymc_model(bare)
    prior_density = float(np.exp(pm.logp(bare[SWITCHED], at).eval()))
    out = []
    for m in models:
        (name, _), = m.couplings.items()
        switched = compiled.with_data(**{SWITCH: np.eye(len(COUPLINGS))[COUPLINGS.index(name)]})
        trace = nutpie.sample(switched, draws=draws, tune=tune, chains=chains, cores=1, progress_bar=False,
                              seed=m.seed(seed, "savage_dickey"))
        ess = float(az.ess(trace, var_names=[SWITCHED], method="bulk")[SWITCHED])
        r_hat = float(az.rhat(trace, var_names=[SWITCHED])[SWITCHED])
        out.append(savage_dickey(trace["posterior"][SWITCHED].values, ess, prior_density, *prior.support(),
                                 r_hat=r_hat, at=at))
    return tuple(out)
