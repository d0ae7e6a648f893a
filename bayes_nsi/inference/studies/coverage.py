"""Coverage of Delta chi^2 intervals, by toys under each true value of the parameter.

The interval at level L is {theta in [lo, hi] : chi^2(theta) - min_[lo,hi] chi^2 <= L}, possibly in
several pieces (the paper's convention: Delta chi^2 against the minimum over the scanned range). It
contains theta_true exactly when Delta chi^2(theta_true) <= L, so each toy needs one fit and one
evaluation, not the interval's end points. Coverage = fraction of toys with Delta chi^2(theta_true) <= L,
with a Clopper-Pearson (exact binomial) interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv

from bayes_nsi.inference.studies.describe import describe
from bayes_nsi.inference.studies.engine import Study
from bayes_nsi.inference.studies.models import delta_chi2_at
from bayes_nsi.inference.studies.worker import Recipe, built

ONE_SIGMA = 0.682689492137086  # 2 Phi(1) - 1


@dataclass(frozen=True)
class CoverageTask:
    """Task i -> (model, true value, batch of toys): Delta chi^2 at the truth and the best fit, per toy."""

    models: tuple[tuple[str, Recipe], ...]
    theta_true: tuple[float, ...]
    n_toys: int
    toys_per_task: int

    @property
    def batches(self) -> int:
        return -(-self.n_toys // self.toys_per_task)

    def locate(self, index: int) -> tuple[int, int, int]:
        """(model index, true-value index, number of toys) of task ``index``."""
        per_model = len(self.theta_true) * self.batches
        m, rest = divmod(index, per_model)
        t, b = divmod(rest, self.batches)
        return m, t, min(self.toys_per_task, self.n_toys - b * self.toys_per_task)

    def __call__(self, index: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        m, t, n = self.locate(index)
        model = built(self.models[m][1])
        theta = self.theta_true[t]
        delta, theta_hat = delta_chi2_at(model, model.simulate(theta, n, rng), theta)
        return {"delta_chi2": delta, "theta_hat": theta_hat}


def coverage_study(models: Mapping[str, Recipe], theta_true: Sequence[float], n_toys: int, *,
                   toys_per_task: int = 250, seed: int = 0) -> Study:
    """Toys of every model (e.g. one coupling and one data-set key each) at every true value.

    Task count: len(models) * len(theta_true) * ceil(n_toys / toys_per_task).
    """
    if not models:
        raise ValueError("models: need at least one model")
    if len(theta_true) == 0:
        raise ValueError("theta_true: need at least one true value")
    for name, value in (("n_toys", n_toys), ("toys_per_task", toys_per_task)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {value!r} must be an integer >= 1")
    task = CoverageTask(tuple(models.items()), tuple(float(t) for t in theta_true), n_toys, toys_per_task)
    spec = {"models": {name: describe(r) for name, r in models.items()}, "theta_true": list(task.theta_true),
            "n_toys": n_toys, "toys_per_task": toys_per_task}
    return Study("coverage", spec, len(models) * len(theta_true) * task.batches, seed, task)


def clopper_pearson(k: np.ndarray, n: np.ndarray, cl: float = ONE_SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial interval for k successes in n trials (Clopper & Pearson 1934), two-sided at ``cl``."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    a = (1.0 - cl) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(k > 0, betaincinv(k, n - k + 1, a), 0.0)
        upper = np.where(k < n, betaincinv(k + 1, n - k, 1 - a), 1.0)
    return lower, upper


@dataclass(frozen=True)
class Coverage:
    """Coverage of one model: per true value and level, the fraction covered and its CP interval."""

    theta_true: np.ndarray  # (n_true,)
    levels: tuple[float, ...]
    n_toys: int
    covered: np.ndarray  # (n_true, n_levels) toy counts
    fraction: np.ndarray  # (n_true, n_levels)
    lower: np.ndarray  # Clopper-Pearson, (n_true, n_levels)
    upper: np.ndarray

    def to_json(self) -> dict:
        return {"theta_true": self.theta_true.tolist(), "n_toys": self.n_toys,
                "levels": {f"{lv:g}": {"fraction": self.fraction[:, j].tolist(), "lower": self.lower[:, j].tolist(),
                                       "upper": self.upper[:, j].tolist()} for j, lv in enumerate(self.levels)}}


def coverage_tables(study: Study, results: Sequence[Mapping[str, np.ndarray]], levels: Sequence[float] = (1.0, 4.0),
                    cl: float = ONE_SIGMA) -> dict[str, Coverage]:
    """{model name: Coverage} from the task results in key order (:meth:`StudyRun.results`)."""
    task: CoverageTask = study.task
    if len(results) != study.n_tasks:
        raise ValueError(f"results: expected {study.n_tasks} task results, got {len(results)}")
    n_true = len(task.theta_true)
    delta = np.concatenate([r["delta_chi2"] for r in results]).reshape(len(task.models), n_true, task.n_toys)
    out = {}
    lv = np.asarray(levels, float)
    for m, (name, _) in enumerate(task.models):
        covered = np.sum(delta[m][:, :, None] <= lv, axis=1)
        lower, upper = clopper_pearson(covered, task.n_toys, cl)
        out[name] = Coverage(np.array(task.theta_true), tuple(lv.tolist()), task.n_toys, covered,
                             covered / task.n_toys, lower, upper)
    return out
