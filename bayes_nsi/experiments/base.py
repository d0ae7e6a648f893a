"""The description of one data set: everything the package knows about it, in one object.

A data set module (``paired.py``, ``us2.py``, ``xenonnt.py``) builds one :class:`DataSet` and the
registry (:mod:`bayes_nsi.experiments.registry`) lists them. Statistics and the application ask the
object, never the name: exposure, recoil window, response per acceptance mode, the measurements it
publishes, the likelihoods it supports, citations, label and colour. A toy data set defined outside
the package works everywhere a shipped one does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayes_nsi.names import ACCEPTANCE_MODES, LIKELIHOODS
from bayes_nsi.physics.detector import Detector


@dataclass(frozen=True)
class SignalMeasurement:
    """A published 8B signal (events) with its error: symmetric ``sigma`` (eq. 20) and the split one."""

    value: float
    sigma: float
    sigma_up: float
    sigma_down: float
    source: str


@dataclass(frozen=True)
class CountingMeasurement:
    """Observed events in the signal region over an expected background, background +sigma_up / -sigma_down."""

    observed: int
    background: float
    background_sigma_up: float
    background_sigma_down: float
    source: str


@dataclass(frozen=True)
class PublishedFit:
    """An experiment's own 8B result: background-only significance and flux (1e6 cm^-2 s^-1, +up -down),
    from a fit of the data sets ``datasets`` together."""

    datasets: tuple[str, ...]
    significance_sigma: float
    flux_8b: float
    flux_8b_up: float
    flux_8b_down: float
    source: str


@dataclass(frozen=True)
class DataSet:
    """One published data set.

    responses: acceptance mode -> function returning (knots in keV, efficiency) of the unnormalized
    response on the recoil window; a mode missing here is not available for this data set (the error
    names the modes it has). paper_sm_events: the reference paper's SM prediction (sec. IV), the target
    of the ``paper`` normalization at ``exposure_tonne_year``. A data set measured only through a binned
    template likelihood (``binned``: a :class:`bayes_nsi.experiments.binned_data.BinnedRelease`) has no
    ``signal`` and no ``paper_sm_events``.
    """

    name: str
    label: str
    short_label: str  # row label of the paper's tables ("Paired", "US2", "XENONnT")
    colour: str
    citation: str
    exposure_tonne_year: float
    er_window_kev: tuple[float, float]
    paper_sm_events: float | None = None
    signal: SignalMeasurement | None = None
    # identity is the name and the numbers: responses are functions, left out of equality and hashing
    responses: Mapping[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict, compare=False,
                                                                                 hash=False)
    likelihoods: tuple[str, ...] = ("gaussian",)
    counting: CountingMeasurement | None = None
    published_fit: PublishedFit | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    # spec keys kept for older spec files: key -> {value: likelihood}, e.g. an errors switch
    likelihood_aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict, compare=False, hash=False)
    binned: Any = None  # a BinnedRelease (experiments.binned_data): the data set's binned template likelihood

    def __post_init__(self) -> None:
        bad = [m for m in self.responses if m not in ACCEPTANCE_MODES]
        if bad:
            raise ValueError(f"{self.name}: responses: unknown mode {bad[0]!r}; allowed: {', '.join(ACCEPTANCE_MODES)}")
        bad = [lk for lk in self.likelihoods if lk not in LIKELIHOODS]
        if bad:
            raise ValueError(f"{self.name}: likelihoods: unknown {bad[0]!r}; allowed: {', '.join(LIKELIHOODS)}")
        if "poisson_counting" in self.likelihoods and self.counting is None:
            raise ValueError(f"{self.name}: likelihoods: 'poisson_counting' needs a counting measurement")
        if "binned_poisson" in self.likelihoods and self.binned is None:
            raise ValueError(f"{self.name}: likelihoods: 'binned_poisson' needs a binned release (binned=...)")
        if {"gaussian", "split_normal"} & set(self.likelihoods) and self.signal is None:
            raise ValueError(f"{self.name}: likelihoods: 'gaussian' and 'split_normal' need a signal measurement")

    @property
    def acceptance_modes(self) -> tuple[str, ...]:
        """The acceptance modes this data set supports, in :data:`ACCEPTANCE_MODES` order."""
        return tuple(m for m in ACCEPTANCE_MODES if m in self.responses)

    def check_acceptance(self, acceptance: str) -> None:
        """Raise ValueError naming the allowed modes if ``acceptance`` is unknown or unavailable here."""
        if acceptance not in ACCEPTANCE_MODES:
            raise ValueError(f"acceptance: unknown {acceptance!r}; allowed: {', '.join(ACCEPTANCE_MODES)}")
        if acceptance not in self.responses:
            raise ValueError(f"acceptance: {acceptance!r} is not available for dataset {self.name!r} "
                             f"({'; '.join(self.notes) or 'no such response'}); allowed for {self.name}: "
                             f"{', '.join(map(repr, self.acceptance_modes))}")

    def check_likelihood(self, likelihood: str) -> None:
        """Raise ValueError naming the likelihoods this data set supports."""
        if likelihood not in self.likelihoods:
            raise ValueError(f"likelihood: {likelihood!r} is not available for dataset {self.name!r}; "
                             f"allowed: {', '.join(self.likelihoods)}")

    def detector(self, acceptance: str, exposure_tonne_year: float | None = None) -> Detector:
        """The physics graph's view: response, exposure, and (paper mode) the SM target scaled with exposure."""
        self.check_acceptance(acceptance)
        knots, eff = self.responses[acceptance]()
        exposure = self.exposure_tonne_year if exposure_tonne_year is None else float(exposure_tonne_year)
        target = None
        if acceptance == "paper":
            ratio = exposure / self.exposure_tonne_year
            target = self.paper_sm_events if ratio == 1.0 else self.paper_sm_events * ratio
        return Detector(self.name, knots, eff, exposure, target)


def curve_on_window(er_kev: np.ndarray, efficiency: np.ndarray, window_kev: tuple[float, float],
                    hold_last: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Knots of a tabulated curve inside the window plus the window's ends, linear between table points.

    Below the table the efficiency is 0; above it, 0 or (``hold_last``) the last tabulated value.
    """
    lo, hi = window_kev
    inside = (er_kev > lo) & (er_kev < hi)
    knots = np.concatenate([[lo], er_kev[inside], [hi]])
    right = efficiency[-1] if hold_last else 0.0
    return knots, np.interp(knots, er_kev, efficiency, left=0.0, right=right)
