"""Settings of a posterior run (engine, draws, seed, diagnostic thresholds) and its seeds.

Kept apart from :mod:`bayes_nsi.inference.sampling` so that reading a spec, and the quadrature engine, do
not import PyMC and ArviZ (~3 s per process).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUTS_ENGINES = ("nutpie", "pymc")
# "quadrature": independent draws from the posterior on a grid (bayes_nsi.inference.grid_posterior), for one or
# two couplings with at most the 8B flux nuisance
ENGINES = (*NUTS_ENGINES, "quadrature")


@dataclass(frozen=True)
class SamplerSettings:
    """Engine, draws and tuning steps per chain, chains, seed, mass matrix, target acceptance (the last three
    are NUTS settings; the quadrature engine uses engine, draws, chains and seed)."""

    engine: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 1
    low_rank_mass_matrix: bool = True
    target_accept: float = 0.8

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"sampler.engine: unknown {self.engine!r}; allowed: {', '.join(ENGINES)}")

    @property
    def adaptation(self) -> str:
        """The mass-matrix adaptation as used (the low-rank one exists only in nutpie; none on a grid)."""
        if self.engine == "nutpie":
            return "low_rank" if self.low_rank_mass_matrix else "diag"
        return "pymc diagonal" if self.engine == "pymc" else "none (grid)"


@dataclass(frozen=True)
class Thresholds:
    """Diagnostic thresholds a posterior must meet."""

    max_r_hat: float = 1.01
    min_ess_bulk: float = 400
    min_ess_tail: float = 400
    max_divergences: int = 0
    min_bfmi: float = 0.3


def sampler_seeds(seed: int) -> tuple[int, int]:
    """Independent seeds for the draws and the posterior predictive, derived from the spec seed."""
    a, b = np.random.SeedSequence(seed).generate_state(2)
    return int(a), int(b)
