"""Running a study spec's tasks: the engine called with the spec's [study] settings, failures made a run failure.

The task files live in ``StudySettings.folder`` (by default ``.<result folder name>.tasks`` beside the
result folder, set by the CLI), one subfolder ``<kind>-<spec hash>`` per study, so an interrupted or
failed run keeps every finished task and a rerun of the same spec computes only the missing ones. The
result folder itself is written by the CLI, atomically, as for every kind.

The engine is imported inside :func:`run_tasks`: dask's spawned workers re-import the launching script,
which must not import PyTensor (``inference.studies.worker``).
"""

from __future__ import annotations

from collections.abc import Callable

from bayes_nsi.app import progress
from bayes_nsi.app.typed_spec import StudySettings

SHOWN_FAILURES = 3  # failed task keys quoted in the error (all are in the engine's StudyRun.failed)


def where(settings: StudySettings) -> str:
    """Where the tasks run, in words."""
    if settings.serial:
        return "serially in this process"
    if settings.scheduler:
        return f"on the dask scheduler at {settings.scheduler}"
    return f"on a local dask cluster of {settings.workers} worker process(es)"


def run_tasks(study, settings: StudySettings, log: Callable[[str], None]):
    """Compute the missing tasks of ``study`` (an ``engine.Study``); return the complete ``engine.StudyRun``.

    Raises RuntimeError naming the failed task keys (their finished siblings stay on disk for a rerun).
    """
    from bayes_nsi.inference.studies.engine import run_study

    if settings.folder is None:
        raise ValueError("study.folder: not set; allowed: a folder path (StudySettings.for_run sets the default)")
    log(f"{study.kind}: {study.n_tasks} tasks {where(settings)}; task files under {settings.folder}")
    run = run_study(study, settings.folder, workers=settings.workers, scheduler_address=settings.scheduler,
                    serial=settings.serial, compile_root=settings.compile_root, retries=settings.retries,
                    progress=progress.shown())
    log(f"{study.kind}: {len(run.computed)} tasks computed, {len(run.reused)} reused from {run.folder}, "
        f"{len(run.failed)} failed; {run.wall_seconds:.1f} s")
    if run.failed:
        shown = "; ".join(f"{key}: {error}" for key, error in list(run.failed.items())[:SHOWN_FAILURES])
        raise RuntimeError(f"{len(run.failed)} of {study.n_tasks} tasks failed after {settings.retries} "
                           f"retries ({shown}); the finished tasks are kept in {run.folder}: rerun the spec to "
                           "compute only the missing ones")
    return run


def manifest_fields(run, settings: StudySettings) -> dict:
    """Manifest extras of a study run: where its tasks ran and are stored, what was computed or reused, timings."""
    task_s = sum(run.task_seconds.values())
    return {
        "study": {"kind": run.study.kind, "spec_hash": run.study.hash, "folder": str(run.folder),
                  "tasks": run.study.n_tasks, "computed": len(run.computed), "reused": len(run.reused),
                  "seed": run.study.seed, "ran": where(settings), "worker_threads": run.workers,
                  "retries": settings.retries},
        "timings": {"study_wall_s": round(run.wall_seconds, 3), "study_startup_s": round(run.startup_seconds, 3),
                    "study_compute_s": round(run.compute_seconds, 3), "task_cpu_s_sum": round(task_s, 3)},
    }
