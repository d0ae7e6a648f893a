"""Progress bars for long work in the command line (rich, already a dependency of PyMC).

Shown only when stderr is a terminal and the run is not ``--quiet``; otherwise the bar is a no-op, so
logs and tests stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_enabled = True


def enable(on: bool) -> None:
    """Switch the bars on or off for this process (the CLI's ``--quiet`` switches them off)."""
    global _enabled
    _enabled = on


def shown() -> bool:
    """Whether bars are shown: switched on and stderr is a terminal."""
    return _enabled and sys.stderr.isatty()


@contextmanager
def bar(label: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar of ``total`` steps; yields the function that advances it by one."""
    if not (_enabled and sys.stderr.isatty()):
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)
