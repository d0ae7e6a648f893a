"""Toy models of the experiments' own likelihoods for coverage and Feldman-Cousins studies (issue 16, item 3):
Poisson counting (inference.studies.models.CountingChi2) and binned templates (inference.studies.binned), each
checked against a second method written here."""

import numpy as np
import pytest
from scipy import optimize, stats

from bayes_nsi.experiments.xenonnt_release import Nuisance
from bayes_nsi.inference import binned as bn
from bayes_nsi.inference.likelihoods import split_normal_chi2
from bayes_nsi.inference.studies.binned import BinnedChi2, ToyProfiler
from bayes_nsi.inference.studies.models import CountingChi2, delta_chi2_at


def _linear(s0: float, slope: float):
    """theta -> one data set's signal events s0 + slope * theta, shape (n, 1)."""
    return lambda theta: (s0 + slope * np.asarray(theta, float))[:, None]


def _two_datasets(theta):
    theta = np.asarray(theta, float)
    return np.stack([2.4 * (1 + theta) ** 2, 46.8 * (1 - 0.5 * theta) ** 2], axis=-1)


def test_counting_chi2_is_the_numerical_profile_over_each_background():
    """The closed-form background profile of every toy row equals a bounded numerical minimum over b."""
    model = CountingChi2(_two_datasets, (3, 332), (2.8, 251.0), (0.7, 32.0), (0.4, 25.0), (0, 1), -1.0, 1.0, 41)
    rows = model.simulate(0.3, 40, np.random.default_rng(5))
    thetas = np.random.default_rng(6).uniform(-1, 1, len(rows))
    closed = model.chi2(rows, thetas)
    for row, theta, value in zip(rows, thetas, closed, strict=True):
        signal = _two_datasets(theta)
        total = 0.0
        for d in range(2):
            n, aux = row[d], row[2 + d]

            def f(b, s=signal[d], n=n, aux=aux, d=d):
                mu = s + b
                return 2 * (mu - n + (n * np.log(n / mu) if n > 0 else 0.0)) + split_normal_chi2(
                    b, aux, model.sigma_up[d], model.sigma_down[d])

            hi = max(aux, 0.0) + 20 * model.sigma_up[d] + n
            res = optimize.minimize_scalar(f, bounds=(0.0, hi), method="bounded", options={"xatol": 1e-10})
            total += min(res.fun, f(0.0))
        assert value == pytest.approx(total, abs=1e-7)


def _exact_poisson_coverage(s_true: float, b: float, mu_lo: float, mu_hi: float, level: float) -> tuple[float, float]:
    """Coverage of {theta: Delta chi^2 <= level} for n ~ Poisson(s + b), b known, mean linear in theta on [lo, hi]:
    a sum over n of the Poisson probabilities where 2[mu - n + n ln(n/mu)] at the truth, minus its minimum over
    the allowed means (at clip(n, mu_lo, mu_hi)), is <= level. Also returns the smallest |Delta chi^2 - level|."""
    mu = s_true + b
    n = np.arange(0, int(stats.poisson.ppf(1 - 1e-13, mu)) + 1)

    def dev(m):
        return 2 * (m - n + np.where(n > 0, n * np.log(np.maximum(n, 1) / m), 0.0))

    delta = dev(mu) - dev(np.clip(n, mu_lo, mu_hi))
    return float(stats.poisson.pmf(n, mu)[delta <= level].sum()), float(np.min(np.abs(delta - level)))


@pytest.mark.parametrize("theta_true", [-0.6, 0.0, 0.8])
def test_counting_coverage_matches_the_exact_poisson_sum(theta_true):
    """With a background known to 1e-7 of itself, toy coverage equals the exact sum over the counts."""
    s0, slope, b, lo, hi = 8.0, 6.0, 5.0, -1.0, 1.0
    model = CountingChi2(_linear(s0, slope), (10,), (b,), (b * 1e-7,), (b * 1e-7,), (0,), lo, hi, 201)
    rows = model.simulate(theta_true, 20000, np.random.default_rng(11))
    delta, _ = delta_chi2_at(model, rows, theta_true)
    for level in (1.0, 4.0):
        exact, margin = _exact_poisson_coverage(s0 + slope * theta_true, b, s0 + slope * lo + b, s0 + slope * hi + b,
                                                level)
        assert margin > 1e-3  # no count sits on the level, where the 1e-7 background error could flip it
        toys = float(np.mean(delta <= level))
        assert toys == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / len(rows)))


def _one_bin_binned(s0: float, slope: float, b0: float, sigma_rel: float, observed: int):
    """A binned model with one run and one bin whose signal and background do not depend on the yields: with
    the background rate multiplier m constrained by sigma_rel about an auxiliary centre c, it is the counting
    likelihood with b = b0 m and an auxiliary measurement b0 c of error b0 sigma_rel."""
    runs = ("r",)
    nuisances = (Nuisance("bkg_rate_multiplier", 1.0, sigma_rel, runs, "bkg", (0.0, 100.0), "test"),
                 Nuisance("t_ly", 0.0, 1.0, runs, None, (-3.0, 3.0), "test"),
                 Nuisance("t_qy", 0.0, 1.0, runs, None, (-3.0, 3.0), "test"))
    anchors = np.linspace(-3.0, 3.0, 7)
    model = bn.binned_model(runs, [1.0], np.array([[observed]]), {"bkg": np.array([[b0]])}, nuisances, anchors)
    nodes = np.linspace(-1.0, 1.0, 11)
    templates = (s0 + slope * nodes)[:, None, None, None, None] * np.ones((1, 1, 7, 7, 1))
    return BinnedChi2(ToyProfiler(model), nodes, templates, -1.0, 1.0, 41)


def test_binned_toys_of_one_bin_agree_with_the_counting_closed_form():
    """The binned toy fit (L-BFGS-B over every nuisance) and the counting closed form give the same Delta chi^2
    on the same pseudo-data, mapped between the two layouts."""
    s0, slope, b0, sigma_rel = 12.0, 9.0, 20.0, 0.1
    binned = _one_bin_binned(s0, slope, b0, sigma_rel, 30)
    counting = CountingChi2(_linear(s0, slope), (30,), (b0,), (b0 * sigma_rel,), (b0 * sigma_rel,), (0,), -1.0, 1.0,
                            201)
    rows = binned.simulate(0.2, 30, np.random.default_rng(3))  # (count, centre of m, centres of t_ly and t_qy)
    as_counting = np.stack([rows[:, 0], b0 * rows[:, 1]], axis=1)
    for theta in (-0.5, 0.2, 0.9):
        d_binned, hat_binned = delta_chi2_at(binned, rows, theta)
        d_counting, hat_counting = delta_chi2_at(counting, as_counting, theta)
        np.testing.assert_allclose(d_binned, d_counting, atol=2e-5)
        np.testing.assert_allclose(hat_binned, hat_counting, atol=2e-3)


@pytest.mark.slow
def test_xenonnt_binned_toy_profile_matches_the_scan_profile():
    """On the real data row, the toy profiler (counts and centres as inputs, spline templates) and the scan's
    profiler (constants, templates from the physics graph) give the same Delta(-2 ln L) along ee_u; the template
    spline is checked against the graph between its nodes."""
    from bayes_nsi.experiments.registry import BINNED
    from bayes_nsi.inference.binned_scan import BinnedScanner
    from bayes_nsi.inference.studies.binned import BinnedCoupling

    model = BinnedCoupling("ee_u", "xenonnt_sr012", points=41).build()
    scanner = BinnedScanner.for_datasets([BINNED["xenonnt_sr012"]], "paper")
    theta = np.array([-0.7, -0.31, 0.0, 0.23, 0.61])
    toy = model.chi2(np.tile(model.observed_row, (len(theta), 1)), theta)
    scan = scanner.along(["ee_u"], "xenonnt_sr012")(theta)
    np.testing.assert_allclose(toy - toy[2], scan - scan[2], atol=2e-4)

    midpoints = 0.5 * (model.theta_nodes[:-1] + model.theta_nodes[1:])[::10]
    eps = np.zeros((len(midpoints), 12))
    eps[:, 0] = midpoints
    term = scanner.terms[0]
    direct = term.folder.templates(eps) * term.flux_factor
    spline = np.stack([model.template(t) for t in midpoints])
    assert np.max(np.abs(spline - direct)) < 1e-6 * np.max(np.abs(direct))
