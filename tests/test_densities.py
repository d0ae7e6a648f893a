"""The closed-form log densities (bayes_nsi.inference.densities) against scipy.stats, inside, at and outside the
supports, and the priors built on them."""

import numpy as np
import pytest
from scipy import stats

from bayes_nsi.inference import densities
from bayes_nsi.inference.priors import Prior
from bayes_nsi.inference.quadrature_grid import flux_nodes

X = np.concatenate([np.linspace(-3.0, 3.0, 121), [-1.0, 1.0, 0.3, 2.5]])


def close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert np.array_equal(np.isneginf(a), np.isneginf(b))
    np.testing.assert_allclose(a[np.isfinite(b)], b[np.isfinite(b)], rtol=1e-12, atol=1e-12)


def test_against_scipy_stats():
    close(densities.uniform_logpdf(X, -1.0, 1.0), stats.uniform.logpdf(X, -1.0, 2.0))
    close(densities.normal_logpdf(X, 0.2, 0.7), stats.norm.logpdf(X, 0.2, 0.7))
    for mu, sigma, lo, hi in ((0.1, 0.5, -1.0, 1.0), (0.0, 1.0, 0.3, 2.5), (5.25, 0.2, 0.0, np.inf),
                              (-2.0, 0.3, 0.5, 3.0)):  # the last: the whole support 8 sigma above the mean
        close(densities.truncated_normal_logpdf(X, mu, sigma, lo, hi),
              stats.truncnorm.logpdf(X, (lo - mu) / sigma, (hi - mu) / sigma, mu, sigma))
    k = np.arange(0, 60)
    for mu in (0.0, 1e-3, 3.7, 41.0):
        close(densities.poisson_logpmf(k, mu), stats.poisson.logpmf(k, mu))


@pytest.mark.parametrize("prior", [Prior.uniform(-1, 1), Prior("normal", mu=0.1, sigma=0.4),
                                   Prior("truncated_normal", lower=-0.5, upper=1.0, mu=0.2, sigma=0.3)])
def test_priors_integrate_to_one(prior):
    lo, hi = prior.support()
    lo, hi = max(lo, prior.mu - 12 * prior.sigma), min(hi, prior.mu + 12 * prior.sigma)
    x = np.linspace(lo, hi, 200001)
    assert np.trapezoid(np.exp(prior.logpdf(x)), x) == pytest.approx(1.0, abs=1e-8)


def test_flux_prior_is_the_truncated_normal():
    f, ln_p = flux_nodes("sno", 201)
    close(ln_p, stats.truncnorm.logpdf(f, -5.25 / 0.20, np.inf, 5.25, 0.20))
