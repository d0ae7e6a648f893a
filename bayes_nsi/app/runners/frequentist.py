"""Runner of ``kind = "frequentist"``: SM events, Table III, Figs. 1-4 and contours of the paper."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bayes_nsi.app import plots
from bayes_nsi.app.api import sm_events, survival_probability
from bayes_nsi.physics.couplings import COUPLINGS, FLAVOUR_PAIRS
from bayes_nsi.app.flavour_check import two_vs_three_flavour
from bayes_nsi.inference.scans import Chi2Scanner, contours, intervals_json, profiles
from bayes_nsi.inference.intervals import intervals_to_text
from bayes_nsi.inference.likelihood import observations
from bayes_nsi.app.results import save_figure, write_csv, write_json, write_text

ROW_LABELS = {"paired": "Paired", "us2": "US2", "xenonnt": "XENONnT", "combined": "Combined"}
MODE_NOTE = {"paper": "acceptance: paper normalization (SM = 2.4, 46.8, 11.3 events)",
             "published": "acceptance: published curves, unnormalized"}


def selected_couplings(profile: dict) -> list[str]:
    """The spec's coupling list, with "all" expanded."""
    return list(COUPLINGS) if profile["couplings"] == "all" else list(profile["couplings"])


def table3(intervals: dict, level_key: str, mode: str, digits: int = 2) -> tuple[str, list[list[str]]]:
    """Markdown and CSV rows laid out like the paper's Table III (up block, then down block)."""
    per_key = intervals[level_key]
    lines = [f"1-sigma intervals (Delta chi^2 = 1), {MODE_NOTE[mode]}.", ""]
    rows = []
    for quark in ("u", "d"):
        names = [f"{p}_{quark}" for p, _, _ in FLAVOUR_PAIRS]
        present = [n for n in names if any(n in v for v in per_key.values())]
        if not present:
            continue
        lines += [f"| {quark}-quark | " + " | ".join(plots.coupling_label(n) for n in present) + " |",
                  "|---" * (len(present) + 1) + "|"]
        for key, per in per_key.items():
            cells = [intervals_to_text(per[n], digits) for n in present]
            lines.append(f"| {ROW_LABELS[key]} | " + " | ".join(cells) + " |")
            rows.append([quark, key] + [f"{n}: {c}" for n, c in zip(present, cells, strict=True)])
        lines.append("")
    return "\n".join(lines), rows


def run(spec: dict, out: Path, log: Callable[[str], None]) -> dict:
    """Compute and write every output of a frequentist spec into ``out``."""
    timings: dict[str, float] = {}
    mode = spec["acceptance"]
    obs = observations(spec["datasets"], spec.get("measurements"))

    t0 = time.perf_counter()
    events = sm_events()
    write_json(out / "sm_events.json", {"acceptance_used_by_this_analysis": mode, **events,
                                        "paper_reference": {"paired": 2.4, "us2": 46.8, "xenonnt": 11.3},
                                        "note": "published: curves as released (us2 has none); paper: each "
                                                "acceptance scaled so that the SM gives the paper's events"})
    for m, per in events.items():
        log(f"SM events, {m} acceptance: " + ", ".join(f"{d} {'n/a' if v is None else f'{v:.3f}'}"
                                                     for d, v in per.items()))
    scanner = Chi2Scanner.for_data(obs, mode)
    scanner.events(np.zeros((1, 12)))
    timings["compile_s"] = time.perf_counter() - t0

    result: dict = {"acceptance": mode, "sm_events": events}
    if "profile" in spec:
        prof = spec["profile"]
        t0 = time.perf_counter()
        scans = profiles(scanner, selected_couplings(prof), *prof["range"], prof["points"], prof["levels"])
        timings["profiles_s"] = time.perf_counter() - t0
        log(f"{sum(len(v) for v in scans.values())} profiles in {timings['profiles_s']:.2f} s")
        ints = intervals_json(scans, prof["levels"])
        write_json(out / "intervals.json", {"acceptance": mode, **ints})
        if "1sigma" in ints:
            md, rows = table3(ints, "1sigma", mode)
            write_text(out / "table3.md", md)
            write_csv(out / "table3.csv", ["quark", "dataset"] + [p for p, _, _ in FLAVOUR_PAIRS], rows)
        write_csv(out / "profiles.csv", ["dataset", "coupling", "x", "delta_chi2"],
                  [[k, c, f"{x:.6g}", f"{d:.6g}"] for k, per in scans.items() for c, r in per.items()
                   for x, d in zip(r.x, r.delta_chi2, strict=True)])
        if spec["figures"]["enabled"]:
            for quark, stem in (("u", "fig2_up"), ("d", "fig3_down")):
                save_figure(plots.fig_profiles(scans, quark, MODE_NOTE[mode]), out, stem)
        result["intervals"] = ints

    planes = {}
    t0 = time.perf_counter()
    for c in spec.get("contours", []):
        planes[(c["x"], c["y"])] = contours(scanner, c["x"], c["y"], c["x_range"], c["y_range"], c["points"],
                                            c["level"])
    timings["contours_s"] = time.perf_counter() - t0
    if planes:
        write_json(out / "contours.json", {"acceptance": mode, "planes": [
            {"x": x, "y": y, "level": next(iter(per.values())).level,
             "lines": {k: [line.round(6).tolist() for line in r.lines] for k, r in per.items()}}
            for (x, y), per in planes.items()]})
        if spec["figures"]["enabled"]:
            save_figure(plots.fig4_contours(planes, MODE_NOTE[mode]), out, "fig4")

    t0 = time.perf_counter()
    check = two_vs_three_flavour()
    write_json(out / "flavour_check.json", {
        "what": "max over E_nu in [5, 15] MeV of |P2 - P3| / P3: two-flavour mass dominance (eqs. 9-16) vs "
                "exact adiabatic three-flavour diagonalization of eq. (7); one coupling at a time", **check})
    timings["flavour_check_s"] = time.perf_counter() - t0
    worst = max(check["couplings"].items(), key=lambda kv: kv[1]["max_rel"])
    log(f"2- vs 3-flavour <P_ee>: largest difference {worst[1]['max_rel']:.1%} ({worst[0]} = "
        f"{worst[1]['at_value']:g}, E = {worst[1]['at_enu_mev']:g} MeV)")

    if spec["figures"]["enabled"]:
        enu = np.geomspace(0.1, 18.0, 600)
        curves = {v: survival_probability(enu, ee_u=v) for v in spec["figures"]["fig1_ee_u_values"]}
        save_figure(plots.fig1_survival(enu, curves, "two-flavour, production-averaged (eq. 16)"), out, "fig1")
    return {"timings": timings, "sm_events": events}
