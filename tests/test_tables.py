"""Shipped tables: reproducible from upstream, documented, strictly loaded, physically sane."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from numpy_tables import read_table

from bayes_nsi.physics import inputs

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = REPO.parent / "shared" / "data"
SHIPPED = sorted(inputs.TABLES.glob("*.csv"))
BUILT = sorted(p for p in inputs.TABLES.iterdir() if p.suffix in {".csv", ".npz", ".md"})  # all the builder writes


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_tables", REPO / "scripts" / "build_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_tables_present():
    """Packaging guard: fails when a table goes missing from the package data or an unlisted one is shipped
    (the tables' numbers are checked below and in test_xenonnt_binned.py)."""
    names = {p.name for p in SHIPPED}
    expected = {"solar_b16_gs98.csv", "fluxes_b16_gs98.csv", "acceptance_paired.csv", "acceptance_xenonnt.csv"}
    expected |= {f"spectrum_{f}.csv" for f in ("8B", "hep", "pp", "7Be", "13N", "15O", "17F")}
    expected |= {"xenonnt_binning.csv", "xenonnt_bins.csv", "xenonnt_rg.csv"}
    assert names == expected


def test_rebuild_is_byte_identical(tmp_path, capsys):
    if not UPSTREAM.is_dir():
        pytest.skip(f"upstream data folder {UPSTREAM} is absent: the tables cannot be rebuilt here")
    _load_builder().build_all(UPSTREAM, tmp_path)
    capsys.readouterr()
    rebuilt = sorted(p.name for p in tmp_path.iterdir())
    assert rebuilt == [p.name for p in BUILT]
    for shipped in BUILT:
        assert (tmp_path / shipped.name).read_bytes() == shipped.read_bytes(), f"{shipped.name} differs on rebuild"


CITATION = re.compile(r"(source|et al\.|Table I|Bahcall|Vinyoles|Winter|arXiv)", re.IGNORECASE)
YEAR_OR_ID = re.compile(r"(\((19|20)\d\d\)|arXiv:\d{4}\.\d{4,5}|doi:)")


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_header_with_source(path):
    lines = path.read_text().splitlines()
    header = []
    for ln in lines:
        if not ln.startswith("#"):
            break
        header.append(ln)
    assert header, f"{path.name}: no '#' header"
    assert all(h.startswith("# ") for h in header), f"{path.name}: header lines must start with '# '"
    assert not any(ln.startswith("#") for ln in lines[len(header):]), f"{path.name}: comment after the data"
    assert any(CITATION.search(h) and YEAR_OR_ID.search(h) for h in header), \
        f"{path.name}: no source/citation line (author or source plus year, arXiv id or doi) in the header"


def _broken_copy(tmp_path: Path, name: str, edit) -> Path:
    text = (inputs.TABLES / name).read_text().splitlines()
    (tmp_path / name).write_text("\n".join(edit(text)) + "\n")
    return tmp_path / name


def test_truncated_table_error_names_file(tmp_path):
    name = "spectrum_8B.csv"
    # cut the file in the middle of its last data line: "20,0" -> "20"
    _broken_copy(tmp_path, name, lambda t: t[:-1] + [t[-1].split(",")[0]])
    with pytest.raises(inputs.TableError, match=r"spectrum_8B\.csv.*truncated"):
        inputs.read_table(name, ("enu_mev", "pdf"), folder=tmp_path)


def test_table_cut_after_header_error_names_file(tmp_path):
    name = "acceptance_paired.csv"
    _broken_copy(tmp_path, name, lambda t: [ln for ln in t if ln.startswith("#")] + ["er_kev,efficiency"])
    with pytest.raises(inputs.TableError, match=r"acceptance_paired\.csv"):
        inputs.read_table(name, ("er_kev", "efficiency"), folder=tmp_path)


def test_malformed_number_error_names_file_and_line(tmp_path):
    name = "spectrum_hep.csv"
    lines = (inputs.TABLES / name).read_text().splitlines()
    first_data = next(i for i, ln in enumerate(lines) if not ln.startswith("#")) + 1  # after the column line
    bad = lines[first_data].split(",")[0] + ",1.2.3e-4"
    _broken_copy(tmp_path, name, lambda t: t[:first_data] + [bad] + t[first_data + 1:])
    with pytest.raises(inputs.TableError, match=r"spectrum_hep\.csv.*line 2.*1\.2\.3e-4"):
        inputs.read_table(name, ("enu_mev", "pdf"), folder=tmp_path)


def test_missing_table_error_names_file(tmp_path):
    with pytest.raises(inputs.TableError, match=r"nothere\.csv"):
        inputs.read_table("nothere.csv", ("a", "b"), folder=tmp_path)


def test_wrong_columns_error_names_file():
    with pytest.raises(inputs.TableError, match=r"spectrum_pp\.csv.*columns"):
        inputs.read_table("spectrum_pp.csv", ("enu_mev", "density"))


def test_production_distributions_integrate_to_one():
    t = read_table(inputs.TABLES / "solar_b16_gs98.csv")
    for flux in inputs.FLUX_NAMES:
        rho = t[f"prod_{flux}"]
        assert np.all(rho >= 0)
        # the table starts at r = 0.0005, where rho ~ r^2 is negligible: the trapezoid from the first node
        assert np.trapezoid(rho, t["r"]) == pytest.approx(1.0, abs=1e-3), flux


def test_loader_matches_plain_read():
    t = read_table(inputs.TABLES / "solar_b16_gs98.csv")
    sun = inputs.solar_model()
    np.testing.assert_array_equal(sun.r, t["r"])
    np.testing.assert_allclose(np.log10(sun.n_e), t["log10_ne"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(sun.production["8B"], t["prod_8B"])


@pytest.mark.parametrize(("r", "y_n"), [(0.05, 0.41), (0.1, 0.29)])
def test_neutron_fraction_quick_values(r, y_n):
    """Data README quick values: Y_n = X4He / (2 X1H + X4He) is 0.41 at r = 0.05 and 0.29 at r = 0.1."""
    sun = inputs.solar_model()
    assert np.interp(r, sun.r, sun.y_n) == pytest.approx(y_n, abs=0.01)


def test_electron_density_quick_value():
    """Data README: log10(n_e / N_A) is 1.95 at r = 0.05."""
    sun = inputs.solar_model()
    assert np.log10(np.interp(0.05, sun.r, sun.n_e)) == pytest.approx(1.95, abs=0.01)


def test_spectra_normalized_and_table_one_end_points():
    for flux in ("8B", "hep", "pp", "13N", "15O", "17F", "7Be"):
        s = inputs.spectrum(flux)
        assert np.trapezoid(s.pdf, s.enu_mev) == pytest.approx(1.0, abs=1e-12)
        last = s.enu_mev[s.pdf > 0][-1]
        assert last <= s.endpoint_mev + 0.1, flux
    for flux in ("8B", "hep", "pp", "13N", "15O", "17F"):
        # tabulated shapes are already unit-normalized to 1e-3 (the 8B Winter table is 999.99 / 1000)
        raw = read_table(inputs.TABLES / f"spectrum_{flux}.csv")
        assert np.trapezoid(raw["pdf"], raw["enu_mev"]) == pytest.approx(1.0, abs=2e-3), flux
    assert inputs.spectrum("8B").flux_cm2_s == 5.46e6
    assert inputs.spectrum("hep").flux_cm2_s == 7.98e3


def test_7be_table_has_no_flux_between_the_lines():
    raw = read_table(inputs.TABLES / "spectrum_7Be.csv")
    # 89.6% + 10.4% of two unit-normalized line shapes: the tabulated pdf integrates to 1 ...
    assert np.trapezoid(raw["pdf"], raw["enu_mev"]) == pytest.approx(1.0, abs=1e-3)
    # ... and there is no 7Be neutrino between the excited (0.384 MeV) and ground (0.861 MeV) lines
    s = inputs.spectrum("7Be")
    assert np.interp([0.45, 0.6, 0.75], s.enu_mev, s.pdf) == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)


def test_xenonnt_acceptance_documented_values():
    """data/README: the SR0+SR1 efficiency is the exposure-weighted mean of the runs' template sums (1.174398
    and 2.342593 t yr), 1.2e-4 at 0.5 keV, 7.0e-3 at 1 keV, 6.5e-2 at 2 keV, 0.129 at 3 keV, maximum 0.147 at
    3.8 keV."""
    t = read_table(inputs.TABLES / "acceptance_xenonnt.csv")
    weighted = (1.174398 * t["eff_sr0"] + 2.342593 * t["eff_sr1"]) / (1.174398 + 2.342593)
    np.testing.assert_allclose(t["efficiency"], weighted, rtol=1e-6, atol=1e-10)
    at = lambda e: np.interp(e, t["er_kev"], t["efficiency"])  # noqa: E731
    assert at(0.5) == pytest.approx(1.2e-4, abs=0.05e-4)
    assert at(1.0) == pytest.approx(7.0e-3, abs=0.06e-3)  # 6.95e-3, quoted as 7.0e-3
    assert at(2.0) == pytest.approx(6.5e-2, abs=0.05e-2)
    assert at(3.0) == pytest.approx(0.129, abs=0.0005)
    assert t["er_kev"][np.argmax(t["efficiency"])] == pytest.approx(3.8)
    assert t["efficiency"].max() == pytest.approx(0.147, abs=0.0005)


def test_paired_acceptance_documented_values():
    """data/README (SNuDD digitization of the PandaX-4T paired curve): 0.001 at 0.64 keV, 0.0096 at 1.06 keV,
    0.031 at 1.5 keV and 0.072-0.075 over 2.5-3.0 keV (the table ends at 2.974 keV)."""
    t = read_table(inputs.TABLES / "acceptance_paired.csv")
    nearest = lambda e: t["efficiency"][np.argmin(np.abs(t["er_kev"] - e))]  # noqa: E731
    assert nearest(0.64) == pytest.approx(0.001, abs=0.00005)
    assert nearest(1.06) == pytest.approx(0.0096, abs=0.00005)
    assert np.interp(1.5, t["er_kev"], t["efficiency"]) == pytest.approx(0.031, abs=0.0005)
    plateau = t["efficiency"][t["er_kev"] >= 2.5]
    assert plateau.min() >= 0.072 and plateau.max() <= 0.0755
    assert t["er_kev"][-1] == pytest.approx(2.974474)
