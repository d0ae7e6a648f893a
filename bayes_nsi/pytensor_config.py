"""PyTensor settings the package's numbers rely on, applied once when this module is imported.

Every module that compiles a PyTensor function imports this module first (the import is the hook).

``numba__fastmath = False``: reproducible numbers whatever the state of the compile cache.
    PyTensor's numba backend compiles with the LLVM fast-math flags reassoc, contract, arcp, afn and nsz by
    default. They let LLVM reorder and fuse floating-point operations, and what it does depends on what it
    optimizes together: an Op compiled in this process is linked and inlined into its caller as IR, an Op
    loaded from the cache comes with code optimized in another context. So the same model gave three
    different log-densities (up to 1e-14 relative; 13 of 100 logp and gradient values differed) from an
    empty, a partly filled and a warm cache, and NUTS turned the last bits into different draws. Without
    the flags LLVM keeps IEEE semantics and the three agree bit for bit (measured on
    models/posterior_ee_u_xenonnt.toml, 50 points; and the CLI's posterior.nc draws, cold against warm). The
    logp + gradient time did not change measurably (best of 7: 65 us with the flags, 67 us without).
``generated_src_dir = <base_compiledir>/generated_src``: no files in the system temporary folder.
    PyTensor writes the Python source of every numba-compiled function to a file; with this flag empty
    (its default) each one goes to a new file in the temporary folder that is never removed (about 50 per
    posterior run). Under the compile directory the files are content-addressed, reused across processes
    and pruned by PyTensor when unused for a week.

The compile directory itself stays PyTensor's ``base_compiledir``: ``~/.pytensor`` unless ``PYTENSOR_FLAGS``
or ``~/.pytensorrc`` say otherwise (``scripts/dev`` and the tests use ``<repo>/.pytensor``). It is read when
PyTensor is first imported, which may happen before this package is, so the package does not choose its own.

A flag named in ``PYTENSOR_FLAGS`` is left as the user set it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytensor

GENERATED_SRC_SUBDIR = "generated_src"


def user_flags(environ: dict[str, str] | None = None) -> set[str]:
    """Names of the flags set in ``PYTENSOR_FLAGS`` (comma-separated ``name=value`` pairs)."""
    flags = (os.environ if environ is None else environ).get("PYTENSOR_FLAGS", "")
    return {item.split("=", 1)[0].strip() for item in flags.split(",") if "=" in item}


def configure(environ: dict[str, str] | None = None) -> None:
    """Turn off numba fast-math and keep generated sources under the compile directory (see the module doc)."""
    named = user_flags(environ)
    config = pytensor.config
    if "numba__fastmath" not in named:
        config.numba__fastmath = False
    if "generated_src_dir" not in named and not config.generated_src_dir:
        config.generated_src_dir = str(Path(config.base_compiledir) / GENERATED_SRC_SUBDIR)


configure()
