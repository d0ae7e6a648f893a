"""Distributed studies: engine faults and resumption, and the statistics against closed forms.

The tasks and models live in tests/study_tasks.py (a light module that dask workers import).
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from bayes_nsi.inference.studies.coverage import ONE_SIGMA, clopper_pearson, coverage_study, coverage_tables
from bayes_nsi.inference.studies.engine import Study, run_study
from bayes_nsi.inference.studies.feldman_cousins import belts, fc_intervals, feldman_cousins_study
from bayes_nsi.inference.studies.models import GaussianChi2, GaussianMean
from bayes_nsi.inference.studies.pit_ecdf import sbc_datatree, sbc_summary
from bayes_nsi.inference.studies.sbc import sbc_ranks, sbc_study
from bayes_nsi.inference.studies.store import task_seed
from study_tasks import CompiledLine, LinearEvents, Logged, NormalNormal, Parabola

TESTS = Path(__file__).resolve().parent


def executions(log_dir: Path) -> dict[int, int]:
    out: dict[int, int] = {}
    for p in log_dir.glob("[0-9]*-*"):
        i = int(p.name.split("-")[0])
        out[i] = out.get(i, 0) + 1
    return out


def same_results(a, b) -> bool:
    return len(a) == len(b) and all(x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
                                    for x, y in zip(a, b, strict=True))


# -- engine ---------------------------------------------------------------------------------------


def test_two_workers_and_serial_give_identical_results(tmp_path):
    """Same files whatever the path; each worker compiles once, in its own compile directory."""
    serial_log, dask_log = tmp_path / "serial-builds", tmp_path / "dask-builds"
    serial_log.mkdir(), dask_log.mkdir()
    models = {"line": CompiledLine(str(serial_log))}
    serial = run_study(coverage_study(models, [-1.0, 0.5], 300, toys_per_task=50, seed=11), tmp_path / "serial",
                       serial=True, progress=False)
    models = {"line": CompiledLine(str(dask_log))}
    study = coverage_study(models, [-1.0, 0.5], 300, toys_per_task=50, seed=11)
    # workers compile under the repository's (ignored) cache, so a second test run starts warm
    compile_root = Path(__file__).resolve().parents[1] / ".pytensor" / "dask-workers"
    run = run_study(study, tmp_path / "dask", workers=2, compile_root=str(compile_root), progress=False)
    assert run.complete and serial.complete and run.workers == 2 and len(run.computed) == 12
    assert same_results(serial.results(), run.results())

    builds = [p.read_text() for p in dask_log.iterdir()]
    pids = [p.name.split("-")[0] for p in dask_log.iterdir()]
    assert len(pids) == len(set(pids)) <= 2  # one build per worker process
    dirs = {Path(d).parent for d in builds}  # compiledir = <base_compiledir>/compiledir_<platform>
    assert len(dirs) == len(builds)
    assert all(d.parent == compile_root and d.name.startswith("worker-") for d in dirs)


def test_killed_worker_and_failing_task(tmp_path):
    """A worker dying mid-task loses and duplicates nothing; a task failing twice is reported by its key."""
    log = tmp_path / "log"
    log.mkdir()
    study = Study("toy", {"case": "kill"}, 8, 5, Logged(str(log), kill=3, fail=6, sleep=0.1))
    run = run_study(study, tmp_path / "root", workers=2, progress=False)

    assert list(run.failed) == [study.keys[6].name] and "always fails" in run.failed[study.keys[6].name]
    assert set(run.computed) == set(range(8)) - {6}
    files = sorted(p.name for p in (run.folder / "tasks").iterdir())
    assert files == sorted(study.keys[i].filename for i in range(8) if i != 6)  # no temp file, no duplicate
    counts = executions(log)
    assert counts[3] == 2 and counts[6] == 2  # killed once then rerun; failed, retried once
    assert all(counts[i] == 1 for i in set(range(8)) - {3, 6})

    expected = [np.random.default_rng(task_seed(5, i)).standard_normal(3) for i in range(8) if i != 6]
    got = [np.load(run.folder / "tasks" / study.keys[i].filename)["value"] for i in range(8) if i != 6]
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))


RESUME = """
import sys
sys.path.insert(0, {tests!r})
from study_tasks import Logged
from bayes_nsi.inference.studies.engine import Study, run_study
run_study(Study("toy", {{"case": "resume"}}, 10, 7, Logged({log!r}, sleep=0.1)), {root!r}, serial=True,
          progress=False)
"""


def test_interrupted_study_resumes_without_recomputing(tmp_path):
    log, root = tmp_path / "log", tmp_path / "root"
    log.mkdir()
    study = Study("toy", {"case": "resume"}, 10, 7, Logged(str(log), sleep=0.1))
    tasks = study.folder(root) / "tasks"
    proc = subprocess.Popen([sys.executable, "-c", RESUME.format(tests=str(TESTS), log=str(log), root=str(root))])
    deadline = time.monotonic() + 60
    while not (tasks.exists() and len(list(tasks.glob("task-*.npz"))) >= 3) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name for p in tasks.glob("task-*.npz")}
    assert 3 <= len(before) < 10

    run = run_study(study, root, serial=True, progress=False)
    done_before = {k.index for k in study.keys if k.filename in before}
    assert run.complete and set(run.reused) == done_before and set(run.computed) == set(range(10)) - done_before
    counts = executions(log)
    assert all(counts[i] == 1 for i in done_before)  # finished tasks were not recomputed
    assert sorted(counts) == list(range(10))
    fresh = run_study(study, tmp_path / "fresh", serial=True, progress=False)
    assert same_results(run.results(), fresh.results())


def test_bad_inputs_name_the_field(tmp_path):
    with pytest.raises(ValueError, match="n_toys"):
        coverage_study({"g": GaussianMean()}, [0.0], 0)
    with pytest.raises(ValueError, match="workers"):
        run_study(coverage_study({"g": GaussianMean()}, [0.0], 10), tmp_path, workers=0)
    with pytest.raises(ValueError, match="grids"):
        feldman_cousins_study({"g": GaussianMean()}, {"h": [0.0, 1.0]}, 10)
    with pytest.raises(ValueError, match="lo, hi"):
        GaussianMean(lo=1.0, hi=0.0)


# -- fit ------------------------------------------------------------------------------------------


def test_grid_fit_finds_the_global_minimum_of_a_bimodal_chi2():
    model = GaussianChi2(Parabola(), (0.5,), (0,), -1.0, 1.0, 41)
    x = np.linspace(-0.5, 1.2, 57)[:, None]
    theta_hat, chi2_min = model.fit(x)
    vertex = -0.15
    # closed form: chi^2 = 0 at a root of theta^2 + 0.3 theta = x when that root lies in [-1, 1];
    # otherwise the minimum is at the vertex (x below it) or at an end of the range
    half_width = np.sqrt(np.maximum(x[:, 0] + 0.0225, 0))
    roots = np.stack([vertex - half_width, vertex + half_width])
    candidates = np.concatenate([roots, np.full((1, len(x)), vertex), np.full((1, len(x)), -1.0), np.ones((1, len(x)))])
    candidates = np.clip(candidates, -1.0, 1.0)
    exact = np.min(((x[:, 0] - (candidates**2 + 0.3 * candidates)) / 0.5) ** 2, axis=0)
    assert np.allclose(chi2_min, exact, rtol=0, atol=1e-12)
    assert np.allclose(model.chi2(x, theta_hat), chi2_min, rtol=0, atol=1e-15)


# -- coverage -------------------------------------------------------------------------------------


def test_linear_gaussian_coverage_is_the_chi2_one_probability(tmp_path):
    """Linear model, wide range: Delta chi^2(theta_true) ~ chi^2_1, so the 1 and 4 intervals cover 68.27, 95.45 %."""
    model = GaussianChi2(LinearEvents(), (1.0, 0.5), (0, 1), -5.0, 5.0, 201)
    study = coverage_study({"line": model}, [-1.0, 0.0, 0.7], 2000, toys_per_task=500, seed=3)
    run = run_study(study, tmp_path, serial=True, progress=False)
    results = run.results()
    cov = coverage_tables(study, results)["line"]
    expected = np.array([ONE_SIGMA, 2 * norm.cdf(2) - 1])
    binomial = np.sqrt(expected * (1 - expected) / 2000)
    assert np.all(np.abs(cov.fraction - expected) < 3.5 * binomial)
    # toy by toy, against weighted least squares on the same pseudo-data (task i: true value i // 4,
    # x = a + b theta + sigma * N(0, 1) from the task's seed): theta_hat = sum(w b (x - a)) / sum(w b^2),
    # Delta chi^2 = (theta_hat - theta_true)^2 sum(w b^2), w = 1 / sigma^2
    a, b, w = np.array([10.0, 5.0]), np.array([4.0, -2.0]), np.array([1.0, 4.0])
    for i, r in enumerate(results):
        truth = [-1.0, 0.0, 0.7][i // 4]
        x = a + b * truth + np.array([1.0, 0.5]) * np.random.default_rng(task_seed(3, i)).standard_normal((500, 2))
        theta_hat = (w * b * (x - a)).sum(1) / (w * b * b).sum()
        assert np.allclose(r["theta_hat"], theta_hat, rtol=0, atol=1e-7)
        assert np.allclose(r["delta_chi2"], (theta_hat - truth) ** 2 * (w * b * b).sum(), rtol=0, atol=1e-10)


def test_clopper_pearson_matches_the_beta_quantiles():
    # k = 7 of n = 20 at 95 %: the exact interval is (Beta(7, 14).ppf(.025), Beta(8, 13).ppf(.975))
    from scipy.stats import beta

    lo, hi = clopper_pearson(np.array([0, 7, 20]), np.array([20, 20, 20]), 0.95)
    assert np.allclose(lo, [0.0, beta.ppf(0.025, 7, 14), beta.ppf(0.025, 20, 1)], rtol=1e-12)
    assert np.allclose(hi, [beta.ppf(0.975, 1, 20), beta.ppf(0.975, 8, 13), 1.0], rtol=1e-12)


# -- Feldman-Cousins ------------------------------------------------------------------------------


def exact_acceptance(mu: float, cl: float) -> tuple[float, float]:
    """FC acceptance region [x1, x2] for the Gaussian bounded at 0 (sigma = 1), without toys.

    t(x; mu) = (x - mu)^2 for x >= 0 and mu^2 - 2 x mu for x < 0 (FC eq. 4.1-4.2); {t <= c} is
    [x1, x2] with x2 = mu + sqrt(c) and x1 = mu - sqrt(c) or (mu^2 - c) / (2 mu) if that is negative;
    c solves Phi(x2 - mu) - Phi(x1 - mu) = cl.
    """

    def region(c: float) -> tuple[float, float]:
        if mu == 0:
            return -np.inf, np.sqrt(c)
        return (mu - np.sqrt(c) if c < mu * mu else (mu * mu - c) / (2 * mu)), mu + np.sqrt(c)

    c = brentq(lambda c: norm.cdf(region(c)[1] - mu) - norm.cdf(region(c)[0] - mu) - cl, 1e-12, 100.0, xtol=1e-14)
    return region(c)


def exact_interval(x0: float, cl: float) -> tuple[float, float]:
    upper = brentq(lambda m: exact_acceptance(m, cl)[0] - x0, 1e-9, 20.0, xtol=1e-12)
    if exact_acceptance(0.0, cl)[1] >= x0:
        return 0.0, upper
    return brentq(lambda m: exact_acceptance(m, cl)[1] - x0, 0.0, 20.0, xtol=1e-12), upper


def test_exact_belt_reproduces_feldman_cousins_table_x():
    # FC 1998 Table X, x0 = 2.6 at 90 % C.L.: [1.02, 4.24] (printed to 0.01)
    lo, hi = exact_interval(2.6, 0.90)
    assert abs(lo - 1.02) <= 0.005 and abs(hi - 4.24) <= 0.005
    # closed forms: for x0 >= 0 the upper limit is x0 + z with Phi(z) = (1 + cl)/2 (the belt is central
    # there); the lower limit leaves 0 at x0 = Phi^-1(cl) (the acceptance region of mu = 0 is x <= that)
    for cl in (0.6827, 0.90, 0.95):
        z = norm.ppf((1 + cl) / 2)
        assert exact_interval(0.0, cl)[1] == pytest.approx(z, abs=1e-9)
        assert exact_interval(3.0, cl)[1] == pytest.approx(3.0 + z, abs=1e-9)
        assert exact_acceptance(0.0, cl)[1] == pytest.approx(norm.ppf(cl), abs=1e-9)


def test_toy_feldman_cousins_matches_the_exact_belt(tmp_path):
    """Bounded Gaussian, 1e5 toys per grid point: end points within 0.03 of the exact construction.

    With n toys, the CL quantile of t has standard error sqrt(cl (1 - cl) / n) / pdf(c); an end point
    moves by that over dt/dmu = 2 sqrt(c): 0.003, 0.006, 0.006 at 68.27, 90, 95 % for n = 1e5 (t ~ chi^2_1
    in the two-sided part of the belt). 0.03 is five standard errors at 95 %; linear interpolation
    between grid points 0.04 apart adds < 0.002.
    """
    model = GaussianMean(1.0, 0.0, 10.0)
    cls = (0.6827, 0.90, 0.95)
    grid = np.round(np.arange(0.0, 5.2001, 0.04), 10)
    study = feldman_cousins_study({"g": model}, {"g": grid}, 100_000, cls=cls, seed=1)
    belt = belts(study, run_study(study, tmp_path, serial=True, progress=False).results())["g"]
    for x0 in (-1.0, 0.0, 0.5, 1.0, 2.0, 3.0):
        intervals = fc_intervals(model, belt, np.array([x0]))
        for cl in cls:
            (piece,) = intervals[cl]
            assert np.allclose(piece, exact_interval(x0, cl), rtol=0, atol=0.03), (x0, cl, piece)


# -- SBC ------------------------------------------------------------------------------------------


def test_sbc_flags_a_too_narrow_posterior_and_passes_the_exact_one(tmp_path):
    summaries = {}
    for width in (1.0, 0.5):
        study = sbc_study(NormalNormal(width), 300, sims_per_task=100, seed=9)
        ranks, n_draws = sbc_ranks(run_study(study, tmp_path, serial=True, progress=False).results())
        assert ranks.shape == (300, 1) and n_draws == 99 and ranks.min() >= 0 and ranks.max() <= 99
        summaries[width] = sbc_summary(ranks, n_draws, ("theta",))["theta"]
        tree = sbc_datatree(ranks, n_draws, ("theta",))
        assert tree["prior_sbc"]["theta"].shape == (1, 300)
    # exact posterior: ranks uniform; half-width posterior: ranks pile up at 0 and 99 (U-shaped)
    assert summaries[1.0].inside and summaries[1.0].p_value > 0.01
    assert not summaries[0.5].inside and summaries[0.5].p_value < 1e-3
