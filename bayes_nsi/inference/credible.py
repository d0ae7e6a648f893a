"""Credible intervals from posterior draws, beside the chi-square intervals of the same data.

The highest-density interval (HDI) of probability p is the region {x : f(x) >= t} with t set so that the
region holds p; f is a kernel density estimate, so a bimodal posterior gives several disjoint pieces.
Equal-tailed intervals (ETI) cut (1 - p)/2 off each side. The chi-square intervals are the level sets
Delta chi^2 <= 1 and <= 4 of eq. (20) (``intervals.profile_scan``). The probabilities are those of
those levels for one Gaussian parameter, 68.27 % and 95.45 %, so the columns compare like with like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import erf

from bayes_nsi.inference.intervals import ProfileResult, intervals_to_text, profile_scan
from bayes_nsi.inference.priors import Prior

LEVELS = {"68": 1.0, "95": 4.0}  # interval label -> Delta chi^2 level
PROBABILITIES = {k: float(erf(np.sqrt(v / 2.0))) for k, v in LEVELS.items()}  # 0.6827, 0.9545
DENSITY_BINS = 2048
KERNEL_REACH = 5.0  # kernel truncated at 5 bandwidths
NORMAL_SCAN_SIGMAS = 6.0  # chi-square scan range mu +- 6 sigma for a normal prior


def bandwidth(samples: np.ndarray) -> float:
    """Silverman's rule 0.9 min(sd, IQR / 1.34) n^(-1/5).

    Chosen over the Sheather-Jones rule, which undersmooths smooth tails into spurious HDI pieces; the
    price is a slight widening of well-separated modes (each is convolved with the kernel).
    """
    iqr = np.subtract(*np.percentile(samples, [75, 25]))
    spread = min(np.std(samples), iqr / 1.34) or np.std(samples)
    return 0.9 * spread * len(samples) ** -0.2


def density(samples: np.ndarray, lower: float = -np.inf, upper: float = np.inf,
            bins: int = DENSITY_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian KDE on a regular grid (binned, then smoothed), reflected at finite support bounds.

    Returns the bin centres and the density there (integrating to 1 over the grid).
    """
    samples = np.asarray(samples, dtype=float).ravel()
    bw = bandwidth(samples)
    lo = lower if np.isfinite(lower) else samples.min() - KERNEL_REACH * bw
    hi = upper if np.isfinite(upper) else samples.max() + KERNEL_REACH * bw
    counts, edges = np.histogram(samples, bins=bins, range=(lo, hi))
    dx = edges[1] - edges[0]
    sigma_bins = bw / dx
    pad = int(np.ceil(KERNEL_REACH * sigma_bins)) + 1
    padded = counts.astype(float)
    padded = np.pad(padded, (pad, 0), mode="symmetric" if np.isfinite(lower) else "constant")
    padded = np.pad(padded, (0, pad), mode="symmetric" if np.isfinite(upper) else "constant")
    smooth = gaussian_filter1d(padded, sigma_bins, mode="constant", truncate=KERNEL_REACH)[pad:pad + bins]
    return 0.5 * (edges[1:] + edges[:-1]), smooth / (smooth.sum() * dx)


def hdi_from_density(x: np.ndarray, f: np.ndarray, prob: float) -> list[list[float]]:
    """Disjoint pieces of {x : f(x) >= t} holding ``prob``; x a regular grid of bin centres."""
    dx = x[1] - x[0]
    order = np.argsort(f)[::-1]
    mass = np.cumsum(f[order]) * dx
    threshold = f[order][min(np.searchsorted(mass, prob), len(f) - 1)]
    inside = f >= threshold
    change = np.flatnonzero(np.diff(inside.astype(int)))
    starts = np.concatenate([[0] if inside[0] else [], change[~inside[change]] + 1]).astype(int)
    stops = np.concatenate([change[inside[change]], [len(f) - 1] if inside[-1] else []]).astype(int)
    pieces = []
    for i, j in zip(starts, stops, strict=True):
        left = x[0] - dx / 2 if i == 0 else _crossing(x[i - 1], x[i], f[i - 1], f[i], threshold)
        right = x[-1] + dx / 2 if j == len(f) - 1 else _crossing(x[j], x[j + 1], f[j], f[j + 1], threshold)
        pieces.append([float(left), float(right)])
    return pieces


def _crossing(x0: float, x1: float, f0: float, f1: float, level: float) -> float:
    """Linear interpolation of where f crosses ``level`` between two grid points."""
    return x0 + (level - f0) / (f1 - f0) * (x1 - x0)


def hdi(samples: np.ndarray, prob: float, lower: float = -np.inf, upper: float = np.inf) -> list[list[float]]:
    """Highest-density region of probability ``prob`` as sorted disjoint pieces [[lo, hi], ...]."""
    return hdi_from_density(*density(samples, lower, upper), prob)


def eti(samples: np.ndarray, prob: float) -> list[float]:
    """Equal-tailed interval [q_(1-p)/2, q_(1+p)/2]."""
    lo, hi = np.quantile(np.asarray(samples).ravel(), [(1 - prob) / 2, (1 + prob) / 2])
    return [float(lo), float(hi)]


def scan_range(prior: Prior) -> tuple[float, float]:
    """Chi-square scan range of a coupling: its prior support, or mu +- 6 sigma for a normal prior."""
    if prior.dist == "normal":
        half = NORMAL_SCAN_SIGMAS * prior.sigma
        return prior.mu - half, prior.mu + half
    return prior.support()


def one_parameter_profile(chi2_batch: Callable[[np.ndarray], np.ndarray], index: int, lo: float, hi: float,
                          points: int = 2001) -> ProfileResult:
    """Delta chi^2 <= 1, 4 pieces of coupling ``index`` with the other eleven at zero (eq. 20, sec. IV)."""
    def chi2(x: np.ndarray) -> np.ndarray:
        eps = np.zeros((len(x), 12))
        eps[:, index] = x
        return chi2_batch(eps)
    return profile_scan(chi2, lo, hi, points, tuple(LEVELS.values()))


@dataclass(frozen=True)
class CouplingIntervals:
    """Credible and chi-square intervals of one coupling."""

    name: str
    median: float
    hdi: dict[str, list[list[float]]]  # "68", "95" -> pieces
    eti: dict[str, list[float]]
    chi2: dict[str, list[list[float]]]
    chi2_best: float


def coupling_intervals(name: str, samples: np.ndarray, support: tuple[float, float],
                       profile: ProfileResult) -> CouplingIntervals:
    """HDI and ETI at 68.27 % and 95.45 % from the draws, with the chi-square pieces at Delta chi^2 = 1, 4."""
    x, f = density(samples, *support)
    return CouplingIntervals(
        name=name,
        median=float(np.median(samples)),
        hdi={k: hdi_from_density(x, f, p) for k, p in PROBABILITIES.items()},
        eti={k: eti(samples, p) for k, p in PROBABILITIES.items()},
        chi2={k: profile.intervals[level] for k, level in LEVELS.items()},
        chi2_best=profile.best_x,
    )


def credible_json(rows: Sequence[CouplingIntervals]) -> dict:
    """``{"ee_u": {"hdi68": [[lo, hi], ...], "hdi95": [...], "eti68": [lo, hi], "eti95": [lo, hi]}, ...}``."""
    return {r.name: {f"hdi{k}": r.hdi[k] for k in LEVELS} | {f"eti{k}": r.eti[k] for k in LEVELS} for r in rows}


TABLE_HEADER = ("coupling", "posterior median", "HDI 68%", "ETI 68%", "chi2 dchi2<=1", "HDI 95%", "ETI 95%",
                "chi2 dchi2<=4", "chi2 best fit")


def table_rows(rows: Sequence[CouplingIntervals], digits: int = 3) -> list[list[str]]:
    """Side-by-side table rows (text), in :data:`TABLE_HEADER` order."""
    def pieces(p):
        return intervals_to_text(p, digits)
    return [[r.name, f"{r.median:.{digits}f}", pieces(r.hdi["68"]), pieces([r.eti["68"]]), pieces(r.chi2["68"]),
             pieces(r.hdi["95"]), pieces([r.eti["95"]]), pieces(r.chi2["95"]), f"{r.chi2_best:.{digits}f}"]
            for r in rows]


def table_notes(acceptance: str, datasets: Sequence[str], n_sampled: int, nuisances: Sequence[str]) -> list[str]:
    """What the chi-square column is, stated next to the table."""
    notes = [f"Acceptance: {acceptance}. Data sets: {', '.join(datasets)}.",
             (f"HDI/ETI probabilities: 68% = {PROBABILITIES['68']:.4f}, 95% = {PROBABILITIES['95']:.4f} "
              "(those of Delta chi^2 = 1 and 4 for one Gaussian parameter). HDI pieces come from a "
              "boundary-reflected kernel density estimate of the draws.")]
    if n_sampled > 1:
        notes.append("chi2 columns: the one-parameter profile of eq. (20) with the other couplings at zero; "
                     f"the posterior marginalizes over all {n_sampled} sampled couplings, so the columns answer "
                     "different questions.")
    else:
        notes.append("chi2 columns: Delta chi^2 <= 1 and <= 4 of eq. (20), same data and error model.")
    if nuisances:
        notes.append(f"chi2 columns hold the nuisances ({', '.join(nuisances)}) at their nominal values; "
                     "the posterior marginalizes over them.")
    return notes


def side_by_side_json(rows: Sequence[CouplingIntervals], notes: Sequence[str], acceptance: str) -> dict:
    """Machine-readable side-by-side table, with the acceptance mode and the notes."""
    return {
        "acceptance": acceptance,
        "probabilities": PROBABILITIES,
        "delta_chi2_levels": LEVELS,
        "notes": list(notes),
        "couplings": {r.name: {"posterior_median": r.median, "hdi": r.hdi, "eti": r.eti, "chi2": r.chi2,
                               "chi2_best_fit": r.chi2_best} for r in rows},
    }


def markdown(title: str, rows: Sequence[CouplingIntervals], notes: Sequence[str]) -> str:
    """The side-by-side table as Markdown, with the notes (acceptance mode first) above it."""
    lines = [f"# {title}", "", *[f"- {n}" for n in notes], "", "| " + " | ".join(TABLE_HEADER) + " |",
             "|" + "---|" * len(TABLE_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(rows)]
    return "\n".join(lines) + "\n"
