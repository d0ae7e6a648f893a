"""Table III under conventions the reference paper may have used instead of its eqs. (9)-(19) as printed.

The paper-physics rate of a data set (eqs. 3, 4, 16, 19, paper acceptance) is
R = c [Q_mu^2 S + (Q_e^2 - Q_mu^2) PP(eps)], with S = sum_i F_i^2 K0_i and PP = sum_ij F_i^2 KP_ij Pbar_j(eps)
(:mod:`bayes_nsi.physics.rates`; Pbar the production-averaged two-flavour <P_ee> at the energy nodes). Here the
kernels, the form factor and Pbar come from the package (Pbar from the numpy survival kernel) and the
weak charges (eq. 18) and the flavour weighting (eq. 19) are evaluated in numpy, so that each convention is one
change of one ingredient: the rotation of eq. 17, the weights of eq. 19, the NSI matter potential of eqs. 12-13,
the oscillation inputs, the SM normalization, the XENONnT error, the scan grid. Every convention is normalized
like the package: R(0) equals the paper's SM events (or the ``sm_events`` of the convention).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bayes_nsi.inference.observations import Observations, chi2_per_dataset, combine, observations
from bayes_nsi.inference.scans import one_coupling_points, one_coupling_profiles
from bayes_nsi.names import COUPLINGS, FLAVOUR_PAIRS
from bayes_nsi.physics.constants import Oscillation
from bayes_nsi.physics.couplings import propagation_rotation
from bayes_nsi.physics.detection import helm_form_factor, sm_weak_charge
from bayes_nsi.physics.propagation import survival_grid, survival_values
from bayes_nsi.physics.rates import PhysicsModel

ROTATIONS = ("U23 U13", "active", "U13 U23", "none")
WEIGHTINGS = ("eq19", "swapped", "nsi_one_minus_p")


@dataclass(frozen=True)
class Convention:
    """One alternative to the package's paper physics; defaults reproduce it.

    rotation: "U23 U13" (eq. 17, eps~ = U^T eps U), "active" (eps~ = U eps U^T), "U13 U23" (factors swapped),
    "none" (eps~ = eps); weighting: "eq19" (<P_ee> Q_e^2 + (1 - <P_ee>) Q_mu^2), "swapped" (<P_ee> and
    1 - <P_ee> exchanged), "nsi_one_minus_p" (Q_W^2 + (1 - <P_ee>) [(Q_e^2 - Q_W^2) + (Q_mu^2 - Q_W^2)]);
    propagation_scale: eps in eqs. 12-13 multiplied by it (0: NSI in detection only, -1: flipped);
    osc: oscillation inputs (None: the model's); sm_events: SM targets per data set (None: the paper's);
    likelihoods: per data set (e.g. XENONnT split normal); mutau_single_entry: only the (tau, mu) entry of the
    mu-tau NSI matrix filled in detection; grid_points: read intervals off a grid of this many points without
    refinement (None: the package's refined scan).
    """

    name: str
    description: str
    rotation: str = "U23 U13"
    weighting: str = "eq19"
    propagation_scale: float = 1.0
    osc: Oscillation | None = None
    sm_events: Mapping[str, float] | None = None
    likelihoods: Mapping[str, str] = field(default_factory=dict)
    mutau_single_entry: bool = False
    grid_points: int | None = None

    def __post_init__(self) -> None:
        if self.rotation not in ROTATIONS:
            raise ValueError(f"rotation: unknown {self.rotation!r}; allowed: {', '.join(ROTATIONS)}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting: unknown {self.weighting!r}; allowed: {', '.join(WEIGHTINGS)}")


def standard_conventions(osc: Oscillation, published_sm_events: Mapping[str, float],
                         split_errors: Sequence[str] = ()) -> tuple[Convention, ...]:
    """The conventions tried against the paper's Table III (the first is the package's paper physics);
    ``split_errors``: data sets whose published error is asymmetric (their split normal is one convention)."""
    theta13_zero = dataclasses.replace(osc, sin2_th13=0.0)
    # NuFIT 5.2 (2022), normal ordering with SK atmospheric data: sin^2 theta23 = 0.451 (lower octant)
    octant = dataclasses.replace(osc, sin2_th23=0.451)
    return (
        Convention("package", "eqs. (9)-(19) as printed (the package's paper physics)"),
        Convention("active rotation", "eps~ = U eps U^T instead of U^T eps U in eqs. (17)-(18)", rotation="active"),
        Convention("rotation U13 U23", "calligraphic U = U13 U23 instead of U23 U13", rotation="U13 U23"),
        Convention("no rotation", "eps~ = eps in eq. (18) (no rotation to the propagation basis)", rotation="none"),
        Convention("no NSI in propagation", "<P_ee> at eps = 0 (NSI in detection only)", propagation_scale=0.0),
        Convention("NSI potential flipped", "eps -> -eps in the matter terms of eqs. (12)-(13)",
                   propagation_scale=-1.0),
        Convention("weights swapped", "<P_ee> and 1 - <P_ee> exchanged in eq. (19)", weighting="swapped"),
        Convention("NSI weighted by 1 - P_ee", "Q_W^2 + (1 - <P_ee>)[(Q_e^2 - Q_W^2) + (Q_mu^2 - Q_W^2)]: the "
                   "nu~_e-state NSI term weighted by 1 - <P_ee> instead of <P_ee>", weighting="nsi_one_minus_p"),
        Convention("NSI weighted by 1 - P_ee, no NSI in propagation", "the previous two together",
                   weighting="nsi_one_minus_p", propagation_scale=0.0),
        Convention("eps_taumu entry only, no NSI in propagation", "mu-tau NSI matrix with only its (tau, mu) entry "
                   "in eq. (18), NSI off in propagation", mutau_single_entry=True, propagation_scale=0.0),
        Convention("theta13 = 0", "sin^2 theta13 = 0 (other inputs de Salas et al. 2021)", osc=theta13_zero),
        Convention("sin^2 theta23 = 0.451", "lower-octant theta23 (NuFIT 5.2 with SK atmospheric data)", osc=octant),
        Convention("published acceptance", "SM events from the published acceptance curves where released ("
                   + ", ".join(f"{k} {v:.2f}" for k, v in published_sm_events.items()) + ")",
                   sm_events=dict(published_sm_events)),
        Convention("split-normal errors", "the asymmetric published errors (split normal) of "
                   + ", ".join(split_errors) + " instead of their symmetrized sigma",
                   likelihoods={name: "split_normal" for name in split_errors}),
        Convention("grid step 0.01", "endpoints read off a 201-point grid on [-1, 1] without refinement",
                   grid_points=201),
    )


@functools.cache
def _rotation(name: str, osc: Oscillation) -> np.ndarray:
    """The rotation of eq. (17) under a convention (read-only: one array per name and oscillation inputs)."""
    rot = _new_rotation(name, osc)
    rot.setflags(write=False)
    return rot


def _new_rotation(name: str, osc: Oscillation) -> np.ndarray:
    u = propagation_rotation(osc)
    if name == "U23 U13":
        return u
    if name == "active":
        return u.T
    if name == "none":
        return np.eye(3)
    s13, s23 = np.sqrt(osc.sin2_th13), np.sqrt(osc.sin2_th23)
    c13, c23 = np.sqrt(1 - osc.sin2_th13), np.sqrt(1 - osc.sin2_th23)
    u23 = np.array([[1, 0, 0], [0, c23, s23], [0, -s23, c23]])
    u13 = np.array([[c13, 0, s13], [0, 1, 0], [-s13, 0, c13]])
    return u13 @ u23


def _matrices(eps12: np.ndarray, mutau_single_entry: bool) -> tuple[np.ndarray, np.ndarray]:
    """(eps_u, eps_d) of shape (n, 3, 3) from coupling vectors (n, 12) (eq. 8 without the SM 1)."""
    mats = np.zeros((2,) + eps12.shape[:-1] + (3, 3))
    for q in range(2):
        for k, (pair, a, b) in enumerate(FLAVOUR_PAIRS):
            value = eps12[..., 6 * q + k]
            if mutau_single_entry and pair == "mutau":
                mats[q, ..., b, a] = value  # the (tau, mu) entry only
            else:
                mats[q, ..., a, b] = mats[q, ..., b, a] = value
    return mats[0], mats[1]


class ConventionRates:
    """Events per data set under a :class:`Convention`, from a paper-acceptance :class:`PhysicsModel`."""

    def __init__(self, model: PhysicsModel, paper_sm_events: Mapping[str, float]) -> None:
        self.model = model
        self.paper_sm_events = dict(paper_sm_events)
        self._grid = survival_grid(model.enu_nodes, model.production)
        self._charge_rows: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.sm_part, self.p_part = {}, {}
        for name, k in model.kernels.items():
            f2 = np.asarray(helm_form_factor(k.er_kev, model.nucleus.mass_gev, model.nucleus.r_neutron_fm).eval())
            f2 = f2**2
            self.sm_part[name], self.p_part[name] = float(f2 @ k.k0), f2 @ k.kp

    def survival(self, eps12: np.ndarray, osc: Oscillation) -> np.ndarray:
        """Pbar at the energy nodes of 8B and hep (flux-major), shape (n, n_nodes), from the numpy kernel."""
        return survival_values(self._grid, eps12, osc)

    def charges(self, eps12: np.ndarray, conv: Convention, osc: Oscillation) -> tuple[np.ndarray, np.ndarray]:
        """(Q_e^2, Q_mu^2) of eq. (18) under the convention's rotation; shapes (n,)."""
        key = (conv.rotation, conv.mutau_single_entry, osc)
        if key not in self._charge_rows:
            self._charge_rows[key] = self._affine_charge_rows(*key)
        offset, slope = self._charge_rows[key]
        rows = offset + eps12 @ slope  # (n, 6): row e, then row mu of Q_W 1 + C
        return (rows[..., :3] ** 2).sum(-1), (rows[..., 3:] ** 2).sum(-1)

    def _affine_charge_rows(self, rotation: str, mutau_single_entry: bool, osc: Oscillation
                            ) -> tuple[np.ndarray, np.ndarray]:
        """Rows e and mu of Q_W 1 + U^T C U as offset (6,) + eps12 @ slope (12, 6): they are affine in the couplings,
        so the slope is read off the twelve unit coupling vectors (one matrix product per call instead of building
        and rotating the matrices)."""
        nuc = self.model.nucleus
        eps_u, eps_d = _matrices(np.eye(12), mutau_single_entry)
        rot = _rotation(rotation, osc)
        slope = (rot.T @ (nuc.n * (eps_u + 2 * eps_d) + nuc.z * (2 * eps_u + eps_d)) @ rot)[:, :2, :].reshape(12, 6)
        return (sm_weak_charge(nuc) * np.eye(3))[:2].ravel(), slope

    def events(self, eps12: np.ndarray, conv: Convention) -> np.ndarray:
        """Expected events (n, n_datasets) for coupling vectors (n, 12)."""
        eps12 = np.atleast_2d(np.asarray(eps12, float))
        osc = conv.osc or self.model.osc
        both = np.concatenate([np.zeros((1, 12)), eps12])
        pbar = self.survival(conv.propagation_scale * both, osc)
        q2_e, q2_mu = self.charges(both, conv, osc)
        q2_sm = sm_weak_charge(self.model.nucleus) ** 2
        targets = {**self.paper_sm_events, **dict(conv.sm_events or {})}
        out = []
        for name in self.model.kernels:
            s, p = self.sm_part[name], pbar @ self.p_part[name]
            if conv.weighting == "eq19":
                w = q2_mu * s + (q2_e - q2_mu) * p
            elif conv.weighting == "swapped":
                w = q2_e * s - (q2_e - q2_mu) * p
            else:
                w = q2_sm * s + (q2_e + q2_mu - 2 * q2_sm) * (s - p)
            out.append(w[1:] / w[0] * targets[name])
        return np.stack(out, axis=-1)


def grid_pieces(x: np.ndarray, delta_chi2: np.ndarray, level: float) -> list[list[float]]:
    """Runs of grid points with delta_chi2 <= level, as [first, last] pieces (no refinement)."""
    inside = delta_chi2 <= level
    pieces, start = [], None
    for i, flag in enumerate(inside):
        if flag and start is None:
            start = i
        if start is not None and (not flag or i == len(x) - 1):
            end = i if flag else i - 1
            pieces.append([float(x[start]), float(x[end])])
            start = None
    return pieces


def convention_intervals(rates: ConventionRates, obs: Observations, conv: Convention,
                         couplings: Sequence[str] = COUPLINGS, lo: float = -1.0, hi: float = 1.0,
                         points: int = 801, level: float = 1.0) -> dict[str, dict[str, list[list[float]]]]:
    """{key: {coupling: pieces}} at Delta chi^2 = level (eq. 20, per data set and combined), others zero.

    The profiles of every (coupling, key) are refined together (:func:`scans.one_coupling_profiles`)."""
    if conv.likelihoods:
        obs = observations(obs.sources, likelihoods=conv.likelihoods)

    def chi2(eps12: np.ndarray) -> dict[str, np.ndarray]:
        return combine(chi2_per_dataset(rates.events(eps12, conv), obs), obs)

    x = np.linspace(lo, hi, conv.grid_points or points)
    on_grid = {c: chi2(one_coupling_points([c] * x.size, x)) for c in couplings}
    keys = list(on_grid[couplings[0]])
    if conv.grid_points:
        return {key: {c: grid_pieces(x, v[key] - v[key].min(), level) for c, v in on_grid.items()} for key in keys}

    def rows_chi2(eps12: np.ndarray, key_index: np.ndarray) -> np.ndarray:
        values = chi2(eps12)
        return np.stack([values[key] for key in keys])[key_index, np.arange(len(eps12))]

    results = one_coupling_profiles(rows_chi2, on_grid, keys, lo, hi, [level])
    return {key: {c: [[round(a, 6), round(b, 6)] for a, b in r.intervals[level]] for c, r in per.items()}
            for key, per in results.items()}
