"""Names shared by the spec schema, the specs, the physics graph and the statistics (no dependencies).

Data-set names are not here: each data set names itself in its own module (``bayes_nsi.experiments``).
"""

# (pair name, row, column) of the symmetric NSI matrix eps_ab (eq. 8); a <= b in (e, mu, tau).
FLAVOUR_PAIRS = (("ee", 0, 0), ("emu", 0, 1), ("etau", 0, 2), ("mumu", 1, 1), ("mutau", 1, 2), ("tautau", 2, 2))
QUARKS = ("u", "d")
# The twelve couplings eps_ab^q in the order of every coupling vector (..., 12): the up block, then the down block.
COUPLINGS = tuple(f"{pair}_{q}" for q in QUARKS for pair, _, _ in FLAVOUR_PAIRS)

# How an acceptance curve is normalized: to the paper's SM events, or as released.
ACCEPTANCE_MODES = ("paper", "published")

# How the rate is computed (bayes_nsi.physics.physics_modes): the paper's eqs. 9-19 as printed; two-flavour
# propagation with density-matrix detection; exact adiabatic three-flavour propagation with density-matrix
# detection (the library default).
PHYSICS_MODES = ("paper", "hybrid", "exact")
DEFAULT_PHYSICS = "exact"

# Likelihoods a data set may support (each a pure function of expected counts, bayes_nsi.inference.likelihoods).
LIKELIHOODS = ("gaussian", "split_normal", "poisson_counting", "binned_poisson")


def check_coupling_names(names) -> None:
    """Raise ValueError naming every unknown coupling and listing the allowed ones."""
    unknown = [n for n in names if n not in COUPLINGS]
    if unknown:
        raise ValueError(f"unknown coupling(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(COUPLINGS)}")
