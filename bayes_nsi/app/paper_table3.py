"""The reference paper's Table III, transcribed as printed: 1-sigma intervals of each coupling, others zero.

Source: D. Aristizabal Sierra, N. Mishra, L. Strigari, "Implications of first neutrino-induced nuclear recoil
measurements in direct detection experiments", Table III (App. A): "1 sigma CL intervals for eps_ij^u (upper
table) and eps_ij^d (lower table) derived from PandaX-4T (paired and US2) and XENONnT data sets as well as from a
combined analysis of all data" (chi^2 of eq. 20, Delta chi^2 = 1). The paper prints no 2-sigma table (its
2-sigma levels appear only as lines in Figs. 2-3). Each entry is a list of disjoint pieces [lo, hi] ("+" in
the paper is a union); the digits are the paper's, so the rounding of an endpoint is half a unit in its last
printed digit (:data:`PAPER_DIGITS` keeps the printed strings for that purpose).
"""

from __future__ import annotations

from bayes_nsi.experiments.registry import REGISTRY

CITATION = ("D. Aristizabal Sierra, N. Mishra, L. Strigari, \"Implications of first neutrino-induced nuclear recoil "
            "measurements in direct detection experiments\", Table III (App. A)")

# row label of the paper -> coupling -> printed pieces, as strings (the number of printed digits carries the rounding)
_PRINTED: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "Paired": {
        "ee_u": (("-0.12", "0.015"), ("0.39", "0.52")),
        "emu_u": (("-0.28", "0.22"),),
        "etau_u": (("-0.25", "0.21"),),
        "mumu_u": (("-0.22", "0.032"), ("0.37", "0.62")),
        "mutau_u": (("-0.50", "-0.29"), ("-0.030", "0.18")),
        "tautau_u": (("-0.17", "0.021"), ("0.38", "0.57")),
        "ee_d": (("-0.11", "0.01"), ("0.34", "0.47")),
        "emu_d": (("-0.25", "0.20"),),
        "etau_d": (("-0.22", "0.19"),),
        "mumu_d": (("-0.20", "0.030"), ("0.33", "0.55")),
        "mutau_d": (("-0.44", "-0.28"), ("-0.020", "0.14")),
        "tautau_d": (("-0.15", "0.020"), ("0.33", "0.51")),
    },
    "US2": {
        "ee_u": (("-0.14", "0.0011"), ("0.40", "0.54")),
        "emu_u": (("-0.30", "-0.053"), ("0.0062", "0.25")),
        "etau_u": (("-0.28", "-0.060"), ("0.0080", "0.23")),
        "mumu_u": (("-0.25", "-0.00053"), ("0.40", "0.66")),
        "mutau_u": (("-0.53", "-0.32"), ("0.00", "0.21")),
        "tautau_u": (("-0.20", "-0.0021"), ("0.40", "0.60")),
        "ee_d": (("-0.13", "0.00"), ("0.36", "0.49")),
        "emu_d": (("-0.27", "-0.05"), ("0.00", "0.23")),
        "etau_d": (("-0.25", "-0.040"), ("0.010", "0.21")),
        "mumu_d": (("-0.23", "0.00"), ("0.36", "0.58")),
        "mutau_d": (("-0.46", "-0.30"), ("0.00", "0.17")),
        "tautau_d": (("-0.18", "0.00"), ("0.36", "0.54")),
    },
    "XENONnT": {
        "ee_u": (("-0.040", "0.080"), ("0.32", "0.45")),
        "emu_u": (("-0.17", "0.11"),),
        "etau_u": (("-0.15", "0.11"),),
        "mumu_u": (("-0.090", "0.49"),),
        "mutau_u": (("-0.40", "0.070"),),
        "tautau_u": (("-0.060", "0.19"), ("0.22", "0.47")),
        "ee_d": (("-0.040", "0.080"), ("0.28", "0.40")),
        "emu_d": (("-0.15", "0.10"),),
        "etau_d": (("-0.13", "0.090"),),
        "mumu_d": (("-0.080", "0.43"),),
        "mutau_d": (("-0.35", "0.050"),),
        "tautau_d": (("-0.060", "0.41"),),
    },
    "Combined": {
        "ee_u": (("-0.060", "0.010"), ("0.39", "0.47")),
        "emu_u": (("-0.20", "0.15"),),
        "etau_u": (("-0.18", "0.14"),),
        "mumu_u": (("-0.12", "0.030"), ("0.38", "0.53")),
        "mutau_u": (("-0.42", "-0.29"), ("-0.020", "0.11")),
        "tautau_u": (("-0.090", "0.020"), ("0.39", "0.50")),
        "ee_d": (("-0.060", "0.010"), ("0.35", "0.42")),
        "emu_d": (("-0.18", "0.13"),),
        "etau_d": (("-0.16", "0.13"),),
        "mumu_d": (("-0.11", "0.020"), ("0.33", "0.47")),
        "mutau_d": (("-0.37", "-0.28"), ("-0.010", "0.080")),
        "tautau_d": (("-0.080", "0.020"), ("0.34", "0.45")),
    },
}

LEVEL = "1sigma"  # the only level the paper tabulates


def row_key(label: str) -> str:
    """Result key of a row label of the paper's tables: the data set with that short label, or "combined"."""
    if label == "Combined":
        return "combined"
    names = [d.name for d in REGISTRY.values() if d.short_label == label]
    if len(names) != 1:
        raise ValueError(f"label: no single data set is labelled {label!r}; allowed: "
                         + ", ".join(d.short_label for d in REGISTRY.values()) + ", Combined")
    return names[0]


# result key (data set name or "combined", in the paper's row order) -> coupling -> pieces
PAPER_DIGITS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {row_key(k): v for k, v in _PRINTED.items()}
TABLE3: dict[str, dict[str, list[list[float]]]] = {
    key: {c: [[float(a), float(b)] for a, b in pieces] for c, pieces in per.items()}
    for key, per in PAPER_DIGITS.items()
}
DATASETS: tuple[str, ...] = tuple(k for k in TABLE3 if k != "combined")  # the single data sets of the table


def rounding(printed: str) -> float:
    """Half a unit in the last printed digit of a number as printed ("0.0011" -> 5e-5, "0.00" -> 5e-3)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0 ** (-decimals)
