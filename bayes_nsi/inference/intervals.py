"""Profile-likelihood intervals and 2-D confidence contours from chi-square scans.

Everything here works on *vectorized* chi-square callables (one call evaluates
a whole array of parameter points), so grid scans and all refinements are done
in a handful of batched calls using :mod:`scipy.optimize.elementwise`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import contourpy
import numpy as np
from scipy.optimize import elementwise, minimize

Chi2Fn = Callable[[np.ndarray], np.ndarray]
Chi2Fn2D = Callable[[np.ndarray, np.ndarray], np.ndarray]
ProblemsChi2Fn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (x, profile index) -> chi2, elementwise

_X_MIN_TOL = 1e-9  # absolute x tolerance of the refined extrema


@dataclass(frozen=True)
class ProfileResult:
    """Result of :func:`profile_scan`.

    Attributes
    ----------
    x, chi2 : ndarray
        Scan grid and chi-square on it.
    best_x, chi2_min : float
        Refined location and value of the minimum over ``[lo, hi]``.
    delta_chi2 : ndarray
        ``chi2 - chi2_min`` on the grid.
    intervals : dict
        Level -> sorted disjoint pieces ``[[lo1, hi1], [lo2, hi2], ...]`` of
        ``{x : delta_chi2(x) <= level}``.
    """

    x: np.ndarray
    chi2: np.ndarray
    best_x: float
    chi2_min: float
    delta_chi2: np.ndarray
    intervals: dict[float, list[list[float]]]


@dataclass(frozen=True)
class ContourResult:
    """Result of :func:`contour_lines`.

    Attributes
    ----------
    lines : list of ndarray
        Iso-lines ``delta_chi2 = level``, each an ``(n, 2)`` array of (x, y)
        vertices; closed lines repeat their first vertex at the end.
    x, y : ndarray
        Grid axes; ``delta_chi2_grid`` has shape ``(len(y), len(x))``.
    delta_chi2_grid : ndarray
        ``chi2 - chi2_min`` on the grid, for plotting.
    best_xy : ndarray
        Refined location of the minimum, shape ``(2,)``.
    chi2_min : float
        Refined minimum of chi-square over the box.
    level : float
        The delta chi-square level of the lines.
    """

    lines: list[np.ndarray]
    x: np.ndarray
    y: np.ndarray
    delta_chi2_grid: np.ndarray
    best_xy: np.ndarray
    chi2_min: float
    level: float


def _refine_extrema(
    chi2: ProblemsChi2Fn, x: np.ndarray, mid: np.ndarray, sign: np.ndarray, problem: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Minimize ``sign * chi2`` of each ``problem`` inside the brackets ``x[mid-1] < x[mid] < x[mid+1]``.

    Returns the refined abscissae and the chi-square values there.
    """
    res = elementwise.find_minimum(
        lambda t, s, p: s * np.asarray(chi2(t, p), dtype=float),
        (x[mid - 1], x[mid], x[mid + 1]),
        args=(sign, problem),
        tolerances={"xatol": _X_MIN_TOL, "xrtol": 0.0},
    )
    return res.x, sign * res.f_x


def profile_scan(
    chi2: Chi2Fn,
    lo: float,
    hi: float,
    points: int,
    levels: Sequence[float] = (1.0, 4.0),
    xtol: float = 1e-6,
) -> ProfileResult:
    """Scan a 1-D chi-square profile and return root-refined level sets.

    Parameters
    ----------
    chi2 : callable
        Vectorized: 1-D float array of parameter values -> 1-D chi-square array.
    lo, hi : float
        Scan range; ``points`` grid points ``np.linspace(lo, hi, points)``.
    levels : sequence of float
        Delta chi-square levels (1 and 4 are the 1- and 2-sigma levels).
    xtol : float
        Absolute tolerance of the refined interval endpoints.

    Returns
    -------
    ProfileResult (one profile of :func:`profile_scans`; its notes give the method)
    """
    grid = np.asarray(chi2(np.linspace(lo, hi, points)), dtype=float)
    return profile_scans(lambda t, problem: chi2(t), grid[None, :], lo, hi, levels, xtol)[0]


def profile_scans(
    chi2: ProblemsChi2Fn,
    grid_chi2: np.ndarray,
    lo: float,
    hi: float,
    levels: Sequence[float] = (1.0, 4.0),
    xtol: float = 1e-6,
) -> list[ProfileResult]:
    """Several 1-D chi-square profiles on one grid, their extrema and level crossings refined together.

    Parameters
    ----------
    chi2 : callable
        ``chi2(x, problem)``: equal-shape arrays of parameter values and integer profile indices (rows of
        ``grid_chi2``) -> chi-square of each profile at each value.
    grid_chi2 : ndarray, shape (n_profiles, points)
        Every profile on the grid ``np.linspace(lo, hi, points)``.
    lo, hi, levels, xtol
        As in :func:`profile_scan`.

    Returns
    -------
    list of ProfileResult, one per row of ``grid_chi2``

    Notes
    -----
    Each profile is treated on its own; only the refinements are shared: one
    ``find_minimum`` and one ``find_root`` call sequence for all profiles
    (``scipy.optimize.elementwise`` iterates every element independently, so a
    profile's result does not depend on the others; batching saves the
    per-call overhead, which dominates the paper's many small profiles).

    1. Interior grid local extrema are found by the three-point test. Every
       local minimum (this includes the best grid point unless it sits on an
       edge, where the edge value is exact) and every local maximum whose grid
       delta chi-square lies within a margin of some level are refined by a
       bounded minimization (``find_minimum`` on ``+chi2`` or ``-chi2``
       inside the bracket of the two neighbouring grid points). The margin is
       the extremum's largest difference to its grid neighbours plus that of
       the best grid point: for a locally quadratic function the true extremum
       differs from the grid value by at most 1/8 of the former, and the
       refined minimum lowers every delta chi-square by at most the latter.
    2. ``chi2_min`` is the smallest grid or refined value. The refined extrema
       are merged into the grid, so the function is monotonic between
       consecutive merged points wherever it matters. This catches features the
       grid misses: a barrier between grid points that rises above the level
       (splits a piece), a barrier seen below the level but truly above it, and
       a narrow dip reaching below the level where no grid point does.
    3. Each sign change of ``delta_chi2 - level`` between consecutive merged
       points is a valid bracket, solved by ``find_root``. A piece reaching the
       scan edge ends exactly at ``lo`` or ``hi``.
    """
    f = np.asarray(grid_chi2, dtype=float)
    n_profiles, points = f.shape
    x = np.linspace(lo, hi, points)
    lv = np.asarray(levels, dtype=float)

    fl, fm, fr = f[:, :-2], f[:, 1:-1], f[:, 2:]
    is_min = (fm < fl) & (fm <= fr)
    is_max = (fm > fl) & (fm >= fr)
    rows = np.arange(n_profiles)
    best = np.argmin(f, axis=1)
    f_best = f[rows, best]
    around_best = f[rows[:, None], np.clip(best[:, None] + np.arange(-1, 2), 0, points - 1)]
    slack = np.max(np.abs(around_best - f_best[:, None]), axis=1)
    margin = np.maximum(np.abs(fm - fl), np.abs(fm - fr)) + slack[:, None]
    gap = np.abs(fm[..., None] - f_best[:, None, None] - lv)
    near = np.any(gap <= margin[..., None], axis=-1)
    e_problem, e_mid = np.nonzero(is_min | (is_max & near))
    e_mid = e_mid + 1
    xe, fe = np.empty(0), np.empty(0)
    if e_mid.size:
        sign = np.where(is_min[e_problem, e_mid - 1], 1.0, -1.0)
        xe, fe = _refine_extrema(chi2, x, e_mid, sign, e_problem)

    merged = []  # per profile: (best x, chi2_min, below-level flags on the merged points)
    brackets = {name: [np.empty(0, dtype)] for name, dtype in
                (("lo", float), ("hi", float), ("target", float), ("problem", int), ("level", int))}
    for p in rows:
        on = e_problem == p
        xa, first = np.unique(np.concatenate([x, xe[on]]), return_index=True)
        fa = np.concatenate([f[p], fe[on]])[first]
        ibest = int(np.argmin(fa))
        chi2_min = float(fa[ibest])
        below = fa[None, :] - chi2_min <= lv[:, None]
        k, j = np.nonzero(below[:, 1:] != below[:, :-1])
        for name, value in (("lo", xa[j]), ("hi", xa[j + 1]), ("target", chi2_min + lv[k]),
                            ("problem", np.full(k.size, p)), ("level", k)):
            brackets[name].append(value)
        merged.append((float(xa[ibest]), chi2_min, below))
    b = {name: np.concatenate(parts) for name, parts in brackets.items()}
    roots = np.empty(0)
    if b["level"].size:
        roots = elementwise.find_root(
            lambda t, target, p: np.asarray(chi2(t, p), dtype=float) - target,
            (b["lo"], b["hi"]),
            args=(b["target"], b["problem"]),
            tolerances={"xatol": xtol, "xrtol": 0.0},
        ).x

    results = []
    for p, (best_x, chi2_min, below) in enumerate(merged):
        intervals: dict[float, list[list[float]]] = {}
        for n, level in enumerate(lv):
            inner = roots[(b["problem"] == p) & (b["level"] == n)]
            ends = np.concatenate([[lo] if below[n, 0] else [], inner, [hi] if below[n, -1] else []])
            intervals[float(level)] = ends.reshape(-1, 2).tolist()
        results.append(ProfileResult(x=x, chi2=f[p], best_x=best_x, chi2_min=chi2_min,
                                     delta_chi2=f[p] - chi2_min, intervals=intervals))
    return results


def intervals_to_text(pieces: Sequence[Sequence[float]], digits: int = 2) -> str:
    """Format interval pieces as ``"[a, b] U [c, d]"``; the empty set is ``"none"``."""
    if not len(pieces):
        return "none"
    return " U ".join(f"[{a:.{digits}f}, {b:.{digits}f}]" for a, b in pieces)


def _minimize_2d(
    chi2_2d: Chi2Fn2D, start: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, float]:
    """Bounded L-BFGS-B from ``start``; value and gradient in one batched call."""
    offsets = np.vstack([np.zeros(2), np.eye(2), -np.eye(2)]) * 1e-6 * (upper - lower)

    def value_and_grad(p: np.ndarray) -> tuple[float, np.ndarray]:
        pts = np.clip(p + offsets, lower, upper)
        v = np.asarray(chi2_2d(pts[:, 0], pts[:, 1]), dtype=float)
        return float(v[0]), (v[1:3] - v[3:5]) / np.diag(pts[1:3] - pts[3:5])

    res = minimize(
        value_and_grad,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(lower, upper, strict=True)),
        options={"ftol": 1e-15, "gtol": 1e-10},
    )
    return res.x, float(res.fun)


def _refine_vertices(
    chi2_2d: Chi2Fn2D, x: np.ndarray, y: np.ndarray, vertices: np.ndarray, target: float
) -> np.ndarray:
    """Move contour vertices along their grid edge onto ``chi2_2d == target``."""
    fx = (vertices[:, 0] - x[0]) / (x[1] - x[0])
    fy = (vertices[:, 1] - y[0]) / (y[1] - y[0])
    # each vertex lies on a vertical (x = const) or a horizontal (y = const) cell edge
    vertical = np.abs(fx - np.round(fx)) <= np.abs(fy - np.round(fy))
    col = np.where(vertical, np.round(fx), np.clip(np.floor(fx), 0, x.size - 2))
    row = np.where(vertical, np.clip(np.floor(fy), 0, y.size - 2), np.round(fy))
    col, row = col.astype(int), row.astype(int)
    x0, y0 = x[col], y[row]
    x1 = np.where(vertical, x0, x[np.minimum(col + 1, x.size - 1)])
    y1 = np.where(vertical, y[np.minimum(row + 1, y.size - 1)], y0)

    def along_edge(t, ax, ay, bx, by):
        return np.asarray(chi2_2d(ax + t * (bx - ax), ay + t * (by - ay))) - target

    res = elementwise.find_root(
        along_edge,
        (np.zeros(col.size), np.ones(col.size)),
        args=(x0, y0, x1, y1),
        tolerances={"xatol": 1e-10, "xrtol": 0.0},
    )
    t = np.where(res.success, res.x, np.where(vertical, fy - row, fx - col))
    return np.column_stack([x0 + t * (x1 - x0), y0 + t * (y1 - y0)])


def contour_lines(
    chi2_2d: Chi2Fn2D,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    points: int,
    level: float,
    refine: bool = True,
) -> ContourResult:
    """Iso-lines ``delta_chi2 = level`` of a 2-D chi-square on a square grid.

    Parameters
    ----------
    chi2_2d : callable
        Vectorized: two equal-shape arrays (x, y) -> chi-square array.
    x_range, y_range : tuple of float
        Box of the scan.
    points : int
        Grid points per axis.
    level : float
        Delta chi-square level (e.g. 2.30 / 6.18 for 1 / 2 sigma in 2-D).
    refine : bool
        Move each vertex onto the true level set by a vectorized root find
        along the grid edge it lies on (otherwise: linear interpolation).

    Returns
    -------
    ContourResult

    Notes
    -----
    Delta chi-square is taken against the smaller of the grid minimum and a
    bounded L-BFGS-B minimization started from the best grid point. Lines are
    extracted with ``contourpy`` (serial algorithm, no triangulation), whose
    vertices lie on cell edges, so the refinement is a 1-D bracketed root find.
    """
    x = np.linspace(*x_range, points)
    y = np.linspace(*y_range, points)
    gx, gy = np.meshgrid(x, y)
    z = np.asarray(chi2_2d(gx.ravel(), gy.ravel()), dtype=float).reshape(gx.shape)
    jy, ix = np.unravel_index(int(np.argmin(z)), z.shape)
    lower, upper = np.array([x_range, y_range], dtype=float).T
    grid_best = np.array([x[ix], y[jy]])
    best_xy, chi2_min = _minimize_2d(chi2_2d, grid_best, lower, upper)
    if z[jy, ix] < chi2_min:
        best_xy, chi2_min = grid_best, float(z[jy, ix])
    dz = z - chi2_min
    gen = contourpy.contour_generator(
        x, y, dz, name="serial", line_type=contourpy.LineType.Separate
    )
    lines = [np.asarray(line, dtype=float) for line in gen.lines(level)]
    if refine and lines:
        moved = _refine_vertices(chi2_2d, x, y, np.concatenate(lines), chi2_min + level)
        lines = np.split(moved, np.cumsum([len(line) for line in lines])[:-1])
    return ContourResult(
        lines=lines,
        x=x,
        y=y,
        delta_chi2_grid=dz,
        best_xy=best_xy,
        chi2_min=chi2_min,
        level=float(level),
    )
