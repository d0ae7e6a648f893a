"""ln L of the joint model (:mod:`bayes_nsi.inference.joint_pymc`) in numpy, for many coupling points at many
nuisance draws at once: the likelihood ratios behind :mod:`bayes_nsi.inference.evidence_ratio`.

    ln L(eps, nu) = sum_p [n_p ln mu_p - mu_p] + sum_rb [n_rb ln mu_rb - mu_rb]      (the ln n! constants dropped)
    mu_p  = s_p(eps) Phi / Phi_B16 + b_p
    mu_rb = B_rb(nu) + m(nu) (Phi / Phi_B16) exposure_r sum_g S_g(eps) E_rgb(t_ly, t_qy)

s_p: a counting data set's 8B events at the B16 flux; b_p its background; S_g(eps): the recoil spectrum projected
on the compressed efficiency basis (events per t*yr at B16, ``SignalFolder.compressed().spectrum``); E: the
compressed efficiency interpolated at each draw's yields (Catmull-Rom weights, once per draw, since the signal is
linear in S); B: the binned backgrounds at the draw's nuisances; m: the product of the signal's other rate
nuisances (XENONnT: the signal efficiency). The signal-rate multiplier is the flux (Phi / the templates' flux).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from bayes_nsi.experiments.base import DataSet
from bayes_nsi.experiments.binned_data import BinnedInputs
from bayes_nsi.inference import binned as bn
from bayes_nsi.inference.binned_fit import SignalFolder, binned_model_of
from bayes_nsi.inference.likelihoods import PoissonCounting
from bayes_nsi.inference.priors import b16_flux

CHUNK_ELEMENTS = 50_000  # coupling points x draws per chunk (the binned expectation is 8 x runs x bins bytes each)


@dataclass(frozen=True)
class NuisanceDraws:
    """Per-draw quantities that do not depend on the couplings (D draws)."""

    flux_ratio: np.ndarray  # (D,) Phi / Phi_B16
    counting_background: np.ndarray  # (D, P)
    binned_background: np.ndarray  # (D, runs, bins) expected background counts
    signal_basis: np.ndarray  # (D, runs, g, bins): m x exposure x E_rgb at the draw's yields (per unit S at B16)


class JointLikelihood:
    """ln L of counting terms and one binned model at coupling batches x nuisance draws (numpy)."""

    def __init__(self, counting: tuple[PoissonCounting, ...], counting_events: Callable[[np.ndarray], np.ndarray],
                 folder: SignalFolder, model: bn.BinnedModel, signal_scale: str, flux_name: str = "flux_8b") -> None:
        """counting_events: callable (n, 12) -> (n, P) events at the B16 flux; folder: the compressed folder."""
        self.counting, self.counting_events = counting, counting_events
        self.folder, self.model = folder, model
        self.signal_scale, self.flux_name = signal_scale, flux_name
        self.n_counting = np.array([t.observed for t in counting], dtype=float)

    @classmethod
    def build(cls, counting: tuple[PoissonCounting, ...], counting_events: Callable[[np.ndarray], np.ndarray],
              dataset: DataSet, inputs: BinnedInputs, physics: str, flux_name: str = "flux_8b") -> JointLikelihood:
        """The compressed signal folder of ``dataset`` in a physics mode and the likelihood's constants."""
        folder = SignalFolder.build(dataset, inputs, physics).compressed()
        return cls(counting, counting_events, folder, binned_model_of(inputs), inputs.signal_scale, flux_name)

    def draws(self, values: Mapping[str, np.ndarray]) -> NuisanceDraws:
        """Per-draw quantities from posterior values: the flux, ``count_<data set>_background`` of every counting
        term and every binned nuisance except the signal-rate multiplier (given by the flux)."""
        flux_ratio = np.asarray(values[self.flux_name], dtype=float) / b16_flux()
        background = np.stack([np.asarray(values[f"count_{t.dataset}_background"], float) for t in self.counting], -1)
        params = {n: np.asarray(values[n], float) for n in self.model.parameter_names if n != self.signal_scale}
        params[self.signal_scale] = np.zeros_like(flux_ratio)  # backgrounds only
        binned_background = bn.expected_counts(self.model, np.zeros_like(self.folder.efficiency[..., 0, :]), params)
        params[self.signal_scale] = np.ones_like(flux_ratio)
        multiplier = bn.component_multiplier(self.model, self.model.signal_component, params)  # (D, runs)
        w_ly, w_qy = (bn.yield_weights(params[s], self.model.anchors) for s in self.model.shape_names)
        basis = np.einsum("da,db,rabgk->drgk", w_ly, w_qy, self.folder.efficiency, optimize=True)
        basis *= (multiplier * self.model.exposure_t_yr)[:, :, None, None] * flux_ratio[:, None, None, None]
        return NuisanceDraws(flux_ratio, background, binned_background, basis)

    def log_likelihood(self, eps12: np.ndarray, draws: NuisanceDraws) -> np.ndarray:
        """ln L (n, D) at couplings (n, 12) and the draws (constants ln n! dropped)."""
        eps12 = np.atleast_2d(np.asarray(eps12, dtype=float))
        size = max(1, CHUNK_ELEMENTS // len(draws.flux_ratio))
        return np.concatenate([self._chunk(eps12[i:i + size], draws) for i in range(0, len(eps12), size)])

    def _chunk(self, eps12: np.ndarray, draws: NuisanceDraws) -> np.ndarray:
        s = self.counting_events(eps12)  # (n, P)
        mu = s[:, None, :] * draws.flux_ratio[None, :, None] + draws.counting_background[None]
        out = np.sum(self.n_counting * np.log(mu) - mu, axis=-1)
        spectrum = self.folder.spectrum(eps12)  # (n, g)
        mu = draws.binned_background[None] + np.einsum("ng,drgk->ndrk", spectrum, draws.signal_basis, optimize=True)
        return out + np.sum(self.model.observed * np.log(mu) - mu, axis=(-2, -1))
