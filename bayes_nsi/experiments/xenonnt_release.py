"""XENONnT's binned 8B-CEvNS likelihood inputs from its CC-BY-4.0 data release, and its nuisances as data.

Source: XENON collaboration, github.com/XENONnT/cevns_data_release (doi:10.5281/zenodo.20576156); SR0 and SR1
are the data of E. Aprile et al. (XENON), PRL 133 (2024) 191002, arXiv:2408.02877; SR0, SR1 and SR2 those of
arXiv:2604.06002. Shipped as ``xenonnt_bins.csv``, ``xenonnt_binning.csv``, ``xenonnt_rg.csv`` and
``xenonnt_mono_grid.npz`` (built by ``scripts/build_tables.py``; the npz is described in ``xenonnt_mono_grid.md``).

Per run: 81 analysis bins (3 x 3 x 3 x 3 in cS2, S2-shadow quantile, S1-BDT and S2-BDT scores, flattened in C
order), the observed events per bin, the accidental-coincidence (AC) and electronic-recoil (ER) templates and
the radiogenic-neutron templates on the 7 x 7 light/charge-yield grid (tly, tqy = -3..3), all in events per
tonne-year, and the monoenergetic nuclear-recoil efficiency per bin (dimensionless) at 0.5-5.0 keV in 0.1 keV
steps on the same yield grid. Exposures are those of the release's ``plot.ipynb``.

Nuisances, after XENONnT's alea configuration for SR0+SR1 (``statistical_model_base.yaml`` of the 2024
light-WIMP release, doi:10.5281/zenodo.14522706), quoted::

    signal_efficiency:      nominal 1.0, uncertainty 0.25, relative   (multiplies the b8 and wimp sources)
    b8_rate_multiplier:     nominal 1.0, uncertainty 0.0381, relative # Flux uncertainty only ... 0.0381 from SNO
    ac_sr0_rate_multiplier: nominal 1.0, uncertainty 0.0904, relative (source ac_sr0 of term SR0 only)
    ac_sr1_rate_multiplier: nominal 1.0, uncertainty 0.0576, relative (source ac_sr1 of term SR1 only)
    er_rate_multiplier:     nominal 1.0, uncertainty 1.0, relative    (source er of both terms)
    nr_rate_multiplier:     nominal 1.0, uncertainty 0.58, relative   (source nr of both terms)
    t_ly, t_qy:             nominal 0, uncertainty 1, blueice_anchors -3..3, fit_limits [-3, 3] (b8 and nr)
    rate multipliers:       fit_limits [0, 100]; signal_efficiency [0.5, 1.5]

A parameter named in both likelihood terms is one shared parameter. SR2 has no released constraints; choices:

- ``ac_sr2_rate_multiplier``: its own parameter (AC is predicted per run) with the larger of the two released
  AC uncertainties, 9.04 %. Scaling the SR0/SR1 values as 1/sqrt(exposure) would give about 5.2 % for
  3.25 t*yr; the larger value is the conservative choice for a signal measurement.
- ``er_rate_multiplier``, ``nr_rate_multiplier``, ``signal_efficiency``, ``b8_rate_multiplier``, ``t_ly`` and
  ``t_qy`` are shared with SR2 as they are between SR0 and SR1: one detector, one ER and neutron background
  model, one yield model (the release gives SR2 templates on the same tly, tqy grid), one 8B flux.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bayes_nsi.physics.inputs import TABLES, TableError, read_table

RUNS = ("sr0", "sr1", "sr2")
EXPOSURE_T_YR = {"sr0": 1.174398, "sr1": 2.342593, "sr2": 3.249665}  # release plot.ipynb
OBSERVABLES = ("cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score")
N_BINS = 81
YIELD_ANCHORS = np.arange(-3.0, 3.5, 1.0)  # tly, tqy anchors (sigma units)
ENERGY_KEV = np.round(np.arange(0.5, 5.05, 0.1), 1)  # mono template energies
COMPONENTS = ("b8", "ac", "er", "nr")  # templates a rate nuisance can multiply
CITATION = ("XENON collaboration, github.com/XENONnT/cevns_data_release (CC-BY-4.0), doi:10.5281/zenodo.20576156; "
            "E. Aprile et al. (XENON), PRL 133 (2024) 191002, arXiv:2408.02877; arXiv:2604.06002")
ALEA_YAML = "XENONnT light_wimp_data_release, statistical_model_base.yaml (doi:10.5281/zenodo.14522706)"


@dataclass(frozen=True)
class Nuisance:
    """One nuisance parameter, declared as data in the manner of alea's ``parameter_definition``.

    sigma: absolute width of the Gaussian constraint about ``nominal`` (None: unconstrained); runs: the runs
    that share it; component: the template it multiplies (a rate nuisance), or None for a shape nuisance
    (tly, tqy) that moves the yield-dependent templates; bounds: alea's fit limits.
    """

    name: str
    nominal: float
    sigma: float | None
    runs: tuple[str, ...]
    component: str | None
    bounds: tuple[float, float]
    source: str


@dataclass(frozen=True)
class Run:
    """One science run: exposure (t*yr), bin edges, observed counts and templates (events per t*yr)."""

    name: str
    exposure_t_yr: float
    edges: tuple[np.ndarray, ...]  # 4 arrays of 4 edges, in OBSERVABLES order
    observed: np.ndarray  # (81,) events
    ac: np.ndarray  # (81,) events / (t yr)
    er: np.ndarray  # (81,) events / (t yr)
    rg: np.ndarray  # (7, 7, 81) events / (t yr) on [tly, tqy] anchors


def _check_run(run: str) -> int:
    if run not in RUNS:
        raise ValueError(f"run: unknown {run!r}; allowed: {', '.join(RUNS)}")
    return RUNS.index(run)


def _rows_of_run(table: dict[str, np.ndarray], index: int, expected: int, path: Path) -> np.ndarray:
    rows = np.flatnonzero(table["run"] == index)
    if len(rows) != expected:
        raise TableError(f"{path}: run {index} has {len(rows)} rows, expected {expected} (truncated?)")
    return rows


@cache
def load_run(run: str, folder: Path = TABLES) -> Run:
    """The shipped tables of one run ('sr0', 'sr1' or 'sr2'), validated; TableError names a bad file."""
    index = _check_run(run)
    path = folder / "xenonnt_binning.csv"
    t = read_table(path.name, ("run", "axis", "edge_0", "edge_1", "edge_2", "edge_3"), folder=folder)
    rows = _rows_of_run(t, index, 4, path)
    if not np.array_equal(t["axis"][rows], np.arange(4)):
        raise TableError(f"{path}: run {index} axes {t['axis'][rows]} != 0, 1, 2, 3")
    edges = tuple(np.array([t[f"edge_{k}"][r] for k in range(4)]) for r in rows)
    if any(np.any(np.diff(e) <= 0) for e in edges):
        raise TableError(f"{path}: run {index} bin edges must increase strictly")

    path = folder / "xenonnt_bins.csv"
    cols = ("run", "bin", "i_cs2", "i_shadow", "i_s1_bdt", "i_s2_bdt", "observed", "ac_per_t_yr", "er_per_t_yr")
    t = read_table(path.name, cols, folder=folder)
    rows = _rows_of_run(t, index, N_BINS, path)
    flat = np.ravel_multi_index(tuple(t[c][rows].astype(int) for c in cols[2:6]), (3, 3, 3, 3))
    if not (np.array_equal(t["bin"][rows], np.arange(N_BINS)) and np.array_equal(flat, np.arange(N_BINS))):
        raise TableError(f"{path}: run {index} bins are not 0..80 in C order of (i_cs2, i_shadow, i_s1_bdt, i_s2_bdt)")
    observed = t["observed"][rows]
    if np.any(observed < 0) or np.any(observed != np.round(observed)):
        raise TableError(f"{path}: run {index} observed counts must be non-negative integers")
    ac, er = t["ac_per_t_yr"][rows], t["er_per_t_yr"][rows]
    if np.any(ac <= 0) or np.any(er < 0):
        raise TableError(f"{path}: run {index} AC templates must be positive and ER templates non-negative")

    path = folder / "xenonnt_rg.csv"
    t = read_table(path.name, ("run", "tly", "tqy") + tuple(f"b{b}" for b in range(N_BINS)), folder=folder)
    rows = _rows_of_run(t, index, len(YIELD_ANCHORS) ** 2, path)
    tly, tqy = np.meshgrid(YIELD_ANCHORS, YIELD_ANCHORS, indexing="ij")
    if not (np.array_equal(t["tly"][rows], tly.ravel()) and np.array_equal(t["tqy"][rows], tqy.ravel())):
        raise TableError(f"{path}: run {index} rows are not the tly-major grid -3..3 x -3..3")
    rg = np.stack([t[f"b{b}"][rows] for b in range(N_BINS)], axis=-1).reshape(7, 7, N_BINS)
    if np.any(rg < 0):
        raise TableError(f"{path}: run {index} neutron templates must be non-negative")
    return Run(run, EXPOSURE_T_YR[run], edges, observed.astype(int), ac, er, rg)


@cache
def mono_efficiency(run: str, folder: Path = TABLES) -> np.ndarray:
    """Monoenergetic NR efficiency of one run, (7, 7, 46, 81) float64: [tly, tqy, energy (ENERGY_KEV), bin]."""
    index = _check_run(run)
    path = folder / "xenonnt_mono_grid.npz"
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in ("efficiency", "energy_kev", "yield_anchors")}
    except (OSError, KeyError, ValueError) as exc:
        raise TableError(f"{path}: cannot read the mono efficiency grid ({exc})") from exc
    shape = (len(RUNS), len(YIELD_ANCHORS), len(YIELD_ANCHORS), len(ENERGY_KEV), N_BINS)
    if arrays["efficiency"].shape != shape:
        raise TableError(f"{path}: efficiency has shape {arrays['efficiency'].shape}, expected {shape}")
    if not np.allclose(arrays["energy_kev"], ENERGY_KEV, rtol=0, atol=1e-9):
        raise TableError(f"{path}: energy_kev is not 0.5, 0.6, ..., 5.0 keV")
    if not np.array_equal(arrays["yield_anchors"], YIELD_ANCHORS):
        raise TableError(f"{path}: yield_anchors is not -3..3")
    eff = arrays["efficiency"][index].astype(np.float64)
    if not np.all(np.isfinite(eff)) or np.any(eff < 0) or np.any(eff.sum(-1) > 1.0):
        raise TableError(f"{path}: run {index} efficiencies must be finite, non-negative and sum to <= 1 per energy")
    return eff


def _rate(name: str, sigma: float | None, runs: tuple[str, ...], component: str, note: str) -> Nuisance:
    return Nuisance(name, 1.0, sigma, runs, component, (0.0, 100.0), f"{ALEA_YAML}: {note}")


def nuisances(runs: Sequence[str], free_b8_rate: bool) -> tuple[Nuisance, ...]:
    """The nuisances of a fit of ``runs`` (alea's, see the module docstring), restricted to those runs.

    free_b8_rate=True is XENONnT's 8B measurement: ``b8_rate_multiplier`` is the unconstrained parameter of
    interest and ``signal_efficiency``, degenerate with it, is left out. False keeps both, constrained (8B as a
    predicted signal, e.g. from an NSI rate whose flux and detection uncertainties they carry).
    """
    runs = tuple(runs)
    for r in runs:
        _check_run(r)
    if len(set(runs)) != len(runs) or not runs:
        raise ValueError(f"runs: need distinct runs from {', '.join(RUNS)}; got {runs}")
    ac_sigma = {"sr0": 0.0904, "sr1": 0.0576, "sr2": 0.0904}
    declared = [
        _rate("b8_rate_multiplier", None if free_b8_rate else 0.0381, runs, "b8",
              "free (parameter of interest)" if free_b8_rate else "0.0381, 8B flux from SNO, PRC 88 (2013) 025501"),
        *([] if free_b8_rate else [Nuisance("signal_efficiency", 1.0, 0.25, runs, "b8", (0.5, 1.5),
                                            f"{ALEA_YAML}: 0.25, NR signal acceptance")]),
        *(_rate(f"ac_{r}_rate_multiplier", ac_sigma[r], (r,), "ac",
                "0.0904 (SR0 value; SR2 choice, see module docstring)" if r == "sr2" else f"{ac_sigma[r]}")
          for r in runs),
        _rate("er_rate_multiplier", 1.0, runs, "er", "1.0, shared"),
        _rate("nr_rate_multiplier", 0.58, runs, "nr", "0.58, shared"),
        Nuisance("t_ly", 0.0, 1.0, runs, None, (-3.0, 3.0), f"{ALEA_YAML}: light-yield morpher, unit normal"),
        Nuisance("t_qy", 0.0, 1.0, runs, None, (-3.0, 3.0), f"{ALEA_YAML}: charge-yield morpher, unit normal"),
    ]
    return tuple(declared)
