"""The typed form of a validated spec: what the runners and the statistics code receive (never a dict).

:func:`load` reads and validates a TOML spec (``spec.load_spec``: schema and cross-field rules, before
anything is computed) and turns the completed dict into frozen dataclasses. The completed dict stays on
the object (``raw``) for the manifest.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayes_nsi.app import spec as schema_spec
from bayes_nsi.inference.sampler_settings import SamplerSettings, Thresholds


@dataclass(frozen=True)
class Profile:
    couplings: tuple[str, ...]
    range: tuple[float, float]
    points: int
    levels: tuple[float, ...]


@dataclass(frozen=True)
class Contour:
    x: str
    y: str
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    points: int
    level: float


@dataclass(frozen=True)
class Figures:
    enabled: bool = True
    fig1_ee_u_values: tuple[float, ...] = ()


@dataclass(frozen=True)
class Compare:
    hypotheses: tuple[str, ...]
    per_dataset: bool
    savage_dickey: bool
    evidence: str


@dataclass(frozen=True)
class Smc:
    draws: int
    chains: int
    seed: int


@dataclass(frozen=True)
class PriorSensitivity:
    coupling: str
    half_widths: tuple[float, ...]


@dataclass(frozen=True)
class Fit:
    """kind = "measurements": likelihoods to fit, data-set combinations sharing one 8B flux, grid size."""

    likelihoods: tuple[str, ...]
    combine: tuple[tuple[str, ...], ...]
    signal_points: int


@dataclass(frozen=True)
class Binned:
    """kind = "binned": the data sets measured through a binned template likelihood (``registry.BINNED``)."""

    datasets: tuple[str, ...]


@dataclass(frozen=True)
class StudySettings:
    """Kinds coverage, feldman_cousins, sbc: how the tasks run (``inference.studies.engine.run_study``)."""

    workers: int
    scheduler: str | None
    serial: bool
    seed: int
    folder: str | None  # task files; None until the CLI sets the default beside the result folder
    compile_root: str | None
    retries: int

    def for_run(self, out: Path, scheduler: str | None = None) -> StudySettings:
        """These settings for a run into the result folder ``out``: the task folder (default
        ``<out parent>/.<out name>.tasks``) made absolute, since remote workers write into it; a ``scheduler``
        (``bayes-nsi run --scheduler``) replaces the spec's and switches ``serial`` off."""
        folder = self.folder if self.folder is not None else Path(out).parent / f".{Path(out).name}.tasks"
        folder = os.path.abspath(folder)
        if scheduler is None:
            return dataclasses.replace(self, folder=folder)
        return dataclasses.replace(self, folder=folder, scheduler=scheduler, serial=False)


@dataclass(frozen=True)
class CoverageToys:
    """kind = "coverage": toys per true value (in tasks of toys_per_task), the true-value grid, fit grid points
    (of the counting or Gaussian data sets and of the [binned] data sets)."""

    toys: int
    toys_per_task: int
    true_range: tuple[float, float]
    true_points: int
    fit_points: int
    binned_fit_points: int


@dataclass(frozen=True)
class FeldmanCousinsToys:
    """kind = "feldman_cousins": toys per construction grid point, grid points on profile.range, fit grid points."""

    toys: int
    grid_points: int
    fit_points: int


@dataclass(frozen=True)
class SBCSettings:
    """kind = "sbc": replications (sims_per_task per task) and each posterior's nutpie settings."""

    simulations: int
    sims_per_task: int
    draws: int
    tune: int
    chains: int
    thin: int
    target_accept: float
    low_rank_mass_matrix: bool


@dataclass(frozen=True)
class Constraints:
    """kind = "constraints": the binned data sets (main result and the path's SR0+SR1 step), the shared 8B flux
    constraint and its alternative, the Bayes factors' grid points, the couplings checked by Savage-Dickey."""

    binned: str
    path_binned: str
    flux: str
    flux_alternative: str
    bayes_factor_points: int
    savage_dickey_check: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """A validated, completed analysis spec. Sections a kind does not use are None (or empty)."""

    source: str
    kind: str
    name: str
    description: str
    acceptance: str
    physics: str
    datasets: tuple[str, ...]
    seed: int | None
    measurements: dict[str, dict[str, float]] = field(hash=False)
    likelihoods: dict[str, str] = field(hash=False)
    figures: Figures = Figures()
    profile: Profile | None = None
    contours: tuple[Contour, ...] = ()
    priors: dict[str, Any] = field(default_factory=dict, hash=False)  # coupling -> inference.priors.Prior
    default_prior: Any = None
    nuisances: Any = None  # inference.priors.Nuisances
    sampler: SamplerSettings | None = None
    diagnostics: Thresholds | None = None
    compare: Compare | None = None
    smc: Smc | None = None
    prior_sensitivity: PriorSensitivity | None = None
    projection_factors: tuple[float, ...] = ()
    fit: Fit | None = None
    reference_physics: str | None = None  # kind frequentist: a physics mode computed beside the spec's
    ratio_values: tuple[float, ...] = ()  # couplings at which R/R_SM is tabulated in both modes
    binned: Binned | None = None
    study: StudySettings | None = None  # kinds coverage, feldman_cousins, sbc
    coverage: CoverageToys | None = None
    feldman_cousins: FeldmanCousinsToys | None = None
    sbc: SBCSettings | None = None
    constraints: Constraints | None = None
    flavour_check: bool = False  # kind frequentist: write flavour_check.json
    reproduction: bool = False  # kind frequentist: write reproduction.{md,json}
    raw: dict = field(default_factory=dict, hash=False, compare=False, repr=False)

    def observations(self, error_scale: float = 1.0):
        """The data of this spec: data sets, overrides and likelihood choices (``inference.observations``)."""
        from bayes_nsi.inference.observations import observations

        return observations(self.datasets, self.measurements, error_scale, self.likelihoods)


def load(path: str | Path) -> Spec:
    """Read, validate and type the TOML spec at ``path`` (``SpecError`` on any problem, nothing computed)."""
    return typed(schema_spec.load_spec(path), str(path))


def typed(raw: dict, source: str = "<spec>") -> Spec:
    """The typed form of a validated, completed spec dict."""
    from bayes_nsi.inference.priors import Nuisances, Prior

    def prior(table: dict) -> Prior:
        return Prior(**{k: float(v) if k != "dist" else v for k, v in table.items()})

    kind = raw["kind"]
    seed_section = {"posterior": "sampler", "constraints": "sampler", "compare": "smc", "coverage": "study",
                    "feldman_cousins": "study", "sbc": "study"}.get(kind)
    priors = {c: prior(t) for c, t in raw.get("priors", {}).items() if c != "default"}
    default = raw.get("priors", {}).get("default")
    n = raw.get("nuisances", {})
    nuisances = Nuisances(flux_8b=n["flux_8b"]["prior"] if "flux_8b" in n else None,
                          r_n_sigma_fm=n["r_n"]["sigma_fm"] if "r_n" in n else None,
                          acceptance_scale_sigma=n["acceptance_scale"]["sigma"] if "acceptance_scale" in n else None)
    p = raw.get("profile")
    return Spec(
        source=source, kind=kind, name=raw.get("name", Path(source).stem), description=raw.get("description", ""),
        acceptance=raw["acceptance"], physics=raw["physics"], datasets=tuple(raw["datasets"]),
        seed=raw[seed_section]["seed"] if seed_section else raw.get("seed"),
        measurements={d: dict(v) for d, v in raw.get("measurements", {}).items()},
        likelihoods=schema_spec.likelihood_choices(raw),
        figures=Figures(raw.get("figures", {}).get("enabled", True),
                        tuple(raw.get("figures", {}).get("fig1_ee_u_values", ()))),
        profile=Profile(tuple(p["couplings"]), tuple(p["range"]), p["points"], tuple(p["levels"])) if p else None,
        contours=tuple(Contour(c["x"], c["y"], tuple(c["x_range"]), tuple(c["y_range"]), c["points"], c["level"])
                       for c in raw.get("contours", [])),
        priors=priors, default_prior=prior(default) if default else None, nuisances=nuisances,
        sampler=SamplerSettings(**raw["sampler"]) if "sampler" in raw else None,
        diagnostics=Thresholds(**raw["diagnostics"]) if "diagnostics" in raw else None,
        compare=Compare(tuple(raw["compare"]["hypotheses"]), raw["compare"]["per_dataset"],
                        raw["compare"]["savage_dickey"], raw["compare"]["evidence"]) if "compare" in raw else None,
        smc=Smc(**raw["smc"]) if "smc" in raw else None,
        prior_sensitivity=PriorSensitivity(raw["prior_sensitivity"]["coupling"],
                                           tuple(raw["prior_sensitivity"]["half_widths"]))
        if "prior_sensitivity" in raw else None,
        projection_factors=tuple(float(f) for f in raw.get("projection", {}).get("factors", ())),
        fit=Fit(tuple(raw["fit"]["likelihoods"]), tuple(tuple(c) for c in raw["fit"]["combine"]),
                raw["fit"]["signal_points"]) if "fit" in raw else None,
        reference_physics=raw["physics_comparison"]["reference"] if "physics_comparison" in raw else None,
        ratio_values=tuple(raw.get("physics_comparison", {}).get("values", ())),
        binned=Binned(tuple(raw["binned"]["datasets"])) if "binned" in raw else None,
        study=StudySettings(**{"scheduler": None, "folder": None, "compile_root": None, **raw["study"]})
        if "study" in raw else None,
        coverage=CoverageToys(**{**raw["coverage"], "true_range": tuple(raw["coverage"]["true_range"])})
        if "coverage" in raw else None,
        feldman_cousins=FeldmanCousinsToys(**raw["feldman_cousins"]) if "feldman_cousins" in raw else None,
        sbc=SBCSettings(**raw["sbc"]) if "sbc" in raw else None,
        constraints=Constraints(**{**raw["constraints"],
                                   "savage_dickey_check": tuple(raw["constraints"]["savage_dickey_check"])})
        if "constraints" in raw else None,
        flavour_check=raw.get("reports", {}).get("flavour_check", False),
        reproduction=raw.get("reports", {}).get("reproduction", False),
        raw=raw,
    )
