"""Small shared test utilities: configs for fast runs and a trainer driver."""

from __future__ import annotations

import numpy as np

from framework.train import conformance
from framework.train.conformance import synthetic_config  # noqa: F401  (shared by the tests)

TWO_CPUS = ["/cpu:0", "/cpu:1"]


def train_steps(config, num_steps: int, loops: int = 1):
  """Builds the experiment of `config` and runs `loops` compiled loops of `num_steps`."""
  return conformance.train(config, num_steps, loops)


def parameters(exp) -> list[np.ndarray]:
  return [np.asarray(v.numpy()) for v in exp.model.trainable_variables]


def tables(exp) -> dict[str, np.ndarray]:
  return exp.state.numpy()
