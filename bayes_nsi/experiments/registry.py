"""The one place that lists the shipped data sets; everything else asks it by name or takes a DataSet."""

from __future__ import annotations

from collections.abc import Iterable

from bayes_nsi.experiments import paired, us2, xenonnt, xenonnt_sr01, xenonnt_sr012
from bayes_nsi.experiments.base import DataSet

REGISTRY: dict[str, DataSet] = {d.name: d for d in (paired.DATASET, us2.DATASET, xenonnt.DATASET)}
DATASETS: tuple[str, ...] = tuple(REGISTRY)
# Data sets measured through a binned template likelihood only (no one-number signal): kept apart from
# REGISTRY, whose data sets every Gaussian analysis, default and table iterates over.
BINNED: dict[str, DataSet] = {d.name: d for d in (xenonnt_sr01.DATASET, xenonnt_sr012.DATASET)}


def get_binned(dataset: str | DataSet) -> DataSet:
    """A binned data set by name (a DataSet with a binned release passes through); ValueError listing the names."""
    if isinstance(dataset, DataSet) and dataset.binned is not None:
        return dataset
    if dataset not in BINNED:
        raise ValueError(f"binned.datasets: unknown {dataset!r}; allowed: {', '.join(BINNED)}")
    return BINNED[dataset]


def get(dataset: str | DataSet) -> DataSet:
    """The data set of a name (a DataSet passes through); ValueError listing the names otherwise."""
    if isinstance(dataset, DataSet):
        return dataset
    if dataset not in REGISTRY:
        raise ValueError(f"dataset: unknown {dataset!r}; allowed: {', '.join(REGISTRY)}")
    return REGISTRY[dataset]


def resolve(datasets: Iterable[str | DataSet]) -> tuple[DataSet, ...]:
    """Data sets of names or objects, checked to be distinct."""
    out = tuple(get(d) for d in datasets)
    names = [d.name for d in out]
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"datasets: need at least one, all distinct; got {names}")
    return out


def available(acceptance: str) -> tuple[str, ...]:
    """Names of the shipped data sets that have a response in this acceptance mode."""
    return tuple(name for name, d in REGISTRY.items() if acceptance in d.responses)
