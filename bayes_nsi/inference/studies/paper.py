"""The paper's Gaussian chi^2 (eq. 20) in one coupling, as a study model: the hook to the physics.

A :class:`PaperCoupling` recipe names the coupling, the data-set key (one data set or ``combined``)
and the measured values and errors; ``build()`` compiles the event graph once per worker process
(shared by every coupling and key of the same data sets, acceptance and physics mode) and returns a
:class:`~.models.GaussianChi2` whose events vary that coupling with the eleven others at zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from bayes_nsi.inference.observations import Observations, observations
from bayes_nsi.inference.scans import Chi2Scanner
from bayes_nsi.inference.studies.models import GaussianChi2
from bayes_nsi.inference.studies.worker import compiled
from bayes_nsi.physics.couplings import COUPLINGS

# points per call of the event graph: its per-point cost was 3x lower in batches of 500-1000 than of 2000-4000
# (benchmarks/bench_studies.py prints the figures)
_BATCH = 1000


def _build_scanner(datasets: tuple[str, ...], acceptance: str, physics: str = "paper") -> Chi2Scanner:
    scanner = Chi2Scanner.for_data(observations(datasets), acceptance, physics)
    scanner.events(np.zeros((2, len(COUPLINGS))))  # numba compiles at the first call: do it in the build
    return scanner


def _scanner(datasets: tuple[str, ...], acceptance: str, physics: str = "paper") -> Chi2Scanner:
    """The compiled event graph of these data sets, once per process, from a warm compile cache."""
    return compiled(("Chi2Scanner", datasets, acceptance, physics),
                    partial(_build_scanner, datasets, acceptance, physics))


@dataclass(frozen=True)
class PaperCoupling:
    """Recipe: chi^2 of ``key`` as a function of ``coupling`` on [lo, hi] (others zero)."""

    coupling: str
    key: str
    datasets: tuple[str, ...]
    measured: tuple[float, ...]  # events, per data set (Table II or spec overrides)
    sigma: tuple[float, ...]  # events, per data set (the symmetric error of eq. 20)
    acceptance: str = "paper"
    lo: float = -1.0
    hi: float = 1.0
    points: int = 401
    physics: str = "paper"  # rate formula (names.PHYSICS_MODES)

    def __post_init__(self) -> None:
        if self.coupling not in COUPLINGS:
            raise ValueError(f"coupling: unknown {self.coupling!r}; allowed: {', '.join(COUPLINGS)}")
        keys = self.datasets + (("combined",) if len(self.datasets) > 1 else ())
        if self.key not in keys:
            raise ValueError(f"key: unknown {self.key!r}; allowed: {', '.join(keys)}")
        if not len(self.measured) == len(self.sigma) == len(self.datasets):
            raise ValueError("measured, sigma: need one value per data set")

    @property
    def columns(self) -> tuple[int, ...]:
        return tuple(range(len(self.datasets))) if self.key == "combined" else (self.datasets.index(self.key),)

    @property
    def observed(self) -> np.ndarray:
        """The measured values of this key's data sets (n_obs,), the x0 of a Feldman-Cousins interval."""
        return np.asarray(self.measured, float)[list(self.columns)]

    def build(self) -> GaussianChi2:
        scanner = _scanner(self.datasets, self.acceptance, self.physics)
        column = COUPLINGS.index(self.coupling)

        def events(values: np.ndarray) -> np.ndarray:
            eps = np.zeros((len(values), len(COUPLINGS)))
            eps[:, column] = values
            return np.concatenate([scanner.events(eps[i:i + _BATCH]) for i in range(0, len(eps), _BATCH)])

        return GaussianChi2(events, self.sigma, self.columns, self.lo, self.hi, self.points)


def gaussian_terms(obs: Observations) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(measured, sigma) per data set of observations whose likelihood terms are all Gaussian (eq. 20)."""
    bad = [t.dataset for t in obs.terms if t.name != "gaussian"]
    if bad:
        raise ValueError(f"likelihood: {bad[0]} is not gaussian; the paper's toy model needs gaussian terms")
    return tuple(float(t.measured) for t in obs.terms), tuple(float(t.sigma) for t in obs.terms)


def paper_models(couplings: Sequence[str], keys: Sequence[str], obs: Observations, *, acceptance: str = "paper",
                 lo: float = -1.0, hi: float = 1.0, points: int = 401,
                 physics: str = "paper") -> dict[str, PaperCoupling]:
    """{"<coupling>/<key>": PaperCoupling} for every coupling and key, from the observations' Gaussian terms."""
    measured, sigma = gaussian_terms(obs)
    return {f"{c}/{k}": PaperCoupling(c, k, obs.datasets, measured, sigma, acceptance, lo, hi, points, physics)
            for c in couplings for k in keys}
