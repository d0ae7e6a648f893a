"""Identities any consistent one-coupling calculation obeys, and the effective coefficients behind a Table III entry.

With one coupling eps = eps_ab^q switched on and NSI acting in detection only, the weak charge of eq. (1) is
replaced by Tr[rho A^2] with A = Q_W 1 + k eps (E_ab + E_ba)/(1 + delta_ab), k_u = N + 2Z, k_d = 2N + Z (eq. 18),
rho the flavour content reaching the detector (eq. 19 is the special case rho = P |nu~_e><nu~_e| + (1 - P)
|nu~_mu><nu~_mu| in the propagation basis). Writing t = eps / eps0 with eps0 = -Q_W / k > 0, the rate is exactly
quadratic:

    R(eps) / R_SM = 1 - 2 D t + N t^2,

    diagonal aa:        D = N = rho_aa,
    off-diagonal ab:    D = 2 rho_ab,   N = rho_aa + rho_bb,

whatever the rotation, the oscillation inputs or the weights P. Hence the identities

    (i)   diagonal entries are symmetric about eps0 (D = N): eps0_u = -Q_W/(N + 2Z), eps0_d = -Q_W/(2N + Z);
    (ii)  N_ee + N_mumu + N_tautau = Tr rho = 1;
    (iii) N_ab = N_aa + N_bb;
    (iv)  u and d entries of a data set coincide in t, i.e. eps^d = eps^u (N + 2Z)/(2N + Z).

The NSI matter potential (eqs. 12-13) makes rho depend on eps and breaks them by an amount the package
measures on its own intervals (same functions). The chi^2 of eq. (20) puts the two outer endpoints of an
entry at R = m + sigma s and the two inner ones (the gap between two pieces) at R = m - sigma s, with
s^2 = 1 + chi^2_min (s = 1 unless the smallest rate exceeds the measurement m); each endpoint is thus one
linear equation in (D, N).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bayes_nsi.physics.constants import Nucleus
from bayes_nsi.physics.detection import sm_weak_charge


@dataclass(frozen=True)
class Measurement:
    """A data set's measured events m +- sigma (eq. 20) and its SM prediction (events)."""

    value: float
    sigma: float
    sm_events: float


def vertex_eps(nucleus: Nucleus, quark: str) -> float:
    """eps0 = -Q_W / k_q, where the weak charge of a diagonal coupling vanishes (k_u = N + 2Z, k_d = 2N + Z)."""
    if quark not in ("u", "d"):
        raise ValueError(f"quark: unknown {quark!r}; allowed: u, d")
    k = nucleus.n + 2 * nucleus.z if quark == "u" else 2 * nucleus.n + nucleus.z
    return -sm_weak_charge(nucleus) / k


def quadratic_intervals(d: float, n: float, meas: Measurement, eps0: float) -> list[list[float]]:
    """1-sigma pieces in eps of chi^2 = ((m - R)/sigma)^2 with R/R_SM = 1 - 2 D t + N t^2, t = eps/eps0 (N > 0)."""
    if n <= 0:
        raise ValueError(f"n: the quadratic coefficient must be positive, got {n}")
    r_min = 1.0 - d * d / n
    m, s = meas.value / meas.sm_events, meas.sigma / meas.sm_events
    scale = np.sqrt(1.0 + max(0.0, (r_min - m) / s) ** 2)
    t0 = d / n

    def half_width(level: float) -> float | None:  # N (t - t0)^2 = level - r_min
        return None if level <= r_min else float(np.sqrt((level - r_min) / n))

    outer, inner = half_width(m + s * scale), half_width(m - s * scale)
    if inner is None:
        pieces = [[t0 - outer, t0 + outer]]
    else:
        pieces = [[t0 - outer, t0 - inner], [t0 + inner, t0 + outer]]
    return [[a * eps0, b * eps0] for a, b in pieces]


def fit_coefficients(pieces: Sequence[Sequence[float]], meas: Measurement, eps0: float,
                     tolerance: Sequence[Sequence[float]] | None = None, sm_tolerance: float = 0.0,
                     iterations: int = 8) -> tuple[float, float]:
    """(D, N) of the quadratic rate behind an entry's endpoints (module docstring); 1 or 2 pieces.

    Weighted least squares of the endpoint equations -2 D t + N t^2 = r - 1, each weighted by the inverse of
    its uncertainty: the endpoint's rounding (``tolerance``, same shape as ``pieces``; default equal) times the
    equation's slope, and the level's uncertainty r * sm_tolerance / R_SM from a rounded SM prediction.
    The level s is iterated with the fitted minimum rate.
    """
    if len(pieces) not in (1, 2):
        raise ValueError(f"pieces: need 1 or 2 pieces, got {len(pieces)}")
    ends = np.array([pieces[0][0], pieces[-1][1]] + ([pieces[0][1], pieces[1][0]] if len(pieces) == 2 else []))
    tol = np.ones_like(ends) if tolerance is None else np.array(
        [tolerance[0][0], tolerance[-1][1]] + ([tolerance[0][1], tolerance[1][0]] if len(pieces) == 2 else []))
    outer = np.array([True, True] + [False] * (len(ends) - 2))
    t = ends / eps0
    m, s = meas.value / meas.sm_events, meas.sigma / meas.sm_events
    scale, d, n = 1.0, 0.0, 1.0
    for _ in range(iterations):
        rhs = np.where(outer, m + s * scale, m - s * scale) - 1.0
        design = np.stack([-2.0 * t, t * t], axis=1)
        sigma = np.hypot(np.abs(-2.0 * d + 2.0 * n * t) * tol / eps0, (rhs + 1.0) * sm_tolerance / meas.sm_events)
        sigma = sigma + 1e-12
        (d, n), *_ = np.linalg.lstsq(design / sigma[:, None], rhs / sigma, rcond=None)
        scale = np.sqrt(1.0 + max(0.0, (1.0 - d * d / n - m) / s) ** 2) if n > 0 else 1.0
    return float(d), float(n)


def coefficient_ranges(pieces: Sequence[Sequence[float]], rounding: Sequence[Sequence[float]], meas: Measurement,
                       eps0: float, sm_rounding: float = 0.0) -> dict[str, list[float]]:
    """{"D": [min, max], "N": [min, max]} of the fitted coefficients over every rounding corner of the endpoints
    and of the SM prediction (printed values are the centres, ``rounding`` and ``sm_rounding`` half-widths)."""
    flat, half = np.ravel(pieces), np.ravel(rounding)
    ds, ns = [], []
    for signs in itertools.product((-1.0, 1.0), repeat=len(flat) + 1):
        moved = (flat + np.array(signs[:-1]) * half).reshape(np.shape(pieces))
        sm = Measurement(meas.value, meas.sigma, meas.sm_events + signs[-1] * sm_rounding)
        d, n = fit_coefficients(moved.tolist(), sm, eps0, rounding, sm_rounding)
        ds.append(d)
        ns.append(n)
    return {"D": [min(ds), max(ds)], "N": [min(ns), max(ns)]}


def interval_sum(ranges: Sequence[Sequence[float]], signs: Sequence[float]) -> list[float]:
    """[min, max] of sum_i sign_i x_i with each x_i anywhere in ranges[i] (worst-case rounding)."""
    lo = sum(min(sg * a, sg * b) for (a, b), sg in zip(ranges, signs, strict=True))
    hi = sum(max(sg * a, sg * b) for (a, b), sg in zip(ranges, signs, strict=True))
    return [float(lo), float(hi)]



def identity_residuals(n: dict[str, Sequence[float]]) -> dict[str, list[float]]:
    """[min, max] of the identities' residuals from the fitted N of the six flavour pairs of one data set and quark
    (``n[pair]`` = [min, max], a point as [x, x]): (ii) N_ee + N_mumu + N_tautau - 1, (iii) N_ab - N_aa - N_bb."""
    return {
        "sum_rule": [v - 1.0 for v in interval_sum([n["ee"], n["mumu"], n["tautau"]], [1, 1, 1])],
        "emu": interval_sum([n["emu"], n["ee"], n["mumu"]], [1, -1, -1]),
        "etau": interval_sum([n["etau"], n["ee"], n["tautau"]], [1, -1, -1]),
        "mutau": interval_sum([n["mutau"], n["mumu"], n["tautau"]], [1, -1, -1]),
    }


def implied_electron_weight(n: dict[str, Sequence[float]]) -> dict[str, list[float]]:
    """Four estimates of w_e = rho_ee ([min, max]): N_ee, N_emu - N_mumu, N_etau - N_tautau, 1 - N_mumu - N_tautau."""
    return {
        "ee": list(map(float, n["ee"])),
        "emu - mumu": interval_sum([n["emu"], n["mumu"]], [1, -1]),
        "etau - tautau": interval_sum([n["etau"], n["tautau"]], [1, -1]),
        "1 - mumu - tautau": [1.0 + v for v in interval_sum([n["mumu"], n["tautau"]], [-1, -1])],
    }


def sm_point_delta_chi2(meas: Sequence[Measurement]) -> float:
    """Delta chi^2 of eps = 0 (eq. 20) when the measurements can all be met exactly (chi^2_min = 0)."""
    return float(sum(((m.value - m.sm_events) / m.sigma) ** 2 for m in meas))
