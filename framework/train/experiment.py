"""Builds every component of a run from its config, validating all of it before any write."""

from __future__ import annotations

import dataclasses

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from framework import data as data_lib
from framework.evaluation import decoupled
from framework.models import inputs as model_inputs
from framework.models.outputs import check_logits
from framework.config import fields
from framework.config.extra_modules import import_extra_modules
from framework.data import protocol_record
from framework.data.bundle import factory_context
from framework.train.distribute import make_strategy
from framework.errors import ConfigError, one_line
from framework.losses import build_class_weighting, build_loss, per_example
from framework.models import MODELS, PeerModel, prior_bias, set_classifier_bias
from framework.train.optimizers import build_optimizer
from framework.train.schedule import resolve_schedule, schedule_line, sets_a_schedule
from framework.data.stream import InputStreams
from framework.data.mixing import MIXERS, Mixer
from framework.data.samplers import ClassSampler
from framework.runs import files
from framework.runs.reader import FinishedRun
from framework.train.trainer import StepOptions, Trainer
from framework.weights import RULES, Rule, WeightState


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
  schedule: dict  # framework.train.schedule.resolve_schedule: the epochs the run resolved

  @property
  def steps_per_epoch(self) -> int:
    return self.trainer.steps_per_epoch


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
  metric = config.eval.select_best
  if metric and data.val is None:
    raise ConfigError(f"eval.select_best={metric!r} needs a clean validation split; set "
                      "data.val_per_class > 0")
  stopping = config.train.early_stopping.metric
  if stopping and data.val is None:
    raise ConfigError(f"train.early_stopping.metric={stopping!r} needs a clean validation "
                      "split; set data.val_fraction (e.g. 0.2) or data.val_per_class > 0")
  _check_plateau(config)
  _check_positive_class(config.eval.positive_class, data.num_classes)
  if config.eval.tau_norm == "auto" and data.val is None:
    raise ConfigError("eval.tau_norm='auto' picks tau on a clean validation split; set "
                      "data.val_per_class > 0 or give tau")
  if config.model.retrain != "all" and not config.model.init_from:
    raise ConfigError(f"model.retrain={config.model.retrain!r} re-trains a finished run's "
                      "classifier; set "
                      "model.init_from to that run's workdir")
  if (config.model.bias_init == "prior" and config.model.init_from
      and config.model.retrain == "all"):
    raise ConfigError("model.bias_init='prior' initialises a new classifier; with "
                      "model.init_from it needs model.retrain='head'")
  bad = [i for i in config.logging.tracked_indices if i >= len(data.train)]
  if bad:
    raise ConfigError(f"logging.tracked_indices has {bad[0]}; allowed: sample indices in "
                      f"[0, {len(data.train)})")


def _check_plateau(config) -> None:
  """Early stopping that lowers the rate on a plateau needs a rate it can lower: a constant
  one."""
  stopping, optimizer = config.train.early_stopping, config.optimizer
  if not stopping.metric or stopping.lr_factor == 1:
    return
  if optimizer.schedule != "constant" or optimizer.warmup_epochs:
    raise ConfigError(f"train.early_stopping.lr_factor={stopping.lr_factor} needs a constant "
                      f"learning rate, not optimizer.schedule={optimizer.schedule!r} with "
                      f"optimizer.warmup_epochs={optimizer.warmup_epochs}; set "
                      "train.early_stopping.lr_factor=1 or optimizer.schedule='constant' and "
                      "optimizer.warmup_epochs=0")


def _check_positive_class(positive: int, num_classes: int) -> None:
  if positive == -1:
    return
  if num_classes != 2:
    raise ConfigError(f"eval.positive_class={positive} has no effect: binary metrics need 2 "
                      f"classes and the data has {num_classes}; use -1")
  if positive > 1:
    raise ConfigError(f"eval.positive_class={positive} is not a class of the data; allowed: "
                      "-1 (the minority class by training counts), 0 or 1")


def step_options(config: ml_collections.ConfigDict) -> StepOptions:
  """The trainer's step options from the optimizer, class_weights and train sections."""
  t, o = config.train, config.optimizer
  mode = o.get("weight_decay_mode", "l2")
  on_gpu = bool(tf.config.list_logical_devices("GPU"))
  jit = t.jit_compile == "on" or (t.jit_compile == "auto" and on_gpu)
  return StepOptions(
      weight_decay=0.0 if mode == "decoupled" else float(o.get("weight_decay", 0.0)),
      decay_all=mode == "l2_all", normalize_by_weights=config.class_weights.normalize == "weights",
      jit_compile=jit, on_nonfinite=t.on_nonfinite, max_skipped=t.max_skipped)


def _model(spec, config: ml_collections.ConfigDict, input_shape, num_classes: int,
           strategy: tf.distribute.Strategy) -> keras.Model:
  """`_built_model`, checked to output one logit per class."""
  model = _built_model(spec, config, input_shape, num_classes, strategy)
  name = getattr(spec, "name", None) or getattr(spec, "__name__", None)
  check_logits(model, num_classes, f"model.name={config.model.name!r}" if spec is None
               else f"model {name!r}")
  return model


def _built_model(spec, config: ml_collections.ConfigDict, input_shape, num_classes: int,
                 strategy: tf.distribute.Strategy) -> keras.Model:
  """The model: from the registry (config.model), a factory (input_shape, num_classes) ->
  Model, or a Model (cloned under the strategy's scope when it has several replicas)."""
  data = f"data.source={config.data.source!r}"
  if spec is None:
    name, kwargs = config.model.name, dict(config.model.kwargs)
    build_on = lambda shape, kw=kwargs: MODELS.build(
        name, kw, field="model", context={"input_shape": shape, "num_classes": num_classes})
    unweighted = model_inputs.without_pretrained(MODELS.get(name, "model.name"), kwargs)
    probe = lambda shape: build_on(shape, unweighted)
    return model_inputs.build_for(build_on, probe, input_shape, f"model.name={name!r}", data)
  if isinstance(spec, keras.Model):
    model_inputs.check_declared_inputs(spec, input_shape, f"model {spec.name!r}", data)
    if strategy.num_replicas_in_sync == 1:
      return spec
    try:
      clone = keras.models.clone_model(spec)
    except Exception as e:  # pylint: disable=broad-except  (subclassed models do not clone)
      raise ConfigError(f"model: a {type(spec).__name__} built outside the strategy's scope "
                        f"cannot be mirrored ({one_line(e)}); pass a function returning the "
                        "model instead") from None
    clone.set_weights(spec.get_weights())
    return clone
  if callable(spec):
    def call_factory(shape):
      try:
        return spec(shape, num_classes)
      except (ValueError, TypeError) as e:
        raise ConfigError(f"model: the model factory failed ({one_line(e)})") from None
    return model_inputs.build_for(call_factory, call_factory, input_shape, "the model factory",
                                  data)
  raise ConfigError(f"model={spec!r} must be a keras.Model, a factory or a registered name")


def init_from(model: keras.Model, workdir: str) -> None:
  """Loads the final weights a finished run exported into `model` (same architecture)."""
  try:
    model.set_weights(FinishedRun(workdir).trained_model().get_weights())
  except ConfigError as e:
    raise ConfigError(f"model.init_from: {e}") from None
  except (OSError, ValueError) as e:
    raise ConfigError(f"model.init_from={workdir!r}: its {files.MODEL} does not load into "
                      f"this model ({one_line(e, 160)})") from None


def _check_objective(config: ml_collections.ConfigDict, rule: Rule) -> None:
  """A rule forming its own objective (DivideMix) takes full batches: it masks no padding."""
  if rule.objective is not None and not config.data.drop_remainder:
    raise ConfigError(f"rule.name={config.rule.name!r} forms its own objective over full "
                      "batches; set data.drop_remainder=true")


def _mixer(config: ml_collections.ConfigDict, data: data_lib.DataBundle, rule: Rule,
           context: dict) -> Mixer | None:
  """The training stream's mixing (data.mix), checked against the data and the rule."""
  mix = config.data.mix
  mixer = MIXERS.build(mix.name, mix.kwargs, field="data.mix", context=context)
  if mixer is None:
    return None
  if mixer.boxes and not data.transform.is_image:
    raise ConfigError(f"data.mix.name={mix.name!r} pastes image boxes; data.source="
                      f"{config.data.source!r} is not images (use mixup)")
  if rule.objective is not None:
    raise ConfigError(f"data.mix.name={mix.name!r} cannot be combined with rule.name="
                      f"{config.rule.name!r}, which forms (and mixes) its own objective; set "
                      "data.mix.name='none'")
  if rule.meta is not None:
    raise ConfigError(f"data.mix.name={mix.name!r} cannot be combined with the meta rule "
                      f"rule.name={config.rule.name!r} (its virtual step takes unmixed "
                      "examples); set data.mix.name='none'")
  return mixer


def build(config: ml_collections.ConfigDict, *, data: data_lib.DataBundle | data_lib.Source
          | None = None, model=None, loss: keras.losses.Loss | None = None,
          rule: Rule | None = None, optimizer: keras.optimizers.Optimizer | None = None,
          strategy: tf.distribute.Strategy | None = None) -> Experiment:
  """Validates `config` and builds the run's components, under the strategy's scope.

  Every check a config can fail happens here, before anything touches the workdir. Any
  component given as an object (the Python API, `framework.api.fit`) is used instead of
  the one the config names; everything else is built from the config, by the same code.
  """
  fields.FIELDS["extra_modules"].check("extra_modules", config.extra_modules)
  import_extra_modules(config.extra_modules)  # first: they may register the names checked next
  given = {"data.source": data, "model.name": model, "loss.name": loss, "rule.name": rule,
           "optimizer.name": optimizer, "strategy.name": strategy}
  fields.check_fields(config, skip=[name for name, obj in given.items() if obj is not None])
  strategy = strategy or make_strategy(config.strategy)
  if config.deterministic:
    tf.config.experimental.enable_op_determinism()
  keras.utils.set_random_seed(config.seed)
  keras.config.set_dtype_policy(config.precision)

  if not isinstance(data, data_lib.DataBundle):
    data = data_lib.build(config.data, source=data)
  num_samples, num_classes = len(data.train), data.num_classes
  context = factory_context(data.class_counts, config.train.batch_size,
                            config.data.drop_remainder)
  rule = rule or RULES.build(config.rule.name, config.rule.kwargs, field="rule", context=context)
  _check_against_data(config, data, rule, strategy.num_replicas_in_sync)
  _check_objective(config, rule)
  loss = loss or build_loss(config.loss.name, config.loss.kwargs, context)
  loss_fn = per_example(loss)
  t = config.train
  sampler = (None if config.data.sampler == "instance" else
             ClassSampler(data.train.labels, config.data.sampler, t.epochs))
  inputs = InputStreams(strategy, data.train, t.batch_size, config.seed,
                        data.val if rule.needs_validation else None, t.val_batch_size,
                        data.transform, sampler, _mixer(config, data, rule, context),
                        config.data.drop_remainder)
  schedule = resolve_schedule(config, inputs.steps_per_epoch)
  class_weighting = build_class_weighting(config.class_weights, data.class_counts,
                                          start_epoch=schedule["drw_start_epoch"])
  with strategy.scope():
    spec = model
    copy = lambda: keras.models.clone_model(spec) if isinstance(spec, keras.Model) else spec
    model = _model(spec, config, data.input_shape, num_classes, strategy)
    if config.model.init_from:
      init_from(model, config.model.init_from)
    if config.model.retrain != "all":
      decoupled.retrain_head(model, config.seed, config.model.retrain)
    if config.model.max_norm:
      decoupled.constrain_head(model, config.model.max_norm)
    if rule.peers > 1:  # co-teaching: independently initialised copies, one Keras model
      model = PeerModel([model] + [_model(copy(), config, data.input_shape, num_classes,
                                          strategy) for _ in range(rule.peers - 1)])
    if config.model.bias_init == "prior":
      set_classifier_bias(model, prior_bias(data.class_counts,
                                            getattr(loss, "sigmoid_outputs", False)))
    optimizer = optimizer or build_optimizer(config.optimizer, schedule, config.precision)
    state = WeightState(num_samples, num_classes, rule)
    trainer = Trainer(model, optimizer, loss_fn, class_weighting, state, rule, inputs,
                      step_options(config))
  for record in data.info.get("protocol", ()):  # the data as changed, once the run is valid
    print(protocol_record.announcement(record))
  if sets_a_schedule(config):
    print(schedule_line(schedule))
  return Experiment(config, strategy, data, rule, model, optimizer, state, trainer,
                    schedule["total_steps"], t.steps_per_loop or inputs.steps_per_epoch,
                    schedule)
