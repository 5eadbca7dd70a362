"""Keras optimizers and the papers' learning-rate schedules, by name (OPTIMIZERS, SCHEDULES).

Schedules are expressed in epochs and evaluated per step, with epoch = step //
steps_per_epoch (0-based): "constant", "step" (drops at `decay_epochs`) and "cosine" (to
zero over the steps after the warm-up), each after LDAM-DRW's linear warm-up, constant
within an epoch as its reference code computes it: base * (epoch + 1) / warmup_epochs.
The LDAM-DRW recipe (CIFAR-LT, ResNet-32): SGD momentum 0.9, weight decay 2e-4, batch 128,
200 epochs, lr 0.1, warmup_epochs=5, decay_epochs=(160, 180), decay_factors=(0.01, 1e-4).
Epoch fields may be fractions of the run ((0.8, 0.9) = (160, 180) of 200): the optimizer is
built over the schedule `framework.train.schedule` resolved for the run's length.
`torch_sgd` with weight_decay_mode "l2_all" is PyTorch's SGD with its (coupled) weight decay on
every parameter: the penalty's gradient is added to the gradient before the momentum buffer.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import keras
import tensorflow as tf

from framework.config.registry import Registry, check_kwarg_types
from framework.errors import ConfigError
from framework.train.torch_sgd import TorchSGD

OPTIMIZERS: Registry[keras.optimizers.Optimizer] = Registry("optimizer")
OPTIMIZERS.register("adam")(keras.optimizers.Adam)
OPTIMIZERS.register("adamw")(keras.optimizers.AdamW)
OPTIMIZERS.register("sgd")(keras.optimizers.SGD)
OPTIMIZERS.register("torch_sgd")(TorchSGD)  # PyTorch's update: recipes ported from PyTorch

# name -> (schedule, step, epoch) -> the base rate's multiplier after the warm-up
SCHEDULES: Registry[tf.Tensor] = Registry("schedule")


@SCHEDULES.register("constant")
def constant(schedule: EpochSchedule, step: tf.Tensor, epoch: tf.Tensor) -> tf.Tensor:
  del schedule, step, epoch
  return tf.constant(1.0)


@SCHEDULES.register("step")
def step_decay(schedule: EpochSchedule, step: tf.Tensor, epoch: tf.Tensor) -> tf.Tensor:
  """decay_factors[k] from the k-th of decay_epochs on (none: constant)."""
  del step
  if not schedule.decay_epochs:
    return tf.constant(1.0)
  passed = tf.reduce_sum(tf.cast(
      tf.cast(epoch, tf.float32) >= tf.constant(schedule.decay_epochs, tf.float32), tf.int32))
  return tf.gather(tf.constant([1.0] + schedule.decay_factors, tf.float32), passed)


@SCHEDULES.register("cosine")
def cosine(schedule: EpochSchedule, step: tf.Tensor, epoch: tf.Tensor) -> tf.Tensor:
  """Half a cosine, from 1 at the end of the warm-up to 0 at total_steps."""
  del epoch
  start = schedule.warmup_epochs * schedule.steps_per_epoch
  span = float(max(schedule.total_steps - start, 1))
  done = tf.clip_by_value(tf.cast(step - start, tf.float32) / span, 0.0, 1.0)
  return 0.5 * (1.0 + tf.cos(math.pi * done))


@keras.saving.register_keras_serializable(package="framework")
class EpochSchedule(keras.optimizers.schedules.LearningRateSchedule):
  """The rate at a step: warm-up, then the constant, step or cosine schedule.

  `decay_factors` are the base rate's multipliers from each of `decay_epochs` on (empty:
  0.1 ** k after the k-th); cosine decays from the end of the warm-up to `total_steps`.
  """

  def __init__(self, learning_rate: float, steps_per_epoch: int, kind: str = "constant",
               warmup_epochs: int = 0, decay_epochs: Sequence[float] = (),
               decay_factors: Sequence[float] = (), total_steps: int = 0):
    self.after_warmup = SCHEDULES.get(kind, "kind")
    self.learning_rate, self.kind = float(learning_rate), kind
    self.steps_per_epoch, self.warmup_epochs = max(int(steps_per_epoch), 1), int(warmup_epochs)
    self.decay_epochs = [float(e) for e in decay_epochs]
    self.decay_factors = multipliers_after_decays(decay_factors, len(self.decay_epochs))
    if len(self.decay_factors) != len(self.decay_epochs):
      raise ValueError(f"decay_factors={tuple(decay_factors)} must give one multiplier for each "
                       f"of the {len(self.decay_epochs)} decay_epochs")
    self.total_steps = int(total_steps)

  def __call__(self, step):
    step = tf.cast(step, tf.int64)
    epoch = step // self.steps_per_epoch
    multiplier = self.after_warmup(self, step, epoch)
    if self.warmup_epochs:
      warm = tf.cast(epoch + 1, tf.float32) / float(self.warmup_epochs)
      multiplier = tf.where(epoch < self.warmup_epochs, warm, multiplier)
    return self.learning_rate * multiplier

  def get_config(self):
    return {"learning_rate": self.learning_rate, "steps_per_epoch": self.steps_per_epoch,
            "kind": self.kind, "warmup_epochs": self.warmup_epochs,
            "decay_epochs": list(self.decay_epochs), "decay_factors": list(self.decay_factors),
            "total_steps": self.total_steps}


def multipliers_after_decays(decay_factors: Sequence[float], decays: int) -> list[float]:
  """The base rate's multiplier after each of `decays` drops: `decay_factors`, or by default
  0.1 ** k after the k-th."""
  return ([float(f) for f in decay_factors] if decay_factors
          else [0.1 ** (k + 1) for k in range(decays)])


def _check(cfg) -> None:
  """What the optimizer's fields require of each other (each field alone is checked by
  framework.config.fields)."""
  decay_epochs, factors = tuple(cfg.get("decay_epochs", ())), tuple(cfg.get("decay_factors", ()))
  if cfg.schedule == "step" and not decay_epochs:
    raise ConfigError("optimizer.schedule='step' needs optimizer.decay_epochs, the epochs at "
                      "which the rate drops, e.g. (160, 180)")
  if cfg.schedule != "step" and (decay_epochs or factors):
    given = "decay_epochs" if decay_epochs else "decay_factors"
    raise ConfigError(f"optimizer.{given}={decay_epochs or factors} has no effect with "
                      f"optimizer.schedule={cfg.schedule!r} (only 'step' drops the rate at "
                      "epochs); set optimizer.schedule=step, or leave optimizer.decay_epochs "
                      "and optimizer.decay_factors empty")
  if factors and len(factors) != len(decay_epochs):
    raise ConfigError(f"optimizer.decay_factors={factors} must give one multiplier for each of "
                      f"the {len(decay_epochs)} optimizer.decay_epochs={decay_epochs}")
  if cfg.get("weight_decay", 0.0) and "weight_decay" in cfg.kwargs:
    raise ConfigError("optimizer.kwargs.weight_decay and optimizer.weight_decay are both set; "
                      "set optimizer.weight_decay (and optimizer.weight_decay_mode) only")


def build_optimizer(cfg, schedule: Mapping[str, Any],
                    precision: str = "float32") -> keras.optimizers.Optimizer:
  """The optimizer of `cfg` (name, learning_rate, schedule, weight decay, kwargs) over the
  run's resolved `schedule` (framework.train.schedule: steps, warm-up, decay epochs and
  factors). With weight_decay_mode "l2" / "l2_all" the trainer adds the penalty to the
  loss; "decoupled" hands weight_decay to the Keras optimizer (which scales it by the rate)."""
  _check(cfg)
  lr = cfg.learning_rate  # a constant rate stays a plain float (the optimizer's own variable)
  if cfg.schedule != "constant" or schedule["warmup_epochs"]:
    lr = EpochSchedule(cfg.learning_rate, schedule["steps_per_epoch"], cfg.schedule,
                       schedule["warmup_epochs"], schedule["decay_epochs"],
                       schedule["decay_factors"], schedule["total_steps"])
  kwargs = dict(cfg.kwargs)
  if cfg.get("weight_decay_mode", "l2") == "decoupled" and cfg.get("weight_decay", 0.0):
    kwargs["weight_decay"] = cfg.weight_decay
  factory = OPTIMIZERS.get(cfg.name, "optimizer.name")
  check_kwarg_types(factory, cfg.kwargs, "optimizer", none_is_number=True)
  try:
    optimizer = factory(learning_rate=lr, **kwargs)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"optimizer.kwargs={dict(cfg.kwargs)} rejected by {cfg.name}: "
                      f"{str(e).splitlines()[0]}") from None
  if precision == "mixed_float16":
    optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
  return optimizer


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
  return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
