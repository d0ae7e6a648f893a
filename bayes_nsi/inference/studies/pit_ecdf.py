"""PIT-ECDF checks of SBC ranks, in the conventions of the ArviZ ecosystem.

PIT values (rank + 1/2) / (n_draws + 1) feed the ArviZ tools: the simultaneous PIT-ECDF envelope of
Säilynoja et al. (Stat. Comput. 32 (2022) 32) from ``arviz_stats.ecdf_utils.ecdf_pit`` and the
``pot_c`` uniformity test that ``arviz_plots.plot_ecdf_pit`` uses by default. simuk (0.3) runs SBC
itself, serially, on a PyMC/Bambi/NumPyro model, with no per-task entry point, so it cannot be
distributed; :func:`sbc_datatree` gives simuk's output layout (group ``prior_sbc``), which
``arviz_plots.plot_ecdf_pit`` plots directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from arviz_stats.base import array_stats
from arviz_stats.ecdf_utils import ecdf_pit

from bayes_nsi.inference.studies.sbc import pit


@dataclass(frozen=True)
class PitEcdf:
    """PIT-ECDF of one parameter with its simultaneous envelope (Säilynoja et al. 2022)."""

    x: np.ndarray
    ecdf: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p_value: float  # pot_c uniformity test (arviz-stats)

    @property
    def inside(self) -> bool:
        return bool(np.all((self.ecdf >= self.lower) & (self.ecdf <= self.upper)))


def sbc_summary(ranks: np.ndarray, n_draws: int, names: Sequence[str], *, envelope_prob: float = 0.99,
                n_band_simulations: int = 1000, seed: int = 214) -> dict[str, PitEcdf]:
    """{parameter: PitEcdf} of the ranks (n_simulations, n_params)."""
    ranks = np.asarray(ranks)
    if ranks.ndim != 2 or ranks.shape[1] != len(names):
        raise ValueError(f"ranks: shape {ranks.shape}, expected (n_simulations, {len(names)})")
    values = pit(ranks, n_draws)
    p_values, _, _ = array_stats.uniformity_test(values.T, axis=-1, method="pot_c")
    out = {}
    for j, name in enumerate(names):
        x, ecdf, lower, upper = ecdf_pit(values[:, j], envelope_prob, n_band_simulations,
                                         rng=np.random.default_rng(seed))
        out[name] = PitEcdf(x, ecdf, lower, upper, float(np.atleast_1d(p_values)[j]))
    return out


def sbc_datatree(ranks: np.ndarray, n_draws: int, names: Sequence[str]) -> xr.DataTree:
    """PIT values in simuk's layout: group ``prior_sbc``, one variable per parameter, dims (chain=1, draw)."""
    values = pit(ranks, n_draws)
    ds = xr.Dataset({name: (("chain", "draw"), values[None, :, j]) for j, name in enumerate(names)})
    return xr.DataTree.from_dict({"prior_sbc": ds})
