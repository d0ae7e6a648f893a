"""NSI scans of counting experiments and one binned release together, sharing one constrained 8B flux.

:class:`JointScanner` has the shape of :class:`~bayes_nsi.inference.scans.Chi2Scanner` (``keys``, ``chi2``,
``along``), so ``scans.profiles`` and ``scans.contours`` run on it unchanged. Its keys are every counting data
set alone (its background profiled in closed form, the flux profiled within its constraint:
:func:`~bayes_nsi.inference.joint_fit.flux_profiled_chi2`), the binned data set alone (its nuisances profiled,
the signal-rate multiplier constrained as the flux) and ``combined`` (:class:`~bayes_nsi.inference.joint_fit.
JointProfiler`: one flux for all, every nuisance profiled).

The flux constraint replaces the release's own on its signal-rate multiplier: the templates are scaled to the
constraint's central flux and the multiplier's width is the constraint's relative error (SNO 5.25 +- 0.20 is
XENONnT's own 3.81 %; B16 5.46 +- 12 % the solar-model alternative). The counting signals come from the physics
graph at the B16 flux and are scaled to the same central flux.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bayes_nsi.experiments.base import DataSet
from bayes_nsi.experiments.binned_data import BinnedInputs
from bayes_nsi.inference.binned_fit import DEFAULT_GRIDS, Profiler, SignalFolder, binned_model_of, one_thread
from bayes_nsi.inference.binned_scan import BinnedTerm
from bayes_nsi.inference.joint_fit import JointProfiler, flux_profiled_chi2
from bayes_nsi.inference.likelihoods import PoissonCounting
from bayes_nsi.inference.observations import Observations
from bayes_nsi.inference.priors import FLUX_8B_PRIOR_NAMES, b16_flux, flux_8b_prior
from bayes_nsi.inference.scans import Chi2Scanner, coupling_points
from bayes_nsi.names import check_coupling_names
from bayes_nsi.physics.rates import Grids

COMBINED = "combined"


@dataclass(frozen=True)
class FluxConstraint:
    """A Gaussian constraint on the 8B flux: name, central value and width in 1e6 cm^-2 s^-1."""

    name: str
    flux: float
    sigma: float

    @classmethod
    def of(cls, name: str) -> FluxConstraint:
        """``"sno"`` (5.25 +- 0.20, PRC 88 (2013) 025501) or ``"b16"`` (B16-GS98, the shipped table's 12 %)."""
        if name not in FLUX_8B_PRIOR_NAMES:
            raise ValueError(f"flux: unknown {name!r}; allowed: {', '.join(FLUX_8B_PRIOR_NAMES)}")
        return cls(name, *flux_8b_prior(name))

    @property
    def relative(self) -> float:
        return self.sigma / self.flux


def constrained_inputs(dataset: DataSet, flux: FluxConstraint) -> BinnedInputs:
    """The binned inputs (signal rate constrained) with the signal-rate multiplier's width set by ``flux``."""
    inputs = dataset.binned.inputs(False)
    nuisances = tuple(dataclasses.replace(n, sigma=flux.relative) if n.name == inputs.signal_scale else n
                      for n in inputs.nuisances)
    return dataclasses.replace(inputs, nuisances=nuisances)


@dataclass
class JointScanner:
    """-2 ln L (nuisances profiled) of counting data sets, a binned data set and their combination."""

    counting: Chi2Scanner
    binned: BinnedTerm
    joint: BinnedTerm
    flux: FluxConstraint
    parts: bool = True  # False: the combination only (keys = ("combined",))
    calls: int = 0

    @classmethod
    def for_data(cls, counting_obs: Observations, binned: DataSet, acceptance: str, physics: str,
                 flux: FluxConstraint, parts: bool = True, grids: Grids = DEFAULT_GRIDS,
                 counting: Chi2Scanner | None = None) -> JointScanner:
        """Compile the counting data sets' events (acceptance mode as given; or reuse ``counting``, a scanner of
        the same observations) and the binned likelihoods; ``parts=False`` scans the combination only."""
        if not all(isinstance(t, PoissonCounting) for t in counting_obs.terms):
            raise ValueError(f"likelihood: the counting data sets need 'poisson_counting'; got "
                             f"{counting_obs.likelihoods}")
        if binned.binned is None:
            raise ValueError(f"binned: {binned.name!r} has no binned likelihood")
        if counting is None:
            counting = Chi2Scanner.for_data(counting_obs, acceptance, physics)
        elif counting.obs != counting_obs:
            raise ValueError("counting: the scanner was compiled for other observations")
        folder = SignalFolder.build(binned, binned.binned.inputs(False), physics, grids)
        return cls._assemble(counting, folder, flux, parts)

    @classmethod
    def _assemble(cls, counting: Chi2Scanner, folder: SignalFolder, flux: FluxConstraint,
                  parts: bool) -> JointScanner:
        """Profilers for ``flux`` around compiled counting events and a signal folder."""
        inputs = constrained_inputs(folder.dataset, flux)
        model = binned_model_of(inputs)
        factor = flux.flux / b16_flux()
        alone = BinnedTerm(folder.dataset, folder, Profiler(model), factor)
        joint = BinnedTerm(folder.dataset, folder, JointProfiler(model, counting.obs.terms, inputs.signal_scale),
                           factor)
        return cls(counting, alone, joint, flux, parts)

    def with_flux(self, flux: FluxConstraint, parts: bool = True) -> JointScanner:
        """The same compiled counting events and signal folder under another flux constraint (new profilers)."""
        return self._assemble(self.counting, self.binned.folder, flux, parts)

    @property
    def keys(self) -> tuple[str, ...]:
        if not self.parts:
            return (COMBINED,)
        return (*self.counting.obs.datasets, self.binned.dataset.name, COMBINED)

    def counting_signal(self, eps12: np.ndarray) -> np.ndarray:
        """Counting data sets' 8B events (n, n_sets) at the constraint's central flux."""
        return self.counting.events(eps12) * (self.flux.flux / b16_flux())

    def chi2(self, eps12: np.ndarray) -> dict[str, np.ndarray]:
        """-2 ln L per key, each (n,), for couplings (n, 12)."""
        self.calls += 1
        eps12 = np.atleast_2d(np.asarray(eps12, dtype=float))
        signal = self.counting_signal(eps12)
        out = {t.dataset: flux_profiled_chi2(t, signal[:, i], self.flux.relative)
               for i, t in enumerate(self.counting.obs.terms)} if self.parts else {}
        with one_thread():
            if self.parts:
                out[self.binned.dataset.name] = self.binned.profiled(eps12)[0]
            out[COMBINED] = self.joint.profiled(eps12, signal)[0]
        return out

    def along(self, couplings: Sequence[str], key: str) -> Callable[..., np.ndarray]:
        """-2 ln L of ``key`` as a vectorized function of the named couplings (others zero)."""
        check_coupling_names(couplings)
        if key not in self.keys:
            raise ValueError(f"key: unknown {key!r}; allowed: {', '.join(self.keys)}")

        def fn(*values: np.ndarray) -> np.ndarray:
            shape, eps = coupling_points(couplings, values)
            return self.key_chi2(eps, key).reshape(shape)

        return fn

    def key_chi2(self, eps12: np.ndarray, key: str) -> np.ndarray:
        """-2 ln L of one key only, shape (n,), for couplings (n, 12) (root refinements ask for one key at a time)."""
        names = self.counting.obs.datasets
        if key in names:
            i = names.index(key)
            return flux_profiled_chi2(self.counting.obs.terms[i], self.counting_signal(eps12)[:, i],
                                      self.flux.relative)
        with one_thread():
            if key == COMBINED:
                return self.joint.profiled(eps12, self.counting_signal(eps12))[0]
            return self.binned.profiled(eps12)[0]
