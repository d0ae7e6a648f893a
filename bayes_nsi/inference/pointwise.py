"""The ``log_likelihood``, ``posterior_predictive`` and ``observed_data`` groups of a posterior, from the expected
events of its draws, in numpy.

PyMC's ``compute_log_likelihood`` and ``sample_posterior_predictive`` each compile the physics graph again (~2 s
each for one coupling, on a warm cache), although the events of every draw are already in the posterior; the
likelihood terms on top of them (:mod:`bayes_nsi.inference.likelihoods`) are a few elementwise operations. The
variables are named as the PyMC model's observed ones (:func:`bayes_nsi.inference.pymc_model.observe`): the
Gaussian and split-normal terms as ``signal`` over ``measured_dataset``, each counting term as
``count_<data set>``, conditional on its background draw when the posterior has one (NUTS) and with the
background integrated otherwise (the quadrature engine).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from bayes_nsi.inference.densities import poisson_logpmf
from bayes_nsi.inference.likelihoods import Gaussian, SplitNormal
from bayes_nsi.inference.observations import SIGNAL, Observations

SAMPLE_DIMS = ("chain", "draw")
Variable = tuple[tuple[str, ...], np.ndarray]


def dataset(variables: Mapping[str, Variable], coords: Mapping[str, object], attrs: dict | None = None) -> xr.Dataset:
    """An xarray Dataset of ``{name: (dims, values)}`` with only the coordinates its variables use."""
    used = {d for dims, _ in variables.values() for d in dims}
    return xr.Dataset(dict(variables), coords={k: v for k, v in coords.items() if k in used}, attrs=attrs or {})


def measured_datasets(obs: Observations) -> list[str]:
    """The data sets of the ``signal`` vector (Gaussian and split-normal terms), in data-set order."""
    return [t.dataset for t in obs.terms if isinstance(t, Gaussian | SplitNormal)]


def pointwise_groups(events: np.ndarray, obs: Observations, rng: np.random.Generator,
                     backgrounds: Mapping[str, np.ndarray] | None = None) -> dict[str, dict[str, Variable]]:
    """``{"log_likelihood": ..., "posterior_predictive": ..., "observed_data": ...}`` as ``{name: (dims, values)}``.

    events: (chain, draw, n_datasets) in ``obs`` order; backgrounds: ``count_<data set>_background`` draws
    (chain, draw) of the counting terms, if the posterior sampled them.
    """
    backgrounds = dict(backgrounds or {})
    measured = [i for i, t in enumerate(obs.terms) if isinstance(t, Gaussian | SplitNormal)]
    groups: dict[str, dict[str, Variable]] = {"log_likelihood": {}, "posterior_predictive": {}, "observed_data": {}}
    if measured:
        dims = (*SAMPLE_DIMS, "measured_dataset")
        terms = [obs.terms[i] for i in measured]
        groups["log_likelihood"][SIGNAL] = (dims, np.stack(
            [t.log_likelihood(events[..., i]) for i, t in zip(measured, terms, strict=True)], axis=-1))
        groups["posterior_predictive"][SIGNAL] = (dims, np.stack(
            [t.simulate(events[..., i], rng) for i, t in zip(measured, terms, strict=True)], axis=-1))
        groups["observed_data"][SIGNAL] = (("measured_dataset",), np.array([t.measured for t in terms]))
    for i, t in enumerate(obs.terms):
        if i in measured:
            continue
        name = f"count_{t.dataset}"
        b = backgrounds.get(f"{name}_background")
        if b is None:
            log_l, predicted = t.log_likelihood(events[..., i]), t.simulate(events[..., i], rng)
        else:
            log_l, predicted = poisson_logpmf(t.observed, events[..., i] + b), rng.poisson(events[..., i] + b)
        groups["log_likelihood"][name] = (SAMPLE_DIMS, log_l)
        groups["posterior_predictive"][name] = (SAMPLE_DIMS, predicted)
        groups["observed_data"][name] = ((), np.asarray(t.observed))
    return groups
