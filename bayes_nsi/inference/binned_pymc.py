"""PyMC models with binned template likelihoods: coupling priors, the release's nuisances as random variables, the
8B signal from the physics graph through the compressed efficiency kernel, and Poisson counts per bin.

Per binned data set (``DataSet.binned``), with the signal rate constrained as the release constrains it:

- every declared nuisance is a random variable with the release's Gaussian constraint as its prior, truncated
  at its fit limits (rate multipliers >= 0, t_ly and t_qy in [-3, 3] where the yield templates are given, the
  signal efficiency in [0.5, 1.5]); the frequentist constraint terms of ``binned.neg2_log_likelihood`` are these
  priors' log densities;
- the signal is ``rates.recoil_node_events`` of the data set's unit response (the package's physics in the
  chosen mode) folded with the energy-compressed efficiency grid (:mod:`bayes_nsi.inference.binned_kernel`)
  on the yield anchors, scaled to the flux the rate constraint is about;
- ``counts_<data set>`` ~ Poisson(mu) per run and bin, mu from ``binned.expected_counts``, observed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pymc as pm
import pytensor.tensor as pt

from bayes_nsi.experiments.base import DataSet
from bayes_nsi.experiments.binned_data import BinnedInputs
from bayes_nsi.inference import binned as bn
from bayes_nsi.inference.binned_fit import SignalFolder, binned_model_of
from bayes_nsi.inference.priors import Prior, b16_flux
from bayes_nsi.inference.pymc_model import coupling_vector, sampled_couplings
from bayes_nsi.names import COUPLINGS

UPPER_CUT_SIGMA = 10.0


@dataclass(frozen=True)
class BinnedPosteriorModel:
    """A PyMC model with binned likelihoods and what it was built from."""

    model: pm.Model
    datasets: tuple[str, ...]
    couplings: tuple[str, ...]
    nuisances: tuple[str, ...]  # the binned likelihoods' nuisance variables
    observed: tuple[str, ...]
    physics: str


def nuisance_variable(nuisance) -> pt.TensorVariable:
    """A declared (constrained) nuisance as a random variable: its Gaussian constraint truncated at its fit limits.

    An upper limit more than UPPER_CUT_SIGMA widths above the nominal value is left out (the mass beyond is below
    1e-23; the rate multipliers' [0, 100]): with both limits the sampler would start in the middle of the interval
    (a rate multiplier at 50), with the lower one alone it starts at lower + 1, the nominal rate.
    """
    if nuisance.sigma is None:
        raise ValueError(f"nuisance {nuisance.name!r}: unconstrained; allowed: constrained nuisances (a prior)")
    lo, hi = nuisance.bounds
    upper = hi if hi - nuisance.nominal <= UPPER_CUT_SIGMA * nuisance.sigma else None
    return pm.TruncatedNormal(nuisance.name, mu=nuisance.nominal, sigma=nuisance.sigma, lower=lo, upper=upper)


def observe_binned(dataset: DataSet, eps12, physics: str, inputs: BinnedInputs | None = None,
                   shared: Mapping[str, pt.TensorVariable] | None = None) -> str:
    """Inside an active ``pm.Model``: the nuisances, the 8B signal and the observed counts of one binned data set;
    returns the observed variable's name. Adds ``b8_events_<data set>``, the expected 8B events summed over runs
    and bins, as a deterministic.

    inputs: the likelihood's inputs (default: the release's, signal rate constrained); shared: nuisances given as
    expressions of other variables instead of their own priors (e.g. the signal-rate multiplier as flux / the
    templates' flux, when counting experiments share the 8B flux)."""
    inputs = dataset.binned.inputs(False) if inputs is None else inputs
    shared = dict(shared or {})
    model = binned_model_of(inputs)
    unknown = set(shared) - set(model.parameter_names)
    if unknown:
        raise ValueError(f"shared: {sorted(unknown)} are not nuisances of {dataset.name!r}; allowed: "
                         f"{', '.join(model.parameter_names)}")
    folder = SignalFolder.build(dataset, inputs, physics).compressed()
    params = {n.name: shared[n.name] if n.name in shared else nuisance_variable(n) for n in model.nuisances}
    flux_factor = dataset.binned.constraint_flux_8b / b16_flux()
    signal = folder.graph(eps12) * flux_factor  # (runs, A, A, bins), events per t*yr
    mu = bn.expected_counts(model, signal, params)
    background = bn.expected_counts(model, pt.zeros_like(signal), params)
    pm.Deterministic(f"b8_events_{dataset.name}", pt.sum(mu - background))
    name = f"counts_{dataset.name}"
    dims = (f"{dataset.name}_run", f"{dataset.name}_bin")
    pm.Poisson(name, mu=mu, observed=model.observed.astype("int64"), dims=dims)
    return name


def build_binned_pymc_model(datasets: Sequence[DataSet], priors: Mapping[str, Prior],
                            physics: str) -> BinnedPosteriorModel:
    """PyMC model of the couplings with ``priors`` (others zero) and the binned likelihoods of ``datasets``."""
    couplings = sampled_couplings(priors)
    names: list[str] = []
    coords: dict = {"coupling": list(couplings)}
    for d in datasets:
        if d.binned is None:
            raise ValueError(f"datasets: {d.name!r} has no binned likelihood")
        inputs = d.binned.inputs(False)
        coords[f"{d.name}_run"] = list(inputs.runs)
        coords[f"{d.name}_bin"] = list(range(inputs.observed.shape[1]))
        names += [n.name for n in inputs.nuisances]
    if len(set(names)) != len(names):
        raise ValueError(f"datasets: {[d.name for d in datasets]} declare the same nuisances (they share runs); "
                         "allowed: one binned data set per release")
    with pm.Model(coords=coords) as model:
        eps12 = coupling_vector(priors)
        pm.Deterministic("eps", eps12[[COUPLINGS.index(c) for c in couplings]], dims="coupling")
        observed = tuple(observe_binned(d, eps12, physics) for d in datasets)
    return BinnedPosteriorModel(model, tuple(d.name for d in datasets), couplings, tuple(names), observed, physics)

