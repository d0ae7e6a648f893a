"""Compiled functions kept on disk (bayes_nsi.compiled_functions): a function loaded in place of a compile gives
the same bits as one compiled with the cache off; other recipes get other files; a damaged file is recompiled."""

import pickle

import numpy as np
import pytensor
import pytest

from bayes_nsi import compiled_functions
from bayes_nsi.inference.observations import observations
from bayes_nsi.inference.scans import Chi2Scanner


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """The cache in an empty folder, and a count of the real compiles."""
    monkeypatch.setenv(compiled_functions.ENVIRONMENT, str(tmp_path))
    calls = []
    original = pytensor.function

    def compile_and_count(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(pytensor, "function", compile_and_count)
    return tmp_path, calls


def test_loaded_function_gives_the_same_bits(counted, monkeypatch):
    folder, calls = counted
    eps = np.random.default_rng(0).uniform(-1, 1, (50, 12))
    first = Chi2Scanner.for_data(observations(["paired", "us2", "xenonnt"]))  # compiled and stored
    assert len(calls) == 1 and len(list(folder.glob("*.pkl"))) == 1
    again = Chi2Scanner.for_data(observations(["paired", "us2", "xenonnt"]))  # a new, equal model: loaded
    assert len(calls) == 1
    monkeypatch.setenv(compiled_functions.ENVIRONMENT, "off")
    fresh = Chi2Scanner.for_data(observations(["paired", "us2", "xenonnt"]))
    assert len(calls) == 2 and len(list(folder.glob("*.pkl"))) == 1
    assert np.array_equal(again.events(eps), fresh.events(eps))
    assert np.array_equal(first.events(eps), fresh.events(eps))


def test_other_recipe_other_file_and_damaged_file_recompiled(counted):
    folder, calls = counted
    Chi2Scanner.for_data(observations(["xenonnt"]))
    Chi2Scanner.for_data(observations(["us2"]))
    files = sorted(folder.glob("*.pkl"))
    assert len(calls) == 2 and len(files) == 2
    for path in files:
        path.write_bytes(b"not a pickle")
    scanner = Chi2Scanner.for_data(observations(["xenonnt"]))
    assert len(calls) == 3
    damaged = [path for path in folder.glob("*.pkl") if path.read_bytes() == b"not a pickle"]
    assert len(damaged) == 1  # us2's, not read again; xenonnt's was replaced by a readable one
    (replaced,) = set(files) - set(damaged)
    assert pickle.loads(replaced.read_bytes())(np.zeros((1, 12))).tolist() == scanner.events(np.zeros((1, 12))).tolist()
    assert scanner.events(np.zeros((1, 12))).shape == (1, 1)


def test_unkeyable_recipe_compiles_without_a_file(counted):
    folder, calls = counted
    x = pytensor.tensor.dvector("x")
    fn = compiled_functions.function(("a lambda cannot be pickled", lambda: None), [x], 2 * x)
    assert fn(np.array([1.5])).tolist() == [3.0]
    assert len(calls) == 1 and not list(folder.glob("*.pkl"))
