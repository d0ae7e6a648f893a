"""PyMC model of counting experiments and one binned release that share one 8B flux (the Bayesian twin of
:mod:`bayes_nsi.inference.joint_scan`).

- ``flux_8b`` (1e6 cm^-2 s^-1) ~ Normal(constraint) truncated at 0: SNO 5.25 +- 0.20 or B16 5.46 +- 12 %;
- counting data sets: ``events`` = the physics graph's 8B events at flux_8b (``rates.expected_events`` with
  flux_scale = flux_8b / B16), observed through their counting terms (background as a random variable);
- the binned release: its nuisances with their constraints as priors (:func:`~bayes_nsi.inference.binned_pymc.
  observe_binned`), except the signal-rate multiplier, which becomes flux_8b / (the flux its templates assume):
  the flux constraint replaces the release's own (for SNO they are the same 3.81 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pymc as pm

from bayes_nsi.experiments.base import DataSet
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.inference.binned_pymc import observe_binned
from bayes_nsi.inference.joint_scan import FluxConstraint
from bayes_nsi.inference.observations import Observations, exposures
from bayes_nsi.inference.priors import Prior, b16_flux
from bayes_nsi.inference.pymc_model import coupling_vector, observe, sampled_couplings
from bayes_nsi.names import COUPLINGS
from bayes_nsi.physics import rates

FLUX = "flux_8b"


@dataclass(frozen=True)
class JointPosteriorModel:
    """The PyMC model and what it was built from."""

    model: pm.Model
    counting: Observations
    binned: DataSet
    couplings: tuple[str, ...]
    nuisances: tuple[str, ...]  # every free variable that is not a coupling
    observed: tuple[str, ...]
    physics: str
    flux: FluxConstraint


def build_joint_pymc_model(counting: Observations, acceptance: str, binned: DataSet, priors: Mapping[str, Prior],
                           flux: FluxConstraint, physics: str) -> JointPosteriorModel:
    """Couplings with ``priors`` (others zero; none: the SM), one 8B flux, counting terms and the binned release."""
    couplings = sampled_couplings(priors)
    inputs = binned.binned.inputs(False)
    counting_model = physics_model(counting.sources, acceptance, exposures=exposures(counting), physics=physics)
    coords = {"coupling": list(couplings), "dataset": list(counting.datasets),
              "measured_dataset": [], f"{binned.name}_run": list(inputs.runs),
              f"{binned.name}_bin": list(range(inputs.observed.shape[1]))}
    with pm.Model(coords=coords) as model:
        eps12 = coupling_vector(priors)
        pm.Deterministic("eps", eps12[[COUPLINGS.index(c) for c in couplings]], dims="coupling")
        flux_8b = pm.TruncatedNormal(FLUX, mu=flux.flux, sigma=flux.sigma, lower=0.0)
        events = pm.Deterministic("events", rates.expected_events(counting_model, eps12, flux_8b / b16_flux()),
                                  dims="dataset")
        observed = observe(events, counting)
        multiplier = flux_8b / binned.binned.constraint_flux_8b
        observed += (observe_binned(binned, eps12, physics, inputs, shared={inputs.signal_scale: multiplier}),)
    nuisances = tuple(v.name for v in model.free_RVs if v.name not in couplings)
    return JointPosteriorModel(model, counting, binned, couplings, nuisances, observed, physics, flux)
