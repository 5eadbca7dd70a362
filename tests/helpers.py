"""Small shared test utilities: configs for fast runs and a trainer driver."""

from __future__ import annotations

import numpy as np

from framework import experiment as experiment_lib
from framework.config import base_config

TWO_CPUS = ["/cpu:0", "/cpu:1"]


def synthetic_config(strategy: str = "one_device", **overrides):
  """A tiny synthetic-data run: 4 classes, 16 features, an MLP, batch 32."""
  c = base_config()
  c.data.source = "synthetic"
  c.data.num_samples = 512
  c.data.long_tail.profile = "exponential"
  c.data.long_tail.imbalance_ratio = 4.0
  c.model.kwargs = {"hidden": (32,)}
  c.train.batch_size = 32
  c.train.val_batch_size = 16
  c.train.epochs = 2
  c.strategy.name = strategy
  c.strategy.cpu_devices = 2 if strategy == "mirrored" else 0
  for dotted, value in overrides.items():
    *path, field = dotted.split("__")
    node = c
    for key in path:
      node = node[key]
    node[field] = value
  return c


def train_steps(config, num_steps: int, loops: int = 1):
  """Builds the experiment of `config` and runs `loops` compiled loops of `num_steps`."""
  exp = experiment_lib.build(config)
  for _ in range(loops):
    exp.trainer.train(num_steps)
  return exp


def parameters(exp) -> list[np.ndarray]:
  return [np.asarray(v.numpy()) for v in exp.model.trainable_variables]


def tables(exp) -> dict[str, np.ndarray]:
  return exp.state.numpy()
