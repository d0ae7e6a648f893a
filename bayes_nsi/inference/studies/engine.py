"""Run a study's tasks on dask.distributed (or serially), storing each result as soon as it finishes.

A :class:`Study` is a JSON-able spec, a task count, a root seed and a picklable task function
``task(index, rng) -> {name: array}``. Task ``i`` draws from ``numpy.random.default_rng(task_seed(seed, i))``
and is keyed by (spec hash, i, seed) (:mod:`.store`). :func:`run_study` computes only the tasks whose
file is missing, so a rerun of an interrupted study resumes it; results are read back in key order,
so they are bit-identical whatever the number of workers and the order in which tasks finished.

On dask, each task is submitted with ``retries`` (a task whose worker dies is rescheduled by the
scheduler, up to ``distributed.scheduler.allowed-failures`` times); a task still failing is reported by
key in :attr:`StudyRun.failed`. Workers get their own PyTensor compile directory (:mod:`.worker`).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client, LocalCluster, as_completed
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bayes_nsi.inference.studies.store import (
    TaskKey,
    finished,
    load_results,
    remove_temporaries,
    spec_hash,
    study_folder,
    task_seed,
    write_manifest,
    write_result,
)
from bayes_nsi.inference.studies.worker import CompileDirPlugin

TaskFn = Callable[[int, np.random.Generator], Mapping[str, Any]]
_POLL_SECONDS = 0.5  # how often the progress display asks the scheduler which tasks are running


@dataclass(frozen=True)
class Study:
    """What to compute: ``task(i, rng)`` for i in range(n_tasks); spec + n_tasks + seed fix every result."""

    kind: str
    spec: Mapping[str, Any]
    n_tasks: int
    seed: int
    task: TaskFn

    def __post_init__(self) -> None:
        if not self.kind.isidentifier():
            raise ValueError(f"kind: {self.kind!r} must be an identifier (letters, digits, underscore)")
        if not isinstance(self.n_tasks, int) or self.n_tasks < 1:
            raise ValueError(f"n_tasks: {self.n_tasks!r} must be an integer >= 1")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: {self.seed!r} must be an integer >= 0")

    @cached_property
    def hash(self) -> str:
        return spec_hash(self.kind, self.spec, self.n_tasks, self.seed)

    @cached_property
    def keys(self) -> tuple[TaskKey, ...]:
        return tuple(TaskKey(self.hash, i, task_seed(self.seed, i)) for i in range(self.n_tasks))

    def folder(self, root: str | Path) -> Path:
        return study_folder(root, self.kind, self.hash)


@dataclass(frozen=True)
class StudyRun:
    """Outcome of :func:`run_study`; ``results()`` reads every task file in key order."""

    study: Study
    folder: Path
    computed: tuple[int, ...]  # task indices whose file this run wrote
    reused: tuple[int, ...]  # task indices whose file was there before the run
    failed: dict[str, str]  # key name -> last error, for tasks that failed after their retries
    task_seconds: dict[int, float] = field(repr=False)  # time inside each task computed (and reported) by this run
    wall_seconds: float = 0.0  # whole run, cluster start-up and shut-down included
    compute_seconds: float = 0.0  # from the first submission to the last result
    startup_seconds: float = 0.0  # cluster start-up and worker set-up (0 for serial or an existing cluster)
    workers: int = 0  # worker threads used (0: serial)

    @property
    def complete(self) -> bool:
        return not self.failed and len(self.computed) + len(self.reused) == self.study.n_tasks

    def results(self) -> list[dict[str, np.ndarray]]:
        return load_results(self.folder, self.study.keys)


def execute_task(task: TaskFn, key: TaskKey, folder: str) -> tuple[str, float]:
    """Run one task unless its file exists; store the result atomically. Returns (status, seconds)."""
    path = Path(folder) / "tasks" / key.filename
    if path.exists():
        return "present", 0.0
    start = time.perf_counter()
    result = task(key.index, np.random.default_rng(key.seed))
    seconds = time.perf_counter() - start
    write_result(path, result)
    return "computed", seconds


def run_study(study: Study, root: str | Path, *, workers: int = 2, scheduler_address: str | None = None,
              serial: bool = False, compile_root: str | None = None, retries: int = 1,
              progress: bool = True) -> StudyRun:
    """Compute the missing tasks of ``study`` under ``root`` and report what happened.

    workers: processes of the default ``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)``;
    scheduler_address: use that running cluster instead (e.g. a dask-jobqueue cluster's ``scheduler_address``);
    serial: no dask at all, tasks in this process in index order (same files, same results);
    compile_root: parent of the per-worker PyTensor compile directories, as a path on the workers.
    """
    if serial and scheduler_address:
        raise ValueError("serial: cannot be combined with scheduler_address")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: {workers!r} must be an integer >= 1")
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries: {retries!r} must be an integer >= 0")
    start = time.perf_counter()
    folder = study.folder(root)
    write_manifest(folder, study.kind, study.spec, study.hash, study.n_tasks, study.seed)
    present = finished(folder, study.keys)
    todo = [k for k in study.keys if k.index not in present]
    with _Display(len(study.keys), len(present), progress, study.kind) as display:
        if serial or not todo:
            outcome = _run_serial(study.task, todo, folder, retries, display)
            startup, threads = 0.0, 0
        else:
            outcome, startup, threads = _run_dask(study.task, todo, folder, workers, scheduler_address,
                                                  compile_root, retries, display)
    computed, failed, seconds, compute = outcome
    run = StudyRun(study, folder, tuple(sorted(computed)), tuple(sorted(present)), failed, seconds,
                   time.perf_counter() - start, compute, startup, threads)
    if run.complete:
        remove_temporaries(folder)
    return run


Outcome = tuple[set[int], dict[str, str], dict[int, float], float]  # computed, failed, seconds, compute time


def _error(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _run_serial(task: TaskFn, todo: Sequence[TaskKey], folder: Path, retries: int, display: _Display) -> Outcome:
    t0 = time.perf_counter()
    computed, failed, seconds = set(), {}, {}
    display.running(1 if todo else 0)
    for key in todo:
        for attempt in range(retries + 1):
            try:
                _, dt = execute_task(task, key, str(folder))
            except Exception as exc:  # reported by key once retries are spent
                if attempt == retries:
                    failed[key.name] = _error(exc)
                    display.failed()
                continue
            computed.add(key.index)
            seconds[key.index] = dt
            display.done()
            break
    return computed, failed, seconds, time.perf_counter() - t0


def _run_dask(task: TaskFn, todo: Sequence[TaskKey], folder: Path, workers: int, scheduler_address: str | None,
              compile_root: str | None, retries: int, display: _Display) -> tuple[Outcome, float, int]:
    t0 = time.perf_counter()
    cluster = None
    if scheduler_address is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
    client = Client(cluster if cluster is not None else scheduler_address)
    try:
        client.register_plugin(CompileDirPlugin(compile_root))
        threads = sum(client.nthreads().values())
        startup = time.perf_counter() - t0 if cluster is not None else 0.0
        t1 = time.perf_counter()
        futures = {client.submit(execute_task, task, key, str(folder), key=key.name, retries=retries,
                                 pure=False): key for key in todo}
        names = {key.name for key in todo}
        computed, failed, seconds = set(), {}, {}
        polled = 0.0
        for future, result in as_completed(list(futures), with_results=True, raise_errors=False):
            key = futures.pop(future)
            if future.status == "finished":
                # "present": an earlier attempt of this run stored the file, then its worker died
                status, dt = result
                computed.add(key.index)
                if status == "computed":
                    seconds[key.index] = dt
                display.done()
            else:
                # an errored future's result is (type, exception, traceback) with raise_errors=False
                failed[key.name] = _error(result[1]) if future.status == "error" else f"task {future.status}"
                display.failed()
            future.release()  # a finished result must not be recomputed if its worker dies later
            if not futures or time.perf_counter() - polled > _POLL_SECONDS:
                display.running(_running(client, names) if futures else 0)
                polled = time.perf_counter()
        return (computed, failed, seconds, time.perf_counter() - t1), startup, threads
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _running(client, names: set[str]) -> int:
    return sum(1 for keys in client.processing().values() for k in keys if k in names)


class _Display:
    """Progress bar: tasks done / running / failed (rich); silent when disabled."""

    def __init__(self, total: int, done: int, enabled: bool, label: str):
        self._counts = {"running": 0, "failed": 0}
        self._progress = Progress(TextColumn(f"[bold]{label}"), BarColumn(), TextColumn(
            "{task.completed}/{task.total} done, {task.fields[running]} running, {task.fields[failed]} failed"),
            TimeElapsedColumn(), disable=not enabled)
        self._task = self._progress.add_task(label, total=total, completed=done, **self._counts)

    def __enter__(self) -> _Display:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def done(self) -> None:
        self._progress.advance(self._task)

    def failed(self) -> None:
        self._counts["failed"] += 1
        self._progress.update(self._task, **self._counts)

    def running(self, n: int) -> None:
        self._counts["running"] = n
        self._progress.update(self._task, **self._counts)
