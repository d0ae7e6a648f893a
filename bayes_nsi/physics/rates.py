"""Expected 8B CEvNS events per detector through its recoil response (eqs. 3, 4, 16, 19).

Everything that does not depend on a parameter is precomputed here in numpy when a
:class:`PhysicsModel` is built from :class:`~bayes_nsi.physics.detector.Detector` descriptions: the
recoil-energy nodes, and for each node the 8B spectrum times the
cross-section shape integrated over E_nu against the interpolation basis of <P_ee>(E_nu). The graph then
only evaluates <P_ee> on a few Chebyshev energy nodes, the weak charges, and the Helm form factor.

Rate per data set (eq. 19 with the two-flavour state probabilities):
R = c sum_i F^2(E_r,i) [ Q_mu^2 K0_i + (Q_e^2 - Q_mu^2) sum_j KP_ij Pbar_j ],
with Pbar_j the production averages of the 8B and hep components at the energy nodes (eq. 16).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.physics import inputs
from bayes_nsi.physics.constants import (
    AVOGADRO,
    DE_SALAS_2021,
    SECONDS_PER_YEAR,
    XENON_MOLAR_MASS_KG,
    Nucleus,
    Oscillation,
    natural_xenon,
)
from bayes_nsi.physics.detection import cross_section_shape, helm_form_factor, weak_charges_squared
from bayes_nsi.physics.detector import Detector
from bayes_nsi.physics.physics_modes import check_physics, detection_weights
from bayes_nsi.physics.propagation import ProductionNodes, flux_weights, production_nodes, survival_at_nodes

RATE_FLUXES = ("8B", "hep")  # the only fluxes above the lowest detectable E_nu (eq. 16)
LOWEST_ER_KEV = 0.3  # lowest recoil energy of Table II: fixes the energy-node interval for all data sets


@dataclass(frozen=True)
class Grids:
    """Quadrature resolutions; :meth:`doubled` gives the convergence check of the test suite."""

    n_enu: int = 16  # Chebyshev nodes of <P_ee>(E_nu) on [E_min(0.3 keV), 8B end point]
    n_radial: int = 16  # Gauss-Legendre nodes in production probability, per flux
    gl_er: int = 3  # Gauss-Legendre points per recoil-energy segment
    er_segment_kev: float = 0.1  # longest recoil-energy segment
    gl_enu: int = 4  # Gauss-Legendre points per 8B-spectrum table segment

    def doubled(self) -> Grids:
        return Grids(2 * self.n_enu, 2 * self.n_radial, 2 * self.gl_er, self.er_segment_kev / 2, 2 * self.gl_enu)


DEFAULT_GRIDS = Grids()  # frozen: a safe default argument


def chebyshev_nodes(lo: float, hi: float, n: int) -> np.ndarray:
    """Chebyshev points of the second kind on [lo, hi] (n + 1 points, ascending)."""
    return lo + (hi - lo) * 0.5 * (1.0 - np.cos(np.pi * np.arange(n + 1) / n))


def lagrange_basis(nodes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Barycentric Lagrange basis L_j(x) on Chebyshev-2 nodes; shape (len(x), len(nodes))."""
    w = (-1.0) ** np.arange(len(nodes))
    w[[0, -1]] *= 0.5
    diff = x[:, None] - nodes[None, :]
    exact = diff == 0
    diff[exact] = 1.0
    terms = w / diff
    basis = terms / terms.sum(1, keepdims=True)
    rows = exact.any(1)
    basis[rows] = exact[rows].astype(float)
    return basis


def _gauss_segments(knots: np.ndarray, n: int, max_len: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on each segment between knots (segments split to <= max_len)."""
    x, w = np.polynomial.legendre.leggauss(n)
    lengths = np.diff(knots)
    pieces = np.maximum(1, np.ceil(lengths / max_len - 1e-9)).astype(int)
    segment = np.repeat(np.arange(len(lengths)), pieces)
    step = np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)  # 0 .. pieces - 1 per segment
    edges = np.append(step * (lengths / pieces)[segment] + knots[segment], knots[-1])
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


@dataclass(frozen=True)
class DetectorKernel:
    """Parameter-free part of one data set's rate (see module docstring)."""

    detector: Detector
    er_kev: np.ndarray
    k0: np.ndarray  # (n_er,) events per Q^2: exposure, targets, 8B flux, acceptance, weights included
    kp: np.ndarray  # (n_er, n_flux * n_enu), same normalization


@dataclass(frozen=True)
class PhysicsModel:
    """All constants of the physics graph: nucleus, oscillations, solar nodes, detector kernels."""

    nucleus: Nucleus
    osc: Oscillation
    enu_nodes: np.ndarray
    production: tuple[ProductionNodes, ...]
    kernels: dict[str, DetectorKernel]
    grids: Grids = field(default_factory=Grids)
    physics: str = "paper"  # see bayes_nsi.physics.physics_modes

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(self.kernels)


def _detector_kernel(detector: Detector, nucleus: Nucleus, enu_nodes: np.ndarray, grids: Grids) -> DetectorKernel:
    knots, eff = detector.er_knots_kev, detector.efficiency
    er, w_er = _gauss_segments(knots, grids.gl_er, grids.er_segment_kev)
    w_er = w_er * np.interp(er, knots, eff)
    b8 = inputs.spectrum("8B")
    spectra = [inputs.spectrum(f) for f in inputs.FLUX_NAMES if f not in inputs.LINE_FLUXES]
    rate_idx = [[s.name for s in spectra].index(f) for f in RATE_FLUXES]
    e_end = b8.enu_mev[b8.pdf > 0][-1] + (b8.enu_mev[1] - b8.enu_mev[0])
    k0, kp = np.zeros(len(er)), np.zeros((len(er), len(RATE_FLUXES) * len(enu_nodes)))
    for i, e_r in enumerate(er):
        e_min = np.sqrt(nucleus.mass_gev * e_r / 2.0)  # docs/physics.md: E_min = sqrt(m_N E_r / 2)
        if e_min >= e_end:  # above the largest 8B recoil: no event (k0, kp stay zero)
            continue
        grid = np.concatenate([[e_min], b8.enu_mev[(b8.enu_mev > e_min) & (b8.enu_mev < e_end)], [e_end]])
        enu, w_enu = _gauss_segments(grid, grids.gl_enu)
        integrand = w_enu * np.interp(enu, b8.enu_mev, b8.pdf) * cross_section_shape(enu, e_r, nucleus.mass_gev)
        k0[i] = integrand.sum()
        share = flux_weights(enu, spectra)[:, rate_idx]  # Phi_8B / sum Phi, Phi_hep / sum Phi
        basis = lagrange_basis(enu_nodes, enu)
        kp[i] = np.concatenate([(integrand * share[:, a]) @ basis for a in range(len(RATE_FLUXES))])
    targets_per_tonne = 1000.0 / XENON_MOLAR_MASS_KG * AVOGADRO
    prefactor = detector.exposure_tonne_year * targets_per_tonne * b8.flux_cm2_s * SECONDS_PER_YEAR
    return DetectorKernel(detector, er, prefactor * k0 * w_er, prefactor * kp * w_er[:, None])


def build_model(detectors: tuple[Detector, ...], grids: Grids = DEFAULT_GRIDS, osc: Oscillation = DE_SALAS_2021,
                physics: str = "paper") -> PhysicsModel:
    """Precompute the physics constants for the given detectors (names must be distinct) and physics mode."""
    check_physics(physics)
    names = [d.name for d in detectors]
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"detectors: need distinct names, at least one; got {names}")
    nucleus = natural_xenon()
    sun = inputs.solar_model()
    b8 = inputs.spectrum("8B")
    e_lo = np.sqrt(nucleus.mass_gev * LOWEST_ER_KEV / 2.0)
    enu_nodes = chebyshev_nodes(e_lo, b8.enu_mev[b8.pdf > 0][-1] + (b8.enu_mev[1] - b8.enu_mev[0]), grids.n_enu)
    production = tuple(production_nodes(sun, f, grids.n_radial) for f in RATE_FLUXES)
    kernels = {d.name: _detector_kernel(d, nucleus, enu_nodes, grids) for d in detectors}
    return PhysicsModel(nucleus, osc, enu_nodes, production, kernels, grids, physics)


def _raw_events(model: PhysicsModel, eps12, r_n_fm):
    """Un-normalized events per detector; shape (..., n_detectors).

    "paper": eqs. (3), (4), (19) as in the module docstring; other modes: R = c sum_i F_i^2 sum_j KP_ij W_j
    with the flavour weight W of :func:`bayes_nsi.physics.physics_modes.detection_weights`.
    """
    if model.physics != "paper":
        weights = detection_weights(model, eps12, model.physics)
        r_n = pt.as_tensor_variable(r_n_fm)[..., None]
        out = []
        for k in model.kernels.values():
            f2 = helm_form_factor(k.er_kev, model.nucleus.mass_gev, r_n) ** 2
            out.append(pt.sum(pt.dot(f2, k.kp) * weights, axis=-1))
        return pt.stack(out, axis=-1)
    pbar = survival_at_nodes(model.enu_nodes, model.production, eps12, model.osc)
    q2_e, q2_mu = weak_charges_squared(eps12, model.nucleus, model.osc)
    r_n = pt.as_tensor_variable(r_n_fm)[..., None]
    out = []
    for k in model.kernels.values():
        f2 = helm_form_factor(k.er_kev, model.nucleus.mass_gev, r_n) ** 2  # (..., n_er)
        sm_part = pt.sum(f2 * k.k0, axis=-1)
        p_part = pt.sum(pt.dot(f2, k.kp) * pbar, axis=-1)
        out.append(q2_mu * sm_part + (q2_e - q2_mu) * p_part)
    return pt.stack(out, axis=-1)


def acceptance_normalization(model: PhysicsModel):
    """Per-detector factor applied to the response: target SM events / unnormalized SM events, or 1.

    Where a detector asks for a target (``Detector.sm_events``) it is a constant sub-graph (the SM point),
    folded away when compiled.
    """
    targets = [k.detector.sm_events for k in model.kernels.values()]
    if all(t is None for t in targets):
        return np.ones(len(model.kernels))
    sm = _raw_events(model, np.zeros(12), model.nucleus.r_neutron_fm)
    if all(t is not None for t in targets):
        return np.array(targets) / sm
    return pt.stack([pt.constant(1.0) if t is None else t / sm[i] for i, t in enumerate(targets)])


def expected_events(model: PhysicsModel, eps12, flux_scale=1.0, r_n_fm=None, acceptance_scale=1.0):
    """Expected 8B CEvNS events per detector; shape (..., n_detectors).

    eps12: couplings (..., 12); flux_scale: 8B flux / 5.46e6 cm^-2 s^-1; r_n_fm: neutron rms radius
    (default R_C + 0.2 fm); acceptance_scale: (..., n_detectors) or scalar multiplier of each response.
    """
    r_n = model.nucleus.r_neutron_fm if r_n_fm is None else r_n_fm
    raw = _raw_events(model, eps12, r_n)
    flux = pt.as_tensor_variable(flux_scale)[..., None]
    return raw * acceptance_normalization(model) * flux * acceptance_scale


def recoil_node_events(model: PhysicsModel, detector: str, eps12, flux_scale=1.0, r_n_fm=None):
    """Events at each recoil-energy node of one detector, (..., n_er): quadrature weight x response x
    dR/dE_r (events per keV over the detector's exposure), in the model's physics mode, unnormalized.

    Summed over the nodes they give the detector's events before any ``sm_events`` normalization; folded
    with a per-node efficiency (binned templates) they give events per analysis bin. dR/dE_r uses
    W_j of :func:`bayes_nsi.physics.physics_modes.detection_weights` (eq. 19 in the paper mode).
    """
    k = model.kernels[detector]
    r_n = model.nucleus.r_neutron_fm if r_n_fm is None else r_n_fm
    weights = detection_weights(model, eps12, model.physics)  # (..., n_flux * n_enu)
    f2 = helm_form_factor(k.er_kev, model.nucleus.mass_gev, pt.as_tensor_variable(r_n)[..., None]) ** 2
    flux = pt.as_tensor_variable(flux_scale)[..., None]
    return f2 * pt.dot(weights, k.kp.T) * flux
