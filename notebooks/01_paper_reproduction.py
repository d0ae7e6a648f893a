# %% [markdown]
# # 01 · Reproducing the reference analysis
#
# Aristizabal Sierra, Mishra, Strigari, *Implications of first neutrino-induced nuclear recoil
# measurements in direct detection experiments*: SM event numbers, Fig. 1 (survival probability),
# Figs. 2–3 (one-parameter $\Delta\chi^2$ profiles), Fig. 4 (90 % CL contours) and Table III
# (1σ intervals), computed with the public API of `bayes_nsi`, followed by a check of every number
# the paper states in its text.
#
# **Test mode.** `tests/test_notebooks.py` executes this notebook with the environment variable
# `BAYES_NSI_TEST=1`. The frequentist analysis takes a few seconds, so this notebook does the same
# work in both modes; only the sampling notebooks (02, 03) use fewer draws under the flag.
#
# **Table III of the paper is withheld from this repository's sources** (its numbers are kept back
# as an independent acceptance check), so no published interval is compared here; the table below
# is this package's result only.

# %%
import os
import time

import numpy as np
from IPython.display import Markdown, display

import bayes_nsi
from bayes_nsi.app import plots
from bayes_nsi.app.reports import table3
from bayes_nsi.experiments.registry import REGISTRY
from bayes_nsi.inference import scans as frequentist
from bayes_nsi.inference.observations import observations
from bayes_nsi.names import COUPLINGS
from bayes_nsi.physics.constants import G_V_NEUTRON, G_V_PROTON, natural_xenon

# bayes_nsi.plots selects the Agg backend on import; show figures inline in Jupyter again
# %matplotlib inline

TEST_MODE = os.environ.get("BAYES_NSI_TEST") == "1"
T_START = time.perf_counter()
print(f"test mode: {TEST_MODE}")

# %% [markdown]
# ## SM event numbers in both acceptance modes
#
# `paper`: every acceptance is scaled so that the SM prediction equals the paper's; `published`: the
# curves as released (no public US2 curve exists, hence `None`).

# %%
sm = bayes_nsi.sm_events()
rows = ["| data set | paper mode | published mode | paper (sec. IV) |", "|---|---|---|---|"]
for d, m in REGISTRY.items():
    pub = sm["published"][d]
    pub_text = "–" if pub is None else f"{pub:.2f}"
    rows.append(f"| {m.label} | {sm['paper'][d]:.2f} | {pub_text} | {m.paper_sm_events} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## Fig. 1: production-averaged survival probability for several $\varepsilon_{ee}^u$

# %%
enu = np.geomspace(0.1, 18.0, 400)
ee_u_values = [-0.5, -0.2, 0.0, 0.2, 0.5]
curves = {v: bayes_nsi.survival_probability(enu, physics="paper", ee_u=v) for v in ee_u_values}
fig1 = plots.fig1_survival(enu, curves, "two-flavour, production-averaged (eq. 16)")
display(fig1)

# %%
# Sanity of Fig. 1, each assert with the failure it catches:
# - every curve is a probability (a NaN or a sign error in eq. 15 leaves [0, 1]);
# - adiabatic MSW bounds the SM curve by closed forms: between the vacuum average c13^4 (1 - sin^2 2th12 / 2)
#   + s13^4 = 0.542 (no matter; reached within 0.01 at 0.1 MeV) and the full-conversion limit
#   c13^4 sin^2 th12 + s13^4 = 0.305, and past the resonance at 10 MeV it lies below the midpoint of the two.
#   A matter potential of the wrong sign (P rising towards cos^2 th12), a missing one (P flat) or swapped
#   sin^2 th12 and cos^2 th12 fails;
# - the two-flavour formula agrees with the exact three-flavour diagonalisation at the SM point to 3e-3 (the
#   measured difference, the 1-3 matter effect the reduction leaves out, is 1e-3 at 10 MeV), which a 1 % error
#   in either calculation exceeds.
S12, S13 = 0.318, 0.0220  # de Salas et al. 2021, written here
vacuum = (1 - S13) ** 2 * (1 - 2 * S12 * (1 - S12)) + S13**2
msw = (1 - S13) ** 2 * S12 + S13**2
p_sm = curves[0.0]
p_10 = np.interp(10.0, enu, p_sm)
print(f"P_ee(0.1 MeV) = {p_sm[0]:.4f} (vacuum average {vacuum:.4f}); P_ee(10 MeV) = {p_10:.4f} (MSW limit {msw:.4f})")
assert all(np.all((p >= 0) & (p <= 1)) for p in curves.values())
assert np.all((p_sm >= msw) & (p_sm <= vacuum + 1e-12)), (p_sm.min(), p_sm.max())
assert abs(p_sm[0] - vacuum) < 0.01, p_sm[0]
assert p_10 < 0.5 * (vacuum + msw), p_10
p3 = bayes_nsi.survival_probability([1.0, 10.0], physics="exact")
p2 = bayes_nsi.survival_probability([1.0, 10.0], physics="paper")
print("two- vs three-flavour at 1, 10 MeV:", p2, p3)
assert np.allclose(p2, p3, rtol=0, atol=3e-3)

# %% [markdown]
# ## Figs. 2–3: one-parameter profiles
#
# The paper's Gaussian $\chi^2$ (eq. 20) per data set and combined
# ($\chi^2_\text{paired} + \chi^2_\text{US2} + \chi^2_\text{XENONnT}$), each coupling alone, the
# others at zero; $\Delta\chi^2$ is taken against the minimum over $[-1, 1]$. Same grid as
# `models/paper.toml`.

# %%
t0 = time.perf_counter()
obs = observations(("paired", "us2", "xenonnt"))
scanner = frequentist.Chi2Scanner.for_data(obs, "paper")
LEVELS = (1.0, 4.0)
scans = frequentist.profiles(scanner, COUPLINGS, -1.0, 1.0, 801, LEVELS)
print(f"48 profiles in {time.perf_counter() - t0:.1f} s (including the graph compilation)")
note = "acceptance: paper normalization (SM = 2.4, 46.8, 11.3 events)"
fig2 = plots.fig_profiles(scans, "u", note)
display(fig2)
fig3 = plots.fig_profiles(scans, "d", note)
display(fig3)

# %% [markdown]
# ## Fig. 4: 90 % CL contours ($\Delta\chi^2 = 4.61$) in the diagonal planes

# %%
t0 = time.perf_counter()
planes = {}
for x, y in (("ee_u", "ee_d"), ("mumu_u", "mumu_d"), ("tautau_u", "tautau_d")):
    planes[(x, y)] = frequentist.contours(scanner, x, y, (-1.0, 1.0), (-1.0, 1.0), 201, 4.61)
print(f"3 planes in {time.perf_counter() - t0:.1f} s")
fig4 = plots.fig4_contours(planes, note)
display(fig4)

# %%
# Every plane has closed or edge-ending contour lines for every data set, and their vertices lie on
# Delta chi^2 = 4.61 (evaluated with the scanner, independently of the contour extraction).
for (x, y), per_key in planes.items():
    for key, res in per_key.items():
        assert res.lines, (x, y, key)
        pts = np.concatenate(res.lines)
        chi2 = scanner.along([x, y], key)(pts[:, 0], pts[:, 1])
        np.testing.assert_allclose(chi2 - res.chi2_min, 4.61, atol=1e-6)

# %% [markdown]
# ## Table III: 1σ intervals (this package; the paper's values are withheld)

# %%
ints = frequentist.intervals_json(scans, LEVELS)
md, _ = table3(ints, "1sigma", "paper")
display(Markdown(md))

# %%
# Structure stated in the caption: non-overlapping intervals. With the SM at chi^2 > 1 for PandaX-4T
# (data above the SM), every diagonal coupling gives two disjoint 1-sigma pieces for paired and US2.
for c in ("ee_u", "mumu_u", "tautau_u", "ee_d", "mumu_d", "tautau_d"):
    for key in ("paired", "us2"):
        pieces = scans[key][c].intervals[1.0]
        assert len(pieces) == 2, (c, key, pieces)
        assert pieces[0][1] < pieces[1][0]

# %% [markdown]
# ## Comparison with the numbers in the paper's text
#
# ### SM predictions 2.4 : 46.8 : 11.3 (sec. IV)
# In the `paper` mode they hold by construction (the acceptances are normalised to them); the
# `published` curves are shown for what they are (paired +14 %, XENONnT −12 %).

# %%
# The paper-mode numbers equal the paper's by construction, so they are printed, not asserted. The published
# curves are compared with independent estimates of data/README.md (scratch calculations with the B16 flux:
# about 2.7 paired events over 1.1-3 keV, about 10.0 XENONnT events over 0.5-3 keV): a wrong exposure, flux,
# year or curve (> 2 %) fails.
PAPER_SM = {"paired": 2.4, "us2": 46.8, "xenonnt": 11.3}
README_ESTIMATE = {"paired": (2.7, 0.05), "xenonnt": (10.0, 0.1)}
for d, value in PAPER_SM.items():
    print(f"{d}: paper mode {sm['paper'][d]:.3f} (paper {value})", end="")
    if sm["published"][d] is not None:
        print(f"; published curve {sm['published'][d]:.3f} ({sm['published'][d] / value - 1:+.0%} from the paper)")
        estimate, tolerance = README_ESTIMATE[d]
        assert abs(sm["published"][d] - estimate) < tolerance, (d, sm["published"][d])
    else:
        print("; no public curve")
assert sm["published"]["us2"] is None  # US2 has no public curve (its data set offers only the paper mode)

# %% [markdown]
# ### Experimental ranges [2.2, 4.8] : [47.0, 103.0] : [6.7, 14.6] (sec. IV)
# These are the Table II values ± σ of eq. (20). The package's Table II gives
# 3.5 ± 1.3, 75 ± 28 and 10.7 ± 3.95 (XENONnT's $^{+3.7}_{-4.2}$ symmetrised). For XENONnT,
# 10.7 ± 3.95 = [6.75, 14.65], which the paper writes rounded down as [6.7, 14.6] (its midrange
# 10.65); the split errors would give [6.5, 14.4] instead, so the paper's χ² uses the symmetric 3.95.

# %%
# Asserted: the package's Table II (the data-set modules) against the paper's ranges to their rounding (a
# mistyped value or error fails), and the scanner's chi^2 at the SM point against eq. (20) with those numbers
# (the scanner using other errors, e.g. XENONnT's split ones, fails). The paper's qualitative statements below
# are about its numbers, not about this code: they are printed.
PAPER_RANGES = {"paired": (2.2, 4.8), "us2": (47.0, 103.0), "xenonnt": (6.7, 14.6)}
for d, (lo, hi) in PAPER_RANGES.items():
    m = REGISTRY[d].signal
    ours = (m.value - m.sigma, m.value + m.sigma)
    print(f"{d:8s} paper [{lo}, {hi}]   package {m.value} ± {m.sigma} = [{ours[0]:.2f}, {ours[1]:.2f}]")
    assert abs(ours[0] - lo) <= 0.05 + 1e-9 and abs(ours[1] - hi) <= 0.05 + 1e-9, (d, ours)
    chi2_sm = scanner.chi2(np.zeros((1, 12)))[d][0]
    assert np.isclose(chi2_sm, ((m.value - PAPER_SM[d]) / m.sigma) ** 2, rtol=1e-9)
xe = REGISTRY["xenonnt"].signal
print(f"XENONnT with its split errors: [{xe.value - xe.sigma_down:.2f}, {xe.value + xe.sigma_up:.2f}] "
      "(not the paper's [6.7, 14.6])")
# "PandaX-4T results tend to prefer values above the SM prediction, while the SM value expected at
# XENONnT is well within the measured interval"; "the expected SM value is 5% away from the midrange,
# 10.65 events" (11.3 / 10.65 - 1 = 6.1 %, which the paper rounds to 5 %).
midrange = sum(PAPER_RANGES["xenonnt"]) / 2
for d in ("paired", "us2"):
    print(f"{d}: SM {PAPER_SM[d]} vs measured {REGISTRY[d].signal.value}")
print(f"XENONnT SM {PAPER_SM['xenonnt']} vs midrange {midrange:.2f}: {PAPER_SM['xenonnt'] / midrange - 1:+.1%}")

# %% [markdown]
# ### "Event rates are symmetric around a value close to zero" (sec. IV, Table III caption)
# At leading order a diagonal coupling enters the weak charge as $(Q_W + k\,\tilde\varepsilon)^2$
# (eq. 18), so the rate has a minimum at $x_c \approx -Q_W/k$ (times a rotation factor) and returns to
# the SM rate at $2x_c$; propagation effects (eqs. 9–15) break the mirror symmetry only slightly.
# For ee_u the closed form gives $x_c = -Q_W/(N + 2Z) \approx 0.202$.
# Checks, for every coupling and data set: the minimum of the rate lies at $|x_c| < 0.21$; the rate
# at $2x_c$ equals the SM rate within 12 % (within 4 % for all but the $\mu\tau$ couplings, which
# reach 10 %) — the paper's qualitative statement made quantitative, which a rate without the eq. (18)
# interference (no return to the SM rate) fails; for ee_u the numerical $x_c$ equals the closed form within
# 0.005 (measured 0.0036; a 2.5 % error in $Q_W$ or $N + 2Z$ fails); and for the diagonal couplings the two
# 1σ pieces of the paired and US2 data mirror each other about $x_c$.

# %%
def rate_along(name, values):
    eps = np.zeros((np.size(values), 12))
    eps[:, COUPLINGS.index(name)] = values
    return scanner.events(eps)


x_fine = np.linspace(-0.5, 0.5, 20001)
sm_rate = rate_along("ee_u", [0.0])[0]
centres = {}
rows = ["| coupling | $x_c$ (paired, US2, XENONnT) | $R(2x_c)/R_{SM} - 1$ |", "|---|---|---|"]
for c in COUPLINGS:
    r = rate_along(c, x_fine)
    xc = x_fine[np.argmin(r, axis=0)]
    back = np.array([rate_along(c, [2 * xc[j]])[0, j] for j in range(3)]) / sm_rate - 1
    centres[c] = xc
    rows.append(f"| {c} | {', '.join(f'{v:+.3f}' for v in xc)} | {', '.join(f'{v:+.3f}' for v in back)} |")
    assert np.all(np.abs(xc) < 0.21), (c, xc)
    assert np.all(np.abs(back) < 0.12), (c, back)
display(Markdown("\n".join(rows)))

nucleus = natural_xenon()
q_w = nucleus.z * G_V_PROTON + nucleus.n * G_V_NEUTRON
x_closed = -q_w / (nucleus.n + 2 * nucleus.z)
print(f"ee_u: closed form x_c = {x_closed:.4f}, numerical {centres['ee_u']}")
assert np.allclose(centres["ee_u"], x_closed, atol=0.005)

mirror = {}
for c in ("ee_u", "mumu_u", "tautau_u", "ee_d", "mumu_d", "tautau_d"):
    for j, key in enumerate(("paired", "us2")):
        (a1, b1), (a2, b2) = scans[key][c].intervals[1.0]
        mirror[(c, key)] = ((b1 + a2) / 2 - centres[c][j], (a1 + b2) / 2 - centres[c][j])
inner = max(abs(v[0]) for v in mirror.values())
outer = max(abs(v[1]) for v in mirror.values())
print(f"1-sigma pieces about x_c: inner ends mirror within {inner:.4f}, outer ends within {outer:.4f}")
# measured: inner ends within 0.007 of x_c, outer ends within 0.033 (the eps dependence of <P_ee>, eqs. 9-15,
# grows away from x_c); asserted at 0.01 and 0.05 (5 % and 25 % of x_c): intervals taken from another data
# set's column or a chi^2 offset from the rate would break the mirror by more
for (c, key), (i, o) in mirror.items():
    assert abs(i) < 0.01, (c, key, i)
    assert abs(o) < 0.05, (c, key, o)

# %%
print(f"notebook ran in {time.perf_counter() - T_START:.1f} s")
