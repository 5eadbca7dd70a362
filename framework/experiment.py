"""Builds every component of a run from its config, validating all of it before any write."""

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
from framework import validation
from framework.distribute import make_strategy
from framework.errors import ConfigError, one_line
from framework.losses import build_class_weighting, build_loss, per_example
from framework.models import MODELS
from framework.optimizers import build_optimizer
from framework.pipeline import InputStreams
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
  total_steps: int
  steps_per_loop: int

  @property
  def steps_per_epoch(self) -> int:
    return self.trainer.steps_per_epoch


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
                        f"({type(e).__name__}: {one_line(e)})") from None


def _check_against_data(config: ml_collections.ConfigDict, data: data_lib.DataBundle,
                        rule: Rule, replicas: int) -> None:
  t = config.train
  for field in ("batch_size", "val_batch_size"):
    if t[field] % replicas:
      raise ConfigError(f"train.{field}={t[field]} must be divisible by the "
                        f"{replicas} replicas of strategy {config.strategy.name!r}")
  if t.batch_size > len(data.train):
    raise ConfigError(f"train.batch_size={t.batch_size} exceeds the {len(data.train)} "
                      "training examples")
  if rule.needs_validation:
    if data.val is None:
      raise ConfigError(f"rule.name={config.rule.name!r} needs a clean validation split; "
                        "set data.val_per_class > 0")
    if t.val_batch_size > len(data.val):
      raise ConfigError(f"train.val_batch_size={t.val_batch_size} exceeds the "
                        f"{len(data.val)} validation examples")
  bad = [i for i in config.logging.tracked_indices if i >= len(data.train)]
  if bad:
    raise ConfigError(f"logging.tracked_indices has {bad[0]}; allowed: sample indices in "
                      f"[0, {len(data.train)})")


def build(config: ml_collections.ConfigDict) -> Experiment:
  """Validates `config` and builds the run's components, under the strategy's scope.

  Every check a config can fail happens here, before anything touches the workdir.
  """
  validation.check_fields(config)
  if config.precision not in PRECISIONS:
    raise ConfigError(f"precision={config.precision!r} is not known; known: {', '.join(PRECISIONS)}")
  import_extra_modules(config.extra_modules)
  strategy = make_strategy(config.strategy)
  if config.deterministic:
    tf.config.experimental.enable_op_determinism()
  keras.utils.set_random_seed(config.seed)
  keras.config.set_dtype_policy(config.precision)

  data = data_lib.build(config.data)
  num_samples, num_classes = len(data.train), data.num_classes
  context = {"num_classes": num_classes, "class_counts": data.class_counts,
             "num_samples": num_samples}
  rule = RULES.build(config.rule.name, config.rule.kwargs, field="rule", context=context)
  _check_against_data(config, data, rule, strategy.num_replicas_in_sync)
  loss_fn = per_example(build_loss(config.loss.name, config.loss.kwargs, context))
  class_weighting = build_class_weighting(config.class_weights, data.class_counts)
  t = config.train
  inputs = InputStreams(strategy, data.train, t.batch_size, config.seed,
                        data.val if rule.needs_validation else None, t.val_batch_size,
                        data.transform)
  total_steps = t.epochs * inputs.steps_per_epoch
  with strategy.scope():
    model = MODELS.build(config.model.name, config.model.kwargs, field="model", context={
        "input_shape": data.input_shape, "num_classes": num_classes})
    optimizer = build_optimizer(config.optimizer, inputs.steps_per_epoch, total_steps,
                                config.precision)
    state = WeightState(num_samples, num_classes, rule)
    trainer = Trainer(model, optimizer, loss_fn, class_weighting, state, rule, inputs)
  return Experiment(config, strategy, data, rule, model, optimizer, state, trainer,
                    total_steps, t.steps_per_loop or inputs.steps_per_epoch)
