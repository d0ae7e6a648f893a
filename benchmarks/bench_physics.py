"""Timing of the physics graph: expected events of all three data sets, value and value+gradient.

Usage::

    python benchmarks/bench_physics.py [--repeats-small 200] [--repeats-large 20]

Prints the compile times (graph build + PyTensor compile, and the first call, where numba JIT-compiles)
and the warm time per call and per point (median over repeats, from the second call on) at batch sizes
1 and 2001, against the target of < 50 us per point batched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO / '.pytensor'}")

import numpy as np
import pytensor
import pytensor.tensor as pt

from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.physics import rates

TARGET_US_PER_POINT = 50.0
BATCHES = (1, 2001)


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def warm_median(fn, x, repeats: int) -> float:
    fn(x)  # not counted: the first call at this shape
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats-small", type=int, default=200, help="repeats at batch 1")
    parser.add_argument("--repeats-large", type=int, default=20, help="repeats at batch 2001")
    args = parser.parse_args()

    model, t_model = timed(physics_model, ("paired", "us2", "xenonnt"), "paper")
    eps = pt.dmatrix("eps")
    events = rates.expected_events(model, eps)
    grad = pytensor.grad(pt.sum(events), eps)

    f_value, t_compile_value = timed(pytensor.function, [eps], events)
    f_grad, t_compile_grad = timed(pytensor.function, [eps], [events, grad])
    rng = np.random.default_rng(0)
    x = {b: rng.uniform(-1, 1, size=(b, 12)) for b in BATCHES}
    _, t_first_value = timed(f_value, x[1])
    _, t_first_grad = timed(f_grad, x[1])

    linker = type(pytensor.compile.mode.get_default_mode().linker).__name__
    print(f"pytensor {pytensor.__version__}, default linker {linker}, {os.cpu_count()} CPUs")
    print(f"model precomputation (3 data sets, paper acceptance): {t_model:7.2f} s")
    print(f"compile value graph:        pytensor.function {t_compile_value:6.2f} s, first call {t_first_value:6.2f} s")
    print(f"compile value+grad graph:   pytensor.function {t_compile_grad:6.2f} s, first call {t_first_grad:6.2f} s")
    print()
    header = f"{'quantity':<22}{'batch':>7}{'per call':>14}{'per point':>14}{'target':>10}{'ratio':>9}"
    print(header)
    print("-" * len(header))
    for label, fn in (("events (3 sets)", f_value), ("events + gradient", f_grad)):
        for b in BATCHES:
            reps = args.repeats_small if b == 1 else args.repeats_large
            t = warm_median(fn, x[b], reps)
            per_point_us = t / b * 1e6
            ratio = per_point_us / TARGET_US_PER_POINT
            target = f"<{TARGET_US_PER_POINT:.0f} us" if b > 1 else "-"
            ratio_s = f"{ratio:8.3f}" if b > 1 else f"{'-':>8}"
            print(f"{label:<22}{b:>7}{t * 1e3:>11.3f} ms{per_point_us:>11.2f} us{target:>10} {ratio_s}")
    print()
    print("ratio = measured per-point time / target (below 1 meets the target); warm = median over repeats "
          "after a first untimed call")


if __name__ == "__main__":
    main()
