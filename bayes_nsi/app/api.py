"""Public convenience functions on top of the physics graph, with compiled functions cached per process."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytensor.tensor as pt

import bayes_nsi.pytensor_config  # noqa: F401  (cache-independent numba code; see its docstring)
from bayes_nsi import compiled_functions
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.experiments.registry import REGISTRY, available, get
from bayes_nsi.names import ACCEPTANCE_MODES, DEFAULT_PHYSICS
from bayes_nsi.physics import inputs
from bayes_nsi.physics.constants import DE_SALAS_2021
from bayes_nsi.physics.couplings import coupling_vector
from bayes_nsi.physics.physics_modes import check_physics
from bayes_nsi.physics.propagation import (
    ProductionNodes,
    flux_weights,
    production_nodes,
    survival_grid,
    survival_values,
)
from bayes_nsi.physics.rates import Grids
from bayes_nsi.physics.rates import expected_events as events_graph
from bayes_nsi.physics.three_flavour import adiabatic_survival

SURVIVAL_METHODS = {"two_flavour": "paper", "three_flavour": "exact"}  # the older spelling of physics
# Single-point convenience calls: compile in milliseconds (no numba JIT), run in ~0.1-1 ms per call.
API_MODE = "FAST_COMPILE"


def continuous_spectra() -> list[inputs.Spectrum]:
    """Spectra entering eq. (16) at continuous energies (the pep line has no width and no weight there)."""
    return [inputs.spectrum(f) for f in inputs.FLUX_NAMES if f not in inputs.LINE_FLUXES]


@cache
def _continuous_production(n_radial: int) -> tuple[ProductionNodes, ...]:
    """Production nodes of every continuous flux (the r integrals of eq. 16), built once per resolution."""
    sun = inputs.solar_model()
    return tuple(production_nodes(sun, s.name, n_radial) for s in continuous_spectra())


def survival_probability(enu_mev, method: str | None = None, n_radial: int = Grids().n_radial,
                         physics: str = DEFAULT_PHYSICS, **couplings: float) -> np.ndarray:
    """Production-averaged survival probability <P_ee>(E_nu) of eq. (16) at energies enu_mev (MeV).

    physics: "paper" or "hybrid" (two-flavour eqs. 9-15; the two share their propagation) or "exact"
    (adiabatic three-flavour: numpy diagonalization at every production node, ``physics.three_flavour``,
    which is also the independent reference of the graph's exact populations). method: the older
    spelling, "two_flavour" or "three_flavour". couplings: any of the twelve names (``ee_u`` ... ``tautau_d``);
    unnamed ones are zero.
    """
    if method is not None:
        if method not in SURVIVAL_METHODS:
            raise ValueError(f"method: unknown {method!r}; allowed: {', '.join(SURVIVAL_METHODS)}")
        physics = SURVIVAL_METHODS[method]
    return survival_probabilities(enu_mev, coupling_vector(**couplings)[None, :], physics, n_radial)[0]


def survival_probabilities(enu_mev, eps12: np.ndarray, physics: str = DEFAULT_PHYSICS,
                           n_radial: int = Grids().n_radial) -> np.ndarray:
    """:func:`survival_probability` of several coupling vectors eps12 (n, 12) at once: shape (n, n_E)."""
    check_physics(physics)
    eps12 = np.asarray(eps12, dtype=float)
    if eps12.ndim != 2 or eps12.shape[1] != 12:
        raise ValueError(f"eps12: an array of coupling vectors of shape (n, 12); got shape {eps12.shape}")
    enu = np.atleast_1d(np.asarray(enu_mev, dtype=float))
    if enu.ndim != 1:
        raise ValueError(f"enu_mev: a number or a 1-D array of energies in MeV; got shape {enu.shape}")
    weights = flux_weights(enu, continuous_spectra())
    produced = np.any(weights > 0, axis=0)  # fluxes with no neutrinos at these energies add exactly zero
    weights = weights[:, produced]
    production = [nodes for nodes, keep in zip(_continuous_production(n_radial), produced, strict=True) if keep]
    if physics != "exact":
        pbar = survival_values(survival_grid(enu, production), eps12, DE_SALAS_2021)
        return np.sum(weights * pbar.reshape(len(eps12), len(production), -1).transpose(0, 2, 1), axis=-1)
    pbar = [adiabatic_survival(enu[None, :, None], nodes.n_e[None, None, :], nodes.y_n[None, None, :],
                               eps12[:, None, None, :], DE_SALAS_2021) @ nodes.weight for nodes in production]
    return np.sum(weights * np.stack(pbar, axis=-1), axis=-1)


@cache
def _events_function(acceptance: str, physics: str):
    datasets = available(acceptance)
    eps = pt.dvector("eps12")
    graph = events_graph(physics_model(datasets, acceptance, physics=physics), eps)
    return datasets, compiled_functions.function(("api.expected_events", acceptance, physics), [eps], graph,
                                                 mode=API_MODE)


def expected_events(dataset: str, acceptance: str = "paper", physics: str = DEFAULT_PHYSICS,
                    **couplings: float) -> float:
    """Expected 8B CEvNS events of one shipped data set (see ``bayes_nsi.DATASETS``) at the given couplings.

    acceptance: "paper" (acceptance scaled so that the SM gives the paper's events) or "published" (the
    curve as released, where a data set has one). physics: "paper" (eqs. 9-19 as printed), "hybrid"
    (two-flavour propagation, density-matrix detection) or "exact" (three-flavour, density matrix).
    """
    get(dataset).check_acceptance(acceptance)
    check_physics(physics)
    eps = coupling_vector(**couplings)
    datasets, fn = _events_function(acceptance, physics)
    return float(fn(eps)[datasets.index(dataset)])


def sm_events() -> dict[str, dict[str, float | None]]:
    """SM events of every data set in both acceptance modes (None where a data set lacks a mode).

    Without NSI every physics mode gives Q_W^2 (Tr rho = 1), so the SM events do not depend on it.
    """
    return {mode: {d: expected_events(d, mode, "paper") if mode in REGISTRY[d].responses else None
                   for d in REGISTRY}
            for mode in ACCEPTANCE_MODES}
