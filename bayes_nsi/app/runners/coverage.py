"""Runner of ``kind = "coverage"``: how often the Delta chi^2 intervals contain the true coupling.

For every coupling of ``[profile]`` and every data-set key (each data set and the combination, plus each data set
of ``[binned]`` on its own), toys are drawn at each true value of ``[coverage]``'s grid (the other eleven couplings
zero) from the spec's likelihood: the paper's Gaussian (eq. 20), Poisson counting (counts and the backgrounds'
auxiliary measurements drawn, backgrounds profiled in closed form) or a binned release (counts per bin and the
constrained nuisances' auxiliary measurements drawn, every nuisance profiled). Each toy is refitted on
``profile.range`` and counted as covered when Delta chi^2(eps_true) <= level (``profile.levels``), i.e. when the
interval of that toy, read as in the paper, contains eps_true (``inference.studies.coverage``). The toys run as
tasks of the study engine (``[study]``); their files stay in the task folder so an interrupted run resumes.

Writes ``coverage.json`` ({coupling: {key: {"theta_true", "n_toys", "levels": {level: {"fraction", "lower",
"upper"}}}}}, the Clopper-Pearson 68 % band), ``coverage.csv`` (one row per coupling, key, level and true
value), ``coverage.md`` (min / mean / max over the true values) and ``coverage_dchi2_<level>`` figures.
Every file names the acceptance and physics modes and each key's likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.stats import chi2

from bayes_nsi.app.reports import MODE_NOTE, row_label
from bayes_nsi.app.results import save_figure, write_csv, write_json, write_text
from bayes_nsi.app.study_runs import manifest_fields, run_tasks
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.markdown import table

LIKELIHOODS = {
    "gaussian": "gaussian (eq. 20: ((R_exp - R_th) / sigma)^2 per data set, summed for the combination)",
    "poisson_counting": "poisson_counting (n ~ Poisson(s + b), b profiled against its auxiliary measurement; toys draw "
                        "n and the auxiliary measurement, true b at the published expectation)",
    "binned_poisson": "binned_poisson (the release's binned template likelihood, every nuisance profiled; toys draw "
                      "the counts per bin and the constrained nuisances' auxiliary measurements, true nuisances "
                      "nominal)",
}


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Run the coverage toys of ``spec`` and write their tables and figures into ``out``."""
    from bayes_nsi.inference.studies.binned import BinnedCoupling
    from bayes_nsi.inference.studies.coverage import ONE_SIGMA, coverage_study, coverage_tables
    from bayes_nsi.inference.studies.paper import study_models

    prof, toys = spec.profile, spec.coverage
    obs = spec.observations()
    likelihood = next(iter(set(obs.likelihoods.values())))  # the spec check allows one likelihood for all
    binned = spec.binned.datasets if spec.binned else ()
    keys = obs.datasets + (("combined",) if len(obs.datasets) > 1 else ()) + binned
    models = study_models(prof.couplings, keys[:len(keys) - len(binned)], obs, acceptance=spec.acceptance,
                          lo=prof.range[0], hi=prof.range[1], points=toys.fit_points, physics=spec.physics)
    models.update({f"{c}/{b}": BinnedCoupling(c, b, spec.physics, prof.range[0], prof.range[1],
                                              toys.binned_fit_points) for c in prof.couplings for b in binned})
    key_likelihood = {**{k: likelihood for k in keys}, **{b: "binned_poisson" for b in binned}}
    truths = np.linspace(*toys.true_range, toys.true_points)
    study = coverage_study(models, truths, toys.toys, toys_per_task=toys.toys_per_task, seed=spec.study.seed)
    log(f"coverage of {len(prof.couplings)} coupling(s) x {len(keys)} key(s) x {len(truths)} true values x "
        f"{toys.toys} toys (acceptance {spec.acceptance}, physics {spec.physics})")
    study_run = run_tasks(study, spec.study, log)
    flat = coverage_tables(study, study_run.results(), prof.levels, ONE_SIGMA)
    tables = {c: {k: flat[f"{c}/{k}"] for k in keys} for c in prof.couplings}
    nominal = {level: float(chi2.cdf(level, 1)) for level in prof.levels}
    shown = ", ".join(sorted(set(key_likelihood.values())))
    note = f"{MODE_NOTE[spec.acceptance]}; physics: {spec.physics}; likelihood: {shown}"

    write_json(out / "coverage.json", {
        "acceptance": spec.acceptance, "physics": spec.physics,
        "likelihood": {k: LIKELIHOODS[lk] for k, lk in key_likelihood.items()},
        "datasets": list(obs.datasets), "binned": list(binned), "keys": list(keys), "levels": list(prof.levels),
        "nominal": {f"{lv:g}": p for lv, p in nominal.items()}, "toys": toys.toys, "fit_range": list(prof.range),
        "fit_points": toys.fit_points, "binned_fit_points": toys.binned_fit_points,
        "band": "Clopper-Pearson, 68.27 %", "seed": spec.study.seed, "study_hash": study.hash,
        "coverage": {c: {k: cov.to_json() for k, cov in per.items()} for c, per in tables.items()}})
    rows = [[spec.acceptance, spec.physics, c, k, key_likelihood[k], f"{lv:g}", f"{t:.6g}", cov.n_toys,
             int(cov.covered[i, j]), f"{cov.fraction[i, j]:.6f}", f"{cov.lower[i, j]:.6f}", f"{cov.upper[i, j]:.6f}"]
            for c, per in tables.items() for k, cov in per.items()
            for j, lv in enumerate(cov.levels) for i, t in enumerate(cov.theta_true)]
    write_csv(out / "coverage.csv", ["acceptance", "physics", "coupling", "key", "likelihood", "level", "eps_true",
                                     "toys", "covered", "fraction", "cp_lower", "cp_upper"], rows)
    write_text(out / "coverage.md", markdown(tables, nominal, keys, toys.toys, prof.range, truths, note))
    if spec.figures.enabled:
        from bayes_nsi.app.study_plots import fig_coverage

        for j, level in enumerate(prof.levels):
            save_figure(fig_coverage(tables, j, level, nominal[level], note), out, f"coverage_dchi2_{level:g}")
    return {**manifest_fields(study_run, spec.study), "likelihoods": {**obs.likelihoods, **{
        b: "binned_poisson" for b in binned}}}


def markdown(tables: dict, nominal: dict, keys: tuple[str, ...], n_toys: int, fit_range: tuple[float, float],
             truths: np.ndarray, note: str) -> str:
    """Min / mean / max coverage over the true values, per level, coupling and data-set key."""
    lines = ["# Coverage of the Delta chi^2 intervals", "", f"{note}.", "",
             f"Toys: {n_toys} per true value at {len(truths)} true values on [{truths[0]:g}, {truths[-1]:g}] "
             f"(other couplings zero); each toy refitted on [{fit_range[0]:g}, {fit_range[1]:g}]. A toy is covered "
             "when chi^2(eps_true) - min chi^2 <= level. Cells: min / mean / max over the true values, and the "
             f"true value of the minimum; the binomial error of one fraction is <= {0.5 / np.sqrt(n_toys):.3f}.",
             ""]
    for j, (level, p) in enumerate(nominal.items()):
        rows = []
        for coupling, per in tables.items():
            cells = []
            for k in keys:
                f = per[k].fraction[:, j]
                cells.append(f"{f.min():.3f} / {f.mean():.3f} / {f.max():.3f} (min at {truths[np.argmin(f)]:g})")
            rows.append([coupling, *cells])
        lines += [f"## Delta chi^2 = {level:g} (nominal {p:.4f})", "",
                  table(["coupling", *(row_label(k) for k in keys)], rows), ""]
    return "\n".join(lines)
