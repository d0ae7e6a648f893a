"""A binned template likelihood as the experiments layer describes it: its inputs as data, and how a data set
reports it. The statistics (``bayes_nsi.inference.binned``) turn :class:`BinnedInputs` into a model.

Templates are in events per tonne-year, efficiencies are dimensionless (monoenergetic nuclear-recoil
efficiency per analysis bin), energies in keV, exposures in tonne-year, fluxes in 1e6 cm^-2 s^-1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class BinnedInputs:
    """Runs, exposures (t*yr), observed counts (runs, bins), background templates (component -> (runs, bins) or
    (runs, A, A, bins) on the yield anchors, events per t*yr), declared nuisances, yield anchors, and the
    monoenergetic efficiency (runs, A, A, n_energy, bins) on ``energy_kev`` that folds the signal spectrum."""

    runs: tuple[str, ...]
    exposure_t_yr: np.ndarray
    observed: np.ndarray
    backgrounds: Mapping[str, np.ndarray]
    nuisances: tuple
    anchors: np.ndarray
    efficiency: np.ndarray
    energy_kev: np.ndarray
    shape_names: tuple[str, str] = ("t_ly", "t_qy")
    signal_component: str = "b8"
    signal_scale: str = "b8_rate_multiplier"  # the rate nuisance that scales the signal (the measured 8B rate)


@dataclass(frozen=True)
class BinnedRelease:
    """How a data set's binned likelihood is built and reported.

    group: stem of the measurement file it is reported in (the data set the paper summarizes, e.g. its
    name); tag: its key in that file (e.g. "sr01"); runs_label: the runs in words ("SR0+SR1");
    constraint_flux_8b: the 8B flux (1e6 cm^-2 s^-1) about which the signal rate nuisance is constrained when
    the rate is not free (the flux the release's own signal template assumes); inputs(free_signal_rate): the
    inputs with the signal rate free (a measurement of the 8B rate) or constrained (8B as a prediction).
    """

    group: str
    tag: str
    runs: tuple[str, ...]
    runs_label: str
    constraint_flux_8b: float
    constraint_source: str
    build: Callable[[bool], BinnedInputs] = field(compare=False, hash=False, repr=False)

    def inputs(self, free_signal_rate: bool) -> BinnedInputs:
        """The likelihood's inputs with the signal rate free (True) or constrained (False)."""
        return self.build(free_signal_rate)
