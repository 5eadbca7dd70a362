"""Builds every component of a run from its config, before anything touches the workdir."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import sys

import keras
import ml_collections
import tensorflow as tf

from framework import data as data_lib
from framework.distribute import make_strategy
from framework.errors import ConfigError
from framework.losses import LOSSES, build_class_weighting
from framework.models import MODELS
from framework.optimizers import build_optimizer
from framework.trainer import Trainer
from framework.weights import RULES, Rule, WeightState

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass
class Experiment:
  """The built pieces of a run."""
  config: ml_collections.ConfigDict
  strategy: tf.distribute.Strategy
  data: data_lib.DataBundle
  rule: Rule
  model: keras.Model
  optimizer: keras.optimizers.Optimizer
  state: WeightState
  trainer: Trainer
  steps_per_epoch: int
  total_steps: int
  steps_per_loop: int

  def checkpoint(self) -> tf.train.Checkpoint:
    """Everything a resumed run needs; the data position is the step (see pipeline)."""
    return tf.train.Checkpoint(model=self.model, optimizer=self.optimizer,
                               weights=self.state, step=self.trainer.step)


_LOADED_FILES: set[str] = set()


def import_extra_modules(modules) -> None:
  """Imports the user's modules (by dotted name or .py path) so their registrations run.

  A file is executed once per process, like an imported module.
  """
  for name in modules:
    if name.endswith(".py") and os.path.abspath(name) in _LOADED_FILES:
      continue
    try:
      if name.endswith(".py"):
        spec = importlib.util.spec_from_file_location(
            os.path.splitext(os.path.basename(name))[0], name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules.setdefault(spec.name, module)
        _LOADED_FILES.add(os.path.abspath(name))
      else:
        importlib.import_module(name)
    except Exception as e:  # pylint: disable=broad-except
      raise ConfigError(f"extra_modules: {name!r} does not import "
                        f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None


def _positive(value, field: str) -> None:
  if not (isinstance(value, int) and value > 0):
    raise ConfigError(f"{field}={value!r} must be a positive integer")


def build(config: ml_collections.ConfigDict) -> Experiment:
  """Validates `config` and builds the run's components, under the strategy's scope."""
  import_extra_modules(config.extra_modules)
  if config.precision not in PRECISIONS:
    raise ConfigError(f"precision={config.precision!r} is not known; known: {', '.join(PRECISIONS)}")
  t = config.train
  for field in ("batch_size", "epochs", "eval_every_epochs", "checkpoint_every_loops",
                "max_checkpoints", "val_batch_size"):
    _positive(t[field], f"train.{field}")
  strategy = make_strategy(config.strategy)
  replicas = strategy.num_replicas_in_sync
  for field in ("batch_size", "val_batch_size"):
    if t[field] % replicas:
      raise ConfigError(f"train.{field}={t[field]} must be divisible by the "
                        f"{replicas} replicas of strategy {config.strategy.name!r}")
  if config.deterministic:
    tf.config.experimental.enable_op_determinism()
  keras.utils.set_random_seed(config.seed)
  keras.config.set_dtype_policy(config.precision)

  data = data_lib.build(config.data)
  num_samples, num_classes = len(data.train.labels), data.num_classes
  context = {"num_classes": num_classes, "class_counts": data.class_counts,
             "num_samples": num_samples}
  rule = RULES.build(config.rule.name, config.rule.kwargs, field="rule", context=context)
  if rule.needs_validation and data.val is None:
    raise ConfigError(f"rule.name={config.rule.name!r} needs a clean validation split; "
                      "set data.val_per_class > 0")
  loss_fn = LOSSES.build(config.loss.name, config.loss.kwargs, field="loss", context=context)
  class_weighting = build_class_weighting(config.class_weights, data.class_counts)
  steps_per_epoch = num_samples // t.batch_size
  if steps_per_epoch == 0:
    raise ConfigError(f"train.batch_size={t.batch_size} exceeds the {num_samples} "
                      "training examples")
  total_steps = t.epochs * steps_per_epoch
  steps_per_loop = t.steps_per_loop or steps_per_epoch
  if steps_per_loop < 0:
    raise ConfigError(f"train.steps_per_loop={steps_per_loop} must be >= 0")
  with strategy.scope():
    model = MODELS.build(config.model.name, config.model.kwargs, field="model", context={
        "input_shape": data.train.features.shape[1:], "num_classes": num_classes})
    optimizer = build_optimizer(config.optimizer, steps_per_epoch, total_steps, config.precision)
    state = WeightState(num_samples, num_classes, rule)
    trainer = Trainer(model, optimizer, loss_fn, class_weighting, state, rule, strategy,
                      t.batch_size, steps_per_epoch, t.val_batch_size)
  return Experiment(config, strategy, data, rule, model, optimizer, state, trainer,
                    steps_per_epoch, total_steps, steps_per_loop)
