"""Feldman-Cousins intervals: Neyman construction with likelihood-ratio ordering (PRD 57, 3873 (1998)).

For each theta on a grid, toys x ~ model(theta) give the ordering statistic
t(x; theta) = -2 ln[L(x|theta) / L(x|theta_best)] = chi^2(x; theta) - min_[lo,hi] chi^2(x; .),
theta_best restricted to the physical range (FC eq. 4.1 for the bounded Gaussian). Accepting the
x with the largest likelihood ratio until the probability reaches CL is accepting t <= c_CL(theta),
with c_CL the CL quantile of t under theta (the "inverted CDF" quantile of the toys: the smallest toy
value with at least CL of the toys at or below it). The confidence set for observed x0 is
{theta : t(x0; theta) <= c_CL(theta)} (the belt read vertically), possibly several pieces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bayes_nsi.inference.studies.describe import describe
from bayes_nsi.inference.studies.engine import Study
from bayes_nsi.inference.studies.models import OneParameterModel, delta_chi2_at
from bayes_nsi.inference.studies.worker import Recipe, built

SIGMA_CLS = (0.682689492137086, 0.954499736103642)  # 1 and 2 sigma: 2 Phi(n) - 1


@dataclass(frozen=True)
class BeltTask:
    """Task i -> (model, grid point): critical values c_CL(theta) of the ordering statistic from n_toys toys."""

    models: tuple[tuple[str, Recipe], ...]
    grids: tuple[tuple[float, ...], ...]
    n_toys: int
    cls: tuple[float, ...]

    def locate(self, index: int) -> tuple[int, int]:
        for m, grid in enumerate(self.grids):
            if index < len(grid):
                return m, index
            index -= len(grid)
        raise IndexError(index)

    def __call__(self, index: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        m, k = self.locate(index)
        model = built(self.models[m][1])
        theta = self.grids[m][k]
        t, _ = delta_chi2_at(model, model.simulate(theta, self.n_toys, rng), theta)
        return {"critical": np.quantile(t, self.cls, method="inverted_cdf")}


def feldman_cousins_study(models: Mapping[str, Recipe], grids: Mapping[str, Sequence[float]], n_toys: int, *,
                          cls: Sequence[float] = SIGMA_CLS, seed: int = 0) -> Study:
    """Confidence belts of every model on its theta grid (one task per grid point, n_toys toys each)."""
    if not models or set(models) != set(grids):
        raise ValueError(f"grids: need one grid per model ({', '.join(models)}), got {', '.join(grids)}")
    if not isinstance(n_toys, int) or n_toys < 1:
        raise ValueError(f"n_toys: {n_toys!r} must be an integer >= 1")
    if not cls or any(not 0 < c < 1 for c in cls):
        raise ValueError(f"cls: {tuple(cls)} must be confidence levels in (0, 1)")
    ordered = tuple(tuple(float(t) for t in grids[name]) for name in models)
    for name, grid in zip(models, ordered, strict=True):
        if len(grid) < 2 or np.any(np.diff(grid) <= 0):
            raise ValueError(f"grids.{name}: need at least 2 increasing values")
    task = BeltTask(tuple(models.items()), ordered, n_toys, tuple(float(c) for c in cls))
    spec = {"models": {name: describe(r) for name, r in models.items()},
            "grids": {name: list(g) for name, g in zip(models, ordered, strict=True)},
            "n_toys": n_toys, "cls": list(task.cls)}
    return Study("feldman_cousins", spec, sum(len(g) for g in ordered), seed, task)


@dataclass(frozen=True)
class Belt:
    """Critical values c_CL(theta) on the construction grid of one model."""

    theta: np.ndarray  # (n_theta,)
    cls: tuple[float, ...]
    critical: np.ndarray  # (n_theta, n_cls)
    n_toys: int


def belts(study: Study, results: Sequence[Mapping[str, np.ndarray]]) -> dict[str, Belt]:
    """{model name: Belt} from the task results in key order (:meth:`StudyRun.results`)."""
    task: BeltTask = study.task
    if len(results) != study.n_tasks:
        raise ValueError(f"results: expected {study.n_tasks} task results, got {len(results)}")
    critical = np.array([r["critical"] for r in results])
    out, start = {}, 0
    for (name, _), grid in zip(task.models, task.grids, strict=True):
        out[name] = Belt(np.array(grid), task.cls, critical[start:start + len(grid)], task.n_toys)
        start += len(grid)
    return out


def fc_intervals(model: OneParameterModel, belt: Belt, observed: np.ndarray) -> dict[float, list[list[float]]]:
    """{CL: pieces [[lo, hi], ...]} of {theta : t(x0; theta) <= c_CL(theta)} for observed data x0 (n_obs,).

    t and c are linear-interpolated between grid points to place the end points; a piece reaching
    the end of the grid ends there.
    """
    x0 = np.asarray(observed, float).reshape(1, -1)
    theta = belt.theta
    at = model.chi2(np.repeat(x0, len(theta), axis=0), theta)
    _, chi2_min = model.fit(x0)
    t_obs = at - min(float(chi2_min[0]), float(at.min()))
    return {cl: _pieces(theta, t_obs - belt.critical[:, j]) for j, cl in enumerate(belt.cls)}


def _pieces(theta: np.ndarray, d: np.ndarray) -> list[list[float]]:
    """Pieces of {d <= 0} with end points at the linear-interpolated sign changes of d."""
    inside = d <= 0
    pieces, k = [], 0
    while k < len(theta):
        if not inside[k]:
            k += 1
            continue
        j = k
        while j + 1 < len(theta) and inside[j + 1]:
            j += 1
        lo = theta[k] if k == 0 else _root(theta[k - 1], theta[k], d[k - 1], d[k])
        hi = theta[j] if j == len(theta) - 1 else _root(theta[j], theta[j + 1], d[j], d[j + 1])
        pieces.append([float(lo), float(hi)])
        k = j + 1
    return pieces


def _root(x0: float, x1: float, d0: float, d1: float) -> float:
    return x0 + (x1 - x0) * d0 / (d0 - d1)
