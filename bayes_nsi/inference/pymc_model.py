"""PyMC layer over the physics graph: coupling priors, nuisances, expected events and the likelihood terms.

The model is a thin assembly (in the manner of exoplanet): each helper creates its random variables inside
the active ``pm.Model``; the expected events are the same ``rates.expected_events`` graph the chi-square
scans compile, with fixed couplings as zeros of the 12-vector and absent nuisances at their nominal values.
The data enter through each data set's likelihood term (:mod:`bayes_nsi.inference.likelihoods`). The
Gaussian and split-normal measurements form one observed vector ``signal`` (dims ``measured_dataset``); a counting
term adds ``count_<data set>`` and its background nuisance ``count_<data set>_background``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

import bayes_nsi.pytensor_config  # noqa: F401  (cache-independent numba code; see its docstring)
from bayes_nsi.inference.likelihoods import Gaussian, SplitNormal, _split_normal_logp, split_normal_random
from bayes_nsi.inference.observations import SIGNAL, Observations, chi2_per_dataset
from bayes_nsi.inference.priors import R_N_MIN_FM, Nuisances, Prior, b16_flux, flux_8b_prior
from bayes_nsi.inference.scans import Chi2Scanner
from bayes_nsi.names import COUPLINGS, check_coupling_names
from bayes_nsi.physics import rates

NOMINAL = Nuisances()  # every nuisance fixed at its nominal value (frozen, so a safe default)


def sampled_couplings(priors: Mapping[str, Prior]) -> tuple[str, ...]:
    """Couplings with a prior, in :data:`COUPLINGS` order."""
    check_coupling_names(list(priors))
    return tuple(n for n in COUPLINGS if n in priors)


def coupling_vector(priors: Mapping[str, Prior]) -> pt.TensorVariable:
    """The (12,) coupling vector: a prior RV for each sampled coupling, zeros elsewhere."""
    eps = pt.zeros(len(COUPLINGS))
    for name in sampled_couplings(priors):
        eps = pt.set_subtensor(eps[COUPLINGS.index(name)], priors[name].create(name))
    return eps


def flux_8b(prior: str) -> pt.TensorVariable:
    """8B flux in 1e6 cm^-2 s^-1, normal (truncated at 0) around B16 (5.46 +- 12%) or SNO (5.25 +- 0.20)."""
    mu, sigma = flux_8b_prior(prior)
    return pm.TruncatedNormal("flux_8b", mu=mu, sigma=sigma, lower=0.0)


def neutron_radius(physics: rates.PhysicsModel, sigma_fm: float) -> pt.TensorVariable:
    """Neutron rms radius R_n ~ Normal(R_C + 0.2 fm, sigma_fm), truncated where the Helm R0 is real."""
    return pm.TruncatedNormal("r_n", mu=physics.nucleus.r_neutron_fm, sigma=sigma_fm, lower=R_N_MIN_FM)


def acceptance_scale(sigma: float) -> pt.TensorVariable:
    """Per-data-set acceptance multiplier ~ Normal(1, sigma) truncated at 0; dims ``dataset``."""
    return pm.TruncatedNormal("acceptance_scale", mu=1.0, sigma=sigma, lower=0.0, dims="dataset")


def observe(events, obs: Observations) -> tuple[str, ...]:
    """Add every data set's likelihood to the active model; return the names of the observed variables.

    The Gaussian and split-normal terms form one vector ``signal``: Normal when all are Gaussian, else a
    split normal whose Gaussian entries have equal widths.
    """
    measured = [i for i, t in enumerate(obs.terms) if isinstance(t, Gaussian | SplitNormal)]
    names = []
    if measured:
        terms = [obs.terms[i] for i in measured]
        mu = events if len(measured) == len(obs.terms) else events[measured]
        value = pm.Data("measured", np.array([t.measured for t in terms]), dims="measured_dataset")
        if all(isinstance(t, Gaussian) for t in terms):
            pm.Normal(SIGNAL, mu=mu, sigma=np.array([t.sigma for t in terms]), observed=value, dims="measured_dataset")
        else:
            up = np.array([t.sigma_up if isinstance(t, SplitNormal) else t.sigma for t in terms])
            down = np.array([t.sigma_down if isinstance(t, SplitNormal) else t.sigma for t in terms])
            pm.CustomDist(SIGNAL, mu, up, down, logp=_split_normal_logp, random=split_normal_random,
                          observed=value, dims="measured_dataset")
        names.append(SIGNAL)
    for i, t in enumerate(obs.terms):
        if i not in measured:
            t.observe(events[i], f"count_{t.dataset}")
            names.append(f"count_{t.dataset}")
    return tuple(names)


@dataclass(frozen=True)
class PosteriorModel:
    """A PyMC model with what it was built from: physics constants, data, sampled couplings, observed names."""

    physics: rates.PhysicsModel
    obs: Observations
    model: pm.Model
    couplings: tuple[str, ...]
    nuisances: Nuisances
    observed: tuple[str, ...]


def build_pymc_model(physics: rates.PhysicsModel, obs: Observations, priors: Mapping[str, Prior],
                     nuisances: Nuisances = NOMINAL) -> PosteriorModel:
    """PyMC model: coupling priors, switched-on nuisances, ``events`` (eqs. 3, 19) and the likelihood terms.

    Absent nuisances stay at 5.46e6 cm^-2 s^-1, R_C + 0.2 fm and 1.
    """
    if physics.datasets != obs.datasets:
        raise ValueError(f"datasets: physics model has {physics.datasets}, observations {obs.datasets}")
    couplings = sampled_couplings(priors)
    with pm.Model(coords=_coords(obs, couplings)) as model:
        eps12 = coupling_vector(priors)
        pm.Deterministic("eps", eps12[[COUPLINGS.index(c) for c in couplings]], dims="coupling")
        observed = _events_and_data(physics, obs, eps12, nuisances)
    return PosteriorModel(physics, obs, model, couplings, nuisances, observed)


SWITCH = "coupling_switch"  # the data of build_switch_model: a one-hot (12,) vector naming the free coupling
SWITCHED = "eps_switched"  # the free coupling of build_switch_model


def build_switch_model(physics: rates.PhysicsModel, obs: Observations, prior: Prior, coupling: str,
                       nuisances: Nuisances = NOMINAL) -> PosteriorModel:
    """One free coupling ``eps_switched`` with ``prior``, placed in the 12-vector by the data ``coupling_switch``
    (one-hot, initially at ``coupling``): one compiled model serves every one-coupling hypothesis with this prior,
    swapping the switch with nutpie's ``CompiledModel.with_data`` instead of compiling each hypothesis."""
    if physics.datasets != obs.datasets:
        raise ValueError(f"datasets: physics model has {physics.datasets}, observations {obs.datasets}")
    check_coupling_names([coupling])
    with pm.Model(coords=_coords(obs, ())) as model:
        switch = pm.Data(SWITCH, np.eye(len(COUPLINGS))[COUPLINGS.index(coupling)])
        observed = _events_and_data(physics, obs, switch * prior.create(SWITCHED), nuisances)
    return PosteriorModel(physics, obs, model, (SWITCHED,), nuisances, observed)


def _coords(obs: Observations, couplings: tuple[str, ...]) -> dict:
    measured = [t.dataset for t in obs.terms if isinstance(t, Gaussian | SplitNormal)]
    return {"coupling": list(couplings), "dataset": list(obs.datasets), "measured_dataset": measured}


def _events_and_data(physics: rates.PhysicsModel, obs: Observations, eps12, nuisances: Nuisances) -> tuple[str, ...]:
    """In the active model: the switched-on nuisances, ``events`` (eqs. 3, 19) and the likelihood terms."""
    flux_scale = 1.0
    if nuisances.flux_8b is not None:
        flux_scale = flux_8b(nuisances.flux_8b) / b16_flux()
    r_n, scale = None, 1.0
    if nuisances.r_n_sigma_fm is not None:
        r_n = neutron_radius(physics, nuisances.r_n_sigma_fm)
    if nuisances.acceptance_scale_sigma is not None:
        scale = acceptance_scale(nuisances.acceptance_scale_sigma)
    events = pm.Deterministic("events", rates.expected_events(physics, eps12, flux_scale, r_n, scale),
                              dims="dataset")
    return observe(events, obs)


def chi2_function(physics: rates.PhysicsModel, obs: Observations) -> Callable[[np.ndarray], np.ndarray]:
    """Total chi^2 (-2 ln L, nuisances of the likelihood terms profiled) of a (n, 12) coupling batch at
    nominal physics nuisances; the events come from the scanner's compiled graph (compiled once, batched)."""
    scanner = Chi2Scanner(physics, obs)
    return lambda eps12: chi2_per_dataset(scanner.events(eps12), obs).sum(-1)
