"""The base experiment config: every field an experiment may set, with its default.

Experiments in `experiments/` start from `base_config()` and change what they need;
`--config.a.b=value` on the command line overrides any field. A field not listed here
is rejected, so a typo never silently does nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import types

import ml_collections

from framework.data.defaults import default_data_config


def base_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.deterministic = False        # tf.config.experimental.enable_op_determinism()
  c.extra_modules = ()           # user modules imported first (their rules, losses, models)
  c.data = default_data_config()
  c.model = ml_collections.ConfigDict({"name": "mlp", "kwargs": {}})
  c.loss = ml_collections.ConfigDict({"name": "cross_entropy", "kwargs": {}})
  c.class_weights = ml_collections.ConfigDict(
      {"scheme": "none", "kwargs": {}, "start_epoch": 0})
  c.rule = ml_collections.ConfigDict({"name": "fixed", "kwargs": {}})
  c.optimizer = ml_collections.ConfigDict({
      "name": "adam",            # adam | adamw | sgd
      "learning_rate": 1e-3,
      "schedule": "constant",    # constant | cosine | step
      "decay_epochs": (),        # step schedule: epochs at which lr is multiplied by 0.1
      "kwargs": {},              # passed to the Keras optimizer (momentum, weight_decay, ...)
  })
  c.train = ml_collections.ConfigDict({
      "batch_size": 128,         # global batch, split over replicas
      "val_batch_size": 100,     # clean validation batch per step (meta rules)
      "epochs": 10,
      "steps_per_loop": 0,       # steps per compiled call; 0 = one epoch
      "eval_every_epochs": 1,
      "checkpoint_every_loops": 1,
      "max_checkpoints": 3,
  })
  c.eval = ml_collections.ConfigDict({
      "batch_size": 1000,
      "posthoc_tau": 0.0,        # > 0: also report post-hoc logit adjustment by tau * log prior
  })
  c.logging = ml_collections.ConfigDict({
      "summary_every_loops": 1,  # weight / trajectory summaries every n loops; 0 = never
      "tracked_per_class": 3,    # samples per class whose weight trajectory is written
      "tracked_noisy": 20,       # at most this many label-corrupted samples tracked too
      "tracked_indices": (),     # explicit sample indices to track
      "heatmap_max_columns": 256,  # trajectory heatmap keeps this many summary steps at most
      "snapshot_every_epochs": 1,  # weight snapshots (NumPy); 0 = only the final one
  })
  c.strategy = ml_collections.ConfigDict({
      "name": "default",         # default | one_device | mirrored | multi_worker | tpu
      "cpu_devices": 0,          # > 1: split the CPU into that many logical devices
      "tpu": "",
  })
  c.precision = "float32"        # float32 | mixed_float16 | mixed_bfloat16
  c.variant = ""                 # set by experiments from the :variant of --config
  return c


def with_variant(config: ml_collections.ConfigDict, variants: dict[str, dict],
                 variant: str | None, default: str) -> ml_collections.ConfigDict:
  """Applies a named variant: a dict of dotted field -> value overrides of `config`."""
  from framework.errors import ConfigError  # pylint: disable=g-import-not-at-top
  name = variant or default
  if name not in variants:
    raise ConfigError(f"config variant {name!r} is not known; known: {', '.join(variants)}")
  for dotted, value in variants[name].items():
    *path, field = dotted.split(".")
    node = config
    for key in path:
      node = node[key]
    if field not in node:
      raise ConfigError(f"variant {name!r} sets unknown field {dotted!r}")
    node[field] = value
  config.variant = name
  return config


def load_experiment(spec: str) -> types.ModuleType:
  """The experiment module (get_config, VARIANTS) of `spec`: a path to a config file, or
  the name of one shipped in `framework.experiments` ('fmnist_lt')."""
  if spec.endswith(".py") or os.sep in spec:
    name = os.path.splitext(os.path.basename(spec))[0]
    loader_spec = importlib.util.spec_from_file_location(f"experiment_{name}", spec)
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    return module
  return importlib.import_module(f"framework.experiments.{spec}")


def choose_variants(module: types.ModuleType, requested) -> list[str]:
  """The requested variants of an experiment module (all when none), checked by name."""
  from framework.errors import ConfigError  # pylint: disable=g-import-not-at-top
  variants = list(requested) or list(module.VARIANTS)
  unknown = [v for v in variants if v not in module.VARIANTS]
  if unknown:
    raise ConfigError(f"--variants={','.join(unknown)} not known; "
                      f"known: {', '.join(module.VARIANTS)}")
  return variants
