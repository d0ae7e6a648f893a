"""What runs inside a worker process: its own PyTensor compile directory, and models built once per process.

PyTensor's compile cache is not safe to share between processes, so each dask worker points
``base_compiledir`` at ``<compile_root>/worker-<name>`` before PyTensor is imported. The directory is
locked (``flock``) for the life of the process; if another live process holds it (two studies on the
same machine), the worker uses ``worker-<name>-<pid>`` instead. Named directories survive the process,
so the next study on the same cluster layout starts with a warm cache.

A model is compiled once per process (:func:`cached`, :func:`built`) and serves every task the worker gets. It
is compiled in the worker itself, whatever the state of its cache: since numba compiles without fast-math
(``bayes_nsi.pytensor_config``) the code compiled into an empty cache and the code loaded from a warm one give
the same numbers bit for bit (``tests/test_study_specs.py`` compares a study run into an empty compile
directory with one from a warm directory, task file by task file).

This module must not import PyTensor: it is imported by the worker before the compile directory is set.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
import tempfile
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, Protocol

from distributed.diagnostics.plugin import WorkerPlugin

_CACHE: dict[Hashable, Any] = {}
_CLAIMED: dict[Path, Path] = {}  # compile root -> this process's locked directory (lock held until exit)


class Recipe(Protocol):
    """A hashable, picklable description of a model; ``build()`` compiles it (once per process)."""

    def build(self) -> Any: ...


def cached[T](key: Hashable, factory: Callable[[], T]) -> T:
    """This process's value for ``key``, made by ``factory()`` on first use (workers run one thread each)."""
    if key not in _CACHE:
        _CACHE[key] = factory()
    return _CACHE[key]


def built(recipe: Recipe) -> Any:
    """``recipe.build()``, once per process and recipe."""
    return cached(("built", recipe), recipe.build)


def default_compile_root() -> Path:
    """``<tmp>/bayes_nsi-pytensor-<uid>``, evaluated on the worker (node-local scratch on clusters)."""
    return Path(tempfile.gettempdir()) / f"bayes_nsi-pytensor-{os.getuid()}"


def _flags_with_compiledir(flags: str, directory: Path) -> str:
    kept = [f for f in flags.split(",") if f.strip() and f.split("=", 1)[0].strip() not in
            ("base_compiledir", "compiledir")]
    return ",".join([*kept, f"base_compiledir={directory}"])


def claim_compile_dir(root: Path, name: str) -> Path:
    """Lock and return ``root/worker-<name>`` (or ``worker-<name>-<pid>`` when another process holds it)."""
    if root in _CLAIMED:
        return _CLAIMED[root]
    root.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    for stem in (f"worker-{safe}", f"worker-{safe}-{os.getpid()}"):
        fd = os.open(root / f"{stem}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        directory = _CLAIMED[root] = root / stem  # fd stays open: the lock lives as long as the process
        directory.mkdir(exist_ok=True)
        return directory
    raise RuntimeError(f"could not lock a compile directory under {root} for worker {name}")


def use_compile_dir(directory: Path) -> None:
    """Point PyTensor at ``directory`` through PYTENSOR_FLAGS; PyTensor must not be imported yet."""
    if "pytensor" in sys.modules:
        current = Path(sys.modules["pytensor"].config.base_compiledir)
        if current != directory:
            raise RuntimeError(f"PyTensor was imported in this worker before its compile directory was set "
                               f"(it uses {current}, wanted {directory}). Spawned workers re-import the script "
                               "that started the cluster: import PyTensor-using modules inside main(), not at the "
                               "top of that script, and start fresh workers")
        return
    os.environ["PYTENSOR_FLAGS"] = _flags_with_compiledir(os.environ.get("PYTENSOR_FLAGS", ""), directory)


class CompileDirPlugin(WorkerPlugin):
    """Worker plugin: own PyTensor compile directory per worker, set before any task runs.

    ``compile_root`` is a path as seen by the workers (``~`` and ``$VARS`` are expanded there); None
    means :func:`default_compile_root`. Idempotent: a worker that already has the plugin keeps its directory.
    """

    idempotent = True
    name = "bayes_nsi-compile-dir"

    def __init__(self, compile_root: str | None = None):
        self.compile_root = compile_root

    def setup(self, worker) -> None:
        root = (Path(os.path.expandvars(os.path.expanduser(self.compile_root))) if self.compile_root
                else default_compile_root())
        use_compile_dir(claim_compile_dir(root, str(worker.name)))
