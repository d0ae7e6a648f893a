"""Wall time of the whole ``models/compare_sm_vs_nsi.toml`` study against issue 15's target (< 60 s on 2 cores).

Run: ``python benchmarks/bench_compare.py [--evidence smc]`` (the result folder is a temporary one). The spec's
``evidence = "auto"`` integrates every one-coupling ln Z by quadrature; ``--evidence smc`` times the same study with
SMC for every ln Z (the study as it ran before). The first run on a fresh PyTensor cache also pays the numba
compilation of every model; later runs reuse it.
The CPU seconds of the run and its workers are printed too: on a busy machine the wall time is not the
study's own, while CPU-s / 2 is what two idle cores would take.
"""

import dataclasses
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "models" / "compare_sm_vs_nsi.toml"
TARGET_S = 60.0
TARGET_CORES = 2


def main() -> int:
    os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO / '.pytensor'}")
    os.environ.setdefault("MPLBACKEND", "Agg")
    from bayes_nsi.app.runners.compare import run
    from bayes_nsi.app.typed_spec import load

    spec = load(SPEC)
    if "--evidence" in sys.argv:
        evidence = sys.argv[sys.argv.index("--evidence") + 1]
        spec = dataclasses.replace(spec, compare=dataclasses.replace(spec.compare, evidence=evidence))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu_before = time.perf_counter(), _cpu_seconds()
        extra = run(spec, Path(tmp), lambda message: None)
        wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
    cores = len(os.sched_getaffinity(0))
    verdict = "within" if wall < TARGET_S else "OVER"
    print(f"{SPEC.name} (evidence {spec.compare.evidence}): {wall:.1f} s wall, {cpu:.1f} CPU-s in this process and its "
          "workers "
          f"({extra['workers']} worker processes on {cores} cores; 1-min load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after); target < {TARGET_S:.0f} s on {TARGET_CORES} cores: {verdict}")
    return 0 if wall < TARGET_S else 1


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    sys.exit(main())
