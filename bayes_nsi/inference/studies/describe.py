"""JSON description of a model recipe, for the spec hash of a study.

Dataclasses are described field by field with their qualified type name; functions and classes by
``module:qualname``. A callable whose behaviour depends on captured state (a closure, a lambda) is
therefore NOT fully described: make such a recipe a dataclass of plain values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np


def describe(obj: Any) -> Any:
    """JSON-able description of ``obj`` (dataclass, mapping, sequence, number, string, function, class)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        desc = {"type": f"{type(obj).__module__}.{type(obj).__qualname__}"}
        desc.update({f.name: describe(getattr(obj, f.name)) for f in dataclasses.fields(obj)})
        return desc
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, Mapping):
        return {str(k): describe(v) for k, v in obj.items()}
    if isinstance(obj, (tuple, list, np.ndarray)):
        return [describe(v) for v in obj]
    if callable(obj) and hasattr(obj, "__qualname__"):
        return f"{obj.__module__}:{obj.__qualname__}"
    raise ValueError(f"cannot describe a {type(obj).__name__} in a study spec; use a dataclass of plain values")
