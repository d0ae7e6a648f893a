"""Figures of the study kinds: coverage curves, Feldman-Cousins against Delta chi^2 intervals, SBC PIT-ECDF bands.

Each function takes computed results and returns a matplotlib ``Figure`` (no pyplot, as in :mod:`.plots`);
``note`` names the acceptance and physics modes and is printed on the figure.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from bayes_nsi.app.plots import coupling_label, style
from bayes_nsi.names import COUPLINGS


def _panels(n: int, width: float = 3.3, height: float = 2.6) -> tuple[Figure, np.ndarray]:
    ncols = min(n, 4)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(width * ncols, height * nrows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def _title(fig: Figure, head: str, note: str) -> None:
    """Figure title: ``head`` and the mode note, wrapped to the figure's width."""
    width = int(fig.get_figwidth() * 14)
    fig.suptitle("\n".join([*textwrap.wrap(head, width), *textwrap.wrap(note, width)]), fontsize=9)


def fig_coverage(tables: Mapping[str, Mapping[str, object]], level_index: int, level: float, nominal: float,
                 note: str) -> Figure:
    """Coverage against the true coupling, one panel per coupling, one curve (with its Clopper-Pearson band)
    per data-set key; ``tables[coupling][key]`` is an ``inference.studies.coverage.Coverage``."""
    fig, axes = _panels(len(tables))
    for ax, (coupling, per_key) in zip(axes, tables.items(), strict=False):
        for key, cov in per_key.items():
            label, colour = style(key)
            ax.fill_between(cov.theta_true, cov.lower[:, level_index], cov.upper[:, level_index], color=colour,
                            alpha=0.2, lw=0)
            ax.plot(cov.theta_true, cov.fraction[:, level_index], color=colour, marker=".", ms=3, lw=1, label=label)
        ax.axhline(nominal, color="grey", ls="--", lw=0.8)
        ax.set(xlabel=f"true {coupling_label(coupling)}", ylim=(max(0.0, min(ax.get_ylim()[0], nominal - 0.1)), 1.0))
    axes[0].set_ylabel("coverage")
    axes[0].legend(fontsize=7)
    _title(fig, f"Coverage of the Delta chi^2 = {level:g} intervals (nominal {nominal:.4f}, dashed)", note)
    return fig


def fig_fc_vs_dchi2(fc: Mapping[str, Mapping[str, Mapping[str, list]]], dchi2: Mapping[str, Mapping[str, Mapping]],
                    level_names: Sequence[str], couplings: Sequence[str], keys: Sequence[str], note: str) -> Figure:
    """Interval pieces per coupling (panel) and data-set key (row): Feldman-Cousins (colour) above Delta chi^2
    (grey), the first level thick, the second thin. ``fc[level][key][coupling]`` = [[lo, hi], ...]."""
    fig, axes = _panels(len(couplings), height=2.2)
    widths = (5.0, 1.5)
    for ax, coupling in zip(axes, couplings, strict=False):
        for row, key in enumerate(keys):
            _, colour = style(key)
            for level, width in zip(level_names, widths, strict=False):
                for lo, hi in fc[level][key][coupling]:
                    ax.plot([lo, hi], [row + 0.15] * 2, color=colour, lw=width, solid_capstyle="butt")
                for lo, hi in dchi2[level][key][coupling]:
                    ax.plot([lo, hi], [row - 0.15] * 2, color="grey", lw=width, solid_capstyle="butt")
        ax.set_yticks(range(len(keys)), [style(k)[0] for k in keys], fontsize=6)
        ax.set(xlabel=coupling_label(coupling), ylim=(-0.6, len(keys) - 0.4))
        ax.grid(axis="x", alpha=0.3)
    _title(fig, f"Feldman-Cousins (colour, upper) and Delta chi^2 (grey, lower) intervals: "
                f"{' thick, '.join(level_names)} thin", note)
    return fig


def fig_fc_critical(belts: Mapping[str, object], key: str, levels: Sequence[float], note: str) -> Figure:
    """Critical values c_CL(theta) of the Feldman-Cousins belts of one data-set key, one panel per coupling,
    with the Delta chi^2 levels they replace (Wilks: c = level). ``belts[coupling]`` is a ``Belt``."""
    fig, axes = _panels(len(belts), height=2.3)
    for ax, (coupling, belt) in zip(axes, belts.items(), strict=False):
        for j, (cl, level) in enumerate(zip(belt.cls, levels, strict=True)):
            line, = ax.plot(belt.theta, belt.critical[:, j], lw=1, label=f"CL {cl:.4f}")
            ax.axhline(level, color=line.get_color(), ls="--", lw=0.8)
        ax.set(xlabel=coupling_label(coupling), ylim=(0, None))
    axes[0].set_ylabel(r"$c_{CL}(\theta)$")
    axes[0].legend(fontsize=7)
    _title(fig, f"Feldman-Cousins critical values, {style(key)[0]} (dashed: the Delta chi^2 levels)", note)
    return fig


def fig_pit_ecdf(summary: Mapping[str, object], n_simulations: int, note: str, envelope_prob: float = 0.99) -> Figure:
    """ECDF of the PIT values minus the uniform CDF, with the simultaneous envelope (Saeilynoja et al. 2022),
    one panel per parameter; ``summary[name]`` is an ``inference.studies.pit_ecdf.PitEcdf``."""
    fig, axes = _panels(len(summary), width=2.8, height=2.2)
    for ax, (name, s) in zip(axes, summary.items(), strict=False):
        ax.fill_between(s.x, s.lower - s.x, s.upper - s.x, color="tab:blue", alpha=0.2, lw=0, step="post")
        ax.step(s.x, s.ecdf - s.x, where="post", color="black" if s.inside else "tab:red", lw=1)
        ax.axhline(0.0, color="grey", lw=0.6)
        label = coupling_label(name) if name in COUPLINGS else name
        ax.set_title(f"{label}  p = {s.p_value:.2g}", fontsize=8)
        ax.set_xlim(0, 1)
    axes[0].set_ylabel("ECDF - uniform")
    _title(fig, f"SBC: PIT-ECDF of {n_simulations} simulations, {100 * envelope_prob:g}% simultaneous envelope", note)
    return fig
