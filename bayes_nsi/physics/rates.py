"""Expected 8B CEvNS events per data set through its acceptance (eqs. 3, 4, 16, 19).

Everything that does not depend on a parameter is precomputed here in numpy when a
:class:`PhysicsModel` is built: the recoil-energy nodes, and for each node the 8B spectrum times the
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
    MEASUREMENTS,
    SECONDS_PER_YEAR,
    US2_THRESHOLD_KEV,
    XENON_MOLAR_MASS_KG,
    Measurement,
    Nucleus,
    Oscillation,
    natural_xenon,
)
from bayes_nsi.physics.detection import cross_section_shape, helm_form_factor, weak_charges_squared
from bayes_nsi.physics.propagation import ProductionNodes, flux_weights, production_averaged_survival, production_nodes

ACCEPTANCE_MODES = ("paper", "published")
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


def validate_dataset(dataset: str, acceptance: str) -> None:
    """Raise ValueError for an unknown data set or acceptance mode, or US2 in the published mode."""
    if dataset not in MEASUREMENTS:
        raise ValueError(f"dataset: unknown {dataset!r}; allowed: {', '.join(MEASUREMENTS)}")
    if acceptance not in ACCEPTANCE_MODES:
        raise ValueError(f"acceptance: unknown {acceptance!r}; allowed: {', '.join(ACCEPTANCE_MODES)}")
    if acceptance == "published" and dataset == "us2":
        raise ValueError("acceptance: 'published' is not available for dataset 'us2' (no public US2 curve); "
                         "allowed for us2: 'paper'")


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


def acceptance_curve(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Knots (keV) and efficiencies of the unnormalized acceptance model on the data set's window."""
    m = MEASUREMENTS[dataset]
    if dataset == "us2":  # no public curve: a step at the US2 threshold (documented choice)
        return np.array([US2_THRESHOLD_KEV, m.er_max_kev]), np.ones(2)
    acc = inputs.acceptance(dataset)
    inside = (acc.er_kev > m.er_min_kev) & (acc.er_kev < m.er_max_kev)
    knots = np.concatenate([[m.er_min_kev], acc.er_kev[inside], [m.er_max_kev]])
    # The paired digitization stops at 2.974 keV on its plateau: held flat to the window's 3.0 keV.
    return knots, np.interp(knots, acc.er_kev, acc.efficiency, left=0.0, right=acc.efficiency[-1])


def _gauss_segments(knots: np.ndarray, n: int, max_len: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on each segment between knots (segments split to <= max_len)."""
    x, w = np.polynomial.legendre.leggauss(n)
    edges = [knots[0]]
    for a, b in zip(knots[:-1], knots[1:], strict=True):
        k = max(1, int(np.ceil((b - a) / max_len - 1e-9)))
        edges += list(np.linspace(a, b, k + 1)[1:])
    edges = np.array(edges)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


@dataclass(frozen=True)
class DetectorKernel:
    """Parameter-free part of one data set's rate (see module docstring)."""

    measurement: Measurement
    acceptance: str
    er_kev: np.ndarray
    k0: np.ndarray  # (n_er,) events per Q^2: exposure, targets, 8B flux, acceptance, weights included
    kp: np.ndarray  # (n_er, n_flux * n_enu), same normalization
    exposure_ratio: float  # exposure used / Table II exposure (the paper normalization is at Table II's)


@dataclass(frozen=True)
class PhysicsModel:
    """All constants of the physics graph: nucleus, oscillations, solar nodes, detector kernels."""

    nucleus: Nucleus
    osc: Oscillation
    enu_nodes: np.ndarray
    production: tuple[ProductionNodes, ...]
    kernels: dict[str, DetectorKernel]
    grids: Grids = field(default_factory=Grids)

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(self.kernels)


def _detector_kernel(dataset: str, acceptance: str, nucleus: Nucleus, enu_nodes: np.ndarray,
                     grids: Grids, exposure_tonne_year: float | None) -> DetectorKernel:
    m = MEASUREMENTS[dataset]
    knots, eff = acceptance_curve(dataset)
    er, w_er = _gauss_segments(knots, grids.gl_er, grids.er_segment_kev)
    w_er = w_er * np.interp(er, knots, eff)
    b8 = inputs.spectrum("8B")
    spectra = [inputs.spectrum(f) for f in inputs.FLUX_NAMES if f not in inputs.LINE_FLUXES]
    rate_idx = [[s.name for s in spectra].index(f) for f in RATE_FLUXES]
    e_end = b8.enu_mev[b8.pdf > 0][-1] + (b8.enu_mev[1] - b8.enu_mev[0])
    k0, kp = np.zeros(len(er)), np.zeros((len(er), len(RATE_FLUXES) * len(enu_nodes)))
    for i, e_r in enumerate(er):
        e_min = np.sqrt(nucleus.mass_gev * e_r / 2.0)  # physics-notes: E_min = sqrt(m_N E_r / 2)
        grid = np.concatenate([[e_min], b8.enu_mev[(b8.enu_mev > e_min) & (b8.enu_mev < e_end)], [e_end]])
        enu, w_enu = _gauss_segments(grid, grids.gl_enu)
        integrand = w_enu * np.interp(enu, b8.enu_mev, b8.pdf) * cross_section_shape(enu, e_r, nucleus.mass_gev)
        k0[i] = integrand.sum()
        share = flux_weights(enu, spectra)[:, rate_idx]  # Phi_8B / sum Phi, Phi_hep / sum Phi
        basis = lagrange_basis(enu_nodes, enu)
        kp[i] = np.concatenate([(integrand * share[:, a]) @ basis for a in range(len(RATE_FLUXES))])
    exposure = m.exposure_tonne_year if exposure_tonne_year is None else exposure_tonne_year
    targets_per_tonne = 1000.0 / XENON_MOLAR_MASS_KG * AVOGADRO
    prefactor = exposure * targets_per_tonne * b8.flux_cm2_s * SECONDS_PER_YEAR
    return DetectorKernel(m, acceptance, er, prefactor * k0 * w_er, prefactor * kp * w_er[:, None],
                          exposure / m.exposure_tonne_year)


def build_model(datasets=tuple(MEASUREMENTS), acceptance: str = "paper", grids: Grids = Grids(),
                osc: Oscillation = DE_SALAS_2021, exposures: dict[str, float] | None = None) -> PhysicsModel:
    """Precompute the physics constants for the given data sets and acceptance mode."""
    for d in datasets:
        validate_dataset(d, acceptance)
    nucleus = natural_xenon()
    sun = inputs.solar_model()
    b8 = inputs.spectrum("8B")
    e_lo = np.sqrt(nucleus.mass_gev * LOWEST_ER_KEV / 2.0)
    enu_nodes = chebyshev_nodes(e_lo, b8.enu_mev[b8.pdf > 0][-1] + (b8.enu_mev[1] - b8.enu_mev[0]), grids.n_enu)
    production = tuple(production_nodes(sun, f, grids.n_radial) for f in RATE_FLUXES)
    exposures = exposures or {}
    kernels = {d: _detector_kernel(d, acceptance, nucleus, enu_nodes, grids, exposures.get(d)) for d in datasets}
    return PhysicsModel(nucleus, osc, enu_nodes, production, kernels, grids)


def _raw_events(model: PhysicsModel, eps12, r_n_fm):
    """Un-normalized events per data set (eqs. 3, 4, 19); shape (..., n_datasets)."""
    pbar = pt.concatenate([production_averaged_survival(model.enu_nodes, nodes, eps12, model.osc)
                           for nodes in model.production], axis=-1)
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
    """Per-data-set factor applied to the acceptance: paper SM events / unnormalized SM events, or 1.

    In the paper mode it is a constant sub-graph (the SM point), folded away when compiled.
    """
    modes = {k.acceptance for k in model.kernels.values()}
    if modes == {"published"}:
        return np.ones(len(model.kernels))
    sm = _raw_events(model, np.zeros(12), model.nucleus.r_neutron_fm)
    paper = np.array([k.measurement.paper_sm_events * k.exposure_ratio for k in model.kernels.values()])
    return paper / sm


def expected_events(model: PhysicsModel, eps12, flux_scale=1.0, r_n_fm=None, acceptance_scale=1.0):
    """Expected 8B CEvNS events per data set; shape (..., n_datasets).

    eps12: couplings (..., 12); flux_scale: 8B flux / 5.46e6 cm^-2 s^-1; r_n_fm: neutron rms radius
    (default R_C + 0.2 fm); acceptance_scale: (..., n_datasets) or scalar multiplier of each acceptance.
    """
    r_n = model.nucleus.r_neutron_fm if r_n_fm is None else r_n_fm
    raw = _raw_events(model, eps12, r_n)
    flux = pt.as_tensor_variable(flux_scale)[..., None]
    return raw * acceptance_normalization(model) * flux * acceptance_scale
