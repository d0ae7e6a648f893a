"""XENONnT SR0+SR1 8B sample: E. Aprile et al. (XENON), PRL 133 (2024) 191002, arXiv:2408.02877.

Table II of the reference paper: 3.51 t*yr, recoil window 0.5-3.0 keV, signal 10.7 +3.7 -4.2 events
(3.95 symmetrized for eq. 20); paper SM prediction 11.3 events (sec. IV). Counting: 37 events observed
above 0.5 keV over an expected background of 26.4 +1.4 -1.3 (PRL 133, 191002). The published response is
the bin sum of the official 2026 release's nominal monoenergetic templates (CC-BY-4.0), exposure-weighted
over SR0 and SR1 (``scripts/build_tables.py``).
"""

from bayes_nsi.experiments.base import CountingMeasurement, DataSet, PublishedFit, SignalMeasurement, curve_on_window
from bayes_nsi.physics.inputs import acceptance_table

CITATION = "E. Aprile et al. (XENON), PRL 133 (2024) 191002, arXiv:2408.02877"
WINDOW_KEV = (0.5, 3.0)


def published_response():
    """The SR0+SR1 efficiency from the release templates on the window."""
    table = acceptance_table("acceptance_xenonnt.csv", ("er_kev", "eff_sr0", "eff_sr1", "efficiency"))
    return curve_on_window(table.er_kev, table.efficiency, WINDOW_KEV, hold_last=True)


DATASET = DataSet(
    name="xenonnt",
    label="XENONnT",
    short_label="XENONnT",
    colour="tab:green",
    citation=CITATION,
    exposure_tonne_year=3.51,
    er_window_kev=WINDOW_KEV,
    paper_sm_events=11.3,
    signal=SignalMeasurement(10.7, 3.95, 3.7, 4.2, "Table II of the reference paper; " + CITATION),
    responses={"paper": published_response, "published": published_response},
    likelihoods=("gaussian", "split_normal", "poisson_counting"),
    published_fit=PublishedFit(("xenonnt",), 2.73, 4.7, 3.6, 2.3, CITATION),
    counting=CountingMeasurement(37, 26.4, 1.4, 1.3, CITATION),
    likelihood_aliases={"xenonnt_errors": {"symmetric": "gaussian", "asymmetric": "split_normal"}},
)
