"""The same spec run several times in one long-lived Python process (as in a notebook kernel), printed as Markdown.

    python benchmarks/bench_repeat.py models/paper.toml [--runs 3]

Each run is ``bayes_nsi.app.cli.main(["run", spec, "--out", <tmp>, "--quiet"])`` in this process, timed with
``time.perf_counter`` (wall) and ``time.process_time`` (this process's CPU); the first run pays the imports and first
compiles, the later ones only what is not kept in memory. Beside each run: its ``manifest.json`` timings. Result
folders are temporary. Nothing is asserted (shared, noisy machines); compare with ``bench_runs.py``, which times
fresh processes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    from bayes_nsi.app.cli import main as cli

    print(f"`import bayes_nsi.app.cli`: {time.perf_counter() - start:.2f} s\n")
    print("| run | wall | CPU (this process) | manifest timings (s) |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(1, args.runs + 1):
            out = Path(tmp) / f"run{n}"
            wall, cpu = time.perf_counter(), time.process_time()
            cli(["run", args.spec, "--out", str(out), "--quiet"])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            timings = json.loads((out / "manifest.json").read_text())["timings"]
            shown = ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in timings.items() if v is not None)
            print(f"| {n} | {wall:.2f} s | {cpu:.2f} s | {shown} |")


if __name__ == "__main__":
    main()
