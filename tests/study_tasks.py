"""Tasks and models for tests/test_studies.py, in their own light module: dask workers import it to
unpickle them, so it imports numpy only (PyTensor inside CompiledLine.build, after the worker has set
its compile directory)."""

import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayes_nsi.inference.studies.models import GaussianChi2


@dataclass(frozen=True)
class LinearEvents:
    """N_d(theta) = a_d + b_d theta for two data sets (numpy)."""

    a: tuple[float, float] = (10.0, 5.0)
    b: tuple[float, float] = (4.0, -2.0)

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(self.a) + np.asarray(theta)[:, None] * np.asarray(self.b)


@dataclass(frozen=True)
class CompiledLine:
    """Recipe: LinearEvents compiled with PyTensor; every build logs (pid, compile dir) to ``log_dir``."""

    log_dir: str

    def build(self) -> GaussianChi2:
        import pytensor
        import pytensor.tensor as pt

        x = pt.dvector("theta")
        fn = pytensor.function([x], pt.stack([10.0 + 4.0 * x, 5.0 - 2.0 * x], axis=1), mode="FAST_COMPILE")
        Path(self.log_dir, f"{os.getpid()}-{uuid.uuid4().hex}").write_text(str(pytensor.config.compiledir))
        return GaussianChi2(fn, (1.0, 0.5), (0, 1), -3.0, 3.0, 121)


@dataclass(frozen=True)
class Logged:
    """Logs each execution to ``log_dir``; index ``kill`` SIGKILLs its own process on its first attempt
    (marker file), index ``fail`` always raises; every task sleeps ``sleep`` seconds."""

    log_dir: str
    kill: int = -1
    fail: int = -1
    sleep: float = 0.0

    def __call__(self, index: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        Path(self.log_dir, f"{index:03d}-{uuid.uuid4().hex}").touch()
        marker = Path(self.log_dir, "killed")
        if index == self.kill and not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        if index == self.fail:
            raise RuntimeError(f"task {index} always fails")
        time.sleep(self.sleep)
        return {"value": rng.standard_normal(3), "index": np.array(index)}


@dataclass(frozen=True)
class Parabola:
    """N(theta) = theta^2 + 0.3 theta: two valleys for data above the vertex."""

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta)
        return (theta**2 + 0.3 * theta)[:, None]


@dataclass(frozen=True)
class NormalNormal:
    """theta ~ N(0, 1), y_i ~ N(theta, 1) (5 obs); exact posterior N(sum y / 6, 1/6), sd scaled by ``width``."""

    width: float = 1.0
    names: tuple[str, ...] = ("theta",)

    def build(self) -> "NormalNormal":
        return self

    def prior_draw(self, rng):
        return rng.standard_normal(1)

    def simulate(self, theta, rng):
        return theta[0] + rng.standard_normal(5)

    def posterior_draws(self, data, seed):
        rng = np.random.default_rng(seed)
        return (data.sum() / 6 + self.width * np.sqrt(1 / 6) * rng.standard_normal(99))[:, None]
