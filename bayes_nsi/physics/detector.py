"""What the rate graph needs to know about a detector: its recoil-energy response and its exposure.

A pure description (numpy only): the experiments layer builds one per data set; the physics graph
(:mod:`bayes_nsi.physics.rates`) integrates the 8B CEvNS spectrum against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detector:
    """Recoil response of one data set, linear between knots (keV) on [knots[0], knots[-1]].

    exposure_tonne_year: the exposure of this run of the graph. sm_events: if given, the efficiency is
    scaled so that the Standard Model (no NSI, nominal flux and radius) predicts this many events (the
    reference paper's normalization, sec. IV); None uses the efficiency as given.
    """

    name: str
    er_knots_kev: np.ndarray
    efficiency: np.ndarray
    exposure_tonne_year: float
    sm_events: float | None = None

    def __post_init__(self) -> None:
        knots, eff = np.asarray(self.er_knots_kev, float), np.asarray(self.efficiency, float)
        if knots.ndim != 1 or knots.shape != eff.shape or knots.size < 2:
            raise ValueError(f"{self.name}: er_knots_kev and efficiency must be 1-D of equal length >= 2")
        if np.any(np.diff(knots) <= 0):
            raise ValueError(f"{self.name}: er_knots_kev must increase strictly")
        if np.any(eff < 0) or not np.all(np.isfinite(eff)):
            raise ValueError(f"{self.name}: efficiency must be finite and >= 0")
        if not self.exposure_tonne_year > 0:
            raise ValueError(f"{self.name}: exposure_tonne_year must be > 0, got {self.exposure_tonne_year}")
        if self.sm_events is not None and not self.sm_events > 0:
            raise ValueError(f"{self.name}: sm_events must be > 0 or None, got {self.sm_events}")
