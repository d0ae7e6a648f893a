"""NSI scans with binned template likelihoods: -2 ln L of each binned data set with every nuisance profiled, as a
vectorized function of the twelve couplings.

:class:`BinnedScanner` has the shape of :class:`bayes_nsi.inference.scans.Chi2Scanner` (``keys``,
``chi2(eps12) -> {key: (n,)}``, ``along``), so ``scans.profiles`` and ``scans.contours`` run on it unchanged
(grid, then root refinement of the levels). Per coupling point the 8B templates come from the physics graph
in one batched call (:class:`~bayes_nsi.inference.binned_fit.SignalFolder`), and the nuisances are profiled by
bounded L-BFGS-B on the compiled value and gradient (:class:`~bayes_nsi.inference.binned_fit.Profiler`),
warm-started from the nearest point already solved (a scan moves in small steps), with that point's parameter
scales; the first point of a data set is fitted from several yield starts.

The signal rate is the prediction, not free: the release's rate nuisances constrain it (for XENONnT the 8B
rate multiplier, 3.81 % about the SNO flux, and the signal efficiency, 25 %), so the templates are scaled
to the flux the rate constraint is about (``BinnedRelease.constraint_flux_8b``; the graph's is B16).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bayes_nsi.experiments.base import DataSet
from bayes_nsi.inference.binned_fit import DEFAULT_GRIDS, Profiler, SignalFolder, binned_model_of, one_thread
from bayes_nsi.inference.priors import b16_flux
from bayes_nsi.inference.scans import coupling_points
from bayes_nsi.names import check_coupling_names
from bayes_nsi.physics.rates import Grids

WARM_MEMORY = 4096  # solved points kept for warm starts


class _Solved:
    """Couplings, profiled nuisances and parameter scales of the points solved so far (the last WARM_MEMORY)."""

    def __init__(self) -> None:
        self.eps = np.empty((WARM_MEMORY, 12))
        self.x: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.count = 0

    def nearest(self, eps12: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Nuisances and scales of the solved point closest to ``eps12`` (Euclidean), or None before the first."""
        if self.count == 0:
            return None
        filled = min(self.count, WARM_MEMORY)
        i = int(np.argmin(np.sum((self.eps[:filled] - eps12) ** 2, axis=1)))
        return self.x[i], self.scale[i]

    def add(self, eps12: np.ndarray, x: np.ndarray, scale: np.ndarray) -> None:
        if self.x is None:
            self.x, self.scale = np.empty((WARM_MEMORY, len(x))), np.empty((WARM_MEMORY, len(x)))
        i = self.count % WARM_MEMORY
        self.eps[i], self.x[i], self.scale[i] = eps12, x, scale
        self.count += 1


@dataclass
class BinnedTerm:
    """One binned data set in a scan: signal folder, profiler, flux factor of the templates, warm starts."""

    dataset: DataSet
    folder: SignalFolder
    profiler: Profiler
    flux_factor: float
    solved: _Solved = field(default_factory=_Solved)

    @classmethod
    def build(cls, dataset: DataSet, physics: str, grids: Grids = DEFAULT_GRIDS) -> BinnedTerm:
        """Nuisances as the release constrains them (signal rate not free), templates at the constraint's flux."""
        inputs = dataset.binned.inputs(False)
        folder = SignalFolder.build(dataset, inputs, physics, grids)
        return cls(dataset, folder, Profiler(binned_model_of(inputs)), dataset.binned.constraint_flux_8b / b16_flux())

    def profiled(self, eps12: np.ndarray, counting: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """-2 ln L minimized over the nuisances at each coupling vector (n, 12): values (n,), nuisances (n, k).

        counting: the signals (n, n_terms) of the counting terms of a :class:`~bayes_nsi.inference.joint_fit.
        JointProfiler` at the same flux as the templates (None for a binned profiler alone).
        """
        eps12 = np.atleast_2d(np.asarray(eps12, dtype=float))
        templates = self.folder.templates(eps12) * self.flux_factor
        values, xs = np.empty(len(eps12)), np.empty((len(eps12), len(self.profiler.nominal)))
        for i, (eps, signal) in enumerate(zip(eps12, templates, strict=True)):
            if counting is not None:
                signal = (signal, counting[i])
            near = self.solved.nearest(eps)
            res = (self.profiler.best_of_starts(signal) if near is None
                   else self.profiler.minimize(signal, near[0], scale=near[1]))
            values[i], xs[i] = res.fun, res.x
            self.solved.add(eps, res.x, res.scale)
        return values, xs


@dataclass
class BinnedScanner:
    """-2 ln L (nuisances profiled) of binned data sets as a vectorized function of the twelve couplings."""

    terms: tuple[BinnedTerm, ...]
    calls: int = 0

    @classmethod
    def for_datasets(cls, datasets: Sequence[DataSet], physics: str, grids: Grids = DEFAULT_GRIDS) -> BinnedScanner:
        """Compile the physics graph and the likelihood of each binned data set (physics mode as in the spec)."""
        return cls(tuple(BinnedTerm.build(d, physics, grids) for d in datasets))

    @property
    def keys(self) -> tuple[str, ...]:
        """The binned data sets' names (each its own key: they share runs, so they are never summed)."""
        return tuple(t.dataset.name for t in self.terms)

    def chi2(self, eps12: np.ndarray) -> dict[str, np.ndarray]:
        """-2 ln L per data set, nuisances profiled, each of shape (n,) for couplings (n, 12)."""
        self.calls += 1
        with one_thread():
            return {t.dataset.name: t.profiled(eps12)[0] for t in self.terms}

    def key_chi2(self, eps12: np.ndarray, key: str) -> np.ndarray:
        """-2 ln L of one data set, nuisances profiled, shape (n,) for couplings (n, 12)."""
        term = next(t for t in self.terms if t.dataset.name == key)
        with one_thread():
            return term.profiled(eps12)[0]

    def along(self, couplings: Sequence[str], key: str) -> Callable[..., np.ndarray]:
        """-2 ln L of ``key`` as a vectorized function of the named couplings (others zero)."""
        check_coupling_names(couplings)

        def fn(*values: np.ndarray) -> np.ndarray:
            shape, eps = coupling_points(couplings, values)
            return self.key_chi2(eps, key).reshape(shape)

        return fn
