"""The one place that lists the shipped data sets; everything else asks it by name or takes a DataSet."""

from __future__ import annotations

from collections.abc import Iterable

from bayes_nsi.experiments import paired, us2, xenonnt
from bayes_nsi.experiments.base import DataSet

REGISTRY: dict[str, DataSet] = {d.name: d for d in (paired.DATASET, us2.DATASET, xenonnt.DATASET)}
DATASETS: tuple[str, ...] = tuple(REGISTRY)


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
