"""Physical constants, oscillation parameters and the xenon target (with sources).

Values follow docs/physics.md (Physics and conventions); equation numbers are those of the
reference paper (Aristizabal Sierra, Mishra, Strigari, "Implications of first neutrino-induced nuclear
recoil measurements in direct detection experiments").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# PDG / CODATA
G_FERMI_GEV2 = 1.1663787e-5  # G_F [GeV^-2]
HBARC2_CM2_GEV2 = 0.3893794e-27  # (hbar c)^2 [cm^2 GeV^2]
AMU_GEV = 0.93149410  # atomic mass unit [GeV]
AVOGADRO = 6.02214076e23  # [mol^-1]
SECONDS_PER_YEAR = 365.25 * 86400.0
SIN2_THETA_W = 0.23857  # q = 0, MS-bar extrapolated (paper footnote 3, Kumar et al. 2013)
G_V_PROTON = 0.5 - 2.0 * SIN2_THETA_W  # eq. (2)
G_V_NEUTRON = -0.5  # eq. (2)

HBARC_GEV_CM = 1.973269804e-14  # hbar c [GeV cm] (PDG)
# 2 sqrt(2) G_F n_e E_nu in eV^2 per (n_e / (N_A cm^-3)) per MeV (docs/physics.md, "Units"): G_F n_e is in
# GeV^-2 cm^-3, (hbar c)^3 turns it into GeV, E_nu in MeV is 1e-3 GeV, and 1 GeV^2 = 1e18 eV^2. = 1.52649e-7.
MATTER_POTENTIAL_EV2 = 2.0 * np.sqrt(2.0) * G_FERMI_GEV2 * AVOGADRO * HBARC_GEV_CM**3 * 1e-3 * 1e18

# Xenon: Z, and (mass number, natural abundance, rms charge radius [fm]) of the 9 stable isotopes
# (abundances: IUPAC; radii: Angeli & Marinova, At. Data Nucl. Data Tables 99 (2013) 69).
XENON_Z = 54
XENON_ISOTOPES = (
    (124, 0.000952, 4.7661), (126, 0.000890, 4.7722), (128, 0.019102, 4.7774),
    (129, 0.264006, 4.7775), (130, 0.040710, 4.7818), (131, 0.212324, 4.7808),
    (132, 0.269086, 4.7859), (134, 0.104357, 4.7899), (136, 0.088573, 4.7964),
)
XENON_MOLAR_MASS_KG = 131.3e-3  # eq. (3)
HELM_SKIN_FM = 0.9  # Helm surface thickness s
NEUTRON_SKIN_FM = 0.2  # R_n = R_C + 0.2 fm (sec. II)


@dataclass(frozen=True)
class Nucleus:
    """Target nucleus for CEvNS: charge, neutron number, mass and radii (natural-abundance averages)."""

    z: int
    n: float  # <A> - Z
    mass_gev: float
    r_charge_fm: float

    @property
    def r_neutron_fm(self) -> float:
        """Neutron rms radius R_n = R_C + 0.2 fm (paper, sec. II)."""
        return self.r_charge_fm + NEUTRON_SKIN_FM


def natural_xenon() -> Nucleus:
    """Natural xenon with <A> = sum X_i A_i and the abundance-weighted rms charge radius (sec. II)."""
    iso = np.array(XENON_ISOTOPES)
    abundance = iso[:, 1] / iso[:, 1].sum()
    mean_a = float(abundance @ iso[:, 0])
    return Nucleus(z=XENON_Z, n=mean_a - XENON_Z, mass_gev=mean_a * AMU_GEV, r_charge_fm=float(abundance @ iso[:, 2]))


@dataclass(frozen=True)
class Oscillation:
    """Three-flavour oscillation parameters (normal ordering); mass splittings in eV^2."""

    sin2_th12: float
    sin2_th13: float
    sin2_th23: float
    dm21_ev2: float
    dm31_ev2: float


# de Salas et al., JHEP 02 (2021) 071, normal ordering best fit (paper ref. [50]).
DE_SALAS_2021 = Oscillation(sin2_th12=0.318, sin2_th13=0.02200, sin2_th23=0.574, dm21_ev2=7.50e-5, dm31_ev2=2.55e-3)
