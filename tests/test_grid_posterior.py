"""The quadrature engine (bayes_nsi.inference.grid_posterior), each number against an independent method:
closed-form moments of multilinear densities (scipy's nquad), adaptive quadrature (scipy's quad) of the
same likelihood at arbitrary points for the physics posteriors, closed-form Gaussian intervals, and a CLI
run in a fresh process that must not import PyMC or ArviZ."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special, stats

from bayes_nsi.inference import grid_posterior as grid
from bayes_nsi.inference import observations as data
from bayes_nsi.inference.priors import Prior, b16_flux, flux_8b_prior
from bayes_nsi.inference.scans import Chi2Scanner

REPO = Path(__file__).resolve().parents[1]
UNIFORM = Prior.uniform(-1.0, 1.0)


def gridded(fn, axes) -> grid.GridPosterior:
    mesh = np.meshgrid(*axes, indexing="ij")
    return grid.GridPosterior(tuple(f"x{k}" for k in range(len(axes))), tuple(axes), np.log(fn(*mesh)))


@pytest.mark.parametrize("fn", [lambda x, y: 1 + x + 2 * y + 3 * x * y,
                                lambda x, y, z: 0.5 + x + y * z + 2 * x * y * z])
def test_draws_of_a_multilinear_density_are_exact(fn):
    """A density that is multilinear on the whole box equals its interpolant on any grid: the draws' means and
    the mean of the product of all coordinates agree with nquad's to 4 standard errors."""
    dim = fn.__code__.co_argcount
    axes = [np.linspace(0.0, 1.0, n) for n in (3, 4, 5)[:dim]]
    x = grid.draw(gridded(fn, axes), 400_000, np.random.default_rng(7))
    norm = integrate.nquad(fn, [(0, 1)] * dim)[0]
    for k in range(dim):
        exact = integrate.nquad(lambda *v, k=k: v[k] * fn(*v), [(0, 1)] * dim)[0] / norm
        assert abs(x[:, k].mean() - exact) < 4 * x[:, k].std() / np.sqrt(len(x))
    exact = integrate.nquad(lambda *v: np.prod(v) * fn(*v), [(0, 1)] * dim)[0] / norm
    product = x.prod(axis=1)
    assert abs(product.mean() - exact) < 4 * product.std() / np.sqrt(len(x))
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_gaussian_intervals_on_a_grid():
    """HDI = ETI = mu +- sigma at 68.27 % and mu +- 2 sigma at 95.45 % for a Gaussian; median = mu; a mixture
    of two narrow, far apart Gaussians has a two-piece HDI, each piece its component's mu +- sigma."""
    x = np.linspace(-1.0, 1.0, 2001)
    mu, sigma = 0.13, 0.11
    density = stats.norm.pdf(x, mu, sigma)
    for prob, z in ((special.erf(1 / np.sqrt(2)), 1.0), (special.erf(2 / np.sqrt(2)), 2.0)):
        (lo, hi), = grid.highest_density(x, density, prob)
        assert lo == pytest.approx(mu - z * sigma, abs=2e-4) and hi == pytest.approx(mu + z * sigma, abs=2e-4)
        assert grid.equal_tailed(x, density, prob) == pytest.approx([mu - z * sigma, mu + z * sigma], abs=2e-4)
    assert grid.quantile(x, density, 0.5) == pytest.approx(mu, abs=1e-5)
    two = stats.norm.pdf(x, -0.5, 0.05) + stats.norm.pdf(x, 0.5, 0.05)
    pieces = grid.highest_density(x, two, special.erf(1 / np.sqrt(2)))
    assert np.allclose(pieces, [[-0.55, -0.45], [0.45, 0.55]], atol=2e-4)


@pytest.fixture(scope="module")
def xenonnt():
    return Chi2Scanner.for_data(data.observations(["xenonnt"]))


def likelihood(scanner, values: np.ndarray) -> np.ndarray:
    eps = np.zeros((len(values), 12))
    eps[:, 0] = values
    return np.exp(data.log_likelihood(scanner.events(eps), scanner.obs))


def test_bimodal_posterior_against_adaptive_quadrature(xenonnt):
    """ee_u from XENONnT (the bimodal posterior): the grid's quantiles equal those of quad's CDF of the same
    likelihood to 1e-3, and the empirical CDF of 16000 draws is within 4.5 binomial errors of quad's."""
    def dens(v):
        return likelihood(xenonnt, np.atleast_1d(v))[0]

    norm = integrate.quad(dens, -1, 1, limit=200, points=[0.0, 0.4])[0]
    points = np.array([-0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    cdf = np.array([integrate.quad(dens, -1, p, limit=200)[0] / norm for p in points])
    posterior = grid.grid_posterior(xenonnt, {"ee_u": UNIFORM}, None)
    x, density = grid.marginal(posterior, "ee_u")
    for p, c in zip(points, cdf, strict=True):
        assert grid.quantile(x, density, c) == pytest.approx(p, abs=1e-3)
    draws = grid.draw(posterior, 16000, np.random.default_rng(3))[:, 0]
    empirical = (draws[:, None] <= points).mean(0)
    assert np.all(np.abs(empirical - cdf) < 4.5 * np.sqrt(cdf * (1 - cdf) / draws.size))


def test_flux_nuisance_against_nested_quadrature(xenonnt):
    """ee_u with the SNO flux prior: the grid's posterior means of ee_u and the flux equal nested quad's
    (over the coupling, and the truncated-normal flux) to 1e-4 of a standard deviation of each."""
    mu, sigma = flux_8b_prior("sno")
    flux_prior = stats.truncnorm(-mu / sigma, np.inf, mu, sigma)
    b16 = b16_flux()

    def joint(f, v):
        eps = np.zeros((1, 12))
        eps[0, 0] = v
        events = xenonnt.events(eps) * f / b16
        return np.exp(data.log_likelihood(events, xenonnt.obs))[0] * flux_prior.pdf(f)

    def integral(weight):
        return integrate.nquad(lambda f, v: weight(f, v) * joint(f, v), [[mu - 10 * sigma, mu + 10 * sigma], [-1, 1]],
                               opts=[{"epsrel": 1e-7}, {"points": [0.0, 0.4], "epsrel": 1e-7}])[0]

    norm = integral(lambda f, v: 1.0)
    mean_eps = integral(lambda f, v: v) / norm
    mean_flux = integral(lambda f, v: f) / norm
    posterior = grid.grid_posterior(xenonnt, {"ee_u": UNIFORM}, "sno")
    moments = posterior.moments()
    assert moments["ee_u"][0] == pytest.approx(mean_eps, abs=1e-4 * moments["ee_u"][1])
    assert moments["flux_8b"][0] == pytest.approx(mean_flux, abs=1e-4 * moments["flux_8b"][1])
    error = grid.grid_error(posterior)
    assert error["ee_u"]["mean_change"] < 1e-4 * error["ee_u"]["sd"]


def test_quadrature_run_writes_the_posterior_without_pymc(tmp_path):
    """The shipped quadrature spec through the CLI in a fresh process: PyMC and ArviZ stay unimported, the
    DataTree has the NUTS runs' groups, the log-likelihood of each draw equals the Gaussian term at the stored
    events, and the reported intervals are those of the grid marginal."""
    out = tmp_path / "run"
    code = ("import sys; from bayes_nsi.app.cli import main; rc = main(['run', "
            f"'{REPO / 'models' / 'posterior_ee_u_xenonnt_quadrature.toml'}', '--out', '{out}', '--quiet']); "
            "print(sorted(m for m in ('pymc', 'arviz', 'nutpie') if m in sys.modules)); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    import xarray as xr

    tree = xr.open_datatree(out / "posterior.nc")
    assert {"posterior", "log_likelihood", "posterior_predictive", "observed_data"} <= set(tree.children)
    events = tree["posterior"]["events"].values[..., 0]
    assert tree["posterior"]["ee_u"].shape == (4, 4000)
    term = data.observations(["xenonnt"]).terms[0]
    assert np.allclose(tree["log_likelihood"]["signal"].values[..., 0], term.log_likelihood(events), rtol=1e-12)
    assert tree["observed_data"]["signal"].values.tolist() == [term.measured]
    intervals = json.loads((out / "credible_intervals.json").read_text())["ee_u"]
    assert len(intervals["hdi68"]) == 2  # the two modes
    draws = tree["posterior"]["ee_u"].values.ravel()
    for lo, hi in intervals["hdi68"] + [intervals["eti95"]]:
        assert lo < hi and -1 <= lo and hi <= 1
    inside = sum(((draws >= lo) & (draws <= hi)).mean() for lo, hi in intervals["hdi68"])
    assert inside == pytest.approx(special.erf(1 / np.sqrt(2)), abs=4 * np.sqrt(0.68 * 0.32 / draws.size))
    diagnostics = json.loads((out / "diagnostics.json").read_text())
    assert diagnostics["grid_nodes"] == {"ee_u": 2001}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec"]["sampler"] == {"engine": "quadrature", "draws": 4000, "chains": 4, "seed": 1}
    assert "diagnostics" not in manifest["spec"]
