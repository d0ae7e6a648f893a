"""PandaX-4T unpaired-S2 (US2) 8B sample: Z. Bo et al. (PandaX-4T), PRL 133 (2024) 191001, arXiv:2407.10892.

Table II of the reference paper: 1.04 t*yr, recoil window 0.3-3.0 keV, signal 75 +- 28 events; paper SM
prediction 46.8 events (sec. IV). Counting: 332 events observed over an expected background of 251 +- 32.
No public US2 acceptance exists, so there is no ``published`` response: the response is a step at the
US2 threshold of 0.33 keV (arXiv:2407.10892), used only in the ``paper`` normalization, where only its
normalization matters.
"""

import numpy as np

from bayes_nsi.experiments.base import CountingMeasurement, DataSet, SignalMeasurement
from bayes_nsi.experiments.pandax4t import CITATION, PUBLISHED_FIT

WINDOW_KEV = (0.3, 3.0)
THRESHOLD_KEV = 0.33  # PandaX-4T's quoted US2 threshold


def step_response():
    """A unit step at the US2 threshold up to the window's end (the normalization comes from the paper)."""
    return np.array([THRESHOLD_KEV, WINDOW_KEV[1]]), np.ones(2)


DATASET = DataSet(
    name="us2",
    label="PandaX-4T (US2)",
    short_label="US2",
    colour="tab:orange",
    citation=CITATION,
    exposure_tonne_year=1.04,
    er_window_kev=WINDOW_KEV,
    paper_sm_events=46.8,
    signal=SignalMeasurement(75.0, 28.0, 28.0, 28.0, "Table II of the reference paper; " + CITATION),
    responses={"paper": step_response},
    likelihoods=("gaussian", "poisson_counting"),
    published_fit=PUBLISHED_FIT,
    counting=CountingMeasurement(332, 251.0, 32.0, 32.0, CITATION),
    notes=("no public US2 curve",),
)
