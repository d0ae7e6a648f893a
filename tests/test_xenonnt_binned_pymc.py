"""The PyMC model with XENONnT's binned likelihood, and the energy-compressed efficiency grid it folds with, against
calculations written here: scipy's Poisson and truncated-normal log densities with the uncompressed fold, and a
direct numpy fold of the full grid."""

import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import stats

from bayes_nsi.experiments import xenonnt_release as xr
from bayes_nsi.experiments.registry import BINNED
from bayes_nsi.inference import binned as bn
from bayes_nsi.inference.binned_fit import SignalFolder, binned_model_of, one_thread
from bayes_nsi.inference.binned_kernel import compress_energy
from bayes_nsi.inference.binned_pymc import build_binned_pymc_model
from bayes_nsi.inference.priors import Prior

SNO, B16 = 5.25, 5.46  # 8B flux, 1e6 cm^-2 s^-1: the rate constraint's and the physics graph's


def test_compressed_grid_folds_like_the_full_grid():
    """fold(spectrum C, C^T eff) against the full fold, for spectra unlike the SM one, at every anchor; the
    tolerance is the measured 1.1e-3 of the largest template value (the noise floor of the grid)."""
    eff = np.stack([xr.mono_efficiency(r) for r in xr.RUNS])
    with one_thread():
        reduced = compress_energy(eff)
    assert reduced.basis.shape == (46, 12)
    np.testing.assert_allclose(reduced.basis.T @ reduced.basis, np.eye(12), atol=1e-12)
    energy = xr.ENERGY_KEV
    for spectrum in (np.exp(-1.7 * energy), np.exp(-0.6 * energy), np.exp(-((energy - 2.0) ** 2))):
        full = np.einsum("g,rijgb->rijb", spectrum, eff)
        approx = np.einsum("l,rijlb->rijb", spectrum @ reduced.basis, reduced.efficiency)
        assert np.abs(approx - full).max() < 1.5e-3 * full.max()
        np.testing.assert_allclose(approx.sum(-1), full.sum(-1), rtol=1.5e-3)
    with pytest.raises(ValueError, match="rank: need 1..46"):
        compress_energy(eff, 47)


def _transformed(model, point):
    """Values of the model's (transformed) value variables for a point given in the variables' own units."""
    out = {}
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        transform = model.rvs_to_transforms.get(rv)
        x = pt.as_tensor(np.float64(point[rv.name]))
        out[value.name] = (transform.forward(x, *rv.owner.inputs) if transform else x).eval()
    return out


def test_pymc_log_density_against_scipy():
    dataset = BINNED["xenonnt_sr01"]
    post = build_binned_pymc_model([dataset], {"ee_u": Prior.uniform(-1.0, 1.0)}, "paper")
    point = {"ee_u": 0.2, "b8_rate_multiplier": 1.04, "signal_efficiency": 0.9, "ac_sr0_rate_multiplier": 1.05,
             "ac_sr1_rate_multiplier": 0.97, "er_rate_multiplier": 1.3, "nr_rate_multiplier": 0.8, "t_ly": 0.4,
             "t_qy": -0.7}
    assert set(post.nuisances) | {"ee_u"} == set(point) and post.observed == ("counts_xenonnt_sr01",)
    logp = post.model.compile_logp(jacobian=False)(_transformed(post.model, point))

    inputs = dataset.binned.inputs(False)
    model = binned_model_of(inputs)
    eps = np.zeros((1, 12))
    eps[0, 0] = point["ee_u"]
    signal = SignalFolder.build(dataset, inputs, "paper").templates(eps)[0] * SNO / B16  # full grid, numpy
    mu = bn.expected_counts(model, signal, {n: point[n] for n in model.parameter_names})
    reference = stats.poisson.logpmf(model.observed, mu).sum() + stats.uniform.logpdf(0.2, -1.0, 2.0)
    for n in model.nuisances:
        lo, hi = n.bounds
        reference += stats.truncnorm.logpdf(point[n.name], (lo - n.nominal) / n.sigma, (hi - n.nominal) / n.sigma,
                                            n.nominal, n.sigma)
    print(f"\nlog density: PyMC (compressed grid) {logp:.6f}, scipy (full grid) {reference:.6f}")
    assert logp == pytest.approx(reference, abs=2e-3)
