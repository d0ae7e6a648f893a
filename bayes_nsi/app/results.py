"""Writing results: an atomically published result folder, tables, figures and the run manifest."""

import csv
import ctypes
import errno
import json
import os
import platform
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
VERSIONED_DISTRIBUTIONS = ("numpy", "scipy", "pytensor", "pymc", "arviz", "nutpie", "matplotlib", "jsonschema")


@contextmanager
def atomic_result_dir(final: Path) -> Iterator[Path]:
    """Yield an empty sibling folder ``.<name>.partial-<pid>``; move it to ``final`` only if the block succeeds.

    On any exception (KeyboardInterrupt included) the temporary folder is deleted, an existing ``final``
    is left untouched, and the exception propagates.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(final)
    partial = final.parent / f".{final.name}.partial-{os.getpid()}"
    _remove(partial)
    partial.mkdir()
    try:
        yield partial
        _swap_into_place(partial, final)
    except BaseException:
        _remove(partial)
        raise


def _remove_stale_partials(final: Path) -> None:
    """Delete partial folders left by runs of ``final`` that were killed outright (SIGKILL, power loss)."""
    for stale in final.parent.glob(f".{final.name}.partial-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _process_alive(int(pid)):
            _remove(stale)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_into_place(new: Path, final: Path) -> None:
    """Put ``new`` at ``final`` so that ``final`` never stops existing once it exists.

    An existing ``final`` is exchanged with ``new`` in one atomic step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``); the old results then sit under the partial name and are deleted, or, if the
    process dies first, removed as a stale partial by the next run. Where the system cannot exchange, the
    old folder is set aside and restored if the rename fails (a short window without ``final``).
    """
    if not final.exists():
        os.rename(new, final)
        return
    if _exchange(new, final):
        _remove(new)
        return
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    _remove(old)
    os.rename(final, old)
    try:
        os.rename(new, final)
    except BaseException:
        os.rename(old, final)
        raise
    _remove(old)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with ``renameat2(RENAME_EXCHANGE)``; False where it is not available.

    Python's os module has no exchange (os.replace cannot replace a non-empty directory), hence ctypes.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON; numpy scalars and arrays become plain numbers and lists, NaN is an error."""
    try:
        text = json.dumps(obj, indent=2, allow_nan=False, default=_plain)
    except ValueError as exc:
        raise ValueError(f"{path}: cannot write NaN or infinity to JSON ({exc})") from None
    Path(path).write_text(text + "\n", encoding="utf-8")


def _plain(value: Any) -> Any:
    """JSON fallback for numpy types (``tolist`` turns scalars and arrays into Python numbers) and paths."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write a CSV table with one header row."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_text(path: Path, text: str) -> None:
    """Write a text file (UTF-8)."""
    Path(path).write_text(text, encoding="utf-8")


def save_figure(fig: Any, folder: Path, stem: str) -> None:
    """Save ``fig`` as ``stem.png`` (150 dpi) and ``stem.pdf`` in ``folder``.

    A figure made through pyplot (ArviZ's) is closed there afterwards; a plain ``Figure`` needs no backend.
    """
    fig.savefig(Path(folder) / f"{stem}.png", dpi=150)
    fig.savefig(Path(folder) / f"{stem}.pdf")
    if getattr(fig.canvas, "manager", None) is not None:
        from matplotlib import pyplot

        pyplot.close(fig)


def write_manifest(
    folder: Path, spec: dict, kind: str, acceptance: str, seed: int | None, timings: dict, extra: dict
) -> None:
    """Write ``manifest.json``: versions, the completed spec, acceptance mode, seed, timings and ``extra``.

    ``extra`` may repeat a standard field with the same value, never contradict one.
    """
    manifest = {
        "package": "bayes_nsi",
        "version": metadata.version("bayes_nsi"),
        "versions": _versions(),
        "kind": kind,
        "acceptance": acceptance,
        "seed": seed,
        "timings": timings,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "spec": spec,
    }
    clash = sorted(key for key in extra if key in manifest and extra[key] != manifest[key])
    if clash:
        raise ValueError(f"extra manifest fields contradict the run: {', '.join(clash)}")
    write_json(Path(folder) / MANIFEST, {**manifest, **extra})


def _versions() -> dict[str, str]:
    """Python and installed dependency versions, read from package metadata (nothing is imported)."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
