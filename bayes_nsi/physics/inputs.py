"""Typed loaders for the shipped tables in ``bayes_nsi/tables`` (built by ``scripts/build_tables.py``).

Every loader checks what it reads: a missing, truncated or malformed table raises :class:`TableError`
naming the file and what is wrong, never a bare NumPy traceback. Tables are read lazily and cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np


class TableError(ValueError):
    """A shipped table is missing, truncated or malformed; the message names the file."""


TABLES = Path(__file__).resolve().parents[1] / "tables"
FLUX_NAMES = ("pp", "pep", "hep", "7Be", "8B", "13N", "15O", "17F")
LINE_FLUXES = {"pep": 1.442}  # lines without a shipped shape (MeV); 7Be ships its broadened shape


def read_table(name: str, columns: tuple[str, ...], folder: Path = TABLES) -> dict[str, np.ndarray]:
    """Read a shipped CSV table, checking its column names, row count and finiteness."""
    path = folder / name
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    except OSError as exc:
        raise TableError(f"{path}: cannot read table ({exc.strerror})") from exc
    if not lines:
        raise TableError(f"{path}: table is empty")
    header = tuple(lines[0].split(","))
    if header != columns:
        raise TableError(f"{path}: columns {header} != expected {columns}")
    text_cols = [i for i, c in enumerate(columns) if c == "flux"]
    rows = []
    for k, ln in enumerate(lines[1:], start=2):
        fields = ln.split(",")
        if len(fields) != len(columns):
            raise TableError(f"{path}: data line {k} has {len(fields)} fields, expected {len(columns)} (truncated?)")
        try:
            rows.append([f if i in text_cols else float(f) for i, f in enumerate(fields)])
        except ValueError as exc:
            raise TableError(f"{path}: data line {k}: {exc}") from exc
    if len(rows) < 2:
        raise TableError(f"{path}: needs at least 2 data rows, found {len(rows)}")
    table = {c: np.array([r[i] for r in rows], dtype=object if i in text_cols else float)
             for i, c in enumerate(columns)}
    for c, v in table.items():
        if v.dtype == float and not np.all(np.isfinite(v)):
            raise TableError(f"{path}: column {c!r} has non-finite values")
    return table


def _check_grid(table: dict[str, np.ndarray], column: str, name: str) -> None:
    if np.any(np.diff(table[column]) <= 0):
        raise TableError(f"{TABLES / name}: column {column!r} must increase strictly")


@dataclass(frozen=True)
class SolarModel:
    """B16-GS98 on the production grid: radius [R_sun], n_e [N_A cm^-3], Y_n, production pdfs [1/R_sun]."""

    r: np.ndarray
    n_e: np.ndarray
    y_n: np.ndarray
    production: dict[str, np.ndarray]


@dataclass(frozen=True)
class Spectrum:
    """Unit-normalized neutrino spectrum of one flux (E in MeV, pdf in 1/MeV) and its normalization."""

    name: str
    enu_mev: np.ndarray
    pdf: np.ndarray
    flux_cm2_s: float
    sigma_rel: float
    endpoint_mev: float


@dataclass(frozen=True)
class Acceptance:
    """Detection efficiency against nuclear recoil energy (keV), linear between knots, zero outside."""

    er_kev: np.ndarray
    efficiency: np.ndarray
    source: str


@cache
def solar_model() -> SolarModel:
    """The B16-GS98 solar model table."""
    name = "solar_b16_gs98.csv"
    cols = ("r", "log10_ne", "Y_n") + tuple(f"prod_{f}" for f in FLUX_NAMES)
    t = read_table(name, cols)
    _check_grid(t, "r", name)
    if np.any(t["Y_n"] < 0) or np.any(t["Y_n"] > 1):
        raise TableError(f"{TABLES / name}: Y_n outside [0, 1]")
    return SolarModel(r=t["r"], n_e=10.0 ** t["log10_ne"], y_n=t["Y_n"],
                      production={f: t[f"prod_{f}"] for f in FLUX_NAMES})


@cache
def spectrum(flux: str) -> Spectrum:
    """Spectrum and Table I normalization of one flux; lines without a shape have empty arrays."""
    if flux not in FLUX_NAMES:
        raise ValueError(f"unknown flux {flux!r}; allowed: {', '.join(FLUX_NAMES)}")
    norms = read_table("fluxes_b16_gs98.csv", ("flux", "norm", "sigma_rel", "endpoint_mev"))
    idx = list(norms["flux"]).index(flux)
    if flux in LINE_FLUXES:
        e = pdf = np.array([])
    else:
        name = f"spectrum_{flux}.csv"
        t = read_table(name, ("enu_mev", "pdf"))
        _check_grid(t, "enu_mev", name)
        e, pdf = t["enu_mev"], t["pdf"]
        pdf = pdf / np.trapezoid(pdf, e)
    return Spectrum(flux, e, pdf, float(norms["norm"][idx]), float(norms["sigma_rel"][idx]),
                    float(norms["endpoint_mev"][idx]))


def acceptance_table(name: str, columns: tuple[str, ...] = ("er_kev", "efficiency")) -> Acceptance:
    """A shipped acceptance curve: recoil energy (keV, strictly increasing) and an efficiency in [0, 1].

    ``columns`` names the table's columns; the first must be ``er_kev`` and the last ``efficiency``.
    """
    t = read_table(name, columns)
    _check_grid(t, "er_kev", name)
    if np.any(t["efficiency"] < 0) or np.any(t["efficiency"] > 1):
        raise TableError(f"{TABLES / name}: efficiency outside [0, 1]")
    return Acceptance(t["er_kev"], t["efficiency"], name)
