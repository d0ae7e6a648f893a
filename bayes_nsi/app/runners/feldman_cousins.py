"""Runner of ``kind = "feldman_cousins"``: Table III with Feldman-Cousins intervals next to the Delta chi^2 ones.

For every coupling of ``[profile]`` and every data-set key, the Neyman construction with likelihood-ratio
ordering (``inference.studies.feldman_cousins``) runs on ``feldman_cousins.grid_points`` values of the
coupling on ``profile.range``, ``feldman_cousins.toys`` pseudo-experiments per value of the spec's likelihood
(the paper's Gaussian, eq. 20, or Poisson counting with the backgrounds' auxiliary measurements drawn), at the
confidence levels P(chi^2_1 <= level) of ``profile.levels`` (68.27 and 95.45 % for the paper's 1 and 4).
The measured values then give the FC intervals; the Delta chi^2 intervals come from the same profiles the paper's
Table III reads (``profile.points`` points).

Writes ``feldman_cousins.json`` (both sets of intervals, the belts' critical values), ``table3_fc.{md,csv}``
and ``table3_dchi2.{md,csv}`` (Table III layout, every level), ``feldman_cousins.md`` (entry by entry, FC
next to Delta chi^2), and the figures ``fc_vs_dchi2`` and ``fc_critical_<key>``. Every file names the
acceptance and physics modes and the likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.stats import chi2

from bayes_nsi.app.reports import MODE_NOTE, row_label, table3
from bayes_nsi.app.results import save_figure, write_csv, write_json, write_text
from bayes_nsi.app.study_runs import manifest_fields, run_tasks
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.inference.intervals import intervals_to_text
from bayes_nsi.markdown import table


def level_name(level: float) -> str:
    """The key of a Delta chi^2 level in interval tables (``inference.scans.intervals_json``'s names)."""
    return {1.0: "1sigma", 4.0: "2sigma"}.get(float(level), f"dchi2_{level:g}")


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Build the belts of ``spec`` on the study engine, read the FC intervals, write them beside Table III."""
    from bayes_nsi.inference.scans import Chi2Scanner, intervals_json, profiles
    from bayes_nsi.inference.studies.feldman_cousins import belts, fc_intervals, feldman_cousins_study
    from bayes_nsi.inference.studies.paper import study_models

    prof, fc = spec.profile, spec.feldman_cousins
    obs = spec.observations()
    keys = obs.datasets + (("combined",) if len(obs.datasets) > 1 else ())
    models = study_models(prof.couplings, keys, obs, acceptance=spec.acceptance, lo=prof.range[0],
                          hi=prof.range[1], points=fc.fit_points, physics=spec.physics)
    grid = np.linspace(*prof.range, fc.grid_points)
    cls = tuple(float(chi2.cdf(level, 1)) for level in prof.levels)
    study = feldman_cousins_study(models, {name: grid for name in models}, fc.toys, cls=cls, seed=spec.study.seed)
    log(f"Feldman-Cousins belts of {len(prof.couplings)} coupling(s) x {len(keys)} key(s) on {fc.grid_points} "
        f"points x {fc.toys} toys (acceptance {spec.acceptance}, physics {spec.physics})")
    study_run = run_tasks(study, spec.study, log)
    belt = belts(study, study_run.results())

    names = [level_name(level) for level in prof.levels]
    fc_json: dict = {n: {k: {} for k in keys} for n in names}
    for name, recipe in models.items():
        coupling, key = name.split("/")
        pieces = fc_intervals(recipe.build(), belt[name], recipe.observed)
        for n, cl in zip(names, belt[name].cls, strict=True):
            fc_json[n][key][coupling] = [[round(a, 6), round(b, 6)] for a, b in pieces[cl]]
    scanner = Chi2Scanner.for_data(obs, spec.acceptance, spec.physics)
    dchi2_json = intervals_json(profiles(scanner, prof.couplings, *prof.range, prof.points, prof.levels), prof.levels)

    likelihood = next(iter(set(obs.likelihoods.values())))  # the spec check allows one likelihood for all
    note = f"{MODE_NOTE[spec.acceptance]}; physics: {spec.physics}; likelihood: {likelihood}"
    settings = (f"Neyman construction with likelihood-ratio ordering on {fc.grid_points} points of "
                f"[{prof.range[0]:g}, {prof.range[1]:g}], {fc.toys} toys per point, seed {spec.study.seed}")
    write_json(out / "feldman_cousins.json", {
        "acceptance": spec.acceptance, "physics": spec.physics, "likelihood": likelihood, "construction": settings,
        "levels": {n: {"delta_chi2": lv, "cl": cl} for n, lv, cl in zip(names, prof.levels, cls, strict=True)},
        "feldman_cousins": fc_json, "delta_chi2": dchi2_json, "study_hash": study.hash,
        "belts": {name: {"theta": b.theta, "critical": {n: b.critical[:, j] for j, n in enumerate(names)}}
                  for name, b in belt.items()}})
    for label, intervals, what in (("fc", fc_json, "Feldman-Cousins"), ("dchi2", dchi2_json, "Delta chi^2")):
        texts, csv_rows = [], []
        for n, lv, cl in zip(names, prof.levels, cls, strict=True):
            caption = f"**{what} intervals, {100 * cl:.2f} % CL (Delta chi^2 = {lv:g})**; {note}."
            if label == "fc":
                caption += f" {settings}."
            texts.append(table3(intervals, n, caption)[0])
            csv_rows += [[spec.acceptance, spec.physics, n, coupling, key, intervals_to_text(per[coupling], 4)]
                         for key, per in intervals[n].items() for coupling in prof.couplings]
        write_text(out / f"table3_{label}.md", "\n".join(texts))
        write_csv(out / f"table3_{label}.csv", ["acceptance", "physics", "level", "coupling", "key", "interval"],
                  csv_rows)
    write_text(out / "feldman_cousins.md", side_by_side(fc_json, dchi2_json, names, cls, keys, prof.couplings,
                                                        note, settings))
    if spec.figures.enabled:
        from bayes_nsi.app.study_plots import fig_fc_critical, fig_fc_vs_dchi2

        save_figure(fig_fc_vs_dchi2(fc_json, dchi2_json, names, prof.couplings, keys, note), out, "fc_vs_dchi2")
        for key in keys:
            per = {c: belt[f"{c}/{key}"] for c in prof.couplings}
            save_figure(fig_fc_critical(per, key, prof.levels, note), out, f"fc_critical_{key}")
    return {**manifest_fields(study_run, spec.study), "likelihoods": obs.likelihoods}


def side_by_side(fc: dict, dchi2: dict, names: list[str], cls: tuple[float, ...], keys: tuple[str, ...],
                 couplings: tuple[str, ...], note: str, settings: str) -> str:
    """One row per Table III entry: the FC interval next to the Delta chi^2 one at each level."""
    header = [h for n, cl in zip(names, cls, strict=True) for h in (f"FC {100 * cl:.2f} %", f"Delta chi^2 {n}")]
    lines = ["# Feldman-Cousins next to Delta chi^2 intervals (Table III entries)", "", f"{note}.", "",
             f"{settings}. Ordering statistic: chi^2(theta) - min over the range (the paper's Delta chi^2), so an "
             "FC interval differs from the Delta chi^2 one only where Wilks' critical value (1, 4) is wrong.", "",
             table(["coupling", "data", *header],
                   [[coupling, row_label(key), *(text for n in names for text in (
                       intervals_to_text(fc[n][key][coupling]), intervals_to_text(dchi2[n][key][coupling])))]
                    for coupling in couplings for key in keys])]
    return "\n".join(lines) + "\n"
