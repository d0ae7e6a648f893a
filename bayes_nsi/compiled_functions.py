"""Compiled PyTensor functions kept on disk, so that a later process loads them instead of compiling again.

PyTensor keeps the C modules of a compiled function in its compile directory, but every new process rewrites
the graph again before it finds them: about a second per physics graph, and the paper run compiles eleven
(cProfile of ``bayes-nsi run models/paper.toml``, warm cache: graph rewriting 10 of its 45 profiled seconds).
A compiled ``Function`` pickles with its rewritten graph and unpickles without rewriting it (the thunks come
from the module cache), so :func:`function` stores it under the compile directory and loads it next time
(measured on the three-data-set events graph: 1.5 s to compile, 0.3 s to load).

The key is what the caller says the graph is made of (e.g. the physics model's constants), hashed with a digest
of this package's files (sources and shipped tables) and the PyTensor, NumPy, SciPy and numba versions: any
change of the code, the tables, the stack or PyTensor's configuration gives a new key. A loaded function is the
compiled graph itself, so it computes the same bits (tested). Files are written atomically; one that cannot be
read is compiled again and replaced. The folder is ``<compiledir>/bayes_nsi_functions``, or
``BAYES_NSI_FUNCTION_CACHE`` if set (``off`` compiles every function afresh).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytensor

import bayes_nsi.pytensor_config  # noqa: F401  (the flags the compiled code relies on)

ENVIRONMENT = "BAYES_NSI_FUNCTION_CACHE"
SUBDIR = "bayes_nsi_functions"
STACK = ("pytensor", "numpy", "scipy", "numba")
PACKAGE = Path(__file__).resolve().parent


def folder() -> Path | None:
    """Where compiled functions are kept (None: not kept)."""
    chosen = os.environ.get(ENVIRONMENT)
    if chosen == "off":
        return None
    return Path(chosen) if chosen else Path(pytensor.config.compiledir) / SUBDIR


@cache
def code_digest() -> str:
    """SHA-256 of this package's files (sources, schema, shipped tables) and the versions of the stack."""
    digest = hashlib.sha256()
    for path in sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    for name in STACK:
        digest.update(f"{name}={metadata.version(name)}".encode())
    return digest.hexdigest()


def key_of(recipe: Any, inputs: Sequence, outputs: Any, kwargs: dict) -> str | None:
    """Hex key of a function made from ``recipe`` (None if the recipe cannot be pickled, i.e. cannot be keyed).

    The inputs' and outputs' types and names and the compile arguments go into the key too; the graph itself
    does not (its pickle holds process-dependent names), the recipe and the code digest stand for it.
    """
    def signature(variables) -> list:
        variables = variables if isinstance(variables, list | tuple) else [variables]
        return [(str(v.type), v.name) for v in variables]

    try:
        material = pickle.dumps((recipe, signature(inputs), signature(outputs), sorted(kwargs.items()),
                                 [str(pytensor.config.get_config_hash())]),
                                protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return hashlib.sha256(material + code_digest().encode()).hexdigest()


def function(recipe: Any, inputs: Sequence, outputs: Any, **kwargs: Any) -> pytensor.compile.function.types.Function:
    """``pytensor.function(inputs, outputs, **kwargs)``, loaded from disk when a function of the same ``recipe``
    (and code) was compiled before, else compiled and stored.

    ``recipe``: picklable values that determine the graph besides the code, e.g. ``("Chi2Scanner.events",
    physics_model)``. Two different graphs must not share a recipe.
    """
    where = folder()
    key = key_of(recipe, inputs, outputs, kwargs) if where is not None else None
    path = where / f"{key}.pkl" if key else None
    if path is not None and path.exists():
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except Exception:  # noqa: BLE001 - an unreadable or stale file is recompiled and replaced below
            pass
    compiled = pytensor.function(inputs, outputs, **kwargs)
    if path is not None:
        _store(compiled, path)
    return compiled


def _store(compiled: Any, path: Path) -> None:
    """Pickle ``compiled`` to ``path`` atomically (a temporary file, then a rename); give up silently if the
    function cannot be pickled, as the cache is only a speed-up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(compiled, out, protocol=5)
        os.replace(temporary, path)
    except Exception:  # noqa: BLE001 - e.g. an Op holding an unpicklable object: no file, same result
        Path(temporary).unlink(missing_ok=True)
