"""Physics modes of the rate graph: the flavour weight W_j that multiplies the cross section at each energy node.

The rate of a data set is R = sum_i F_i^2 sum_j KP_ij W_j (KP: the detector kernel of
:mod:`bayes_nsi.physics.rates`, flux share and Lagrange basis included; j runs over the fluxes' energy
nodes, flux-major). Since sum_j KP_ij = K0_i (the flux shares add to one and the Lagrange basis is a
partition of unity), eq. (19) is the special case W_j = Q_mu^2 + (Q_e^2 - Q_mu^2) <P_ee>_j.

Modes (propagation, detection):
- "paper":  two-flavour eqs. (9)-(15), eq. (19) with the rotated weak charges of eq. (18) (as printed);
- "hybrid": two-flavour populations p_1,2 = c13^2 (1 +- cos 2theta_M)/2, p_3 = s13^2, density matrix
  Tr[rho A^dagger A] (:mod:`bayes_nsi.physics.density_matrix`): isolates the detection difference;
- "exact":  exact adiabatic three-flavour populations (:mod:`bayes_nsi.physics.mass_states`) and the
  density matrix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytensor.tensor as pt

from bayes_nsi.names import PHYSICS_MODES as MODE_NAMES
from bayes_nsi.physics.density_matrix import detection_weight
from bayes_nsi.physics.detection import weak_charges_squared
from bayes_nsi.physics.mass_states import mass_state_populations
from bayes_nsi.physics.propagation import survival_at_nodes

if TYPE_CHECKING:
    from bayes_nsi.physics.rates import PhysicsModel

# physics mode -> (mass-state method of the propagation, detection: "eq19" or "density_matrix")
PHYSICS_MODES = dict(zip(MODE_NAMES, (("two_flavour", "eq19"), ("two_flavour", "density_matrix"),
                                      ("exact", "density_matrix")), strict=True))


def check_physics(physics: str) -> None:
    """Raise ValueError for an unknown physics mode, listing the allowed ones."""
    if physics not in PHYSICS_MODES:
        raise ValueError(f"physics: unknown {physics!r}; allowed: {', '.join(PHYSICS_MODES)}")


def node_populations(model: PhysicsModel, eps12, method: str, delta_cp_rad: float = 0.0):
    """Mass-state populations at every flux's energy nodes, flux-major; shape (..., n_flux * n_enu, 3)."""
    return pt.concatenate([mass_state_populations(model.enu_nodes, nodes, eps12, model.osc, method, delta_cp_rad)
                           for nodes in model.production], axis=-2)


def detection_weights(model: PhysicsModel, eps12, physics: str = "exact", delta_cp_rad: float = 0.0):
    """W_j at the energy nodes of every flux (flux-major, like the columns of KP); shape (..., n_flux * n_enu).

    eps12: couplings (..., 12) in COUPLINGS order; physics: "paper", "hybrid" or "exact";
    delta_cp_rad: Dirac phase, "exact" only (the two-flavour eqs. 12-15 assume delta_CP = 0).
    The rate of a data set is then sum(dot(F^2, KP) * W, axis=-1).
    """
    check_physics(physics)
    eps12 = pt.as_tensor_variable(eps12)
    method, detection = PHYSICS_MODES[physics]
    if detection == "eq19":
        if delta_cp_rad != 0.0:
            raise ValueError("delta_cp_rad: physics 'paper' (eqs. 9-19) needs delta_cp_rad = 0; use 'exact'")
        pbar = survival_at_nodes(model.enu_nodes, model.production, eps12, model.osc)
        q2_e, q2_mu = weak_charges_squared(eps12, model.nucleus, model.osc)
        return q2_mu[..., None] + (q2_e - q2_mu)[..., None] * pbar
    populations = node_populations(model, eps12, method, delta_cp_rad)
    return detection_weight(populations, eps12, model.nucleus, model.osc, delta_cp_rad)
