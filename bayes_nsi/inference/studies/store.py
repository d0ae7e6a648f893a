"""Task keys and the on-disk store of a study: one ``.npz`` file per finished task, written atomically.

A study folder ``<root>/<kind>-<hash16>`` holds ``study.json`` (the spec, its hash, the task count and
the root seed) and ``tasks/``. A task's file name carries its full key (spec hash, index, seed), so a
file is either complete (moved in place by ``os.replace``) or absent; interrupted writes leave only
``.tmp-*`` files, which are never read.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1  # bump when the meaning of stored task files changes (enters the spec hash)


def spec_hash(kind: str, spec: Mapping[str, Any], n_tasks: int, seed: int) -> str:
    """SHA-256 of the canonical JSON of everything that determines a study's results."""
    blob = json.dumps({"format": FORMAT, "kind": kind, "spec": spec, "n_tasks": n_tasks, "seed": seed},
                      sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def task_seed(seed: int, index: int) -> int:
    """64-bit seed of task ``index``: NumPy SeedSequence(seed, spawn_key=(index,)), independent streams."""
    words = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(2, np.uint32)
    return int(words[0]) | (int(words[1]) << 32)


@dataclass(frozen=True)
class TaskKey:
    """(spec hash, task index, seed): names the task on the cluster and its file on disk."""

    spec_hash: str
    index: int
    seed: int

    @property
    def name(self) -> str:
        return f"{self.spec_hash[:16]}-{self.index:07d}-{self.seed:020d}"

    @property
    def filename(self) -> str:
        return f"task-{self.index:07d}-{self.seed:020d}.npz"


def study_folder(root: str | os.PathLike, kind: str, hash_: str) -> Path:
    return Path(root) / f"{kind}-{hash_[:16]}"


def write_manifest(folder: Path, kind: str, spec: Mapping[str, Any], hash_: str, n_tasks: int, seed: int) -> None:
    """Create the folder and its ``study.json`` (atomically; an existing one must carry the same hash)."""
    (folder / "tasks").mkdir(parents=True, exist_ok=True)
    path = folder / "study.json"
    if path.exists():
        found = json.loads(path.read_text()).get("spec_hash")
        if found != hash_:
            raise ValueError(f"study folder {folder}: study.json has spec_hash {found}, expected {hash_}")
        return
    text = json.dumps({"kind": kind, "spec_hash": hash_, "n_tasks": n_tasks, "seed": seed, "format": FORMAT,
                       "spec": spec}, indent=1, sort_keys=True)
    tmp = folder / f".tmp-study-{uuid.uuid4().hex}"
    tmp.write_text(text)
    os.replace(tmp, path)


def _as_arrays(result: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(result, Mapping) or not result:
        raise ValueError("a study task must return a non-empty mapping of name -> numeric array")
    out = {}
    for name, value in result.items():
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"task result {name!r}: dtype {arr.dtype} is not bool, integer or float")
        out[str(name)] = arr
    return out


def write_result(path: Path, result: Mapping[str, Any]) -> None:
    """Write one task's arrays to ``path``: temp file in the same folder, fsync, ``os.replace``."""
    arrays = _as_arrays(result)
    tmp = path.with_name(f".tmp-{path.stem}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_result(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def finished(folder: Path, keys: Sequence[TaskKey]) -> set[int]:
    """Indices of the keys whose task file exists."""
    present = {p.name for p in (folder / "tasks").glob("task-*.npz")}
    return {k.index for k in keys if k.filename in present}


def load_results(folder: Path, keys: Sequence[TaskKey]) -> list[dict[str, np.ndarray]]:
    """All task results in key (index) order; raises if any is missing."""
    missing = sorted(set(range(len(keys))) - finished(folder, keys))
    if missing:
        raise ValueError(f"study {folder}: {len(missing)} task(s) have no result, first {keys[missing[0]].name}")
    return [read_result(folder / "tasks" / k.filename) for k in sorted(keys, key=lambda k: k.index)]


def remove_temporaries(folder: Path) -> None:
    """Delete leftovers of interrupted writes (only called once every task of the study is done)."""
    for p in (folder / "tasks").glob(".tmp-*"):
        p.unlink(missing_ok=True)
