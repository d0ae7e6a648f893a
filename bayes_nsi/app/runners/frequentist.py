"""Runner of ``kind = "frequentist"``: SM events, Table III, Figs. 1-4 and contours of the paper."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bayes_nsi import markdown
from bayes_nsi.app import plots, progress
from bayes_nsi.app.api import sm_events, survival_probability
from bayes_nsi.app.flavour_check import two_vs_three_flavour
from bayes_nsi.app.reports import MODE_NOTE, PROFILE_HEADER, profile_rows, table3
from bayes_nsi.app.reproduction_report import write_reproduction
from bayes_nsi.app.results import save_figure, write_csv, write_json, write_text
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.experiments.registry import REGISTRY
from bayes_nsi.inference.scans import Chi2Scanner, contours, intervals_json, profiles
from bayes_nsi.names import COUPLINGS, FLAVOUR_PAIRS


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Compute and write every output of a frequentist spec into ``out``."""
    timings: dict[str, float] = {}
    mode = spec.acceptance
    obs = spec.observations()

    t0 = time.perf_counter()
    events = sm_events()
    write_json(out / "sm_events.json", {"acceptance_used_by_this_analysis": mode, **events,
                                        "paper_reference": {d.name: d.paper_sm_events for d in REGISTRY.values()},
                                        "note": "published: curves as released (null where a data set has "
                                                "none); paper: each acceptance scaled so that the SM gives the "
                                                "paper's events"})
    for m, per in events.items():
        log(f"SM events, {m} acceptance: " + ", ".join(f"{d} {'n/a' if v is None else f'{v:.3f}'}"
                                                     for d, v in per.items()))
    scanner = Chi2Scanner.for_data(obs, mode, spec.physics, interpreted=True)
    scanner.events(np.zeros((1, 12)))
    timings["compile_s"] = time.perf_counter() - t0

    result: dict = {"acceptance": mode, "sm_events": events}
    if spec.profile:
        prof = spec.profile
        t0 = time.perf_counter()
        with progress.bar("profiles", len(prof.couplings)) as step:
            scans = profiles(scanner, prof.couplings, *prof.range, prof.points, prof.levels, step)
        timings["profiles_s"] = time.perf_counter() - t0
        log(f"{sum(len(v) for v in scans.values())} profiles in {timings['profiles_s']:.2f} s")
        ints = intervals_json(scans, prof.levels)
        write_json(out / "intervals.json", {"acceptance": mode, "physics": spec.physics, **ints})
        if "1sigma" in ints:
            caption = f"1-sigma intervals (Delta chi^2 = 1), {MODE_NOTE[mode]}; physics: {spec.physics}."
            md, rows = table3(ints, "1sigma", caption)
            write_text(out / "table3.md", md)
            write_csv(out / "table3.csv", ["quark", "dataset"] + [p for p, _, _ in FLAVOUR_PAIRS], rows)
        write_csv(out / "profiles.csv", PROFILE_HEADER, profile_rows(scans))
        reference_scans = None
        if spec.reference_physics:
            reference_scanner = Chi2Scanner.for_data(obs, mode, spec.reference_physics, interpreted=True)
            reference_scans = profiles(reference_scanner, prof.couplings, *prof.range, prof.points, prof.levels)
            _write_physics_comparison(spec, scanner, reference_scanner, ints,
                                      intervals_json(reference_scans, prof.levels), out)
        if spec.figures.enabled:
            for quark, stem in (("u", "fig2_up"), ("d", "fig3_down")):
                save_figure(plots.fig_profiles(scans, quark, f"{MODE_NOTE[mode]}; physics: {spec.physics}",
                                               reference_scans, spec.reference_physics or ""), out, stem)
        result["intervals"] = ints

    planes = {}
    t0 = time.perf_counter()
    for c in spec.contours:
        planes[(c.x, c.y)] = contours(scanner, c.x, c.y, c.x_range, c.y_range, c.points, c.level)
    timings["contours_s"] = time.perf_counter() - t0
    if planes:
        write_json(out / "contours.json", {"acceptance": mode, "physics": spec.physics, "planes": [
            {"x": x, "y": y, "level": next(iter(per.values())).level,
             "lines": {k: [line.round(6).tolist() for line in r.lines] for k, r in per.items()}}
            for (x, y), per in planes.items()]})
        reference_planes = None
        if spec.reference_physics:
            reference_scanner = Chi2Scanner.for_data(obs, mode, spec.reference_physics, interpreted=True)
            reference_planes = {(c.x, c.y): contours(reference_scanner, c.x, c.y, c.x_range, c.y_range, c.points,
                                                     c.level) for c in spec.contours}
        if spec.figures.enabled:
            note = f"{MODE_NOTE[mode]}; physics: {spec.physics}"
            if reference_planes:
                note += f" (dotted: {spec.reference_physics})"
            save_figure(plots.fig4_contours(planes, note, reference=reference_planes), out, "fig4")

    check = None
    if spec.flavour_check or spec.reproduction:
        t0 = time.perf_counter()
        check = two_vs_three_flavour()
        write_json(out / "flavour_check.json", {
            "what": "max over E_nu in [5, 15] MeV of |P2 - P3| / P3: two-flavour mass dominance (eqs. 9-16) vs "
                    "exact adiabatic three-flavour diagonalization of eq. (7); one coupling at a time", **check})
        timings["flavour_check_s"] = time.perf_counter() - t0
        worst = max(check["couplings"].items(), key=lambda kv: kv[1]["max_rel"])
        log(f"2- vs 3-flavour <P_ee>: largest difference {worst[1]['max_rel']:.1%} ({worst[0]} = "
            f"{worst[1]['at_value']:g}, E = {worst[1]['at_enu_mev']:g} MeV)")
    if spec.reproduction:
        t0 = time.perf_counter()
        write_reproduction(out, spec, scanner, result.get("intervals"), events, check, log)
        timings["reproduction_s"] = time.perf_counter() - t0

    if spec.figures.enabled:
        enu = np.geomspace(0.1, 18.0, 600)
        curves = {v: survival_probability(enu, physics=spec.physics, ee_u=v) for v in spec.figures.fig1_ee_u_values}
        note = "two-flavour" if spec.physics != "exact" else "exact three-flavour"
        save_figure(plots.fig1_survival(enu, curves, f"{note}, production-averaged (eq. 16)"), out, "fig1")
    return {"timings": timings, "sm_events": events}


def _write_physics_comparison(spec: Spec, scanner: Chi2Scanner, reference: Chi2Scanner, ints: dict,
                              reference_ints: dict, out: Path) -> None:
    """Table III in both physics modes side by side, and R(eps)/R_SM per coupling and data set in both."""
    mode, ref = spec.acceptance, spec.reference_physics
    write_json(out / f"intervals_{ref}.json", {"acceptance": mode, "physics": ref, **reference_ints})
    lines = [f"# Table III: physics {spec.physics} against {ref}", ""]
    for level in ("1sigma", "2sigma"):
        if level in ints:
            for physics, table in ((spec.physics, ints), (ref, reference_ints)):
                caption = f"## {level}, physics: {physics} ({MODE_NOTE[mode]})"
                lines += [table3(table, level, caption)[0], ""]
    write_text(out / f"table3_vs_{ref}.md", "\n".join(lines))
    values = np.asarray(spec.ratio_values, float)
    ratios: dict = {"values": values.tolist(), "acceptance": mode, "physics": [spec.physics, ref], "ratios": {}}
    rows = []
    for c in COUPLINGS:
        eps = np.zeros((len(values) + 1, 12))
        eps[1:, COUPLINGS.index(c)] = values
        here, there = scanner.events(eps), reference.events(eps)
        for i, d in enumerate(scanner.obs.datasets):
            a, b = here[1:, i] / here[0, i], there[1:, i] / there[0, i]
            ratios["ratios"].setdefault(d, {})[c] = {spec.physics: a.tolist(), ref: b.tolist()}
            rows.append([d, c, *(f"{x:.3f} / {y:.3f}" for x, y in zip(a, b, strict=True))])
    write_json(out / "rate_ratios.json", ratios)
    text = markdown.table(["data set", "coupling", *(f"eps = {v:g}" for v in values)], rows)
    write_text(out / "rate_ratios.md",
               f"# R(eps)/R_SM per coupling (others zero), physics {spec.physics} / {ref}\n\n{text}\n")
