"""Runner of ``kind = "projection"``: 1-sigma intervals as the exposure grows by factors f.

Assumption (stated in every output): every data set's error scales as 1/sqrt(f) while the measured
central values stay fixed; the SM prediction and the acceptances are unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bayes_nsi.app import plots
from bayes_nsi.app.reports import MODE_NOTE
from bayes_nsi.app.results import save_figure, write_json
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.inference.scans import Chi2Scanner, profiles

ASSUMPTION = ("errors scaled by 1/sqrt(f) with the measured central values held fixed; "
              "statistical-only scaling, no change of the SM prediction or acceptances")


def total_width(pieces: list[list[float]]) -> float:
    """Summed length of disjoint interval pieces."""
    return float(sum(b - a for a, b in pieces))


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Profile every coupling at each exposure factor and write projection.json and a figure."""
    mode, prof = spec.acceptance, spec.profile
    couplings = list(prof.couplings)
    factors = list(spec.projection_factors)
    t0 = time.perf_counter()
    scanner = Chi2Scanner.for_data(spec.observations(), mode, spec.physics)
    by_factor = {}
    for f in factors:
        scan = profiles(scanner.with_observations(spec.observations(error_scale=1.0 / np.sqrt(f))),
                        couplings, *prof.range, prof.points, [1.0])
        by_factor[f] = {k: {c: r.intervals[1.0] for c, r in per.items()} for k, per in scan.items()}
        log(f"f = {f:g}: done")
    keys = list(by_factor[factors[0]])
    widths = {k: {c: [total_width(by_factor[f][k][c]) for f in factors] for c in couplings} for k in keys}
    rel = {k: {c: [w / v[0] - 1.0 if v[0] > 0 else None for w in v] for c, v in per.items()}
           for k, per in widths.items()}
    write_json(out / "projection.json", {
        "acceptance": mode, "physics": spec.physics, "assumption": ASSUMPTION, "factors": factors,
        "level": "1sigma (Delta chi^2 = 1)",
        "intervals": {f"{f:g}": by_factor[f] for f in factors},
        "total_width": widths, "relative_width_change_vs_f1": rel})
    key = "combined" if "combined" in widths else keys[0]
    save_figure(plots.fig_projection(factors, widths[key], f"{key}; {MODE_NOTE[mode]}\n{ASSUMPTION}"),
                out, "projection")
    return {"timings": {"projection_s": time.perf_counter() - t0}, "assumption": ASSUMPTION}
