"""Production-averaged two-flavour survival probability (eqs. 9-16) and its Jacobian: numba kernel and PyTensor Op.

For each batch row i and node j (a flux and an energy), with D = Y_u eps_D^u + Y_d eps_D^d,
N = Y_u eps_N^u + Y_d eps_N^d and V = 2 sqrt2 G_F n_e E at the production radius r:

    num = dm21^2 cos 2th12 - V (c13^2 - 2 D),   B = dm21^2 sin 2th12 + 2 V N          (eqs. 12-13)
    cos 2th_M = num / sqrt(num^2 + B^2)                                                (eq. 15, dm21)
    P_ee = c13^4 (1 + cos 2th_M cos 2th12) / 2 + s13^4                                 (eqs. 9-10)
    out[i, j] = sum_r w[j, r] P_ee,   jac[i, j, :] = d out[i, j] / d (eps_D^u, eps_D^d, eps_N^u, eps_N^d)

with d cos 2th_M / d num = B^2 / den^3 and d cos 2th_M / d B = -num B / den^3 (den = sqrt(num^2 + B^2)).

Why a kernel and not the PyTensor expression graph (measured on the 2-core development machine, value and
gradient of the events of three data sets, 2 fluxes x 17 energies x 16 radii): the elementwise graph
materializes (batch, 2, 17, 16) intermediates, so at batch 2001 a point cost more (27.9 us) than alone
(19.6 us), the intermediates falling out of cache; this kernel keeps one batch row's accumulators (one per
node j, in cache) and returns the 4-column Jacobian from the same pass (the gradient needs no second sweep). As in
:mod:`bayes_nsi.physics.adiabatic_kernels`, it is compiled without fast-math (IEEE results whatever the
compile-cache state) and its inner loop runs over the nodes j, writing independent elements, so LLVM
vectorizes it without reassociating sums.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, disconnected_type, grad_not_implemented
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from bayes_nsi.physics.constants import Oscillation


def oscillation_constants(osc: Oscillation) -> np.ndarray:
    """(dm21^2 cos 2th12 [eV^2], dm21^2 sin 2th12 [eV^2], c13^2, c13^4 cos 2th12 / 2, c13^4 / 2 + s13^4)."""
    cos2 = 1.0 - 2.0 * osc.sin2_th12
    sin2 = 2.0 * np.sqrt(osc.sin2_th12 * (1.0 - osc.sin2_th12))
    c13sq = 1.0 - osc.sin2_th13
    return np.array([osc.dm21_ev2 * cos2, osc.dm21_ev2 * sin2, c13sq, 0.5 * c13sq**2 * cos2,
                     0.5 * c13sq**2 + osc.sin2_th13**2])


@numba.njit(cache=True, error_model="numpy")
def survival_and_jacobian(eps_dn, v, y_u, y_d, w, osc):
    """(out (n, J), jac (n, J, 4)) of the module docstring.

    eps_dn: (n, 4) = (eps_D^u, eps_D^d, eps_N^u, eps_N^d); v: (R, J) matter potential 2 sqrt2 G_F n_e E [eV^2];
    y_u, y_d, w: (R, J) quark-to-electron ratios and production weights; osc: :func:`oscillation_constants`.
    """
    nb = eps_dn.shape[0]
    nr, nj = v.shape
    vac_cos, vac_sin, c13sq, slope, base = osc[0], osc[1], osc[2], osc[3], osc[4]
    out = np.empty((nb, nj))
    jac = np.empty((nb, nj, 4))
    acc = np.empty(nj)
    d_num_u = np.empty(nj)
    d_num_d = np.empty(nj)
    d_b_u = np.empty(nj)
    d_b_d = np.empty(nj)
    total_w = np.zeros(nj)  # sum_r w[r, j], the same for every batch row
    for r in range(nr):
        for j in range(nj):
            total_w[j] += w[r, j]
    for i in range(nb):
        e_du, e_dd, e_nu, e_nd = eps_dn[i, 0], eps_dn[i, 1], eps_dn[i, 2], eps_dn[i, 3]
        acc[:] = 0.0
        d_num_u[:] = 0.0
        d_num_d[:] = 0.0
        d_b_u[:] = 0.0
        d_b_d[:] = 0.0
        for r in range(nr):
            for j in range(nj):
                vv, yu, yd, wr = v[r, j], y_u[r, j], y_d[r, j], w[r, j]
                num = vac_cos - vv * (c13sq - 2.0 * (yu * e_du + yd * e_dd))
                b = vac_sin + 2.0 * vv * (yu * e_nu + yd * e_nd)
                inv = 1.0 / np.sqrt(num * num + b * b)
                inv3 = inv * inv * inv
                acc[j] += wr * num * inv
                a_num = 2.0 * wr * vv * b * b * inv3  # w d cos/d num d num/d D, without the Y factor
                a_b = -2.0 * wr * vv * num * b * inv3  # w d cos/d B d B/d N, without the Y factor
                d_num_u[j] += a_num * yu
                d_num_d[j] += a_num * yd
                d_b_u[j] += a_b * yu
                d_b_d[j] += a_b * yd
        for j in range(nj):
            out[i, j] = base * total_w[j] + slope * acc[j]
            jac[i, j, 0] = slope * d_num_u[j]
            jac[i, j, 1] = slope * d_num_d[j]
            jac[i, j, 2] = slope * d_b_u[j]
            jac[i, j, 3] = slope * d_b_d[j]
    return out, jac


class TwoFlavourSurvival(Op):
    """(eps_dn (n, 4), v, y_u, y_d, w (R, J), osc (5,)) -> (P_bar (n, J), Jacobian (n, J, 4)).

    Differentiable in eps_dn through the Jacobian output (first derivatives only); the other inputs are
    constants of the grid.
    """

    __props__ = ()

    def make_node(self, eps_dn, v, y_u, y_d, w, osc):
        inputs = [pt.as_tensor_variable(x, dtype="float64") for x in (eps_dn, v, y_u, y_d, w, osc)]
        n, j = inputs[0].type.shape[0], inputs[1].type.shape[1]
        outputs = [pt.TensorType("float64", shape=(n, j))(), pt.TensorType("float64", shape=(n, j, 4))()]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, output_storage):
        out, jac = survival_and_jacobian(*(np.ascontiguousarray(x) for x in inputs))
        output_storage[0][0], output_storage[1][0] = out, jac

    def infer_shape(self, node, shapes):
        return [(shapes[0][0], shapes[1][1]), (shapes[0][0], shapes[1][1], 4)]

    def connection_pattern(self, node):
        return [[True, True]] + [[False, False]] * 5

    def pullback(self, inputs, outputs, output_grads):
        if isinstance(output_grads[1].type, DisconnectedType):
            g_eps = pt.sum(output_grads[0][..., None] * outputs[1], axis=1)
        else:  # a gradient through the Jacobian output would need second derivatives
            g_eps = grad_not_implemented(self, 0, inputs[0], "second derivatives of the survival probability")
        return [g_eps] + [disconnected_type() for _ in range(5)]


# Numba backend: call the kernel directly (no object mode). The cache key is salted with this file's hash,
# so an edited kernel is never served from PyTensor's compile cache.
_SOURCE_SALT = int(hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12], 16)


@register_funcify_default_op_cache_key(TwoFlavourSurvival)
def _numba_two_flavour_survival(op, node=None, **kwargs):
    return survival_and_jacobian, _SOURCE_SALT
