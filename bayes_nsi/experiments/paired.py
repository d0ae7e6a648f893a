"""PandaX-4T paired (S1+S2) 8B sample: Z. Bo et al. (PandaX-4T), PRL 133 (2024) 191001, arXiv:2407.10892.

Table II of the reference paper: 1.25 t*yr (arXiv v1 and the paper; the published abstract says 1.20:
we keep 1.25 everywhere so that the counting and Gaussian likelihoods describe the same exposure),
recoil window 1.1-3.0 keV, signal 3.5 +- 1.3 events; paper SM prediction 2.4 events (sec. IV).
Counting: 3 events observed over an expected background of 2.8 +- 0.5 (PRL 133, 191001).
The acceptance is a third-party digitization (SNuDD) that ends on its plateau at 2.974 keV; it is held
flat to the window's 3.0 keV.
"""

from bayes_nsi.experiments.base import CountingMeasurement, DataSet, SignalMeasurement, curve_on_window
from bayes_nsi.experiments.pandax4t import CITATION, PUBLISHED_FIT
from bayes_nsi.physics.inputs import acceptance_table

WINDOW_KEV = (1.1, 3.0)


def published_response():
    """The digitized paired curve on the window, held flat past its last point (2.974 keV)."""
    table = acceptance_table("acceptance_paired.csv")
    return curve_on_window(table.er_kev, table.efficiency, WINDOW_KEV, hold_last=True)


DATASET = DataSet(
    name="paired",
    label="PandaX-4T (paired)",
    short_label="Paired",
    colour="tab:blue",
    citation=CITATION,
    exposure_tonne_year=1.25,
    er_window_kev=WINDOW_KEV,
    paper_sm_events=2.4,
    signal=SignalMeasurement(3.5, 1.3, 1.3, 1.3, "Table II of the reference paper; " + CITATION),
    responses={"paper": published_response, "published": published_response},
    likelihoods=("gaussian", "poisson_counting"),
    published_fit=PUBLISHED_FIT,
    counting=CountingMeasurement(3, 2.8, 0.5, 0.5, CITATION),
)
