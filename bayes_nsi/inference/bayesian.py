"""PyMC layer over the physics graph: priors, nuisances, the eq. (20) likelihood, sampling, diagnostics.

The model is a thin assembly (in the manner of exoplanet): each helper creates its random variables inside
the active ``pm.Model`` and returns them; the expected events are the same ``rates.expected_events`` graph
the chi-square scans compile, with fixed couplings as zeros of the 12-vector and absent nuisances at their
nominal values. The likelihood is Gaussian per data set (eq. 20), or, with
``likelihood.xenonnt_errors = "asymmetric"``, a split normal with XENONnT's +3.7/-4.2 (Barlow,
arXiv:physics/0306138): chi^2 uses the upper error where the prediction lies above the measurement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import arviz as az
import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from bayes_nsi.physics import inputs
from bayes_nsi.inference import likelihood
from bayes_nsi.physics import rates
from bayes_nsi.physics.constants import HELM_SKIN_FM
from bayes_nsi.physics.couplings import COUPLINGS, check_coupling_names
from bayes_nsi.errors import DiagnosticsFailed
from bayes_nsi.inference.scans import Chi2Scanner

PRIOR_DISTS = ("uniform", "normal", "truncated_normal")
XENONNT_ERRORS = ("symmetric", "asymmetric")
ENGINES = ("nutpie", "pymc")
FLUX_UNIT = 1e6  # flux_8b is sampled in 1e6 cm^-2 s^-1
B16_FLUX = inputs.spectrum("8B").flux_cm2_s / FLUX_UNIT  # the physics graph's normalization (5.46)
# 8B flux priors (mean, sigma) in 1e6 cm^-2 s^-1: B16-GS98 (Vinyoles et al. 2017, the shipped table, 12 %)
# and SNO all phases (Aharmim et al., PRC 88, 025501 (2013)).
FLUX_8B_PRIORS = {"b16": (B16_FLUX, inputs.spectrum("8B").sigma_rel * B16_FLUX), "sno": (5.25, 0.20)}
R_N_MIN_FM = np.sqrt(3.0) * HELM_SKIN_FM  # Helm R0^2 = 5/3 (R_n^2 - 3 s^2) must stay positive
NUISANCES = ("flux_8b", "r_n", "acceptance_scale")


# -- priors and nuisances: each creates its variables in the active model ------------------------------


def sampled_couplings(priors: Mapping[str, Mapping]) -> tuple[str, ...]:
    """Couplings with their own prior, in :data:`COUPLINGS` order (``priors.default`` names none)."""
    names = [n for n in priors if n != "default"]
    check_coupling_names(names)
    return tuple(n for n in COUPLINGS if n in names)


def prior_support(prior: Mapping) -> tuple[float, float]:
    """Support (lower, upper) of a coupling prior; infinite for a normal one."""
    if prior["dist"] == "normal":
        return -np.inf, np.inf
    return float(prior["lower"]), float(prior["upper"])


def coupling_prior(name: str, prior: Mapping) -> pt.TensorVariable:
    """Scalar RV ``name`` with a uniform (lower, upper), normal (mu, sigma) or truncated normal prior."""
    dist = prior["dist"]
    if dist == "uniform":
        return pm.Uniform(name, lower=prior["lower"], upper=prior["upper"])
    if dist == "normal":
        return pm.Normal(name, mu=prior["mu"], sigma=prior["sigma"])
    if dist == "truncated_normal":
        return pm.TruncatedNormal(name, mu=prior["mu"], sigma=prior["sigma"], lower=prior["lower"],
                                  upper=prior["upper"])
    raise ValueError(f"priors.{name}.dist: unknown {dist!r}; allowed: {', '.join(PRIOR_DISTS)}")


def coupling_vector(priors: Mapping[str, Mapping]) -> pt.TensorVariable:
    """The (12,) coupling vector: a prior RV for each sampled coupling, zeros elsewhere."""
    eps = pt.zeros(len(COUPLINGS))
    for name in sampled_couplings(priors):
        eps = pt.set_subtensor(eps[COUPLINGS.index(name)], coupling_prior(name, priors[name]))
    return eps


def flux_8b(prior: str) -> pt.TensorVariable:
    """8B flux in 1e6 cm^-2 s^-1, normal (truncated at 0) around B16 (5.46 +- 12%) or SNO (5.25 +- 0.20)."""
    if prior not in FLUX_8B_PRIORS:
        raise ValueError(f"nuisances.flux_8b.prior: unknown {prior!r}; allowed: {', '.join(FLUX_8B_PRIORS)}")
    mu, sigma = FLUX_8B_PRIORS[prior]
    return pm.TruncatedNormal("flux_8b", mu=mu, sigma=sigma, lower=0.0)


def neutron_radius(physics: rates.PhysicsModel, sigma_fm: float) -> pt.TensorVariable:
    """Neutron rms radius R_n ~ Normal(R_C + 0.2 fm, sigma_fm), truncated where the Helm R0 is real."""
    return pm.TruncatedNormal("r_n", mu=physics.nucleus.r_neutron_fm, sigma=sigma_fm, lower=R_N_MIN_FM)


def acceptance_scale(sigma: float) -> pt.TensorVariable:
    """Per-data-set acceptance multiplier ~ Normal(1, sigma) truncated at 0; dims ``dataset``."""
    return pm.TruncatedNormal("acceptance_scale", mu=1.0, sigma=sigma, lower=0.0, dims="dataset")


# -- the split normal of the asymmetric XENONnT error ---------------------------------------------------


def split_normal_chi2(measured, predicted, sigma_up, sigma_down):
    """((R_th - R_exp) / s)^2 with s = sigma_up where R_th > R_exp, else sigma_down (eq. 20, split).

    Works on numpy arrays and PyTensor tensors alike.
    """
    residual = predicted - measured
    above = residual > 0
    return (residual / (sigma_up * above + sigma_down * (1 - above))) ** 2


def split_normal_logp(value, mu, sigma_up, sigma_down):
    """log density of the measurement ``value`` given the prediction ``mu``.

    log(sqrt(2/pi) / (s_up + s_down)) - chi2/2, the normalization independent of ``mu``.
    """
    norm = 0.5 * np.log(2.0 / np.pi) - pt.log(sigma_up + sigma_down)
    return norm - 0.5 * split_normal_chi2(value, mu, sigma_up, sigma_down)


def split_normal_random(mu, sigma_up, sigma_down, rng: np.random.Generator | None = None, size=None) -> np.ndarray:
    """Draws of the measurement: above ``mu`` (width s_down) with probability s_down / (s_up + s_down), else
    below it (width s_up)."""
    size = np.broadcast_shapes(np.shape(mu), np.shape(sigma_up), np.shape(sigma_down)) if size is None else size
    half = np.abs(rng.standard_normal(size))
    above = rng.uniform(size=size) < sigma_down / (sigma_up + sigma_down)
    return mu + np.where(above, sigma_down * half, -sigma_up * half)


# -- model ---------------------------------------------------------------------------------------------


def error_widths(obs: likelihood.Observations, xenonnt_errors: str) -> tuple[np.ndarray, np.ndarray]:
    """(sigma_up, sigma_down) per data set: the symmetric sigma, or XENONnT's split errors."""
    if xenonnt_errors not in XENONNT_ERRORS:
        raise ValueError(f"likelihood.xenonnt_errors: unknown {xenonnt_errors!r}; allowed: {', '.join(XENONNT_ERRORS)}")
    if xenonnt_errors == "symmetric":
        return obs.sigma, obs.sigma
    if "xenonnt" not in obs.datasets:
        raise ValueError("likelihood.xenonnt_errors: 'asymmetric' needs 'xenonnt' in datasets; allowed: symmetric")
    split = np.array([d == "xenonnt" for d in obs.datasets])
    return np.where(split, obs.sigma_up, obs.sigma), np.where(split, obs.sigma_down, obs.sigma)


def chi2_per_dataset(events, obs: likelihood.Observations, xenonnt_errors: str = "symmetric"):
    """Per-data-set chi^2 (..., n_datasets): eq. (20), or its split form for XENONnT's asymmetric errors.

    ``events`` may be a numpy array or a PyTensor tensor.
    """
    if xenonnt_errors == "symmetric":
        return likelihood.chi2_per_dataset(events, obs)
    up, down = error_widths(obs, xenonnt_errors)
    return split_normal_chi2(obs.value, events, up, down)


def measurement(events, obs: likelihood.Observations, xenonnt_errors: str = "symmetric") -> pt.TensorVariable:
    """Observed ``signal`` (dims dataset) at the measured values: Normal (eq. 20) or the split normal."""
    measured = pm.Data("measured", obs.value, dims="dataset")
    if xenonnt_errors == "symmetric":
        return pm.Normal("signal", mu=events, sigma=obs.sigma, observed=measured, dims="dataset")
    up, down = error_widths(obs, xenonnt_errors)
    return pm.CustomDist("signal", events, up, down, logp=split_normal_logp, random=split_normal_random,
                         observed=measured, dims="dataset")


def build_pymc_model(physics: rates.PhysicsModel, obs: likelihood.Observations, priors: Mapping[str, Mapping],
                     nuisances: Mapping[str, Mapping] | None = None,
                     xenonnt_errors: str = "symmetric") -> pm.Model:
    """PyMC model: coupling priors, switched-on nuisances, ``events`` (eqs. 3, 19) and the likelihood (eq. 20).

    nuisances: any of ``flux_8b = {prior}``, ``r_n = {sigma_fm}``, ``acceptance_scale = {sigma}``;
    absent ones stay at 5.46e6 cm^-2 s^-1, R_C + 0.2 fm and 1.
    """
    nuisances = dict(nuisances or {})
    unknown = sorted(set(nuisances) - set(NUISANCES))
    if unknown:
        raise ValueError(f"nuisances: unknown {', '.join(map(repr, unknown))}; allowed: {', '.join(NUISANCES)}")
    if physics.datasets != obs.datasets:
        raise ValueError(f"datasets: physics model has {physics.datasets}, observations {obs.datasets}")
    coords = {"coupling": list(sampled_couplings(priors)), "dataset": list(obs.datasets)}
    with pm.Model(coords=coords) as model:
        eps12 = coupling_vector(priors)
        pm.Deterministic("eps", eps12[[COUPLINGS.index(c) for c in coords["coupling"]]], dims="coupling")
        flux_scale = 1.0
        if "flux_8b" in nuisances:
            flux_scale = flux_8b(nuisances["flux_8b"].get("prior", "b16")) / B16_FLUX
        r_n, scale = None, 1.0
        if "r_n" in nuisances:
            r_n = neutron_radius(physics, nuisances["r_n"].get("sigma_fm", 0.3))
        if "acceptance_scale" in nuisances:
            scale = acceptance_scale(nuisances["acceptance_scale"].get("sigma", 0.1))
        events = pm.Deterministic("events", rates.expected_events(physics, eps12, flux_scale, r_n, scale),
                                  dims="dataset")
        measurement(events, obs, xenonnt_errors)
    return model


@dataclass(frozen=True)
class PosteriorSetup:
    """Everything a posterior spec builds: the physics constants, the measurements and the PyMC model."""

    physics: rates.PhysicsModel
    obs: likelihood.Observations
    model: pm.Model
    couplings: tuple[str, ...]
    xenonnt_errors: str


def from_spec(spec: Mapping) -> PosteriorSetup:
    """Build the physics model, observations and PyMC model of a completed posterior spec."""
    obs = likelihood.observations(spec["datasets"], spec.get("measurements"))
    physics = rates.build_model(obs.datasets, spec["acceptance"], exposures=likelihood.exposures(obs))
    errors = spec["likelihood"]["xenonnt_errors"]
    model = build_pymc_model(physics, obs, spec["priors"], spec.get("nuisances"), errors)
    return PosteriorSetup(physics, obs, model, sampled_couplings(spec["priors"]), errors)


def chi2_function(physics: rates.PhysicsModel, obs: likelihood.Observations,
                  xenonnt_errors: str = "symmetric") -> Callable[[np.ndarray], np.ndarray]:
    """Total chi^2 of a (n, 12) coupling batch at nominal nuisances, with the likelihood's error model.

    The events come from the frequentist scanner's compiled graph (compiled once, batched).
    """
    error_widths(obs, xenonnt_errors)
    scanner = Chi2Scanner(physics, obs)
    return lambda eps12: chi2_per_dataset(scanner.events(eps12), obs, xenonnt_errors).sum(-1)


# -- sampling ------------------------------------------------------------------------------------------


def sampler_seeds(seed: int) -> tuple[int, int]:
    """Independent seeds for NUTS and the posterior predictive, derived from the spec seed."""
    a, b = np.random.SeedSequence(seed).generate_state(2)
    return int(a), int(b)


def sample(model: pm.Model, sampler: Mapping, progressbar: bool = True) -> xr.DataTree:
    """NUTS draws (nutpie with the low-rank modified mass matrix by default, or PyMC's NUTS), seeded.

    Then adds the ``log_likelihood`` group and the posterior predictive of ``signal`` (the measured event
    numbers). ``sampler``: engine, draws, tune, chains, seed, low_rank_mass_matrix (nutpie only),
    target_accept.
    """
    engine = sampler["engine"]
    if engine not in ENGINES:
        raise ValueError(f"sampler.engine: unknown {engine!r}; allowed: {', '.join(ENGINES)}")
    # pymc 6.4 takes NUTS options as ``nuts={...}`` (``nuts_sampler_kwargs`` is deprecated); nutpie 0.16.11
    # names the low-rank modified mass matrix ``adaptation="low_rank"`` (``low_rank_modified_mass_matrix``
    # is its deprecated alias).
    nuts: dict = {"target_accept": sampler["target_accept"]}
    if engine == "nutpie":
        nuts["adaptation"] = "low_rank" if sampler["low_rank_mass_matrix"] else "diag"
    nuts_seed, predictive_seed = sampler_seeds(sampler["seed"])
    pymc_log = logging.getLogger("pymc")
    level = pymc_log.level
    if not progressbar:  # also drop PyMC's "Sampling: [signal]" line
        pymc_log.setLevel(logging.WARNING)
    try:
        with model:
            idata = pm.sample(draws=sampler["draws"], tune=sampler["tune"], chains=sampler["chains"],
                              random_seed=nuts_seed, nuts_sampler=engine, nuts=nuts, progressbar=progressbar,
                              quiet=not progressbar, compute_convergence_checks=False)
            pm.compute_log_likelihood(idata, progressbar=False)
            pm.sample_posterior_predictive(idata, var_names=["signal"], extend_inferencedata=True,
                                           random_seed=predictive_seed, progressbar=False)
    finally:
        pymc_log.setLevel(level)
    return idata


# -- diagnostics ---------------------------------------------------------------------------------------

ADVICE = {
    "r_hat": "the chains disagree (unmixed modes or too short runs)",
    "ess_bulk": "too few effective draws in the bulk",
    "ess_tail": "too few effective draws in the tails",
    "divergences": "the integrator diverged (strong curvature)",
    "bfmi": "poor energy exploration (heavy tails or funnels)",
}
REMEDY = ("increase sampler.tune and sampler.draws, raise sampler.target_accept, reparametrize "
          "(e.g. narrower or normal priors, fewer free couplings), or narrow the priors")


def bfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI per chain: mean((E_n - E_{n-1})^2) / var(E), energy of shape (chain, draw)."""
    return np.mean(np.diff(energy, axis=1) ** 2, axis=1) / np.var(energy, axis=1)


def _flat(stat: xr.Dataset, var_names: Sequence[str]) -> dict[str, float | None]:
    """Scalar per variable element, labelled ``name`` or ``name[coord]``; None where undefined (NaN)."""
    out = {}
    for name in var_names:
        da = stat[name]
        for idx in np.ndindex(da.shape):
            label = ",".join(str(da.coords[d].values[i]) for d, i in zip(da.dims, idx, strict=True))
            value = float(da.values[idx])
            out[f"{name}[{label}]" if label else name] = value if np.isfinite(value) else None
    return out


def rank_uniformity(draws: xr.DataArray, ess_bulk: float) -> xr.DataArray:
    """p-value of the multi-chain rank-ECDF test (Saeilynoja et al. 2022; the p of ArviZ's rank plot) per element.

    The test treats draws as independent (on AR(1) chains with ESS/N = 0.33 it gives p < 0.01 in about 10 %
    of cases), so the draws are thinned to about ``ess_bulk`` first. Small p: the chains' rank
    distributions differ even where r_hat looks fine. NaN with fewer than 2 chains.
    """
    if draws.sizes["chain"] < 2 or not np.isfinite(ess_bulk):
        return draws.isel(chain=0, draw=0, drop=True) * np.nan
    thin = max(1, int(np.ceil(draws.sizes["chain"] * draws.sizes["draw"] / ess_bulk)))
    ranks = draws.isel(draw=slice(None, None, thin)).azstats.compute_ranks(dim=["chain", "draw"], relative=True)
    return ranks.azstats.mchain_uniformity_test(dim=["chain", "draw"])[0]


def compute_diagnostics(idata: xr.DataTree, var_names: Sequence[str]) -> dict:
    """r_hat, ess_bulk, ess_tail (ArviZ 1.x) and the rank-uniformity p-value per variable element,
    divergences and E-BFMI per chain.

    A statistic that cannot be computed (NaN, e.g. r_hat of a constant chain) is None and fails its check;
    the rank p-value has no threshold in the spec and is reported only.
    """
    names = list(var_names)
    stats = {"r_hat": az.rhat(idata, var_names=names).to_dataset(),
             "ess_bulk": az.ess(idata, var_names=names, method="bulk").to_dataset(),
             "ess_tail": az.ess(idata, var_names=names, method="tail").to_dataset()}
    posterior = idata["posterior"]
    stats["rank_p"] = xr.Dataset({n: rank_uniformity(posterior[n], float(np.nanmin(stats["ess_bulk"][n])))
                                  for n in names})
    flat = {k: _flat(v, names) for k, v in stats.items()}
    return {
        "variables": {label: {k: flat[k][label] for k in stats} for label in flat["r_hat"]},
        "divergences": int(idata["sample_stats"]["diverging"].values.sum()),
        "bfmi": [float(b) if np.isfinite(b) else None for b in bfmi(idata["sample_stats"]["energy"].values)],
    }


def diagnostics_failures(diag: Mapping, thresholds: Mapping) -> list[str]:
    """One line per statistic that misses its threshold, naming the variable, value, threshold and advice."""
    failures = []
    checks = (("r_hat", "max_r_hat", "above"), ("ess_bulk", "min_ess_bulk", "below"),
              ("ess_tail", "min_ess_tail", "below"))
    for label, values in diag["variables"].items():
        for stat, key, side in checks:
            value, limit = values[stat], thresholds[key]
            if value is None:
                failures.append(f"{label}: {stat} = undefined (NaN) is not within diagnostics.{key} = {limit:g} "
                                f"({ADVICE[stat]})")
            elif (value > limit) if side == "above" else (value < limit):
                failures.append(f"{label}: {stat} = {value:.4g} is {side} diagnostics.{key} = {limit:g} "
                                f"({ADVICE[stat]})")
    if diag["divergences"] > thresholds["max_divergences"]:
        failures.append(f"sampler: divergences = {diag['divergences']} is above diagnostics.max_divergences = "
                        f"{thresholds['max_divergences']} ({ADVICE['divergences']})")
    for chain, value in enumerate(diag["bfmi"]):
        if value is None or value < thresholds["min_bfmi"]:
            shown = "undefined (NaN)" if value is None else f"{value:.3g}"
            failures.append(f"chain {chain}: bfmi = {shown} is below diagnostics.min_bfmi = "
                            f"{thresholds['min_bfmi']:g} ({ADVICE['bfmi']})")
    return failures


def check_diagnostics(diag: Mapping, thresholds: Mapping) -> None:
    """Raise :class:`DiagnosticsFailed` listing every failed check and what to change."""
    failures = diagnostics_failures(diag, thresholds)
    if failures:
        raise DiagnosticsFailed("; ".join(failures) + f". To fix: {REMEDY}")
