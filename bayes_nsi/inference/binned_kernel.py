"""A compressed monoenergetic-efficiency grid: the same fold of a spectrum for about a quarter of the work.

Folding a spectrum with the efficiency grid eff[r, i, j, g, b] (runs, yield anchors i, j, energies g, bins b)
reads every value once per point, and once more for the gradient (4.4 MB for XENONnT's three runs): the
memory-bound part of a posterior's gradient. The grid is smooth in energy: the singular values of its energy
unfolding (rows g, columns r i j b; all runs together) fall to a floor of about 2e-4 of the largest, the Monte
Carlo noise of the templates, after 11-12 components. With C the leading L left singular vectors (G x L),

    eff[r, i, j, g, b] ~ sum_l C[g, l] D[r, i, j, l, b],   D = C^T eff,

so that fold(spectrum, eff) ~ fold(spectrum C, D): the fold of an L-vector with a grid L/G the size. The
projection onto the grid energies (``binned.energy_projection``) absorbs C, so a point costs the same
contraction on the smaller grid. With L = 12 every bin of smooth test spectra stays within 1.1e-3 of the
largest template value and each run's total within 8e-4 (the truncation removes the noise floor's directions;
more components do not improve it: 9e-4 and 7e-4 at L = 20). Timing: ``benchmarks/bench_xenonnt_binned.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ENERGY_RANK = 12


@dataclass(frozen=True)
class EnergyCompressed:
    """basis (G, L): orthonormal energy components; efficiency (runs, A, A, L, bins): the grid projected on them."""

    basis: np.ndarray
    efficiency: np.ndarray

    def reconstruct(self) -> np.ndarray:
        """The approximated grid (runs, A, A, G, bins)."""
        return np.einsum("gl,rijlb->rijgb", self.basis, self.efficiency, optimize=True)


def compress_energy(efficiency: np.ndarray, rank: int = ENERGY_RANK) -> EnergyCompressed:
    """The leading ``rank`` energy components of an efficiency grid (..., G, bins), shared by all runs and anchors."""
    efficiency = np.asarray(efficiency, dtype=float)
    n_energy = efficiency.shape[-2]
    if efficiency.ndim < 2 or not 0 < rank <= n_energy:
        raise ValueError(f"rank: need 1..{n_energy} for an efficiency grid of shape {efficiency.shape}, got {rank}")
    unfolded = np.moveaxis(efficiency, -2, 0).reshape(n_energy, -1)
    basis = np.linalg.svd(unfolded, full_matrices=False)[0][:, :rank]
    return EnergyCompressed(basis, np.einsum("gl,...gb->...lb", basis, efficiency, optimize=True))
