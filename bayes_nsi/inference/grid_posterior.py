"""Posterior of one or two couplings (and the 8B flux) on a quadrature grid, with draws from its interpolant.

For posteriors of at most three dimensions the grid is exact where NUTS is not: the one-coupling posteriors
are bimodal, and NUTS crosses between the modes slowly (bulk ESS about a fifth of the draws), while the grid
sees both modes at once and its only error is the interpolation between nodes. The unnormalized density
ln p(eps, f) = ln L(eps, f) + ln pi(eps) + ln pi(f) is evaluated on a regular grid (the prior support of
each coupling, the flux over mu +- 10 sigma), with the likelihood terms' own nuisances integrated; the quadrature
evidence (:func:`bayes_nsi.inference.evidence.quadrature_ln_z`) integrates the same gridded density.

Draws are exact draws from the multilinear interpolant of the density on the grid. On a cell, that
interpolant is sum_c v_c prod_k l_{c_k}(t_k) over the 2^d corners c (l_1(t) = t, l_0(t) = 1 - t, t the
position in the cell), a mixture of product densities, each of mass v_c (h/2)^d. So: a cell by its mass
(the sum of its corner values), a corner by its value, and each coordinate from the linear density 2t
(t = sqrt(u)) or 2(1 - t) (t = 1 - sqrt(1 - u)). The error of the draws is that of the interpolant,
O(h^2) (written here because no library samples a gridded density in more than one dimension).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from bayes_nsi.inference import observations as data
from bayes_nsi.inference.pointwise import dataset, measured_datasets, pointwise_groups
from bayes_nsi.inference.priors import Prior, b16_flux
from bayes_nsi.inference.quadrature_grid import flux_nodes, outer_sum, prior_grid
from bayes_nsi.inference.sampler_settings import sampler_seeds
from bayes_nsi.inference.scans import Chi2Scanner
from bayes_nsi.names import COUPLINGS, check_coupling_names

FLUX = "flux_8b"
DEFAULT_POINTS = {1: 2001, 2: 201}  # nodes per coupling axis, by the number of free couplings
DEFAULT_FLUX_POINTS = 201


@dataclass(frozen=True)
class GridPosterior:
    """Unnormalized ln density on a regular grid: axis names (couplings in COUPLINGS order, then flux_8b),
    their nodes, and ln p of shape (len(nodes_0), len(nodes_1), ...)."""

    names: tuple[str, ...]
    nodes: tuple[np.ndarray, ...]
    ln_density: np.ndarray

    def halved(self) -> GridPosterior:
        """The grid with every other node (the grid-convergence check)."""
        return GridPosterior(self.names, tuple(x[::2] for x in self.nodes),
                             self.ln_density[tuple(slice(None, None, 2) for _ in self.nodes)])

    def moments(self) -> dict[str, tuple[float, float]]:
        """Posterior mean and standard deviation of every axis (trapezoid rule over the grid)."""
        out = {}
        for name in self.names:
            x, density = marginal(self, name)
            mean = np.trapezoid(x * density, x)
            out[name] = (float(mean), float(np.sqrt(np.trapezoid((x - mean) ** 2 * density, x))))
        return out


def grid_posterior(scanner: Chi2Scanner, priors: Mapping[str, Prior], flux_prior: str | None,
                   points: int | None = None, flux_points: int = DEFAULT_FLUX_POINTS, chunk: int = 4096,
                   datasets: Sequence[str] | None = None) -> GridPosterior:
    """ln p(eps, f) on the grid: zero (the quadrature evidence of the SM), one or two free couplings (the others
    zero), and the 8B flux when ``flux_prior`` ("b16" or "sno") is given, else the flux fixed at B16.

    Events scale linearly with the flux (eq. 3), so the physics graph is evaluated once per coupling node and
    the flux axis is broadcast. points: nodes per coupling axis (default 2001 for one coupling, 201 for two);
    datasets: the scanner's data sets whose likelihoods count (default all).
    """
    check_coupling_names(list(priors))
    names = [c for c in COUPLINGS if c in priors]
    if len(names) > 2:
        raise ValueError(f"priors: the grid posterior takes at most 2 couplings, got {len(names)}")
    obs = data.select(scanner.obs, datasets) if datasets is not None else scanner.obs
    cols = [scanner.obs.datasets.index(d) for d in obs.datasets]
    points = points or DEFAULT_POINTS.get(len(names), 1)
    axes = [prior_grid(priors[n], points) for n in names]
    ln_prior = outer_sum([priors[n].logpdf(a) for n, a in zip(names, axes, strict=True)])
    eps = np.zeros((ln_prior.size, len(COUPLINGS)))
    for name, grid in zip(names, np.meshgrid(*axes, indexing="ij"), strict=True):
        eps[:, COUPLINGS.index(name)] = grid.ravel()
    b16 = b16_flux()
    if flux_prior:
        f, ln_pf = flux_nodes(flux_prior, flux_points)
    else:
        f, ln_pf = np.array([b16]), np.zeros(1)
    ln_l = np.concatenate([data.log_likelihood(scanner.events(eps[i:i + chunk])[:, None, cols]
                                               * (f / b16)[None, :, None], obs)
                           for i in range(0, eps.shape[0], chunk)])
    ln_p = ln_l.reshape(*ln_prior.shape, f.size) + ln_prior[..., None] + ln_pf
    if not flux_prior:
        return GridPosterior(tuple(names), tuple(axes), ln_p[..., 0])
    return GridPosterior((*names, FLUX), (*axes, f), ln_p)


def draw(posterior: GridPosterior, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent draws (n, n_axes) from the multilinear interpolant of the gridded density (module doc)."""
    p = np.exp(posterior.ln_density - posterior.ln_density.max())
    d = p.ndim
    corners = np.array(list(itertools.product((0, 1), repeat=d)))
    values = [p[tuple(slice(c, p.shape[k] - 1 + c) for k, c in enumerate(corner))] for corner in corners]
    mass = np.sum(values, axis=0)
    cell = np.unravel_index(rng.choice(mass.size, size=n, p=(mass / mass.sum()).ravel()), mass.shape)
    at_cell = np.stack([v[cell] for v in values], axis=1)  # (n, 2^d)
    cumulative = np.cumsum(at_cell, axis=1)
    corner = corners[(cumulative > rng.random(n)[:, None] * cumulative[:, -1:]).argmax(axis=1)]
    u = rng.random((n, d))
    t = np.where(corner == 1, np.sqrt(u), 1.0 - np.sqrt(1.0 - u))
    steps = np.array([x[1] - x[0] for x in posterior.nodes])
    lows = np.array([x[0] for x in posterior.nodes])
    return lows + (np.stack(cell, axis=1) + t) * steps


# -- intervals from the gridded density ----------------------------------------------------------------
# ArviZ's HDI and ETI take draws (the HDI through a kernel density estimate); here the density itself is known
# on the grid, so its level sets and quantiles are read off it directly, exact up to the interpolation.

REFINE = 20001  # points of the piecewise-linear marginal on which level sets and quantiles are read


def marginal(posterior: GridPosterior, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and normalized marginal density of one axis (the others summed: uniform grids)."""
    k = posterior.names.index(name)
    p = np.exp(posterior.ln_density - posterior.ln_density.max())
    density = p.sum(axis=tuple(j for j in range(p.ndim) if j != k))
    x = posterior.nodes[k]
    return x, density / np.trapezoid(density, x)


def _refined(x: np.ndarray, density: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The linear interpolant on REFINE points, and its cumulative distribution there."""
    fine = np.linspace(x[0], x[-1], REFINE)
    f = np.interp(fine, x, density)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(fine))])
    return fine, f, cdf / cdf[-1]


def quantile(x: np.ndarray, density: np.ndarray, q: float) -> float:
    """The q-quantile of the piecewise-linear density (its CDF inverted by interpolation)."""
    fine, _, cdf = _refined(x, density)
    return float(np.interp(q, cdf, fine))


def equal_tailed(x: np.ndarray, density: np.ndarray, prob: float) -> list[float]:
    """[q_(1-p)/2, q_(1+p)/2] of the piecewise-linear density."""
    return [quantile(x, density, (1 - prob) / 2), quantile(x, density, (1 + prob) / 2)]


def highest_density(x: np.ndarray, density: np.ndarray, prob: float) -> list[list[float]]:
    """Highest-density region {x : f(x) >= t} holding ``prob``, as sorted disjoint pieces [[lo, hi], ...]."""
    fine, f, _ = _refined(x, density)
    step = fine[1] - fine[0]
    order = np.argsort(f)[::-1]
    mass = np.cumsum(f[order]) * step / (np.sum(f) * step)
    threshold = f[order][np.searchsorted(mass, prob)]
    inside = np.concatenate([[False], f >= threshold, [False]])
    edges = np.flatnonzero(np.diff(inside.astype(int)))
    return [[float(fine[a]), float(fine[b - 1])] for a, b in zip(edges[::2], edges[1::2], strict=True)]


# -- the draws as an ArviZ DataTree --------------------------------------------------------------------


def sample(scanner: Chi2Scanner, priors: Mapping[str, Prior], flux_prior: str | None, draws: int, chains: int,
           seed: int, points: int | None = None) -> tuple[xr.DataTree, GridPosterior]:
    """``chains`` x ``draws`` independent draws of the grid posterior, as the NUTS runs' DataTree has them.

    Groups: ``posterior`` (the couplings, ``flux_8b`` when free, ``eps`` (coupling), ``events`` (dataset) at
    each draw from the physics graph itself), ``log_likelihood`` and ``posterior_predictive`` (``signal`` over
    the measured data sets, ``count_<data set>`` per counting term, the background integrated) and
    ``observed_data``. The chain split is only a layout: all draws are independent. Seeds from ``seed`` as
    :func:`~bayes_nsi.inference.sampler_settings.sampler_seeds` (draws, predictive).
    """
    grid = grid_posterior(scanner, priors, flux_prior, points)
    draw_seed, predictive_seed = sampler_seeds(seed)
    x = draw(grid, chains * draws, np.random.default_rng(draw_seed))
    couplings = [n for n in grid.names if n != FLUX]
    eps = np.zeros((x.shape[0], len(COUPLINGS)))
    for k, name in enumerate(couplings):
        eps[:, COUPLINGS.index(name)] = x[:, k]
    flux_scale = x[:, grid.names.index(FLUX)] / b16_flux() if FLUX in grid.names else 1.0
    events = np.concatenate([scanner.events(eps[i:i + 4096]) for i in range(0, len(eps), 4096)])
    events = events * np.reshape(flux_scale, (-1, 1))

    def shaped(values: np.ndarray) -> np.ndarray:
        return values.reshape(chains, draws, *values.shape[1:])

    obs = scanner.obs
    posterior = {name: (("chain", "draw"), shaped(x[:, k])) for k, name in enumerate(grid.names)}
    posterior["eps"] = (("chain", "draw", "coupling"), shaped(x[:, :len(couplings)]))
    posterior["events"] = (("chain", "draw", "dataset"), shaped(events))
    groups = pointwise_groups(shaped(events), obs, np.random.default_rng(predictive_seed))
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "coupling": couplings,
              "dataset": list(obs.datasets), "measured_dataset": measured_datasets(obs)}
    attrs = {"inference_library": "bayes_nsi.inference.grid_posterior",
             "grid": ", ".join(f"{n}: {len(x)} nodes on [{x[0]:g}, {x[-1]:g}]"
                               for n, x in zip(grid.names, grid.nodes, strict=True))}
    tree = {"posterior": dataset(posterior, coords, attrs)}
    tree.update({g: dataset(v, coords, attrs) for g, v in groups.items()})
    return xr.DataTree.from_dict(tree), grid


def grid_error(posterior: GridPosterior) -> dict[str, dict[str, float]]:
    """Posterior mean and standard deviation of every axis, and their change when every other node is dropped
    (the grid's error estimate: the interpolation error falls as h^2, so the full grid's is ~1/4 of it)."""
    full, half = posterior.moments(), posterior.halved().moments()
    return {n: {"mean": full[n][0], "sd": full[n][1], "mean_change": abs(full[n][0] - half[n][0]),
                "sd_change": abs(full[n][1] - half[n][1])} for n in posterior.names}
