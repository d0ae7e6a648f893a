"""Figure functions: each takes computed results and returns a matplotlib ``Figure`` (Figs. 1-4 of the paper).

Figures are built on ``matplotlib.figure.Figure`` objects, never through pyplot, so importing or calling
this module selects no backend and keeps no global figure state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from bayes_nsi.experiments.registry import BINNED, REGISTRY
from bayes_nsi.inference.intervals import ContourResult, ProfileResult
from bayes_nsi.names import FLAVOUR_PAIRS

COMBINED = "combined"


def style(key: str) -> tuple[str, str]:
    """(label, colour) of a result key: a data set's own, or the combination's."""
    if key == COMBINED:
        return "Combined", "black"
    dataset = REGISTRY.get(key) or BINNED.get(key)
    if dataset:
        return dataset.label, dataset.colour
    return key, "tab:gray"
TEX = {"ee": "ee", "emu": r"e\mu", "etau": r"e\tau", "mumu": r"\mu\mu", "mutau": r"\mu\tau", "tautau": r"\tau\tau"}


def coupling_label(name: str) -> str:
    """LaTeX label eps_{ab}^q for a coupling name like 'mutau_d'."""
    pair, quark = name.split("_")
    return rf"$\varepsilon_{{{TEX[pair]}}}^{{{quark}}}$"


def fig1_survival(enu_mev: np.ndarray, curves: Mapping[float, np.ndarray], note: str) -> Figure:
    """<P_ee>(E_nu) for several eps_ee^u values (Fig. 1)."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for value, p in curves.items():
        ax.plot(enu_mev, p, label=rf"$\varepsilon_{{ee}}^u = {value:g}$", lw=1.5 if value else 2.5,
                color="black" if value == 0 else None)
    ax.set(xscale="log", xlabel=r"$E_\nu$ [MeV]", ylabel=r"$\langle P_{ee}\rangle$", title=note)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def fig_profiles(result: Mapping[str, Mapping[str, ProfileResult]], quark: str, note: str,
                 reference: Mapping[str, Mapping[str, ProfileResult]] | None = None,
                 reference_label: str = "") -> Figure:
    """Delta chi^2 against each coupling of one quark, every data set and combined (Figs. 2, 3);
    ``reference`` (e.g. the paper's physics) is overlaid dashed."""
    fig = Figure(figsize=(11, 6.5))
    axes = fig.subplots(2, 3, sharey=True)
    for ax, (pair, _, _) in zip(axes.ravel(), FLAVOUR_PAIRS, strict=True):
        name = f"{pair}_{quark}"
        for key, per in result.items():
            if name in per:
                label, colour = style(key)
                ax.plot(per[name].x, per[name].delta_chi2, color=colour, label=label)
                if reference and name in reference.get(key, {}):
                    ref = reference[key][name]
                    ax.plot(ref.x, ref.delta_chi2, color=colour, ls=":", lw=1.0,
                            label=f"{label} ({reference_label})" if reference_label else None)
        for level, text in ((1.0, r"1$\sigma$"), (4.0, r"2$\sigma$")):
            ax.axhline(level, color="grey", ls="--", lw=0.8)
            ax.text(ax.get_xlim()[0], level, text, fontsize=7, va="bottom", color="grey")
        ax.set(xlabel=coupling_label(name), ylim=(0, 8))
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\Delta\chi^2$")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(note, fontsize=9)
    fig.tight_layout()
    return fig


def fig4_contours(planes: Mapping[tuple[str, str], Mapping[str, ContourResult]], note: str,
                  keys: Sequence[str] | None = None,
                  reference: Mapping[tuple[str, str], Mapping[str, ContourResult]] | None = None) -> Figure:
    """90% CL iso-contours in diagonal (eps^u, eps^d) planes (Fig. 4); ``reference`` overlaid dotted."""
    fig = Figure(figsize=(4.2 * len(planes), 4))
    axes = fig.subplots(1, len(planes), squeeze=False)
    for ax, ((x, y), per_key) in zip(axes[0], planes.items(), strict=True):
        for key in keys or [k for k in per_key if k != COMBINED]:
            if key not in per_key:
                continue
            label, colour = style(key)
            for i, line in enumerate(per_key[key].lines):
                ax.plot(line[:, 0], line[:, 1], color=colour, label=label if i == 0 else None)
            if reference and key in reference.get((x, y), {}):
                for line in reference[(x, y)][key].lines:
                    ax.plot(line[:, 0], line[:, 1], color=colour, ls=":", lw=1.0)
        ax.set(xlabel=coupling_label(x), ylabel=coupling_label(y))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(note, fontsize=9)
    fig.tight_layout()
    return fig


def fig_projection(factors: Sequence[float], widths: Mapping[str, Sequence[float]], note: str) -> Figure:
    """Relative total 1-sigma width against the exposure factor, one line per coupling."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, w in widths.items():
        w = np.asarray(w, float)
        ax.plot(factors, w / w[0], marker="o", label=coupling_label(name), ls="-" if name.endswith("_u") else ":")
    f = np.asarray(factors, float)
    ax.plot(f, 1 / np.sqrt(f / f[0]), color="grey", lw=3, alpha=0.4, label=r"$1/\sqrt{f}$")
    ax.set(xscale="log", xlabel="exposure factor f", ylabel="total 1σ width / width at f = 1", title=note)
    ax.legend(fontsize=6, ncol=3)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
