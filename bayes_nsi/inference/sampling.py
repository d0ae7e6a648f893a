"""NUTS sampling (nutpie or PyMC), seeded, and convergence diagnostics checked against a spec's thresholds.

Diagnostics are ArviZ's (``arviz.summary``: r_hat, bulk and tail ESS, Vehtari et al. 2021) per variable
element, with the divergence count and E-BFMI per chain (``arviz.bfmi``; Betancourt 2016, arXiv:1604.00695).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr

import bayes_nsi.pytensor_config  # noqa: F401  (cache-independent numba code; see its docstring)
from bayes_nsi.errors import DiagnosticsFailed
from bayes_nsi.inference.observations import Observations
from bayes_nsi.inference.pointwise import dataset, measured_datasets, pointwise_groups
from bayes_nsi.inference.sampler_settings import NUTS_ENGINES, SamplerSettings, Thresholds, sampler_seeds

# -- sampling ------------------------------------------------------------------------------------------


def sampling_cores(sampler: SamplerSettings) -> int:
    """Chains run at once: one per core this process may use, at most one per chain.

    Said explicitly because PyMC's default assumes half of ``os.cpu_count()`` are hyper-threads: on a 2-core
    machine it ran nutpie's four chains on one thread, at half the speed (measured on posterior_all12: sampling
    53 s against 25-31 s with both cores; the draws do not depend on the number of threads).
    """
    return max(1, min(sampler.chains, len(os.sched_getaffinity(0))))


def sample(model: pm.Model, sampler: SamplerSettings, observed: Sequence[str], progressbar: bool = True,
           obs: Observations | None = None) -> xr.DataTree:
    """NUTS draws (nutpie with the low-rank modified mass matrix by default, or PyMC's NUTS), seeded.

    Then adds the ``log_likelihood`` group and the posterior predictive of the ``observed`` variables (the
    measured data): from the ``events`` of the draws in numpy (:mod:`bayes_nsi.inference.pointwise`) when the
    model's data are ``obs`` (the likelihood terms of :func:`~bayes_nsi.inference.pymc_model.build_pymc_model`),
    else by PyMC (which compiles the model twice more).
    """
    engine = sampler.engine
    if engine not in NUTS_ENGINES:
        raise ValueError(f"sampler.engine: {engine!r} is not a NUTS sampler; allowed here: {', '.join(NUTS_ENGINES)} "
                         "(the quadrature engine is bayes_nsi.inference.grid_posterior)")
    # pymc 6.4 takes NUTS options as ``nuts={...}`` (``nuts_sampler_kwargs`` is deprecated); nutpie 0.16.11
    # names the low-rank modified mass matrix ``adaptation="low_rank"`` (``low_rank_modified_mass_matrix``
    # is its deprecated alias).
    nuts: dict = {"target_accept": sampler.target_accept}
    if engine == "nutpie":
        nuts["adaptation"] = sampler.adaptation
    nuts_seed, predictive_seed = sampler_seeds(sampler.seed)
    pymc_log = logging.getLogger("pymc")
    level = pymc_log.level
    if not progressbar:  # also drop PyMC's "Sampling: [signal]" line
        pymc_log.setLevel(logging.WARNING)
    try:
        with model:
            idata = pm.sample(draws=sampler.draws, tune=sampler.tune, chains=sampler.chains,
                              cores=sampling_cores(sampler), random_seed=nuts_seed, nuts_sampler=engine, nuts=nuts,
                              progressbar=progressbar, quiet=not progressbar, compute_convergence_checks=False)
            if obs is None:
                pm.compute_log_likelihood(idata, progressbar=False)
                pm.sample_posterior_predictive(idata, var_names=list(observed), extend_inferencedata=True,
                                               random_seed=predictive_seed, progressbar=False)
    finally:
        pymc_log.setLevel(level)
    if obs is not None:
        _add_pointwise_groups(idata, obs, observed, predictive_seed)
    return idata


def _add_pointwise_groups(idata: xr.DataTree, obs: Observations, observed: Sequence[str], seed: int) -> None:
    """The log-likelihood, posterior-predictive (and, if absent, observed-data) groups from the draws' events."""
    posterior = idata["posterior"]
    backgrounds = {f"{name}_background": posterior[f"{name}_background"].values for name in observed
                   if f"{name}_background" in posterior}
    groups = pointwise_groups(posterior["events"].values, obs, np.random.default_rng(seed), backgrounds)
    if sorted(groups["log_likelihood"]) != sorted(observed):
        raise ValueError(f"observed: {sorted(observed)} are not the variables of obs' terms "
                         f"{sorted(groups['log_likelihood'])}")
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values,
              "measured_dataset": measured_datasets(obs)}
    for group, variables in groups.items():
        if group == "observed_data" and group in idata.children:
            continue
        idata[group] = xr.DataTree(dataset(variables, coords))


# -- diagnostics ---------------------------------------------------------------------------------------

ADVICE = {
    "r_hat": "the chains disagree (unmixed modes or too short runs)",
    "ess_bulk": "too few effective draws in the bulk",
    "ess_tail": "too few effective draws in the tails",
    "divergences": "the integrator diverged (strong curvature)",
    "bfmi": "poor energy exploration (heavy tails or funnels)",
}
PER_ELEMENT = ("r_hat", "ess_bulk", "ess_tail")  # spec-checked statistics per variable element, in report order
REMEDY = ("increase sampler.tune and sampler.draws, raise sampler.target_accept, reparametrize "
          "(e.g. narrower or normal priors, fewer free couplings), or narrow the priors")


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
    """r_hat, ess_bulk, ess_tail (``arviz.summary``) and the rank-uniformity p-value per variable element
    (labelled ``name`` or ``name[coord]``), divergences and E-BFMI per chain (``arviz.bfmi``).

    A statistic that cannot be computed (NaN, e.g. r_hat of a constant chain) is None and fails its check;
    the rank p-value has no threshold in the spec and is reported only.
    """
    names = list(var_names)
    summary = az.summary(idata, var_names=names, kind="diagnostics", fmt="xarray", round_to="none")
    posterior = idata["posterior"]
    rank_p = xr.Dataset({n: rank_uniformity(posterior[n], float(summary[n].sel(summary="ess_bulk").min()))
                         for n in names})
    stats = xr.concat([summary.sel(summary=list(PER_ELEMENT)), rank_p.expand_dims(summary=["rank_p"])], "summary")
    table = az.dataset_to_dataframe(stats, sample_dims=["summary"]).T
    return {
        "variables": {label: {k: _finite(v) for k, v in row.items()} for label, row in table.iterrows()},
        "divergences": int(idata["sample_stats"]["diverging"].values.sum()),
        "bfmi": [_finite(b) for b in az.bfmi(idata)["energy"].values],
    }


def _finite(value: float) -> float | None:
    """The value as a float, or None where it is undefined (NaN)."""
    return float(value) if np.isfinite(value) else None


def diagnostics_failures(diag: Mapping, thresholds: Thresholds) -> list[str]:
    """One line per statistic that misses its threshold, naming the variable, value, threshold and advice."""
    failures = []
    checks = (("r_hat", "max_r_hat", "above"), ("ess_bulk", "min_ess_bulk", "below"),
              ("ess_tail", "min_ess_tail", "below"))
    for label, values in diag["variables"].items():
        for stat, key, side in checks:
            value, limit = values[stat], getattr(thresholds, key)
            if value is None:
                failures.append(f"{label}: {stat} = undefined (NaN) is not within diagnostics.{key} = {limit:g} "
                                f"({ADVICE[stat]})")
            elif (value > limit) if side == "above" else (value < limit):
                failures.append(f"{label}: {stat} = {value:.4g} is {side} diagnostics.{key} = {limit:g} "
                                f"({ADVICE[stat]})")
    if diag["divergences"] > thresholds.max_divergences:
        failures.append(f"sampler: divergences = {diag['divergences']} is above diagnostics.max_divergences = "
                        f"{thresholds.max_divergences} ({ADVICE['divergences']})")
    for chain, value in enumerate(diag["bfmi"]):
        if value is None or value < thresholds.min_bfmi:
            shown = "undefined (NaN)" if value is None else f"{value:.3g}"
            failures.append(f"chain {chain}: bfmi = {shown} is below diagnostics.min_bfmi = "
                            f"{thresholds.min_bfmi:g} ({ADVICE['bfmi']})")
    return failures


def check_diagnostics(diag: Mapping, thresholds: Thresholds) -> None:
    """Raise :class:`DiagnosticsFailed` listing every failed check and what to change."""
    failures = diagnostics_failures(diag, thresholds)
    if failures:
        raise DiagnosticsFailed("; ".join(failures) + f". To fix: {REMEDY}")
