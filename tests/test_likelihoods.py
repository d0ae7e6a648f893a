"""The likelihood layer against closed forms and independent numerics (scipy quadrature and minimizers)."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, optimize, stats

from bayes_nsi.inference.likelihoods import (
    Gaussian,
    PoissonCounting,
    SplitNormal,
    poisson_counting_chi2,
    profiled_background,
)
from bayes_nsi.inference.signal_fit import fit_signal

CASES = [  # (signal, observed, background, sigma_up, sigma_down)
    (0.0, 3, 2.8, 0.5, 0.5), (5.0, 3, 2.8, 0.5, 0.5), (81.0, 332, 251.0, 32.0, 32.0), (500.0, 332, 251.0, 32.0, 32.0),
    (10.6, 37, 26.4, 1.4, 1.3), (0.0, 37, 26.4, 1.4, 1.3), (30.0, 37, 26.4, 1.4, 1.3), (2.0, 0, 1.0, 0.3, 0.6),
]


def brute_objective(b, s, n, b0, up, down):
    """2 [(s+b) - n ln(s+b)] + ((b - b0)/sigma_side)^2, written out independently."""
    mu = s + b
    side = up if b > b0 else down
    return 2.0 * (mu - n * np.log(mu)) + ((b - b0) / side) ** 2


@pytest.mark.parametrize("case", CASES)
def test_profiled_background_is_the_minimum(case):
    s, n, b0, up, down = case
    closed = float(profiled_background(np.float64(s), n, b0, up, down))
    lo = 1e-9 if s == 0 else 0.0
    numeric = optimize.minimize_scalar(brute_objective, bounds=(lo, b0 + 20 * up), args=(s, n, b0, up, down),
                                       method="bounded", options={"xatol": 1e-10}).x
    assert closed == pytest.approx(numeric, abs=1e-5 * max(1.0, b0))


def test_counting_chi2_numpy_and_pytensor_agree_and_gradient_is_finite():
    s = pt.dvector("s")
    chi2 = poisson_counting_chi2(s, 37, 26.4, 1.4, 1.3)
    fn = pytensor.function([s], [chi2, pytensor.grad(chi2.sum(), s)])
    grid = np.linspace(0.0, 40.0, 81)
    value, grad = fn(grid)
    np.testing.assert_allclose(value, poisson_counting_chi2(grid, 37, 26.4, 1.4, 1.3), rtol=1e-12, atol=1e-12)
    h = 1e-6
    fd = (poisson_counting_chi2(grid + h, 37, 26.4, 1.4, 1.3) - poisson_counting_chi2(grid - h, 37, 26.4, 1.4, 1.3)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)
    assert np.all(np.isfinite(grad))


def test_counting_marginal_likelihood_against_scipy_quad():
    t = PoissonCounting("toy", 9, 4.0, 0.8, 0.5)
    for s in (0.0, 3.0, 7.5):
        def integrand(b, s=s):
            side = 0.8 if b > 4.0 else 0.5
            return stats.poisson.pmf(9, s + b) * np.sqrt(2 / np.pi) / 1.3 * np.exp(-0.5 * ((b - 4.0) / side) ** 2)
        mass = integrate.quad(lambda b: np.sqrt(2 / np.pi) / 1.3 * np.exp(-0.5 * ((b - 4.0) / (0.8 if b > 4 else 0.5)) ** 2),
                              0, 50, points=[4.0])[0]
        exact = integrate.quad(integrand, 0, 50, points=[4.0], epsabs=0, epsrel=1e-12)[0] / mass
        assert float(t.log_likelihood(np.array(s))) == pytest.approx(np.log(exact), abs=1e-9)


def test_gaussian_and_split_normal_log_likelihoods_are_normalized_densities():
    g, sn = Gaussian("toy", 10.7, 3.95), SplitNormal("toy", 10.7, 3.7, 4.2)
    # as densities of the measurement around a fixed prediction mu, they integrate to one
    for term, attr in ((g, "measured"),):
        assert getattr(term, attr) == 10.7
    x = np.linspace(-40, 60, 200001)
    dens_g = np.exp([Gaussian("toy", v, 3.95).log_likelihood(np.array(12.0)) for v in x[::100]])
    dens_s = np.exp([SplitNormal("toy", v, 3.7, 4.2).log_likelihood(np.array(12.0)) for v in x[::100]])
    assert np.trapezoid(dens_g, x[::100]) == pytest.approx(1.0, abs=1e-6)
    assert np.trapezoid(dens_s, x[::100]) == pytest.approx(1.0, abs=1e-5)
    # the split normal uses sigma_up where the prediction is above the measurement
    assert float(sn.chi2(np.array(10.7 + 3.7))) == pytest.approx(1.0)
    assert float(sn.chi2(np.array(10.7 - 4.2))) == pytest.approx(1.0)


def test_gaussian_signal_fit_closed_form():
    """One Gaussian measurement v +- sigma of mu N: mu_hat = v/N, 68% = (v +- sigma)/N, Z = v/sigma."""
    f = fit_signal([Gaussian("toy", 3.5, 1.3)], [2.4], 8.0, 4001)
    assert f.scale == pytest.approx(3.5 / 2.4, abs=1e-7)
    assert f.scale_68[0] == pytest.approx([(3.5 - 1.3) / 2.4, (3.5 + 1.3) / 2.4], abs=1e-6)
    assert f.significance_sigma == pytest.approx(3.5 / 1.3, rel=1e-9)


def test_counting_signal_fit_best_fit_and_significance():
    """At s = n - b0 the profiled background is b0 and the derivative vanishes: s_hat = n - b0 exactly; the
    significance equals the likelihood ratio computed here by brute-force minimization over b."""
    n, b0, sb = 37, 26.4, 1.35
    f = fit_signal([PoissonCounting("toy", n, b0, sb, sb)], [11.3], 8.0, 4001)
    assert f.scale * 11.3 == pytest.approx(n - b0, abs=1e-6)

    def profile(s):
        return optimize.minimize_scalar(brute_objective, bounds=(1e-9, 80), args=(s, n, b0, sb, sb),
                                        method="bounded", options={"xatol": 1e-12}).fun
    q0 = profile(0.0) - profile(n - b0)
    assert f.significance_sigma == pytest.approx(np.sqrt(q0), rel=1e-6)
