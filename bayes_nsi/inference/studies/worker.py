"""What runs inside a worker process: its own PyTensor compile directory, and models built once per process.

PyTensor's compile cache is not safe to share between processes, so each dask worker points
``base_compiledir`` at ``<compile_root>/worker-<name>`` before PyTensor is imported. The directory is
locked (``flock``) for the life of the process; if another live process holds it (two studies on the
same machine), the worker uses ``worker-<name>-<pid>`` instead. Named directories survive the process,
so the next study on the same cluster layout starts with a warm cache.

Code that numba compiles into an empty cache can differ in the last bits from the same code loaded
from the cache (measured: 2e-13 on ~100 events; README "Known limits"). So that results do not depend
on which worker happened to compile first, :func:`compiled` fills an empty cache in a throwaway
subprocess and then builds in-process from the warm cache: every process computes with cache-loaded code.

This module must not import PyTensor: it is imported by the worker before the compile directory is set.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from distributed.diagnostics.plugin import WorkerPlugin

T = TypeVar("T")

_CACHE: dict[Hashable, Any] = {}
_CLAIMED: dict[Path, Path] = {}  # compile root -> this process's locked directory (lock held until exit)


class Recipe(Protocol):
    """A hashable, picklable description of a model; ``build()`` compiles it (once per process)."""

    def build(self) -> Any: ...


def cached(key: Hashable, factory: Callable[[], T]) -> T:
    """This process's value for ``key``, made by ``factory()`` on first use (workers run one thread each)."""
    if key not in _CACHE:
        _CACHE[key] = factory()
    return _CACHE[key]


def compiled(key: Hashable, factory: Callable[[], T]) -> T:
    """Like :func:`cached` for a factory that compiles PyTensor code, built from a warm compile cache.

    The factory must call its compiled functions once (numba compiles at the first call, not in
    ``pytensor.function``), or the cache it leaves is not warm.

    The first time ``key`` is seen with this process's compile directory, a subprocess (same environment,
    so the same directory) runs the picklable ``factory`` to fill the cache and leaves a marker there;
    then this process builds, loading the compiled code from the cache.
    """
    if key in _CACHE:
        return _CACHE[key]
    import pytensor

    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
    marker = Path(pytensor.config.base_compiledir) / f"bayes_nsi-warm-{digest}"
    if not marker.exists():
        code = "import pickle, sys; pickle.loads(sys.stdin.buffer.read())()"
        done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(factory), capture_output=True)
        if done.returncode:
            raise RuntimeError(f"warming the compile cache for {key!r} failed:\n{done.stderr.decode()[-2000:]}")
        marker.touch()
    return cached(key, factory)


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
