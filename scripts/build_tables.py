"""Build the compact tables shipped in ``bayes_nsi/tables/`` from the public upstream files.

Usage::

    python scripts/build_tables.py [--data ../shared/data] [--out bayes_nsi/tables]

The upstream files (B16-GS98 solar model, neutrino spectra, acceptances) are read from the data folder
(its README lists every source) and are never committed; only the derived tables are. Each table
carries a ``#`` header with its source and citation. The output is deterministic: numbers are written
with a fixed format, so rebuilding gives byte-identical files (``tests/test_tables.py`` checks this).
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FLUX_NAMES = ("pp", "pep", "hep", "7Be", "8B", "13N", "15O", "17F")  # column order of nudistr_b16_gs98.dat
XENONNT_EXPOSURE_T_YR = {"sr0": 1.174398, "sr1": 2.342593}  # XENONnT release (plot.ipynb)
BE7_BRANCHING = {"ground": 0.896, "excited": 0.104}  # 7Be lines 0.8613 / 0.3843 MeV

B16 = "Vinyoles et al., ApJ 835 (2017) 202, arXiv:1611.09867 (B16-GS98 standard solar model)"


def _write(path: Path, header: list[str], columns: list[str], rows: np.ndarray, fmt: str) -> None:
    lines = [f"# {h}" for h in header]
    lines.append(",".join(columns))
    lines += [",".join(fmt.format(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({len(rows)} rows)")


def _write_repr(path: Path, header: list[str], columns: list[str], rows: list[list[float]]) -> None:
    """A CSV table with '#' header; integers as integers, other numbers by their shortest exact repr."""
    def cell(v: float) -> str:
        v = float(v)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)

    lines = [f"# {h}" for h in header] + [",".join(columns)] + [",".join(cell(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({len(rows)} rows)")


def _load_csv_pairs(path: Path) -> np.ndarray:
    """Two numeric columns from a comma- or blank-separated file with '#' comments."""
    rows = []
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or not line[0].isdigit() and line[0] not in "-.":
            continue
        rows.append([float(v) for v in line.replace(",", " ").split()[:2]])
    return np.array(rows)


def build_solar_model(data: Path, out: Path) -> None:
    """n_e, Y_n and the production distributions of the 8 fluxes on the B16 production grid."""
    nudistr = np.loadtxt(data / "solar_model/nudistr_b16_gs98.dat", comments="#")
    struct = np.loadtxt(data / "solar_model/struct_b16_gs98_header.dat", comments="#")
    r = nudistr[:, 0]
    x_h1 = np.interp(r, struct[:, 1], struct[:, 6])
    x_he4 = np.interp(r, struct[:, 1], struct[:, 7])
    y_n = x_he4 / (2.0 * x_h1 + x_he4)  # physics-notes: metals neglected
    rows = np.column_stack([r, nudistr[:, 2], y_n, nudistr[:, 4:12]])
    header = [
        "B16-GS98 solar model on the neutrino production grid (r <= 0.5 R_sun).",
        f"source: {B16}.",
        "columns r, log10_ne from nudistr_b16_gs98.dat (PEANUTS copy, Data/nudistr_b16_gs98.dat);",
        "Y_n = X(4He) / (2 X(1H) + X(4He)) from struct_b16_gs98_header.dat (charon copy), linearly",
        "interpolated in r onto this grid. prod_<flux>: production density per unit r/R_sun (integral 1).",
        "units: r in R_sun; log10_ne = log10(n_e / (N_A cm^-3)).",
    ]
    cols = ["r", "log10_ne", "Y_n"] + [f"prod_{n}" for n in FLUX_NAMES]
    _write(out / "solar_b16_gs98.csv", header, cols, rows, "{:.7g}")


def build_fluxes(data: Path, out: Path) -> None:
    """Table I normalizations (paper) with the B16-GS98 1-sigma errors."""
    b16_relative_error = np.loadtxt(data / "solar_model/fluxes_b16.dat", comments="#")[:, 1]
    table1 = {"pp": (5.98e10, 0.40), "7Be": (4.93e9, 0.86), "pep": (1.44e8, 1.44), "13N": (2.78e8, 1.20),
              "15O": (2.05e8, 1.73), "17F": (5.29e6, 1.74), "8B": (5.46e6, 16.0), "hep": (7.98e3, 18.7)}
    header = [
        "Solar neutrino flux normalizations (cm^-2 s^-1) and end points (MeV): Table I of",
        "Aristizabal Sierra, Mishra, Strigari (the reference paper), as recommended by Baxter et al.,",
        "EPJC 81 (2021) 907, in line with B16-GS98. sigma_rel: B16-GS98 fractional 1-sigma model error",
        f"from fluxes_b16.dat ({B16}). Note: fluxes_b16.dat gives 17F = 5.28e6, Table I 5.29e6.",
    ]
    lines = [f"# {h}" for h in header] + ["flux,norm,sigma_rel,endpoint_mev"]
    for name, rel in zip(FLUX_NAMES, b16_relative_error, strict=True):
        norm, end = table1[name]
        lines.append(f"{name},{norm:.6g},{rel:.6g},{end:.6g}")
    (out / "fluxes_b16_gs98.csv").write_text("\n".join(lines) + "\n")
    print("wrote fluxes_b16_gs98.csv (8 rows)")


def _zero_padded(line: np.ndarray) -> np.ndarray:
    """A line shape with zeros added one grid step beyond each end, so that merging two lines on a
    common grid cannot interpolate a spurious ramp between them."""
    step_lo, step_hi = line[1, 0] - line[0, 0], line[-1, 0] - line[-2, 0]
    ends = [[line[0, 0] - step_lo, 0.0]] if line[0, 1] > 0 else []
    tail = [[line[-1, 0] + step_hi, 0.0]] if line[-1, 1] > 0 else []
    return np.array(ends + line.tolist() + tail)


def build_spectra(data: Path, out: Path) -> None:
    """Unit-normalized energy spectra (1/MeV) of the continuous fluxes and the broadened 7Be line."""
    spec = data / "solar_spectra"
    sources = {
        "8B": ("8B_shape_Winter_et_al.csv", 1e-3, "W. T. Winter et al., PRC 73 (2006) 025503 (PEANUTS copy)"),
        "hep": ("hep_shape.csv", 1.0, "J. N. Bahcall, PRC 56 (1997) 3391 (PEANUTS copy)"),
        "pp": ("pp_shape.csv", 1.0, "J. N. Bahcall, PRC 56 (1997) 3391 (PEANUTS copy)"),
        "13N": ("n13_shape.csv", 1.0, "Bahcall & Ulrich, RMP 60 (1988) 297 (PEANUTS copy)"),
        "15O": ("o15_shape.csv", 1.0, "Bahcall & Ulrich, RMP 60 (1988) 297 (PEANUTS copy; header mislabelled N13)"),
        "17F": ("f17_shape.csv", 1.0, "Bahcall & Ulrich, RMP 60 (1988) 297 (PEANUTS copy)"),
    }
    for name, (fname, scale, cite) in sources.items():
        e, pdf = _load_csv_pairs(spec / fname).T
        pdf = np.clip(pdf * scale, 0.0, None)  # the Winter table carries -0.000 entries at the end point
        header = [f"{name} neutrino spectrum, E in MeV, pdf in 1/MeV (as tabulated; loader renormalizes).",
                  f"source: {cite}."]
        _write(out / f"spectrum_{name}.csv", header, ["enu_mev", "pdf"], np.column_stack([e, pdf]), "{:.6g}")
    lines = [_zero_padded(_load_csv_pairs(spec / f)) for f in ("be7ground_shape.csv", "be7excited_shape.csv")]
    e = np.union1d(lines[0][:, 0], lines[1][:, 0])
    pdf = sum(BE7_BRANCHING[b] * np.interp(e, *line.T, left=0, right=0) / np.trapezoid(line[:, 1], line[:, 0])
              for b, line in zip(("ground", "excited"), lines, strict=True))
    header = ["7Be thermally broadened lines (0.8613 MeV, 89.6%; 0.3843 MeV, 10.4%), E in MeV, pdf in 1/MeV.",
              "source: J. N. Bahcall, PRD 49 (1994) 3923 (PEANUTS copies be7ground/be7excited_shape.csv)."]
    _write(out / "spectrum_7Be.csv", header, ["enu_mev", "pdf"], np.column_stack([e, pdf]), "{:.6g}")


def build_acceptances(data: Path, out: Path) -> None:
    """PandaX-4T paired digitization and XENONnT SR0+SR1 efficiency summed from the release templates."""
    paired = _load_csv_pairs(data / "acceptance/pandax/pandaX.csv")
    header = [
        "PandaX-4T 8B paired (S1+S2) acceptance vs nuclear recoil energy (keV).",
        "THIRD-PARTY DIGITIZATION by the SNuDD authors (V. Costa et al., github.com/SNuDD/SNuDD,",
        "snudd/data/exps/pandaX/pandaX.csv) of Z. Bo et al. (PandaX-4T), PRL 133 (2024) 191001, arXiv:2407.10892.",
        "The digitization does not label the curve; its onset and plateau fit the paired selection.",
    ]
    _write(out / "acceptance_paired.csv", header, ["er_kev", "efficiency"], paired, "{:.7g}")

    import h5py

    release = data / "acceptance/xenonnt/cevns_data_release/templates"
    energies = np.round(np.arange(0.5, 5.0001, 0.1), 1)
    eff = {}
    for run in ("sr0", "sr1"):
        vals = []
        for e in energies:
            path = release / run / "mono" / f"template_XENONnT_{run}_mono_{e:.3f}_cevns_tly_0.0_tqy_0.0.h5"
            with h5py.File(path, "r") as f:
                vals.append(float(np.sum(f["templates/template"][()])))
        eff[run] = np.array(vals)
    w0, w1 = XENONNT_EXPOSURE_T_YR["sr0"], XENONNT_EXPOSURE_T_YR["sr1"]
    combined = (w0 * eff["sr0"] + w1 * eff["sr1"]) / (w0 + w1)
    header = [
        "XENONnT 8B-CEvNS total detection efficiency vs nuclear recoil energy (keV): sum over all analysis",
        "bins of the nominal (tly = tqy = 0) monoenergetic NR templates of the official XENONnT CEvNS data",
        "release (github.com/XENONnT/cevns_data_release, CC-BY-4.0, doi:10.5281/zenodo.20576156), SR0 and SR1;",
        f"combined = exposure-weighted mean (SR0 {w0} t yr, SR1 {w1} t yr). Data of E. Aprile et al.",
        "(XENON), PRL 133 (2024) 191002, arXiv:2408.02877. Caveat: the templates were produced for the later",
        "SR0+SR1+SR2 analysis (arXiv:2604.06002) and predict ~10 events where XENONnT expected 11.9.",
    ]
    rows = np.column_stack([energies, eff["sr0"], eff["sr1"], combined])
    _write(out / "acceptance_xenonnt.csv", header, ["er_kev", "eff_sr0", "eff_sr1", "efficiency"], rows, "{:.7g}")


XENONNT_RUNS = ("sr0", "sr1", "sr2")
XENONNT_YIELD_ANCHORS = np.arange(-3.0, 3.5, 1.0)  # tly, tqy anchors of the release (sigma units)
XENONNT_OBSERVABLES = ("cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score")
XENONNT_CITATION = ("XENON collaboration, github.com/XENONnT/cevns_data_release (CC-BY-4.0), "
                    "doi:10.5281/zenodo.20576156; data of E. Aprile et al. (XENON), PRL 133 (2024) 191002, "
                    "arXiv:2408.02877 (SR0, SR1) and arXiv:2604.06002 (SR0, SR1, SR2)")


def _h5_template(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """The (3, 3, 3, 3) histogram and the four bin-edge arrays of one release template."""
    import h5py

    with h5py.File(path, "r") as f:
        return f["templates/template"][()], [f["bins"][str(k)][()] for k in range(4)]


def _check_edges(path: Path, edges: list[np.ndarray], binning: list[np.ndarray]) -> None:
    """The template's bin edges equal the binning yaml's (which rounds them to 12 decimals)."""
    for k, (a, b) in enumerate(zip(edges, binning, strict=True)):
        if a.shape != b.shape or np.max(np.abs(a - b)) > 1e-9:
            raise ValueError(f"{path}: bin edges of axis {k} differ from the binning yaml: {a} vs {b}")


def _write_npz_stored(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed .npz with fixed member timestamps, so that a rebuild is byte-identical."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), version=(1, 0), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({', '.join(arrays)})")


def build_xenonnt_release(data: Path, out: Path) -> None:
    """XENONnT binned likelihood inputs from the CC-BY-4.0 cevns_data_release (data README section 3d).

    Bins are flattened in C order over (cS2, S2-shadow quantile, S1-BDT, S2-BDT): bin = 27 i0 + 9 i1 + 3 i2 + i3.
    Events are binned like blueice/multihist (numpy.histogramdd: [lo, hi) per bin, the last bin closed); an event
    outside the analysis space is an error, not dropped silently.
    """
    import yaml

    release = data / "acceptance/xenonnt/cevns_data_release"
    edges_rows, bin_rows, rg_rows, mono = [], [], [], []
    for r, run in enumerate(XENONNT_RUNS):
        binning = yaml.safe_load((release / f"binning/{run}.yaml").read_text())
        if tuple(binning) != XENONNT_OBSERVABLES:
            raise ValueError(f"{release}/binning/{run}.yaml: observables {tuple(binning)} != {XENONNT_OBSERVABLES}")
        edges = [np.array(binning[n], dtype=float) for n in XENONNT_OBSERVABLES]
        edges_rows += [[r, k, *e] for k, e in enumerate(edges)]
        events = np.loadtxt(release / f"data/{run}.csv", delimiter=",", skiprows=1)[:, 1:]
        observed, _ = np.histogramdd(events, bins=edges)
        if observed.sum() != len(events):
            raise ValueError(f"{release}/data/{run}.csv: {len(events) - observed.sum():.0f} events outside the binning")
        if min(np.min(np.abs(events[:, k, None] - e[None, :])) for k, e in enumerate(edges)) < 1e-6:
            raise ValueError(f"{release}/data/{run}.csv: an event lies on a bin edge; the edge convention would matter")
        tdir = release / f"templates/{run}"
        ac_path = tdir / f"ac/template_XENONnT_{run}_ac_cevns.h5"
        er_path = tdir / f"er/template_XENONnT_{run}_er_cevns.h5"
        (ac, ac_edges), (er, er_edges) = _h5_template(ac_path), _h5_template(er_path)
        _check_edges(ac_path, ac_edges, edges)
        _check_edges(er_path, er_edges, edges)
        index = np.indices((3, 3, 3, 3)).reshape(4, -1).T
        bin_rows += [[r, b, *index[b], observed.ravel()[b], ac.ravel()[b], er.ravel()[b]] for b in range(81)]
        for tly in XENONNT_YIELD_ANCHORS:
            for tqy in XENONNT_YIELD_ANCHORS:
                path = tdir / f"rg/template_XENONnT_{run}_rg_cevns_tly_{tly:.1f}_tqy_{tqy:.1f}.h5"
                rg, rg_edges = _h5_template(path)
                _check_edges(path, rg_edges, edges)
                rg_rows.append([r, tly, tqy, *rg.ravel()])
        grid = np.load(release / f"derived/mono_grid_{run}.npz")
        if not all(np.array_equal(grid[t], XENONNT_YIELD_ANCHORS) for t in ("tly", "tqy")):
            raise ValueError(f"{release}/derived/mono_grid_{run}.npz: yield anchors are not -3..3")
        _check_edges(release / f"derived/mono_grid_{run}.npz", [grid[f"bin_edges_{k}"] for k in range(4)], edges)
        energy = grid["energy_kev"]
        for k, e in enumerate(energy):
            nominal, _ = _h5_template(tdir / f"mono/template_XENONnT_{run}_mono_{e:.3f}_cevns_tly_0.0_tqy_0.0.h5")
            if not np.array_equal(grid["efficiency"][3, 3, k], nominal):
                raise ValueError(f"{release}/derived/mono_grid_{run}.npz: nominal slice at {e} keV differs from the h5")
        mono.append(grid["efficiency"].reshape(7, 7, len(energy), 81))
    source = f"source: {XENONNT_CITATION}."
    axes = "axis 0 cs2 (PE), 1 s2_shadow_s2_time_shadow_quantile, 2 s1_bdt_score, 3 s2_bdt_score"
    _write_repr(out / "xenonnt_binning.csv", [
        "XENONnT analysis-space bin edges per run (run 0 = SR0, 1 = SR1, 2 = SR2), from binning/sr*.yaml;",
        f"{axes}. Three bins per axis, 81 bins per run.", source],
        ["run", "axis", "edge_0", "edge_1", "edge_2", "edge_3"], edges_rows)
    _write_repr(out / "xenonnt_bins.csv", [
        "XENONnT observed events and background templates per bin (run 0 = SR0, 1 = SR1, 2 = SR2).",
        "bin = 27 i_cs2 + 9 i_shadow + 3 i_s1_bdt + i_s2_bdt (C order).",
        "observed: events of data/sr*.csv binned with xenonnt_binning.csv",
        "(numpy.histogramdd: [lo, hi), last bin closed; no event is outside or within 1e-6 of an edge: checked).",
        "ac_per_t_yr, er_per_t_yr: accidental-coincidence and electronic-recoil templates (events per tonne-year),",
        "templates/sr*/{ac,er}/*.h5, values unchanged.", source],
        ["run", "bin", "i_cs2", "i_shadow", "i_s1_bdt", "i_s2_bdt", "observed", "ac_per_t_yr", "er_per_t_yr"], bin_rows)
    _write_repr(out / "xenonnt_rg.csv", [
        "XENONnT radiogenic-neutron templates (events per tonne-year) per bin on the light/charge-yield anchor grid",
        "tly, tqy = -3..3 (run 0 = SR0, 1 = SR1, 2 = SR2); columns b0..b80 in the bin order of xenonnt_bins.csv.",
        "templates/sr*/rg/*_tly_<tly>_tqy_<tqy>.h5, values unchanged.", source],
        ["run", "tly", "tqy", *(f"b{b}" for b in range(81))], rg_rows)
    _write_npz_stored(out / "xenonnt_mono_grid.npz", {
        "efficiency": np.array(mono, dtype=np.float32), "energy_kev": energy, "yield_anchors": XENONNT_YIELD_ANCHORS})
    (out / "xenonnt_mono_grid.md").write_text(f"""# xenonnt_mono_grid.npz

XENONnT monoenergetic nuclear-recoil efficiency templates (dimensionless detection efficiency per analysis
bin, the release README's definition) for every light/charge-yield anchor of the release.

Source: {XENONNT_CITATION}.
Every value comes from `templates/sr*/mono/template_XENONnT_sr*_mono_<E>_cevns_tly_<tly>_tqy_<tqy>.h5`, as packed
(values unchanged) into `derived/mono_grid_sr{{0,1,2}}.npz` of the shared data folder (README section 3d), then
rounded to float32 here (relative change < 6e-8) to keep the shipped file at 2.2 MB.

Arrays (an uncompressed .npz with fixed member timestamps, so `scripts/build_tables.py` rebuilds it byte for byte):

| array | shape | contents |
|---|---|---|
| `efficiency` | (3, 7, 7, 46, 81) float32 | [run (SR0, SR1, SR2), tly, tqy, energy, bin (as in xenonnt_bins.csv)] |
| `energy_kev` | (46,) | nuclear-recoil energies 0.5, 0.6, ..., 5.0 keV |
| `yield_anchors` | (7,) | tly = tqy = -3, -2, ..., 3 (the release's yield nuisances, in sigma) |
""")
    print("wrote xenonnt_mono_grid.md")


def build_all(data: Path, out: Path) -> None:
    """Write every shipped table from the upstream data folder."""
    out.mkdir(parents=True, exist_ok=True)
    build_solar_model(data, out)
    build_fluxes(data, out)
    build_spectra(data, out)
    build_acceptances(data, out)
    build_xenonnt_release(data, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "bayes_nsi" / "tables")
    args = parser.parse_args()
    build_all(args.data, args.out)


if __name__ == "__main__":
    main()
