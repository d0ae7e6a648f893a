"""Throughput of the study engine and projected wall times of full studies (printed, never asserted).

    python benchmarks/bench_studies.py              # serial, 1 and 2 workers, no-op overhead, FC task time
    python benchmarks/bench_studies.py --toys 1000  # more toys per true value in the measured study

Measured study: Gaussian-chi^2 coverage of one coupling (ee_u) for the 4 keys (3 data sets + combined)
at 21 true values in [-0.5, 0.5], toys in tasks of --toys-per-task. Each run starts its own LocalCluster;
a small warm-up study first fills the per-worker compile directories under --compile-root (they stay
warm from run to run). The machines are shared: figures vary with the load. Projections:
T(P) = t_build + ceil(N / P) * (t_task + o_task), with t_task the median task time on a warm worker,
o_task the engine's per-task overhead (no-op tasks on 2 workers), t_build the first task's extra time
on a fresh worker (model build); cluster start-up and batch-queue waits come on top.
"""

import argparse
import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayes_nsi.inference.studies.coverage import coverage_study, coverage_tables
from bayes_nsi.inference.studies.engine import Study, StudyRun, run_study
from bayes_nsi.inference.studies.feldman_cousins import feldman_cousins_study

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("paired", "us2", "xenonnt")
KEYS = DATASETS + ("combined",)
TRUE_VALUES = np.linspace(-0.5, 0.5, 21)


@dataclass(frozen=True)
class NoOp:
    """An empty task: what the engine costs per task (submission, scheduling, result file, bookkeeping)."""

    def __call__(self, index: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"x": np.zeros(1)}


def summary(label: str, run: StudyRun) -> dict[str, float]:
    times = sorted(run.task_seconds.values())
    median = statistics.median(times)
    n = len(run.computed)
    out = {"median": median, "sum": sum(times), "build": times[-1] - median, "compute": run.compute_seconds,
           "rate": n / run.compute_seconds}
    print(f"{label:>10}: {n} tasks, start-up {run.startup_seconds:5.1f} s, compute {run.compute_seconds:6.1f} s, "
          f"wall {run.wall_seconds:6.1f} s -> {out['rate']:6.2f} tasks/s; task median {median * 1e3:6.1f} ms, "
          f"slowest {times[-1]:5.1f} s (includes the model build of a fresh process)")
    return out


def projected(n_tasks: int, t_task: float, o_task: float, t_build: float, cores: int) -> float:
    return t_build + math.ceil(n_tasks / cores) * (t_task + o_task)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--toys", type=int, default=500, help="toys per true value in the measured study")
    parser.add_argument("--toys-per-task", type=int, default=250)
    parser.add_argument("--fc-toys", type=int, default=10_000, help="toys per grid point of an FC task")
    parser.add_argument("--compile-root", default=str(REPO / ".pytensor" / "dask-workers"))
    args = parser.parse_args()
    # imported here, not at the top: dask's spawned workers re-import this script, and must not load
    # PyTensor before their compile directory is set (bayes_nsi.inference.studies.worker)
    from bayes_nsi.inference.observations import observations
    from bayes_nsi.inference.studies.paper import study_models
    from bayes_nsi.physics.couplings import COUPLINGS

    obs = observations(DATASETS)
    models = study_models(["ee_u"], KEYS, obs)
    study = coverage_study(models, TRUE_VALUES, args.toys, toys_per_task=args.toys_per_task, seed=1)
    print(f"coverage of ee_u, {len(KEYS)} keys x {len(TRUE_VALUES)} true values x {args.toys} toys "
          f"= {study.n_tasks} tasks of {args.toys_per_task} toys")
    with tempfile.TemporaryDirectory() as tmp:
        serial_run = run_study(study, Path(tmp) / "serial", serial=True, progress=False)
        serial = summary("serial", serial_run)
        warm = coverage_study(models, TRUE_VALUES[:2], args.toys_per_task, toys_per_task=args.toys_per_task, seed=9)
        t0 = time.perf_counter()
        run_study(warm, Path(tmp) / "warm", workers=2, compile_root=args.compile_root, progress=False)
        print(f"warm-up on 2 workers ({warm.n_tasks} tasks): {time.perf_counter() - t0:.1f} s "
              "(a cold compile per worker directory the first time ever, then cache loads)")
        runs = {w: run_study(study, Path(tmp) / f"w{w}", workers=w, compile_root=args.compile_root, progress=False)
                for w in (1, 2)}
        stats = {w: summary(f"{w} worker{'s' if w > 1 else ''}", r) for w, r in runs.items()}
        same = [all(np.array_equal(a[k], b[k]) for a, b in zip(serial_run.results(), r.results(), strict=True)
                    for k in a) for r in runs.values()]
        print(f"results bit-identical to the serial run: 1 worker {same[0]}, 2 workers {same[1]}; "
              f"speed-up 2 vs 1 worker: {stats[2]['rate'] / stats[1]['rate']:.2f}")
        cov = coverage_tables(study, runs[2].results())
        print("Delta chi^2 = 1 coverage at eps_true = -0.5, -0.25, 0, 0.25, 0.5 (CP 68% band):")
        for name, c in cov.items():
            cells = [f"{c.fraction[i, 0]:.3f} [{c.lower[i, 0]:.3f},{c.upper[i, 0]:.3f}]" for i in (0, 5, 10, 15, 20)]
            print(f"  {name:>16}: " + "  ".join(cells))

        noop = Study("noop", {"n": 400}, 400, 0, NoOp())
        overhead = run_study(noop, Path(tmp) / "noop", workers=2, progress=False)
        o_task = overhead.compute_seconds * overhead.workers / len(overhead.computed)
        print(f"engine overhead: {len(overhead.computed)} no-op tasks on 2 workers in {overhead.compute_seconds:.2f} s"
              f" -> {len(overhead.computed) / overhead.compute_seconds:.0f} tasks/s, {o_task * 1e3:.1f} ms per task "
              "per worker")

        fc_grid = np.linspace(-1.0, 1.0, 201)
        fc_probe = feldman_cousins_study({"ee_u/combined": models["ee_u/combined"]},
                                         {"ee_u/combined": fc_grid[::50]}, args.fc_toys, seed=2)
        fc_run = run_study(fc_probe, Path(tmp) / "fc", serial=True, progress=False)
        fc_task = statistics.median(fc_run.task_seconds.values())  # model already built by the serial run
        print(f"FC task ({args.fc_toys} toys at one grid point, warm): {fc_task:.2f} s")

    t_task, t_build = stats[2]["median"], stats[2]["build"]
    n_cov = len(COUPLINGS) * len(KEYS) * 21 * math.ceil(1000 / args.toys_per_task)
    n_fc = len(COUPLINGS) * len(KEYS) * len(fc_grid)
    print(f"\nprojections (t_build {t_build:.1f} s, o_task {o_task * 1e3:.1f} ms; cluster start-up not included)")
    print(f"  full coverage: 12 couplings x 4 keys x 21 true values x 1000 toys = {n_cov} tasks of "
          f"{args.toys_per_task} toys, t_task {t_task * 1e3:.0f} ms: CPU {n_cov * t_task / 3600:.2f} h")
    for cores in (2, 64, 512):
        print(f"    {cores:>3} cores: {projected(n_cov, t_task, o_task, t_build, cores):8.1f} s")
    print(f"  FC Table III: 12 couplings x 4 keys x {len(fc_grid)} grid points x {args.fc_toys} toys = {n_fc} tasks,"
          f" t_task {fc_task:.2f} s: CPU {n_fc * fc_task / 3600:.1f} h")
    for cores in (2, 64, 512):
        print(f"    {cores:>3} cores: {projected(n_fc, fc_task, o_task, t_build, cores):8.1f} s")
    print(f"serial in-process reference: {serial['rate']:.2f} tasks/s")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"benchmark wall time {time.perf_counter() - start:.0f} s")
