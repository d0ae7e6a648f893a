"""Simulation-based calibration (Talts et al. 2018, arXiv:1804.06788) distributed like any study.

Each simulation draws theta ~ prior, data ~ model(theta), then posterior draws given the data; the
rank of theta_j among the draws (number of draws < theta_j, simuk's convention) is uniform on
{0, ..., n_draws} when the posterior is calibrated. The tasks only compute ranks (this module is
numpy-only, so workers do not import ArviZ); :mod:`.pit_ecdf` turns them into PIT-ECDF checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from bayes_nsi.inference.studies.describe import describe
from bayes_nsi.inference.studies.engine import Study
from bayes_nsi.inference.studies.worker import Recipe, built


class SBCProblem(Protocol):
    """Prior, simulator and posterior of an SBC study (built once per worker from its recipe)."""

    names: tuple[str, ...]

    def prior_draw(self, rng: np.random.Generator) -> np.ndarray: ...  # (n_params,)

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...

    def posterior_draws(self, data: np.ndarray, seed: int) -> np.ndarray: ...  # (n_draws, n_params)


@dataclass(frozen=True)
class SBCTask:
    """Task i -> sims_per_task simulations (the last task may have fewer): ranks and prior draws."""

    problem: Recipe
    n_simulations: int
    sims_per_task: int

    def __call__(self, index: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        problem = built(self.problem)
        n = min(self.sims_per_task, self.n_simulations - index * self.sims_per_task)
        ranks, thetas, n_draws = [], [], []
        for _ in range(n):
            theta = np.asarray(problem.prior_draw(rng), float)
            data = problem.simulate(theta, rng)
            draws = np.asarray(problem.posterior_draws(data, int(rng.integers(2**63))), float)
            if draws.ndim != 2 or draws.shape[1] != theta.size:
                raise ValueError(f"posterior_draws: shape {draws.shape}, expected (n_draws, {theta.size})")
            ranks.append(np.sum(draws < theta, axis=0))
            thetas.append(theta)
            n_draws.append(len(draws))
        return {"rank": np.array(ranks), "theta": np.array(thetas), "n_draws": np.array(n_draws)}


def sbc_study(problem: Recipe, n_simulations: int, *, sims_per_task: int = 1, seed: int = 0) -> Study:
    """n_simulations SBC replications, sims_per_task of them per task."""
    for name, value in (("n_simulations", n_simulations), ("sims_per_task", sims_per_task)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {value!r} must be an integer >= 1")
    spec = {"problem": describe(problem), "n_simulations": n_simulations, "sims_per_task": sims_per_task}
    return Study("sbc", spec, -(-n_simulations // sims_per_task), seed, SBCTask(problem, n_simulations, sims_per_task))


def sbc_ranks(results: Sequence[Mapping[str, np.ndarray]]) -> tuple[np.ndarray, int]:
    """(ranks (n_simulations, n_params), n_draws) from the task results in key order."""
    n_draws = np.concatenate([r["n_draws"] for r in results])
    if np.any(n_draws != n_draws[0]):
        raise ValueError(f"posterior_draws: every simulation needs the same number of draws, got {set(n_draws)}")
    return np.concatenate([r["rank"] for r in results]), int(n_draws[0])


def pit(ranks: np.ndarray, n_draws: int) -> np.ndarray:
    """PIT values (rank + 1/2) / (n_draws + 1): the centres of the n_draws + 1 rank bins."""
    return (np.asarray(ranks, float) + 0.5) / (n_draws + 1)
