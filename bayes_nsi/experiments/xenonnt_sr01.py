"""XENONnT SR0+SR1 through its binned likelihood: the data of E. Aprile et al. (XENON), PRL 133 (2024) 191002, from
the CC-BY-4.0 release (``xenonnt_release``), the 8B signal folded from the package's recoil spectrum with the
release's monoenergetic efficiencies (0.5-5.0 keV) on the light- and charge-yield grid.

:func:`binned_dataset` builds the data set of any set of runs of the release; ``xenonnt_sr012`` uses it for
SR0+SR1+SR2. Its response (for the physics graph) is the unit efficiency on 0.5-5.0 keV: the recoil-node events
it gives are dR/dE_r times the node weights, which the efficiency grid then folds into the analysis bins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bayes_nsi.experiments import xenonnt
from bayes_nsi.experiments import xenonnt_release as xr
from bayes_nsi.experiments.base import DataSet, PublishedFit
from bayes_nsi.experiments.binned_data import BinnedInputs, BinnedRelease

# The SNO 8B flux (Aharmim et al., PRC 88 (2013) 025501), 5.25 +- 0.20 in 1e6 cm^-2 s^-1: XENONnT's 3.81 % rate
# constraint (statistical_model_base.yaml) is its relative error, and the 2024 8B template assumes it
# (tests/test_xenonnt_binned.py: within 3 %).
SNO_FLUX_8B = 5.25
SNO_SOURCE = "SNO, Aharmim et al., PRC 88 (2013) 025501 (XENONnT's b8_rate_multiplier constraint, 3.81 %)"


def binned_inputs(runs: Sequence[str], free_signal_rate: bool) -> BinnedInputs:
    """The release's tables of ``runs`` and the nuisances of ``xenonnt_release.nuisances`` as BinnedInputs."""
    runs = tuple(runs)
    data = [xr.load_run(r) for r in runs]
    return BinnedInputs(
        runs=runs, exposure_t_yr=np.array([d.exposure_t_yr for d in data]),
        observed=np.stack([d.observed for d in data]),
        backgrounds={"ac": np.stack([d.ac for d in data]), "er": np.stack([d.er for d in data]),
                     "nr": np.stack([d.rg for d in data])},
        nuisances=xr.nuisances(runs, free_b8_rate=free_signal_rate), anchors=xr.YIELD_ANCHORS,
        efficiency=np.stack([xr.mono_efficiency(r) for r in runs]), energy_kev=xr.ENERGY_KEV)


def unit_response() -> tuple[np.ndarray, np.ndarray]:
    """Efficiency 1 on the monoenergetic grid's range, 0.5-5.0 keV (the bins' efficiency is folded later)."""
    return np.array([xr.ENERGY_KEV[0], xr.ENERGY_KEV[-1]]), np.ones(2)


def binned_dataset(name: str, tag: str, runs: Sequence[str], label: str, colour: str,
                   published_fit: PublishedFit | None) -> DataSet:
    """A data set measured through the release's binned likelihood of ``runs``."""
    runs = tuple(runs)
    runs_label = "+".join(r.upper() for r in runs)
    release = BinnedRelease(group=xenonnt.DATASET.name, tag=tag, runs=runs, runs_label=runs_label,
                            constraint_flux_8b=SNO_FLUX_8B, constraint_source=SNO_SOURCE,
                            build=lambda free: binned_inputs(runs, free))
    return DataSet(
        name=name, label=label, short_label=f"XENONnT {runs_label} binned", colour=colour, citation=xr.CITATION,
        exposure_tonne_year=float(sum(xr.EXPOSURE_T_YR[r] for r in runs)),
        er_window_kev=(float(xr.ENERGY_KEV[0]), float(xr.ENERGY_KEV[-1])),
        responses={"published": unit_response}, likelihoods=("binned_poisson",), published_fit=published_fit,
        binned=release,
        notes=("binned likelihood: the release's response as released (no paper normalization)",))


DATASET = binned_dataset("xenonnt_sr01", "sr01", ("sr0", "sr1"), "XENONnT SR0+SR1 (binned)", "tab:olive",
                         xenonnt.DATASET.published_fit)
