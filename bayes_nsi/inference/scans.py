"""The paper's frequentist analysis on the compiled, batched physics graph: chi-square (eq. 20),
one-parameter profiles with root-refined intervals (Table III, Figs. 2-3), two-parameter contours (Fig. 4).

Delta chi^2 is taken against the minimum over the scanned range (physics-notes), per data set and for
the combination chi^2_paired + chi^2_US2 + chi^2_XENONnT (sec. IV).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

import bayes_nsi.pytensor_config  # noqa: F401  (cache-independent numba code; see its docstring)
from bayes_nsi import compiled_functions
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.inference.intervals import ContourResult, ProfileResult, contour_lines, profile_scans
from bayes_nsi.inference.observations import Observations, chi2_per_dataset, combine, exposures
from bayes_nsi.names import COUPLINGS, check_coupling_names
from bayes_nsi.physics.rates import PhysicsModel, expected_events

# PyTensor's Python linker after the full rewrites (constants folded) but without elementwise fusion (a fused
# loop would run element by element in Python): nothing is compiled by numba, so a process with an empty cache
# builds a scanner in ~1.5 s instead of ~26 s (paper physics, three data sets, measured on the 2-core machine);
# a call then costs ~0.4 ms at batch 1 instead of ~0.01 ms, and about the same at batch 801 (numpy per node).
# For runs that make a few thousand calls (the paper's scans and report), not for studies of many fits.
INTERPRETED = Mode(linker="py", optimizer="fast_run").excluding("fusion")


@dataclass
class Chi2Scanner:
    """Chi-square of every data set (and their sum) as a vectorized function of the twelve couplings.

    The event graph is compiled once; each call evaluates a whole batch of coupling vectors, and
    eq. (20) is applied to the events, so observations with other errors reuse the compiled graph.
    ``interpreted``: compile with :data:`INTERPRETED` instead of the default (numba) backend.
    """

    model: PhysicsModel
    obs: Observations
    _fn: Callable[[np.ndarray], np.ndarray] | None = None
    calls: int = 0
    interpreted: bool = False

    def __post_init__(self) -> None:
        if self._fn is None:
            eps = pt.dmatrix("eps12")
            recipe = ("Chi2Scanner.events", self.model, self.interpreted)
            self._fn = compiled_functions.function(recipe, [eps], expected_events(self.model, eps),
                                                   **({"mode": INTERPRETED} if self.interpreted else {}))

    @classmethod
    def for_data(cls, obs: Observations, acceptance: str = "paper", physics: str = "paper",
                 interpreted: bool = False) -> Chi2Scanner:
        """Build the physics model for the observations' data sets and exposures, in a physics mode."""
        return cls(physics_model(obs.sources, acceptance, exposures=exposures(obs), physics=physics), obs,
                   interpreted=interpreted)

    def with_observations(self, obs: Observations) -> Chi2Scanner:
        """Same compiled graph, other measured values or errors (same data sets and exposures)."""
        if obs.datasets != self.obs.datasets or not np.array_equal(obs.exposure_tonne_year,
                                                                   self.obs.exposure_tonne_year):
            raise ValueError("with_observations: data sets and exposures must match the compiled model")
        return Chi2Scanner(self.model, obs, self._fn, interpreted=self.interpreted)

    @property
    def keys(self) -> tuple[str, ...]:
        """Data sets, plus 'combined' when there are several."""
        return self.obs.datasets + (("combined",) if len(self.obs.datasets) > 1 else ())

    def events(self, eps12: np.ndarray) -> np.ndarray:
        """Expected events (n, n_datasets) for coupling vectors (n, 12)."""
        self.calls += 1
        return self._fn(np.atleast_2d(eps12))

    def chi2(self, eps12: np.ndarray) -> dict[str, np.ndarray]:
        """chi^2 per data set and combined, each of shape (n,)."""
        return combine(chi2_per_dataset(self.events(eps12), self.obs), self.obs)

    def key_chi2(self, eps12: np.ndarray, key: str) -> np.ndarray:
        """chi^2 of one key, shape (n,), for coupling vectors (n, 12)."""
        return self.chi2(eps12)[key]

    def along(self, couplings: Sequence[str], key: str) -> Callable[..., np.ndarray]:
        """chi^2 of ``key`` as a vectorized function of the named couplings (others zero)."""
        check_coupling_names(couplings)

        def fn(*values: np.ndarray) -> np.ndarray:
            shape, eps = coupling_points(couplings, values)
            return self.key_chi2(eps, key).reshape(shape)

        return fn


def profiles(scanner: Chi2Scanner, couplings: Sequence[str], lo: float, hi: float, points: int, levels: Sequence[float],
             on_step: Callable[[], None] = lambda: None) -> dict[str, dict[str, ProfileResult]]:
    """One-parameter profiles {key: {coupling: ProfileResult}}, all other couplings zero.

    Each coupling's grid is evaluated once for all keys (``on_step`` after each); the refinements of every
    (coupling, key) profile then run together (:func:`one_coupling_profiles`), one call of ``scanner.key_chi2``
    per key and iteration.
    """
    keys = scanner.keys
    x = np.linspace(lo, hi, points)
    grids = {}
    for c in couplings:
        grids[c] = scanner.chi2(one_coupling_points([c] * points, x))
        on_step()

    def rows_chi2(eps12: np.ndarray, key_index: np.ndarray) -> np.ndarray:
        out = np.empty(len(eps12))
        for n, key in enumerate(keys):
            rows = key_index == n
            if rows.any():
                out[rows] = scanner.key_chi2(eps12[rows], key)
        return out

    return one_coupling_profiles(rows_chi2, grids, keys, lo, hi, levels)


def one_coupling_profiles(rows_chi2: Callable[[np.ndarray, np.ndarray], np.ndarray],
                          grids: Mapping[str, Mapping[str, np.ndarray]], keys: Sequence[str], lo: float, hi: float,
                          levels: Sequence[float]) -> dict[str, dict[str, ProfileResult]]:
    """Profiles {key: {coupling: ProfileResult}} of every (coupling, key), each coupling alone, refined together
    (:func:`intervals.profile_scans`).

    grids: {coupling: {key: chi^2 on np.linspace(lo, hi, points)}}; rows_chi2(eps12 (n, 12), key_index (n,)):
    chi^2 of row i's key (``keys[key_index[i]]``) at coupling vector i.
    """
    problems = [(c, k) for c in grids for k in range(len(keys))]

    def chi2(t: np.ndarray, problem: np.ndarray) -> np.ndarray:
        t, problem = np.ravel(t), np.ravel(problem)
        return rows_chi2(one_coupling_points([problems[p][0] for p in problem], t), problem % len(keys))

    grid = np.array([grids[c][keys[k]] for c, k in problems])
    out: dict[str, dict[str, ProfileResult]] = {key: {} for key in keys}
    for (c, k), result in zip(problems, profile_scans(chi2, grid, lo, hi, levels), strict=True):
        out[keys[k]][c] = result
    return out


def one_coupling_points(names: Sequence[str], values: np.ndarray) -> np.ndarray:
    """Coupling vectors (n, 12): row i has coupling ``names[i]`` at ``values[i]``, the others zero."""
    eps = np.zeros((len(values), 12))
    eps[np.arange(len(values)), [COUPLINGS.index(name) for name in names]] = values
    return eps


def _with_grid(fn: Callable[..., np.ndarray], grid: tuple[np.ndarray, ...], values: np.ndarray):
    """Serve the already-computed evaluation at ``grid`` (one array per argument) without the graph."""

    def cached(*args: np.ndarray) -> np.ndarray:
        args = tuple(np.asarray(a, float) for a in args)
        if all(a.shape == g.shape and np.array_equal(a, g) for a, g in zip(args, grid, strict=True)):
            return values
        return fn(*args)

    return cached


def contours(scanner: Chi2Scanner, x: str, y: str, x_range: Sequence[float], y_range: Sequence[float],
             points: int, level: float) -> dict[str, ContourResult]:
    """Iso-Delta-chi^2 lines at ``level`` in the (x, y) plane for every key (others zero).

    The grid is evaluated once for all keys (the same flattened mesh contour_lines asks for).
    """
    gx, gy = np.meshgrid(np.linspace(*x_range, points), np.linspace(*y_range, points))
    eps = np.zeros((gx.size, 12))
    eps[:, COUPLINGS.index(x)], eps[:, COUPLINGS.index(y)] = gx.ravel(), gy.ravel()
    grid_chi2 = scanner.chi2(eps)
    out = {}
    for key in scanner.keys:
        cached = _with_grid(scanner.along([x, y], key), (gx.ravel(), gy.ravel()), grid_chi2[key])
        out[key] = contour_lines(cached, tuple(x_range), tuple(y_range), points, level)
    return out


def intervals_json(result: dict[str, dict[str, ProfileResult]], levels: Sequence[float]) -> dict:
    """{"1sigma": {key: {coupling: [[lo, hi], ...]}}, "2sigma": ...} for levels 1 and 4 (others by value)."""
    names = {1.0: "1sigma", 4.0: "2sigma"}
    return {names.get(float(lv), f"dchi2_{lv:g}"): {key: {c: [[round(a, 6), round(b, 6)] for a, b in r.intervals[lv]]
                                                          for c, r in per_key.items()}
                                                    for key, per_key in result.items()}
            for lv in levels}


def planes_json(planes: dict[tuple[str, str], dict[str, ContourResult]]) -> list[dict]:
    """Contour planes {(x, y): {key: ContourResult}} as JSON: per plane the level, best points and iso-lines."""
    return [{"x": x, "y": y, "level": next(iter(per.values())).level,
             "best": {k: r.best_xy.round(6).tolist() for k, r in per.items()},
             "lines": {k: [line.round(6).tolist() for line in r.lines] for k, r in per.items()}}
            for (x, y), per in planes.items()]


def coupling_points(couplings: Sequence[str], values: Sequence[np.ndarray]) -> tuple[tuple[int, ...], np.ndarray]:
    """Coupling vectors (n, 12) with the named couplings at the broadcast ``values`` (others zero), and the
    broadcast shape to give the results back in."""
    check_coupling_names(couplings)
    values = np.broadcast_arrays(*(np.asarray(v, float) for v in values))
    eps = np.zeros(values[0].shape + (12,))
    for name, v in zip(couplings, values, strict=True):
        eps[..., COUPLINGS.index(name)] = v
    return values[0].shape, eps.reshape(-1, 12)
