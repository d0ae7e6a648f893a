"""Whole runs of the command line against the targets of issue 15 ("answers in seconds"), printed as Markdown.

    python benchmarks/bench_runs.py                      # every row; warm-up run before each warm timing
    python benchmarks/bench_runs.py --rows paper,ee_u    # some rows (paper, ee_u, ee_u_grid, all12, compare, logp)
    python benchmarks/bench_runs.py --no-warmup          # the compile cache is known to be warm already
    python benchmarks/bench_runs.py --cold-all           # a cold figure for every run row, not only paper

Each run is ``.venv/bin/bayes-nsi run <spec> --out <tmp> --quiet`` in a subprocess, timed from start to exit
(imports, compilation, the analysis, the report files). Warm: the repository's compile cache
(``PYTENSOR_FLAGS`` base_compiledir, ``<repo>/.pytensor`` unless set), after one untimed run of the same spec
unless ``--no-warmup``. Cold: an empty PyTensor compile directory (which holds PyTensor's numba cache and the
generated sources, see bayes_nsi/pytensor_config.py) and an empty ``NUMBA_CACHE_DIR`` (the package's own
``numba.njit(cache=True)`` kernels), both in a temporary folder under ``<repo>/.bench_cache`` deleted afterwards.
The result folders are temporary too. Beside each figure: the ratio to the target (below 1 meets it) and the
run's own timing breakdown (``manifest.json`` "timings"); for the posteriors the worst r_hat and smallest bulk
and tail ESS from ``diagnostics.json``. The logp row reuses benchmarks/bench_exact_physics.py (value + gradient
of the expected events, the physics part of every log density, median CPU time per call with one BLAS thread) in
``--logp-processes`` fresh processes and prints the smallest median with the range (see ``logp_rows``).

Nothing is asserted. The machine is shared: the load averages are printed at the start and the end, and beside
each wall time the CPU seconds (user + system) of the run and its worker processes, which other jobs inflate
far less than the wall time (a run's CPU-s above its wall time means it used several cores).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE_ROOT = REPO / ".bench_cache"
CLI = REPO / ".venv" / "bin" / "bayes-nsi"


@dataclass(frozen=True)
class RunRow:
    """One ``bayes-nsi run`` of the issue's table: spec, warm and cold targets (s; None: no target)."""

    key: str
    label: str
    spec: str
    warm_s: float | None
    cold_s: float | None


RUNS = (
    RunRow("paper", "`bayes-nsi run models/paper.toml`", "models/paper.toml", 3.0, 20.0),
    RunRow("ee_u", "one-coupling posterior (`posterior_ee_u_xenonnt`, 4 x 4000)",
           "models/posterior_ee_u_xenonnt.toml", 5.0, None),
    RunRow("ee_u_grid", "same posterior, `engine = \"quadrature\"` (`posterior_ee_u_xenonnt_quadrature`, 4 x 4000 "
           "independent draws)", "models/posterior_ee_u_xenonnt_quadrature.toml", 5.0, None),
    RunRow("all12", "12 couplings + flux + R_n (`posterior_all12`, 4 x 1000)", "models/posterior_all12.toml",
           20.0, None),
    RunRow("compare", "model comparison (`compare_sm_vs_nsi`)", "models/compare_sm_vs_nsi.toml", 60.0, None),
)
LOGP_TARGET_US = 15.0
LOGP_MODES = ("paper", "exact")
ROW_KEYS = tuple(r.key for r in RUNS) + ("logp",)


@dataclass
class Timed:
    """A finished run: wall and CPU seconds (user + system, the run and its worker processes), exit code, the
    manifest's timings and the diagnostics summary (if any)."""

    wall_s: float
    cpu_s: float
    code: int
    timings: dict
    diagnostics: dict | None


def run_spec(spec: str, cold: bool) -> Timed:
    """Time one ``bayes-nsi run`` into a temporary result folder (and, if ``cold``, empty compile caches)."""
    CACHE_ROOT.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE_ROOT))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    if cold:
        env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp / 'pytensor'}"
        env["NUMBA_CACHE_DIR"] = str(tmp / "numba")
    else:
        env.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO / '.pytensor'}")
    out = tmp / "out"
    try:
        t0, cpu0 = time.perf_counter(), _children_cpu_s()
        proc = subprocess.run([str(CLI), "run", str(REPO / spec), "--out", str(out), "--quiet"], env=env, cwd=REPO,
                              capture_output=True, text=True)
        wall, cpu = time.perf_counter() - t0, _children_cpu_s() - cpu0
        if proc.returncode != 0:
            print(f"<!-- {spec} exited {proc.returncode}: {proc.stderr.strip()[-500:]} -->")
        manifest = out / "manifest.json"
        timings = json.loads(manifest.read_text())["timings"] if manifest.exists() else {}
        diag_file = out / "diagnostics.json"
        diagnostics = json.loads(diag_file.read_text()) if diag_file.exists() else None
        return Timed(wall, cpu, proc.returncode, timings, diagnostics)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):  # left in place while other runs use it
            CACHE_ROOT.rmdir()


def _children_cpu_s() -> float:
    """User + system CPU seconds of the finished child processes of this process (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _seconds(t: Timed | None) -> str:
    if t is None:
        return "-"
    return f"{t.wall_s:.1f} s ({t.cpu_s:.1f} CPU-s)" + ("" if t.code == 0 else f" (exit {t.code})")


def _ratio(t: Timed | None, target: float | None) -> str:
    return "-" if t is None or target is None else f"{t.wall_s / target:.1f}"


def _breakdown(t: Timed | None) -> str:
    if t is None or not t.timings:
        return "-"
    return ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in t.timings.items() if isinstance(v, (int, float)))


def _diagnostics(t: Timed | None) -> str:
    d = None if t is None else t.diagnostics
    if not d:
        return ""
    if "grid_convergence" in d:
        worst = max(v["mean_change"] / v["sd"] for v in d["grid_convergence"].values())
        return f"; grid {d['grid_nodes']}, largest change of a posterior mean on every other node {worst:.1g} sd"
    return (f"; worst r_hat {d['max_r_hat']:.4f} (<= 1.01), min ESS bulk {d['min_ess_bulk']:.0f} / tail "
            f"{d['min_ess_tail']:.0f} (>= 1000), {d['divergences']} divergences")


def run_rows(rows: list[RunRow], warmup: bool, cold_all: bool) -> list[str]:
    """Markdown lines of the run rows (warm, then cold where a cold target exists or ``cold_all``)."""
    lines = []
    for row in rows:
        if warmup:
            run_spec(row.spec, cold=False)
        warm = run_spec(row.spec, cold=False)
        cold = run_spec(row.spec, cold=True) if (row.cold_s is not None or cold_all) else None
        target = f"warm < {row.warm_s:g} s" + (f", cold < {row.cold_s:g} s" if row.cold_s is not None else "")
        ratio = _ratio(warm, row.warm_s) + (f" / {_ratio(cold, row.cold_s)}" if row.cold_s is not None else "")
        breakdown = f"warm: {_breakdown(warm)}" + (f"; cold: {_breakdown(cold)}" if cold is not None else "")
        lines.append(f"| {row.label} | {target} | {_seconds(warm)} | {_seconds(cold)} | {ratio} | "
                     f"{breakdown}{_diagnostics(warm)} |")
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def _logp_process() -> tuple[dict, dict]:
    """bench_exact_physics.measure(LOGP_MODES) in a fresh Python process: (compile seconds, medians)."""
    code = (f"import json, bench_exact_physics as b; c, m = b.measure({LOGP_MODES!r}); "
            "print(json.dumps([c, {str(k): v for k, v in m.items()}]))")
    done = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", code], cwd=Path(__file__).resolve().parent,
                          capture_output=True, text=True, check=True)
    compile_s, medians = json.loads(done.stdout.strip().splitlines()[-1])
    return compile_s, {int(k): v for k, v in medians.items()}


def logp_rows(processes: int) -> list[str]:
    """Markdown lines of value + gradient per point at batch 1 and 2001 per physics mode (bench_exact_physics),
    measured in ``processes`` fresh processes.

    The figure is the smallest of the processes' medians, with the range beside it: on this shared machine a
    whole process sometimes runs about twice as slowly as the next (CPU time, so not waiting), and the fastest
    process is the closest to the code's own cost (the reasoning behind ``timeit``'s advice to take the minimum).
    """
    runs = [_logp_process() for _ in range(processes)]
    lines = []
    for mode in LOGP_MODES:
        ones = [medians[1][mode] * 1e6 for _, medians in runs]
        batched = [medians[2001][mode] / 2001 * 1e6 for _, medians in runs]
        ratios = [b / o for b, o in zip(batched, ones, strict=True)]
        one, best = min(ones), min(range(processes), key=lambda k: ones[k])
        lines.append(f"| logp + gradient per point, physics \"{mode}\", batch 1 | < {LOGP_TARGET_US:g} us | "
                     f"{one:.1f} us | - | {one / LOGP_TARGET_US:.2f} | events + gradient of 3 data sets, median CPU "
                     f"time per process, smallest of {processes} processes (range {min(ones):.1f}-{max(ones):.1f} "
                     f"us); model + compile + first calls {runs[best][0][mode]:.1f} s |")
        lines.append(f"| same, batch 2001 | <= batch 1 per point | {batched[best]:.1f} us | - | {ratios[best]:.2f} | "
                     f"ratio = per point at 2001 / per point at 1 in the same process (range over the processes "
                     f"{min(ratios):.2f}-{max(ratios):.2f}) |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROW_KEYS), help=f"comma-separated subset of {', '.join(ROW_KEYS)}")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false", help="skip the untimed warm-up run")
    parser.add_argument("--cold-all", action="store_true", help="a cold run of every spec, not only paper.toml")
    parser.add_argument("--logp-processes", type=int, default=4, help="fresh processes measuring the logp row")
    args = parser.parse_args()
    keys = [k.strip() for k in args.rows.split(",") if k.strip()]
    unknown = sorted(set(keys) - set(ROW_KEYS))
    if unknown:
        raise ValueError(f"--rows: unknown {unknown}; allowed: {', '.join(ROW_KEYS)}")

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    start_load = os.getloadavg()
    print(f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC at commit {commit} (plus the working "
          f"tree), {len(os.sched_getaffinity(0))} cores; load average at start "
          f"{', '.join(f'{x:.2f}' for x in start_load)}")
    print()
    lines = run_rows([r for r in RUNS if r.key in keys], args.warmup, args.cold_all)
    if "logp" in keys:
        lines += logp_rows(args.logp_processes)
    print("| row | target | measured (warm) | measured (cold) | ratio measured/target (warm / cold) | breakdown "
          "(manifest timings, s) |")
    print("|---|---|---|---|---|---|")
    print("\n".join(lines))
    print()
    print(f"Load average at end {', '.join(f'{x:.2f}' for x in os.getloadavg())}.")


if __name__ == "__main__":
    main()
