"""Command line: ``bayes-nsi run SPEC``, ``bayes-nsi validate SPEC`` and ``bayes-nsi list [DIR]``.

Exit codes: 0 done, 1 the run failed, 2 invalid spec or usage, 3 posterior diagnostics failed,
130 interrupted. The spec is validated before any runner (PyTensor, PyMC) is imported.
"""

import argparse
import dataclasses
import os
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

from bayes_nsi.app import progress, runners
from bayes_nsi.app.results import atomic_result_dir, write_manifest
from bayes_nsi.app.typed_spec import load
from bayes_nsi.errors import DiagnosticsFailed, SpecError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SPEC = 2
EXIT_DIAGNOSTICS = 3
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the sub-command and return its exit code."""
    args = _parser().parse_args(argv)
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bayes-nsi", description="NSI constraints from solar 8B CEvNS data.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="validate a spec, run it and write its result folder")
    run.add_argument("spec", type=Path, help="TOML spec, e.g. models/paper.toml")
    run.add_argument("--out", type=Path, help="result folder (default: results/<spec file stem>)")
    run.add_argument("--quiet", action="store_true", help="print only where the results went")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="study kinds: run the tasks on this running dask scheduler (e.g. tcp://10.1.2.3:8786) "
                          "instead of the spec's [study] setting")
    run.set_defaults(handler=_run)

    validate = commands.add_parser("validate", help="check a spec without running it")
    validate.add_argument("spec", type=Path)
    validate.set_defaults(handler=_validate)

    listing = commands.add_parser("list", help="list the specs in a folder with their kind and description")
    listing.add_argument("dir", type=Path, nargs="?", default=Path("models"))
    listing.set_defaults(handler=_list)
    return parser


def _run(args: argparse.Namespace) -> int:
    try:
        spec = load(args.spec)
    except SpecError as exc:
        return _spec_error(exc)
    out = args.out if args.out is not None else Path("results") / args.spec.stem
    if spec.study is not None:
        spec = dataclasses.replace(spec, study=spec.study.for_run(out, args.scheduler))
    elif args.scheduler is not None:
        print(f"error: --scheduler: not used by kind {spec.kind!r}; allowed: a spec of kind coverage, "
              "feldman_cousins or sbc", file=sys.stderr)
        return EXIT_SPEC
    log = _silent if args.quiet else _to_stderr
    progress.enable(not args.quiet)
    os.environ.setdefault("MPLBACKEND", "Agg")
    # harmless with PyTensor's numba backend (stack-notes); silenced for the command line only
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
    started = time.perf_counter()
    signal.signal(signal.SIGTERM, _interrupt)  # a polite kill cleans up like Ctrl-C
    try:
        runner = runners.get_runner(spec.kind)
        with atomic_result_dir(out) as partial:
            log(f"running the {spec.kind} analysis of {args.spec}")
            extra = dict(runner(spec, partial, log))
            timings = {**extra.pop("timings", {}), "total_wall_s": round(time.perf_counter() - started, 3)}
            extra["spec_file"] = str(args.spec)
            extra["physics"] = spec.physics
            write_manifest(partial, spec.raw, spec.kind, spec.acceptance, spec.seed, timings, extra)
    except DiagnosticsFailed as exc:
        print(f"error: diagnostics failed: {exc}; no results written, previous results left intact", file=sys.stderr)
        return EXIT_DIAGNOSTICS
    except KeyboardInterrupt:
        print("interrupted; previous results left intact", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 - any other failure: show the traceback, exit 1
        traceback.print_exc()
        print("error: run failed; previous results left intact", file=sys.stderr)
        return EXIT_FAILED
    print(f"results written to {out}")
    return EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _validate(args: argparse.Namespace) -> int:
    try:
        spec = load(args.spec)
    except SpecError as exc:
        return _spec_error(exc)
    print(f"{args.spec}: ok (kind {spec.kind})")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    if not args.dir.is_dir():
        print(f"error: {args.dir}: not a directory; allowed: a folder of TOML specs", file=sys.stderr)
        return EXIT_SPEC
    paths = sorted(args.dir.glob("*.toml"))
    if not paths:
        print(f"no specs in {args.dir}")
        return EXIT_OK
    rows, status = [], EXIT_OK
    for path in paths:
        try:
            spec = load(path)
        except SpecError as exc:
            rows.append((path.name, "INVALID", f"{exc.field}: {exc.problem}"))
            status = EXIT_SPEC
            continue
        text = spec.description or spec.raw.get("name") or ""
        rows.append((path.name, spec.kind, text.strip().splitlines()[0] if text.strip() else ""))
    name_width = max(len(row[0]) for row in rows)
    kind_width = max(len(row[1]) for row in rows)
    for name, kind, text in rows:
        print(f"{name:<{name_width}}  {kind:<{kind_width}}  {text}".rstrip())
    return status


def _spec_error(exc: SpecError) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return EXIT_SPEC


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _silent(message: str) -> None:
    """Drop progress messages (``--quiet``)."""
