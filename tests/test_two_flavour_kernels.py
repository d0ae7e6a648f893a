"""The two-flavour survival kernel (bayes_nsi.physics.two_flavour_kernels): its Jacobian against central finite
differences of its own value, batch rows independent of each other, and the gradient through the PyTensor Op.

Its values against closed forms and a numerical 2x2 diagonalization are in tests/test_propagation.py.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import NullTypeGradError

from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.physics import propagation
from bayes_nsi.physics.constants import DE_SALAS_2021 as OSC
from bayes_nsi.physics.constants import MATTER_POTENTIAL_EV2
from bayes_nsi.physics.two_flavour_kernels import TwoFlavourSurvival, oscillation_constants, survival_and_jacobian


@pytest.fixture(scope="module")
def grid():
    """The model's 8B and hep nodes as the kernel's (R, J) arrays: v, y_u, y_d, w."""
    model = physics_model(("xenonnt",), "paper", physics="paper")
    n_e = np.concatenate([np.outer(nodes.n_e, model.enu_nodes) for nodes in model.production], axis=1)
    y_n = np.concatenate([np.repeat(nodes.y_n[:, None], len(model.enu_nodes), 1) for nodes in model.production], 1)
    w = np.concatenate([np.repeat(nodes.weight[:, None], len(model.enu_nodes), 1) for nodes in model.production], 1)
    return MATTER_POTENTIAL_EV2 * n_e, 2 + y_n, 1 + 2 * y_n, w


def test_jacobian_against_central_differences(grid):
    rng = np.random.default_rng(11)
    eps_dn = rng.uniform(-1.5, 1.5, size=(6, 4))
    constants = oscillation_constants(OSC)
    _, jac = survival_and_jacobian(eps_dn, *grid, constants)
    h = 1e-6
    for k in range(4):
        step = np.zeros(4)
        step[k] = h
        up, _ = survival_and_jacobian(eps_dn + step, *grid, constants)
        down, _ = survival_and_jacobian(eps_dn - step, *grid, constants)
        np.testing.assert_allclose(jac[..., k], (up - down) / (2 * h), rtol=1e-6, atol=1e-9)
    assert np.abs(jac).max() > 1e-2  # the couplings move the survival probability (the test can fail)


def test_batch_rows_are_independent(grid):
    """Accumulators reset per row: a batch equals its rows computed one by one, bit for bit."""
    eps_dn = np.random.default_rng(12).uniform(-1, 1, size=(5, 4))
    constants = oscillation_constants(OSC)
    batch = survival_and_jacobian(eps_dn, *grid, constants)
    for i in range(len(eps_dn)):
        single = survival_and_jacobian(eps_dn[i:i + 1], *grid, constants)
        np.testing.assert_array_equal(single[0][0], batch[0][i])
        np.testing.assert_array_equal(single[1][0], batch[1][i])


def test_gradient_through_the_op_against_central_differences():
    """d/d eps12 of a weighted sum of survival_at_nodes (the Op's pullback and the (12, 4) map of eqs. 14-15)."""
    model = physics_model(("xenonnt",), "paper", physics="paper")
    eps = pt.dvector("eps")
    weights = np.linspace(0.5, 2.0, 2 * len(model.enu_nodes))
    total = pt.sum(weights * propagation.survival_at_nodes(model.enu_nodes, model.production, eps, OSC))
    value = pytensor.function([eps], total)
    gradient = pytensor.function([eps], pytensor.grad(total, eps))
    x = np.random.default_rng(13).uniform(-0.8, 0.8, 12)
    h = 1e-6
    numeric = np.array([(value(x + h * e) - value(x - h * e)) / (2 * h) for e in np.eye(12)])
    np.testing.assert_allclose(gradient(x), numeric, rtol=1e-6, atol=1e-8)


def test_second_derivatives_are_refused():
    eps_dn = pt.dmatrix("eps_dn")
    v = np.ones((2, 3))
    _, jac = TwoFlavourSurvival()(eps_dn, v, v, v, v, oscillation_constants(OSC))
    with pytest.raises(NullTypeGradError):
        pytensor.grad(pt.sum(jac), eps_dn)


def test_numpy_values_equal_the_graph():
    """survival_values (the kernel called from numpy, as the convention report and the API do) equals the
    compiled survival_at_nodes to rounding (the graph's dot and numpy's matmul may sum in another order)."""
    model = physics_model(("xenonnt",), "paper", physics="paper")
    eps = pt.dmatrix("eps")
    graph = pytensor.function([eps], propagation.survival_at_nodes(model.enu_nodes, model.production, eps, OSC))
    x = np.random.default_rng(14).uniform(-1, 1, size=(7, 12))
    grid = propagation.survival_grid(model.enu_nodes, model.production)
    np.testing.assert_allclose(propagation.survival_values(grid, x, OSC), graph(x), rtol=1e-15, atol=0)
