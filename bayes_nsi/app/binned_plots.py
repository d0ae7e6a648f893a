"""Figure of a binned measurement: observed and best-fit expected counts per analysis bin (matplotlib Figure,
no pyplot)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure


@dataclass(frozen=True)
class BinPanel:
    """One fit: title, run names, observed counts and best-fit expectations (runs, bins) in events."""

    title: str
    runs: tuple[str, ...]
    observed: np.ndarray
    expected: np.ndarray
    signal: np.ndarray


def fig_bin_counts(panels: Sequence[BinPanel], note: str) -> Figure:
    """Observed events (points) over the best-fit expectation per bin (steps: total, background alone, and the
    8B part), runs side by side, one panel per fit; bins in the release's flattened order."""
    fig = Figure(figsize=(12, 3.0 * len(panels) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(panels), 1))
    for ax, panel in zip(axes, panels, strict=True):
        n_runs, n_bins = panel.observed.shape
        x = np.arange(n_runs * n_bins)
        edges = np.arange(n_runs * n_bins + 1) - 0.5
        total, signal = panel.expected.ravel(), panel.signal.ravel()
        ax.stairs(total, edges, color="black", lw=1.0, label="best fit: total")
        ax.stairs(total - signal, edges, color="tab:gray", lw=1.0, fill=True, alpha=0.35,
                  label="best fit: background (AC + ER + neutrons)")
        ax.stairs(signal, edges, color="tab:red", lw=1.0, label=r"best fit: $^8$B CEvNS")
        observed = panel.observed.ravel()
        seen = observed > 0
        ax.plot(x[seen], observed[seen], "o", color="tab:blue", ms=4, label="observed (bins with events)")
        for r, run in enumerate(panel.runs):
            ax.axvline(r * n_bins - 0.5, color="grey", lw=0.6, ls=":")
            ax.text(r * n_bins + 1, 0.97, f"{run.upper()}: {observed[r * n_bins:(r + 1) * n_bins].sum():.0f} events, "
                    f"{total[r * n_bins:(r + 1) * n_bins].sum():.1f} expected", transform=ax.get_xaxis_transform(),
                    va="top", fontsize=7)
        ax.set(xlim=(-0.5, n_runs * n_bins - 0.5), ylim=(0, max(observed.max(), total.max()) * 1.25 + 0.2),
               ylabel="events per bin", title=panel.title)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8)
    axes[-1].set_xlabel("analysis bin (run-major; per run 3x3x3x3 in cS2, S2-shadow, S1-BDT, S2-BDT, C order)")
    fig.suptitle(note, fontsize=9)
    return fig
