"""Build the physics graph's constants for a list of data sets (names or DataSet objects)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bayes_nsi.experiments.base import DataSet
from bayes_nsi.experiments.registry import resolve
from bayes_nsi.physics.constants import DE_SALAS_2021, Oscillation
from bayes_nsi.physics.rates import DEFAULT_GRIDS, Grids, PhysicsModel, build_model


def physics_model(datasets: Iterable[str | DataSet], acceptance: str = "paper",
                  exposures: Mapping[str, float] | None = None, grids: Grids = DEFAULT_GRIDS,
                  osc: Oscillation = DE_SALAS_2021, physics: str = "paper") -> PhysicsModel:
    """Precompute the event graph of the data sets in one acceptance mode and physics mode ("paper", "hybrid",
    "exact"; bayes_nsi.physics.physics_modes); exposures (t*yr) override by name."""
    exposures = dict(exposures or {})
    sets = resolve(datasets)
    unknown = [name for name in exposures if name not in {d.name for d in sets}]
    if unknown:
        raise ValueError(f"exposures: {unknown[0]!r} is not among the data sets; allowed: "
                         f"{', '.join(d.name for d in sets)}")
    return build_model(tuple(d.detector(acceptance, exposures.get(d.name)) for d in sets), grids, osc, physics)
