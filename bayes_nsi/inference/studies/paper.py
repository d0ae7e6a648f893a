"""The analyses' chi^2 in one coupling, as study models: the hook to the physics.

A :class:`PaperCoupling` recipe (the paper's Gaussian chi^2, eq. 20) or :class:`CountingCoupling` recipe (Poisson
counting with profiled backgrounds) names the coupling, the data-set key (one data set or ``combined``) and the
data; ``build()`` compiles the event graph once per worker process (shared by every coupling and key of the same
data sets, acceptance and physics mode) and returns a :class:`~.models.GaussianChi2` or
:class:`~.models.CountingChi2` whose events vary that coupling with the eleven others at zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from bayes_nsi.inference.likelihoods import PoissonCounting
from bayes_nsi.inference.observations import Observations, observations
from bayes_nsi.inference.scans import Chi2Scanner
from bayes_nsi.inference.studies.models import CountingChi2, GaussianChi2
from bayes_nsi.inference.studies.worker import cached
from bayes_nsi.physics.couplings import COUPLINGS

# points per call of the event graph: its per-point cost was 3x lower in batches of 500-1000 than of 2000-4000
# (benchmarks/bench_studies.py prints the figures)
_BATCH = 1000


def _build_scanner(datasets: tuple[str, ...], acceptance: str, physics: str = "paper") -> Chi2Scanner:
    scanner = Chi2Scanner.for_data(observations(datasets), acceptance, physics)
    scanner.events(np.zeros((2, len(COUPLINGS))))  # numba compiles at the first call: do it in the build
    return scanner


def _one_coupling_events(scanner: Chi2Scanner, coupling: str):
    """theta (n,) -> events (n, n_datasets) with ``coupling`` at theta and the other couplings zero, batched."""
    column = COUPLINGS.index(coupling)

    def events(values: np.ndarray) -> np.ndarray:
        eps = np.zeros((len(values), len(COUPLINGS)))
        eps[:, column] = values
        return np.concatenate([scanner.events(eps[i:i + _BATCH]) for i in range(0, len(eps), _BATCH)])

    return events


def _check_key(coupling: str, key: str, datasets: tuple[str, ...]) -> None:
    if coupling not in COUPLINGS:
        raise ValueError(f"coupling: unknown {coupling!r}; allowed: {', '.join(COUPLINGS)}")
    keys = datasets + (("combined",) if len(datasets) > 1 else ())
    if key not in keys:
        raise ValueError(f"key: unknown {key!r}; allowed: {', '.join(keys)}")


def _columns(key: str, datasets: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(range(len(datasets))) if key == "combined" else (datasets.index(key),)


def _scanner(datasets: tuple[str, ...], acceptance: str, physics: str = "paper") -> Chi2Scanner:
    """The compiled event graph of these data sets, once per process."""
    return cached(("Chi2Scanner", datasets, acceptance, physics),
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
        _check_key(self.coupling, self.key, self.datasets)
        if not len(self.measured) == len(self.sigma) == len(self.datasets):
            raise ValueError("measured, sigma: need one value per data set")

    @property
    def columns(self) -> tuple[int, ...]:
        return _columns(self.key, self.datasets)

    @property
    def observed(self) -> np.ndarray:
        """The measured values of this key's data sets (n_obs,), the x0 of a Feldman-Cousins interval."""
        return np.asarray(self.measured, float)[list(self.columns)]

    def build(self) -> GaussianChi2:
        events = _one_coupling_events(_scanner(self.datasets, self.acceptance, self.physics), self.coupling)
        return GaussianChi2(events, self.sigma, self.columns, self.lo, self.hi, self.points)


@dataclass(frozen=True)
class CountingCoupling:
    """Recipe: counting chi^2 of ``key`` (backgrounds profiled) as a function of ``coupling`` on [lo, hi]."""

    coupling: str
    key: str
    datasets: tuple[str, ...]
    counting: tuple[PoissonCounting, ...]  # one term per data set, same order
    acceptance: str = "paper"
    lo: float = -1.0
    hi: float = 1.0
    points: int = 401
    physics: str = "paper"

    def __post_init__(self) -> None:
        _check_key(self.coupling, self.key, self.datasets)
        if len(self.counting) != len(self.datasets):
            raise ValueError("counting: need one counting term per data set")

    @property
    def columns(self) -> tuple[int, ...]:
        return _columns(self.key, self.datasets)

    @property
    def observed(self) -> np.ndarray:
        """The real data row of this key (counts, then background expectations): a Feldman-Cousins interval's x0."""
        terms = [self.counting[i] for i in self.columns]
        return np.array([t.observed for t in terms] + [t.background for t in terms], float)

    def build(self) -> CountingChi2:
        c = self.counting
        events = _one_coupling_events(_scanner(self.datasets, self.acceptance, self.physics), self.coupling)
        return CountingChi2(events, tuple(t.observed for t in c), tuple(t.background for t in c),
                            tuple(t.sigma_up for t in c), tuple(t.sigma_down for t in c), self.columns, self.lo,
                            self.hi, self.points)


def gaussian_terms(obs: Observations) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(measured, sigma) per data set of observations whose likelihood terms are all Gaussian (eq. 20)."""
    bad = [t.dataset for t in obs.terms if t.name != "gaussian"]
    if bad:
        raise ValueError(f"likelihood: {bad[0]} is not gaussian; the paper's toy model needs gaussian terms")
    return tuple(float(t.measured) for t in obs.terms), tuple(float(t.sigma) for t in obs.terms)


def study_models(couplings: Sequence[str], keys: Sequence[str], obs: Observations, *, acceptance: str = "paper",
                 lo: float = -1.0, hi: float = 1.0, points: int = 401,
                 physics: str = "paper") -> dict[str, PaperCoupling | CountingCoupling]:
    """{"<coupling>/<key>": recipe} for every coupling and key: :class:`PaperCoupling` when every likelihood
    term is Gaussian, :class:`CountingCoupling` when every one is Poisson counting."""
    names = {t.name for t in obs.terms}
    if names == {"poisson_counting"}:
        return {f"{c}/{k}": CountingCoupling(c, k, obs.datasets, obs.terms, acceptance, lo, hi, points, physics)
                for c in couplings for k in keys}
    if names != {"gaussian"}:
        raise ValueError(f"likelihood: {', '.join(sorted(names))} mixed or unsupported; allowed: every data set "
                         "gaussian, or every data set poisson_counting")
    measured, sigma = gaussian_terms(obs)
    return {f"{c}/{k}": PaperCoupling(c, k, obs.datasets, measured, sigma, acceptance, lo, hi, points, physics)
            for c in couplings for k in keys}
