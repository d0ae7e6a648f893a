"""The binned XENONnT likelihood wired into the package: the 8B measurement written to ``xenonnt.json`` and the
profiled -2 ln L of the NSI scans, against calculations written in the tests.

Independent references: the SM 8B signal of ``test_xenonnt_binned`` (its own numpy CEvNS rate, not the package's
physics graph), backgrounds summed from the shipped CSV by the plain numpy reader, and fits by scipy's L-BFGS-B
on the numpy likelihood with finite-difference gradients from many yield starts (no PyTensor, no rescaling,
no warm start). Run with ``-s`` to see the numbers.
"""

import numpy as np
import pytest
from numpy_tables import read_csv
from scipy.optimize import brentq, minimize
from test_xenonnt_binned import _release_2026

from bayes_nsi.app.runners.binned import measurement_entry
from bayes_nsi.experiments.registry import BINNED
from bayes_nsi.inference import binned as bn
from bayes_nsi.inference.binned_fit import one_thread
from bayes_nsi.inference.binned_scan import BinnedScanner
from bayes_nsi.names import COUPLINGS

RUNS = {"sr01": ("sr0", "sr1"), "sr012": ("sr0", "sr1", "sr2")}
EXPOSURE = {0: 1.174398, 1: 2.342593, 2: 3.249665}  # release plot.ipynb, t*yr
STARTS = [(a, b) for a in (-1.5, 0.0, 1.5) for b in (-1.5, 0.0, 1.5)]
B16, SNO = 5.46, 5.25  # 8B flux, 1e6 cm^-2 s^-1 (Table I; Aharmim et al. 2013)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with one_thread():
        yield


def _brute_force(model, signal, fixed=None, starts=STARTS):
    """min -2 ln L over the nuisances: numpy likelihood, scipy L-BFGS-B with 2-point gradients, many starts."""
    names = model.parameter_names
    bounds = [tuple(n.bounds) for n in model.nuisances]
    for name, value in (fixed or {}).items():
        bounds[names.index(name)] = (value, value)

    def value(x):
        return float(bn.neg2_log_likelihood(model, signal, dict(zip(names, x, strict=True))))

    best = None
    for start in starts:
        x0 = np.array([n.nominal for n in model.nuisances])
        x0[[names.index("t_ly"), names.index("t_qy")]] = start
        x0 = np.clip(x0, *np.array(bounds).T)
        res = minimize(value, x0, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-8,
                                                                                "maxiter": 5000})
        best = res if best is None or res.fun < best.fun else best
    return best


def _background_from_csv(runs):
    """Nominal AC + ER + neutron (tly = tqy = 0) events from the shipped CSV, plain numpy."""
    bins, rg = read_csv("xenonnt_bins.csv"), read_csv("xenonnt_rg.csv")
    total = 0.0
    for index in runs:
        rows = bins["run"] == index
        nominal = (rg["run"] == index) & (rg["tly"] == 0) & (rg["tqy"] == 0)
        neutrons = sum(rg[f"b{b}"][nominal].sum() for b in range(81))
        total += EXPOSURE[index] * (bins["ac_per_t_yr"][rows].sum() + bins["er_per_t_yr"][rows].sum() + neutrons)
    return total


@pytest.mark.parametrize("tag", ["sr01", "sr012"])
def test_measurement_against_independent_fit(tag):
    """xenonnt.json entry (package physics, compiled likelihood, rescaled L-BFGS-B) against the test's own fit of
    the likelihood with the test's own SM rate. The SM signals differ by the two rates' 0.5 %; the fit absorbs it
    in the 8B rate, so the fitted events, significance and interval agree far better."""
    dataset = next(d for d in BINNED.values() if d.binned.tag == tag)
    entry, panel = measurement_entry(dataset, "paper")
    model, signal = _release_2026(RUNS[tag])
    best, null = _brute_force(model, signal), _brute_force(model, signal, {"b8_rate_multiplier": 0.0})
    names = model.parameter_names
    s = best.x[names.index("b8_rate_multiplier")]
    w = [bn.yield_weights(np.array(best.x[names.index(n)]), model.anchors) for n in ("t_ly", "t_qy")]
    per_unit = float((model.exposure_t_yr[:, None] * bn.interpolate_anchors(signal, *w)).sum())

    def excess(rate):
        return _brute_force(model, signal, {"b8_rate_multiplier": rate}, [tuple(best.x[-2:])]).fun - best.fun - 1.0

    lo, hi = brentq(excess, 1e-3, s, xtol=1e-6), brentq(excess, s, 5.0, xtol=1e-6)
    z = np.sqrt(null.fun - best.fun)
    sm = float((model.exposure_t_yr[:, None] * signal[:, 3, 3]).sum())
    print(f"\n{tag}: package {entry['signal_events']:.4f} [{entry['signal_events_68'][0]:.3f}, "
          f"{entry['signal_events_68'][1]:.3f}] events, {entry['significance_sigma']:.4f} sigma, SM "
          f"{entry['expected_8b_events']:.3f}, background {entry['background_events']:.3f}; test {s * per_unit:.4f} "
          f"[{lo * per_unit:.3f}, {hi * per_unit:.3f}], {z:.4f} sigma, SM {sm:.3f}")
    assert entry["background_events"] == pytest.approx(_background_from_csv(range(len(RUNS[tag]))), rel=1e-12)
    assert entry["expected_8b_events"] == pytest.approx(sm, rel=7e-3)  # measured 0.45-0.51 %
    assert entry["signal_events"] == pytest.approx(s * per_unit, rel=1e-3)
    assert entry["significance_sigma"] == pytest.approx(z, abs=2e-3)
    np.testing.assert_allclose(entry["signal_events_68"], [lo * per_unit, hi * per_unit], rtol=2e-3)
    assert entry["flux_8b"] == pytest.approx(entry["b8_rate"] * B16, rel=1e-12)
    for name in ("t_ly", "t_qy", "er_rate_multiplier", "nr_rate_multiplier"):
        assert entry["nuisances"][name] == pytest.approx(best.x[names.index(name)], abs=0.02), name
    assert entry["observed_events"] == {"sr01": 37, "sr012": 62}[tag] == panel.observed.sum()
    # the figure's best-fit expectation is the fit's: total events = its -2 ln L's mu summed
    assert panel.expected.sum() == pytest.approx(float(bn.expected_counts(
        model, signal, dict(zip(names, best.x, strict=True))).sum()), rel=2e-3)


@pytest.fixture(scope="module")
def scanner():
    return BinnedScanner.for_datasets([BINNED["xenonnt_sr01"]], "paper")


def test_profiled_chi2_against_brute_force(scanner):
    """The scanner's warm-started, rescaled fits against brute-force multi-start minimization at a few coupling
    points (a large signal among them, where every yield start matters)."""
    points = np.zeros((5, 12))
    points[1, COUPLINGS.index("ee_u")] = 0.3
    points[2, [COUPLINGS.index("mumu_u"), COUPLINGS.index("mumu_d")]] = (-0.4, 0.2)
    points[3, COUPLINGS.index("tautau_d")] = 0.6
    points[4, COUPLINGS.index("ee_u")] = -0.8  # about 20 x the SM rate
    values = scanner.chi2(points)["xenonnt_sr01"]
    term = scanner.terms[0]
    model = term.profiler.model
    templates = term.folder.templates(points) * term.flux_factor
    reference = np.array([_brute_force(model, t).fun for t in templates])
    print("\nprofiled -2 ln L, scanner - brute force:", values - reference)
    np.testing.assert_allclose(values, reference, rtol=0, atol=2e-6)
    # the SM template: the test's own rate, scaled to the SNO flux the 8B rate constraint is about
    _, independent = _release_2026(("sr0", "sr1"))
    np.testing.assert_allclose(templates[0].sum(), independent.sum() * SNO / B16, rtol=7e-3)
    # a scan along a coupling: Delta(-2 ln L) = 1 ends where brute force crosses the level
    profile = scanner.along(["ee_u"], "xenonnt_sr01")
    grid = np.linspace(-0.4, 0.8, 13)
    on_grid = profile(grid)
    best = int(np.argmin(on_grid))
    upper = brentq(lambda v: profile(np.array([v]))[0] - on_grid[best] - 1.0, grid[best], grid[-1], xtol=1e-6)
    eps = np.zeros((1, 12))
    eps[0, 0] = upper
    brute = _brute_force(model, term.folder.templates(eps)[0] * term.flux_factor).fun
    assert brute == pytest.approx(on_grid[best] + 1.0, abs=2e-6)
