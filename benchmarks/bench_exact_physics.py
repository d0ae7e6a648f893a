"""Timing of the event graph per physics mode: value + gradient of the expected events of all three data sets.

Usage::

    python benchmarks/bench_exact_physics.py [--repeats-small 100] [--repeats-large 10]

For physics = "paper", "hybrid" and "exact" (``rates.expected_events`` of a model built in that mode) it
compiles value + gradient with respect to the couplings on the default (numba) backend, calls once at each
batch size (not counted: numba compiles there), then times the calls round-robin over the modes (so that a
change in machine load hits all modes alike) and prints the median time per call and per point at batch
1 and 2001, and the ratio to the paper mode (the target for exact is at most 2). Times are the CPU time of
this process (``time.process_time``), which other jobs on the shared cores do not inflate the way they inflate
wall time, with one BLAS thread (``threadpoolctl``): left alone, OpenBLAS runs some of the exact graph's dot
products at batch 2001 on a second thread that adds CPU time but no speed (measured on the 2-core machine:
51-57 us of CPU against 27 us of wall time per point, the same 27 us wall with one thread), so the CPU time
would no longer measure the work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO / '.pytensor'}")

import numpy as np  # noqa: E402 (after PYTENSOR_FLAGS)
import pytensor  # noqa: E402 (after PYTENSOR_FLAGS)
import pytensor.tensor as pt  # noqa: E402 (after PYTENSOR_FLAGS)
from threadpoolctl import threadpool_limits  # noqa: E402

from bayes_nsi.experiments.physics_model import physics_model  # noqa: E402 (after PYTENSOR_FLAGS)
from bayes_nsi.physics import rates  # noqa: E402 (after PYTENSOR_FLAGS)

MODES = ("paper", "hybrid", "exact")
BATCHES = (1, 2001)
TARGET_RATIO = 2.0


def measure(modes: tuple[str, ...] = MODES, repeats_small: int = 100, repeats_large: int = 10
            ) -> tuple[dict[str, float], dict[int, dict[str, float]]]:
    """Compile seconds per mode (model + compile + first calls) and the median CPU seconds per call
    {batch: {mode: s}} of value + gradient of the events, timed round-robin over the modes."""
    rng = np.random.default_rng(0)
    x = {b: rng.uniform(-1, 1, size=(b, 12)) for b in BATCHES}
    functions, compile_s = {}, {}
    for mode in modes:
        t0 = time.perf_counter()
        model = physics_model(("paired", "us2", "xenonnt"), "paper", physics=mode)
        eps = pt.dmatrix("eps")
        events = rates.expected_events(model, eps)
        functions[mode] = pytensor.function([eps], [events, pytensor.grad(pt.sum(events), eps)])
        for b in BATCHES:
            functions[mode](x[b])  # first call at this shape: numba compiles here
        compile_s[mode] = time.perf_counter() - t0
    medians = {}
    with threadpool_limits(limits=1):
        for b in BATCHES:
            times = {mode: [] for mode in modes}
            for _ in range(repeats_small if b == 1 else repeats_large):
                for mode in modes:
                    t0 = time.process_time()
                    functions[mode](x[b])
                    times[mode].append(time.process_time() - t0)
            medians[b] = {mode: statistics.median(t) for mode, t in times.items()}
    return compile_s, medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats-small", type=int, default=100, help="timed rounds at batch 1")
    parser.add_argument("--repeats-large", type=int, default=10, help="timed rounds at batch 2001")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    compile_s, medians = measure(MODES, args.repeats_small, args.repeats_large)
    linker = type(pytensor.compile.mode.get_default_mode().linker).__name__
    print(f"pytensor {pytensor.__version__}, default linker {linker}, {os.cpu_count()} CPUs; "
          f"load average at start {load:.1f}")
    for mode in MODES:
        print(f"{mode:>7}: model + compile + first calls {compile_s[mode]:7.1f} s")
    print()
    header = f"{'mode':<8}{'batch':>7}{'per call':>14}{'per point':>14}{'/ paper':>9}"
    print(header)
    print("-" * len(header))
    for b in BATCHES:
        median = medians[b]
        for mode in MODES:
            ratio = median[mode] / median["paper"]
            print(f"{mode:<8}{b:>7}{median[mode] * 1e3:>11.3f} ms{median[mode] / b * 1e6:>11.2f} us{ratio:>9.2f}")
    print()
    print(f"value + gradient of the events of paired, us2, xenonnt (paper acceptance); median CPU time of "
          f"round-robin repeats after one untimed call; target exact / paper <= {TARGET_RATIO:g}")


if __name__ == "__main__":
    main()
