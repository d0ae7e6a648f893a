"""The reproduction report: every explanation of a Table III difference is computed here from its evidence.

Independent numbers: the paper's Table III and Table II as printed (the markdown of the paper when present,
else written here), the closed-form quadratic rate R/R_SM = 1 - 2 D t + N t^2 with roots from numpy, the
identities checked on the package's eq. (18) and density-matrix charges with arbitrary weights, and the
paper's text numbers redone by hand.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bayes_nsi.app import paper_text_claims as claims
from bayes_nsi.app.paper_conventions import ConventionRates, convention_intervals, standard_conventions
from bayes_nsi.app.paper_table3 import PAPER_DIGITS, TABLE3, rounding
from bayes_nsi.app.reproduction import REPRODUCED, TOLERANCE, compare_pieces, identity_evidence, inconsistency
from bayes_nsi.app.reproduction_report import reproduction_records
from bayes_nsi.app.table3_identities import (
    Measurement,
    fit_coefficients,
    quadratic_intervals,
    sm_point_delta_chi2,
    vertex_eps,
)
from bayes_nsi.inference.observations import observations
from bayes_nsi.inference.scans import Chi2Scanner, intervals_json, profiles
from bayes_nsi.names import COUPLINGS
from bayes_nsi.physics.constants import DE_SALAS_2021, G_V_NEUTRON, G_V_PROTON, natural_xenon
from bayes_nsi.physics.density_matrix import detection_weight
from bayes_nsi.physics.detection import weak_charges_squared

XE = natural_xenon()
Q_W = XE.z * G_V_PROTON + XE.n * G_V_NEUTRON
K = {"u": XE.n + 2 * XE.z, "d": 2 * XE.n + XE.z}
# Table II (measured events, error of eq. 20) and the SM events of sec. IV, written from the paper
TABLE_II = {"paired": (3.5, 1.3, 2.4), "us2": (75.0, 28.0, 46.8), "xenonnt": (10.7, 3.95, 11.3)}
MEAS = {k: Measurement(*v) for k, v in TABLE_II.items()}
PAPER_MD = Path(__file__).resolve().parents[2] / "shared" / "paper" / "seed-paper.md"


def max_diff(a, b):
    return compare_pieces(a, b)["max_endpoint_difference"] if len(a) == len(b) else np.inf


@pytest.fixture(scope="module")
def scanner():
    obs = observations(("paired", "us2", "xenonnt"))
    return Chi2Scanner.for_data(obs, "paper", "paper")


@pytest.fixture(scope="module")
def package(scanner):
    return intervals_json(profiles(scanner, COUPLINGS, -1.0, 1.0, 801, [1.0, 4.0]), [1.0, 4.0])


@pytest.fixture(scope="module")
def conventions(scanner):
    rates = ConventionRates(scanner.model, {k: v[2] for k, v in TABLE_II.items()})
    convs = standard_conventions(scanner.model.osc, {"paired": 2.73, "xenonnt": 9.94}, ("xenonnt",))
    return {c.name: convention_intervals(rates, scanner.obs, c) for c in convs}


@pytest.fixture(scope="module")
def evidence(package):
    return identity_evidence(TABLE3, package["1sigma"], XE, MEAS)


# --- the paper's table and the identities ---------------------------------------------------------------------

@pytest.mark.skipif(not PAPER_MD.exists(), reason="the paper's markdown is not next to the repository")
def test_table3_transcription_matches_the_paper_text():
    lines = PAPER_MD.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Up-type NSI couplings"))
    rows = {"Paired": "paired", "US2": "us2", "XENONnT": "xenonnt", "Combined": "combined"}
    quark, cols, n = "u", None, 0
    for line in lines[start:start + 25]:
        quark = "d" if line.startswith("Down-type") else quark
        f = line.split("\t")
        if f[0] == "Data set":
            cols = [re.search(r"_\{([^}]*)\}", c).group(1).replace("\\", "") for c in f[1:]]
        elif f[0] in rows:
            for col, cell in zip(cols, f[1:], strict=True):
                printed = tuple((a.strip(), b.strip()) for a, b in re.findall(r"\[([^,\]]+),\s*([^\]]+)\]", cell))
                assert PAPER_DIGITS[rows[f[0]]][f"{col}_{quark}"] == printed
                n += 1
    assert n == 48


def test_rounding_is_half_the_last_printed_digit():
    assert rounding("0.0011") == pytest.approx(5e-5)
    assert rounding("-0.12") == pytest.approx(5e-3)
    assert rounding("0.080") == pytest.approx(5e-4)


def test_vertex_is_where_the_weak_charge_vanishes():
    for q in "ud":
        assert Q_W + K[q] * vertex_eps(XE, q) == pytest.approx(0.0, abs=1e-12)


def test_quadratic_intervals_and_fit_against_roots_and_a_grid():
    """quadratic_intervals vs the roots of N t^2 - 2 D t + 1 - r = 0 (numpy), fit_coefficients inverts them, and
    a dense grid of the chi^2 gives the same set."""
    eps0 = vertex_eps(XE, "u")
    for d, n, meas in ((0.33, 0.33, MEAS["xenonnt"]), (0.65, 0.65, MEAS["paired"]), (-0.09, 0.63, MEAS["paired"]),
                       (-0.5, 0.52, MEAS["us2"])):
        pieces = quadratic_intervals(d, n, meas, eps0)
        m, s = meas.value / meas.sm_events, meas.sigma / meas.sm_events
        outer = sorted(np.roots([n, -2 * d, 1 - (m + s)]).real * eps0)
        assert pieces[0][0] == pytest.approx(outer[0], abs=1e-10)
        assert pieces[-1][1] == pytest.approx(outer[1], abs=1e-10)
        x = np.linspace(-1, 1, 200001)
        t = x / eps0
        inside = np.abs(m - (1 - 2 * d * t + n * t * t)) <= s
        assert np.sum(inside) * (x[1] - x[0]) == pytest.approx(sum(b - a for a, b in pieces), abs=3e-5)
        assert fit_coefficients(pieces, meas, eps0) == pytest.approx((d, n), abs=1e-8)


def _coefficients(weight_plus, weight_minus, t):
    """(D, N) from weight(+t eps0) and weight(-t eps0): weight/Q_W^2 - 1 = -2 D t + N t^2 (closed form)."""
    plus, minus = np.asarray(weight_plus) / Q_W**2 - 1.0, np.asarray(weight_minus) / Q_W**2 - 1.0
    return (minus - plus) / (4.0 * t), (plus + minus) / (2.0 * t * t)


def _check_identities(d, n):
    pairs = ("ee", "mumu", "tautau", "emu", "etau", "mutau")
    d, n = dict(zip(pairs, d, strict=True)), dict(zip(pairs, n, strict=True))
    assert n["ee"] + n["mumu"] + n["tautau"] == pytest.approx(1.0, abs=1e-9)
    for a in ("ee", "mumu", "tautau"):
        assert d[a] == pytest.approx(n[a], abs=1e-9)
    assert n["emu"] == pytest.approx(n["ee"] + n["mumu"], abs=1e-9)
    assert n["etau"] == pytest.approx(n["ee"] + n["tautau"], abs=1e-9)
    assert n["mutau"] == pytest.approx(n["mumu"] + n["tautau"], abs=1e-9)


def test_identities_hold_for_eq18_and_the_density_matrix_with_any_weights():
    """N_ee + N_mumu + N_tautau = 1, D_aa = N_aa and N_ab = N_aa + N_bb for the package's eq. (18) charges with any
    <P_ee> and for Tr[rho A^2] with any mass-state populations: with NSI in detection only, no choice of weights
    breaks them."""
    rng = np.random.default_rng(1)
    t = 0.7
    for q in "ud":
        eps = np.zeros((12, 12))
        for i, p in enumerate(("ee", "mumu", "tautau", "emu", "etau", "mutau")):
            eps[i, COUPLINGS.index(f"{p}_{q}")] = t * vertex_eps(XE, q)
            eps[6 + i, COUPLINGS.index(f"{p}_{q}")] = -t * vertex_eps(XE, q)
        q2_e, q2_mu = (np.asarray(v.eval()) for v in weak_charges_squared(eps, XE, DE_SALAS_2021))
        for p_ee in rng.uniform(0, 1, 3):
            w = p_ee * q2_e + (1 - p_ee) * q2_mu
            _check_identities(*_coefficients(w[:6], w[6:], t))
        pops = np.repeat(rng.dirichlet(np.ones(3))[None, None, :], 12, axis=0)
        w = np.asarray(detection_weight(pops, eps, XE, DE_SALAS_2021).eval())[:, 0]
        _check_identities(*_coefficients(w[:6], w[6:], t))


# --- the package against the paper, and the evidence of each explanation ---------------------------------------

SINGLE = ("paired", "us2", "xenonnt")
EXPLAINED = {(k, f"{p}_{q}") for k in TABLE3 for p in ("ee", "mutau") for q in "ud"} | {
    ("paired", "tautau_u"), ("us2", "tautau_u"), ("xenonnt", "tautau_u")}


def test_package_convention_is_the_compiled_graph(package, conventions):
    """The numpy re-assembly of eq. (19) from the package's kernels gives the compiled graph's intervals."""
    worst = max(max_diff(package["1sigma"][k][c], conventions["package"][k][c]) for k in TABLE3 for c in COUPLINGS)
    assert worst < 1e-4


def test_every_other_entry_agrees_with_the_paper(package):
    """The 29 entries not explained below agree with the printed Table III within 0.03, same pieces."""
    others = [(k, c) for k in TABLE3 for c in COUPLINGS if (k, c) not in EXPLAINED]
    assert len(others) == 29
    for k, c in others:
        assert max_diff(TABLE3[k][c], package["1sigma"][k][c]) <= TOLERANCE, (k, c)
    for k, c in EXPLAINED:
        assert max_diff(TABLE3[k][c], package["1sigma"][k][c]) > TOLERANCE, (k, c)


def test_ee_entries_contradict_the_papers_other_entries(evidence):
    """Identities N_emu = N_ee + N_mumu, N_etau = N_ee + N_tautau, sum = 1: over the whole printed rounding the
    paper's ee entries give w_e >= 0.55 and its e-mu, e-tau, mu-mu, tau-tau entries a w_e lower by more than 0.05
    in every data set, while the package (NSI matter potential on) keeps its four estimates within 0.05."""
    for q in "ud":
        for k in SINGLE:
            ev = evidence["by_quark"][q]["datasets"][k]
            others = [v for n, v in ev["w_e_paper"].items() if n != "ee"]
            assert ev["w_e_paper"]["ee"][0] >= 0.55
            assert ev["w_e_paper"]["ee"][0] - max(v[1] for v in others) > 0.05
            pkg = ev["w_e_package"]
            assert max(abs(pkg["ee"] - v) for n, v in pkg.items() if n != "ee") < 0.05
            assert 0.3 < pkg["ee"] < 0.37  # <P_ee> c13^2 of 8B
            assert inconsistency(evidence, k, f"ee_{q}") is not None


def test_us2_ee_u_contains_the_sm_point_that_its_data_exclude(package):
    """((75 - 46.8)/28)^2 = 1.014 > 1: eps = 0 is outside every US2 1-sigma set, yet the paper's ee_u has it."""
    by_hand = ((75.0 - 46.8) / 28.0) ** 2
    assert by_hand > 1.0
    assert sm_point_delta_chi2([MEAS["us2"]]) == pytest.approx(by_hand)
    assert any(a < 0.0 < b for a, b in TABLE3["us2"]["ee_u"])
    for c in COUPLINGS:
        assert not any(a < 0.0 < b for a, b in package["1sigma"]["us2"][c]), c


def test_the_convention_that_reproduces_ee_moves_emu_and_etau_away(package, conventions):
    """Weighting the nu~_e-state NSI term by 1 - <P_ee> puts all 8 ee entries within 0.015 of the paper, but moves
    e-mu or e-tau entries, which the package's eq. (19) matches, more than 0.03 away: no single convention."""
    conv = conventions["NSI weighted by 1 - P_ee"]
    for k in TABLE3:
        for q in "ud":
            assert max_diff(TABLE3[k][f"ee_{q}"], conv[k][f"ee_{q}"]) <= REPRODUCED
    off = [(k, f"{p}_{q}") for k in TABLE3 for p in ("emu", "etau") for q in "ud"]
    assert max(max_diff(TABLE3[k][c], conv[k][c]) for k, c in off) > TOLERANCE
    assert max(max_diff(TABLE3[k][c], package["1sigma"][k][c]) for k, c in off) < 0.02


def test_mutau_entries_violate_the_sum_identity_beyond_propagation(evidence, conventions):
    """N_mutau - N_mumu - N_tautau: the paper's lies beyond the package's (eqs. 9-19 with NSI propagation) over the
    whole printed rounding, in every data set; no tried convention reproduces a mu-tau entry (mechanism unexplained)."""
    for q in "ud":
        for k in SINGLE:
            ev = evidence["by_quark"][q]["datasets"][k]
            lo, hi = ev["residuals_paper"]["mutau"]
            pkg = ev["residuals_package"]["mutau"]
            assert -0.11 < pkg < 0.0
            assert hi < pkg
    for name, ints in conventions.items():
        for k in TABLE3:
            for q in "ud":
                assert max_diff(TABLE3[k][f"mutau_{q}"], ints[k][f"mutau_{q}"]) > REPRODUCED, (name, k, q)


def test_tautau_u_paired_us2_lack_the_nsi_matter_shift(package, conventions):
    """Without NSI in propagation the package reproduces the paper's tau-tau u entries of PandaX-4T within 0.015;
    the paper's are symmetric about eps0 within rounding, the package's shifted by more than 0.02 (eqs. 12-13)."""
    conv = conventions["no NSI in propagation"]
    eps0 = vertex_eps(XE, "u")
    for k in ("paired", "us2"):
        assert max_diff(TABLE3[k]["tautau_u"], conv[k]["tautau_u"]) <= REPRODUCED
        paper, pkg = TABLE3[k]["tautau_u"], package["1sigma"][k]["tautau_u"]
        half_digits = 0.5 * (rounding(PAPER_DIGITS[k]["tautau_u"][0][0]) + rounding(PAPER_DIGITS[k]["tautau_u"][1][1]))
        assert abs(0.5 * (paper[0][0] + paper[1][1]) - eps0) <= half_digits
        assert 0.5 * (pkg[0][0] + pkg[1][1]) - eps0 > 0.02


def test_xenonnt_tautau_u_piece_count_is_a_knife_edge(scanner, package):
    """The paper's gap [0.19, 0.22] lies where the package's Delta chi^2 reaches 0.8-1.0 (a barrier just under
    the level); the paper's own d entry, tied to the u entry by identity (iv), has no gap either."""
    fn = scanner.along(["tautau_u"], "xenonnt")
    chi2_min = np.min(fn(np.linspace(-1, 1, 4001)))
    barrier = np.max(fn(np.linspace(0.19, 0.22, 301))) - chi2_min
    assert 0.8 < barrier < 1.0
    assert len(TABLE3["xenonnt"]["tautau_u"]) == 2 and len(TABLE3["xenonnt"]["tautau_d"]) == 1
    assert len(package["1sigma"]["xenonnt"]["tautau_u"]) == len(package["1sigma"]["xenonnt"]["tautau_d"]) == 1


def test_records_classify_every_entry(scanner, package, conventions, evidence):
    records = reproduction_records(scanner, package, conventions, evidence)
    json.dumps(records)
    assert len(records) == 48
    for r in records:
        assert {"level", "dataset", "coupling", "paper", "package", "max_endpoint_difference", "explanation"} <= set(r)
        assert r["status"] == "agrees" if (r["dataset"], r["coupling"]) not in EXPLAINED else r["status"] != "agrees"
    status = {(r["dataset"], r["coupling"]): r["status"] for r in records}
    explanation = {(r["dataset"], r["coupling"]): r["explanation"] for r in records}
    assert "contains eps = 0" in explanation["us2", "ee_u"]
    assert {status[k, f"{p}_{q}"] for k in TABLE3 for p in ("ee", "mutau") for q in "ud"} == {"paper inconsistent"}
    assert status["paired", "tautau_u"] == status["us2", "tautau_u"] == "convention"
    assert status["xenonnt", "tautau_u"] == "knife-edge"


# --- numbers in the paper's text ----------------------------------------------------------------------------------

def test_text_numbers_by_hand():
    z = claims.z_score_claim((10.7, 3.7, 4.2), (11.9, 4.5, 4.2))
    assert z["package"] == pytest.approx((11.9 - 10.7) / np.sqrt(3.7**2 + 4.2**2), abs=1e-3) and z["holds"]
    ranges = claims.experimental_ranges_claim({k: v[:2] for k, v in TABLE_II.items()},
                                              {"paired": (2.2, 4.8), "us2": (47.0, 103.0), "xenonnt": (6.7, 14.6)}, {})
    assert ranges["package"]["xenonnt"] == [6.75, 14.65] and ranges["holds"]
    mid = claims.midrange_claim((6.7, 14.6), (10.7, 3.95), 11.3)
    assert mid["package"]["sm_relative_to_printed_midrange"] == pytest.approx(11.3 / 10.65 - 1, abs=1e-4)
    assert claims.nucleon_coupling_claim()["package"] == pytest.approx(0.5 / (0.5 - 2 * 0.23857), abs=0.01)
    r = np.linspace(0, 0.2, 201)
    abundance = claims.quark_abundance_claim(r, np.full_like(r, 0.5), np.exp(-((r - 0.05) / 0.02) ** 2))
    assert abundance["package"]["8B_production_average"] == pytest.approx(2.5 / 2.0 - 1.0)
    measures = claims.improvement_measures([[-0.2, 0.0], [0.4, 0.6]], [[-0.1, 0.0], [0.45, 0.55]])
    assert measures["total width"] == pytest.approx(0.5) and measures["lower end |eps_min|"] == pytest.approx(0.5)
    assert measures["upper end"] == pytest.approx(1 - 0.55 / 0.6)


def test_exposure_claim_means_the_width(scanner, package):
    """x5 exposure (errors / sqrt 5): the total 1-sigma width of eps_ee^u shrinks by about 1 - 1/sqrt(5) = 55%,
    the 'about 50%' of the paper, while its lower bound moves by far less (combined)."""
    scaled = scanner.with_observations(observations(("paired", "us2", "xenonnt"), error_scale=1 / np.sqrt(5)))
    after = intervals_json(profiles(scaled, ["ee_u"], -1.0, 1.0, 801, [1.0]), [1.0])["1sigma"]
    measures = claims.improvement_measures(package["1sigma"]["combined"]["ee_u"], after["combined"]["ee_u"])
    assert measures["total width"] == pytest.approx(1 - 1 / np.sqrt(5), abs=0.05)
    assert measures["lower end |eps_min|"] < 0.4
