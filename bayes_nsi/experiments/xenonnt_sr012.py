"""XENONnT SR0+SR1+SR2 through its binned likelihood (arXiv:2604.06002; CC-BY-4.0 release, ``xenonnt_release``):
SR2 (3.25 t*yr, 25 events) added to the data of PRL 133 (2024) 191002. SR2's nuisances: see ``xenonnt_release``."""

from bayes_nsi.experiments import xenonnt_release as xr
from bayes_nsi.experiments.xenonnt_sr01 import binned_dataset

DATASET = binned_dataset("xenonnt_sr012", "sr012", xr.RUNS, "XENONnT SR0+SR1+SR2 (binned)", "tab:cyan", None)
