"""Learning-rate schedules and training recipes: LDAM-DRW's reference rates, NumPy
re-derivations of step and cosine decay, one trace, serialisation, and config errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from framework.train import experiment as experiment_lib
from framework.config import base_config
from framework.errors import ConfigError
from framework.train.optimizers import EpochSchedule, build_optimizer, current_learning_rate
from tests.helpers import synthetic_config

STEPS_PER_EPOCH = 3


def _optimizer(**fields):
  cfg = base_config().optimizer
  cfg.update(fields)
  return build_optimizer(cfg, STEPS_PER_EPOCH, 200 * STEPS_PER_EPOCH)


def _ldam_reference(epoch: int, lr: float = 0.1) -> float:
  """LDAM-DRW's adjust_learning_rate (cifar_train.py), for its 0-based epoch."""
  e = epoch + 1
  if e <= 5:
    return lr * e / 5
  if e > 180:
    return lr * 0.0001
  if e > 160:
    return lr * 0.01
  return lr


def _rates(optimizer, steps) -> list[float]:
  rates = []
  for step in steps:
    optimizer.iterations.assign(step)
    rates.append(current_learning_rate(optimizer))
  return rates


def test_ldam_drw_recipe_reproduces_the_reference_rates():
  opt = _optimizer(name="sgd", learning_rate=0.1, schedule="step", warmup_epochs=5,
                   decay_epochs=(160, 180), decay_factors=(0.01, 0.0001),
                   weight_decay=2e-4, kwargs={"momentum": 0.9})
  for epoch_1_based, expected in [(1, 0.02), (5, 0.1), (6, 0.1), (160, 0.1), (161, 0.001),
                                  (181, 1e-5)]:
    first = (epoch_1_based - 1) * STEPS_PER_EPOCH  # constant over the epoch's steps
    np.testing.assert_allclose(_rates(opt, range(first, first + STEPS_PER_EPOCH)),
                               [expected] * STEPS_PER_EPOCH, rtol=1e-6)
  every_epoch = range(0, 200 * STEPS_PER_EPOCH, STEPS_PER_EPOCH)
  np.testing.assert_allclose(_rates(opt, every_epoch), [_ldam_reference(e) for e in range(200)],
                             rtol=1e-6)
  assert opt.momentum == 0.9 and not opt.weight_decay  # "l2": the trainer adds the penalty


def test_step_schedule_defaults_to_tenfold_drops():
  opt = _optimizer(learning_rate=0.5, schedule="step", decay_epochs=(2, 4))
  np.testing.assert_allclose(_rates(opt, range(0, 18, 3)), [0.5, 0.5, 0.05, 0.05, 0.005, 0.005],
                             rtol=1e-6)


def test_cosine_decays_to_zero_after_the_warmup():
  schedule = EpochSchedule(0.2, steps_per_epoch=4, kind="cosine", warmup_epochs=2,
                           total_steps=40)
  steps = np.arange(45)
  expected = np.where(steps < 8, 0.2 * (steps // 4 + 1) / 2,
                      0.1 * (1 + np.cos(np.pi * np.minimum(steps - 8, 32) / 32)))
  np.testing.assert_allclose([float(schedule(s)) for s in steps], expected, rtol=1e-5, atol=1e-8)
  no_warmup = EpochSchedule(0.2, steps_per_epoch=4, kind="cosine", total_steps=40)
  keras_cosine = keras.optimizers.schedules.CosineDecay(0.2, decay_steps=40)
  np.testing.assert_allclose([float(no_warmup(s)) for s in steps],
                             [float(keras_cosine(s)) for s in steps], rtol=1e-5, atol=1e-8)


def test_schedule_is_traced_once_and_serialises():
  schedule = EpochSchedule(0.1, 3, "step", warmup_epochs=5, decay_epochs=(160, 180),
                           decay_factors=(0.01, 0.0001))
  traced = tf.function(schedule)
  step = tf.Variable(0, dtype=tf.int64)
  rates = []
  for s in (0, 14, 15, 480, 540, 599):
    step.assign(s)
    rates.append(float(traced(step)))
  assert traced.experimental_get_tracing_count() == 1
  np.testing.assert_allclose(rates, [0.02, 0.1, 0.1, 0.001, 1e-5, 1e-5], rtol=1e-6)
  config = keras.optimizers.schedules.serialize(schedule)
  copy = keras.optimizers.schedules.deserialize(config)
  assert isinstance(copy, EpochSchedule) and copy.get_config() == schedule.get_config()
  optimizer = keras.optimizers.SGD.from_config(
      keras.optimizers.SGD(learning_rate=schedule, momentum=0.9).get_config())
  optimizer.build([tf.Variable(1.0)])
  assert _rates(optimizer, [480]) == [pytest.approx(0.001)]


def test_the_trainer_follows_the_warmup_in_one_trace():
  config = synthetic_config(optimizer__name="sgd", optimizer__learning_rate=0.1,
                            optimizer__warmup_epochs=2, optimizer__schedule="step",
                            optimizer__decay_epochs=(3,), optimizer__decay_factors=(0.5,))
  exp = experiment_lib.build(config)
  rates = []
  for _ in range(4):  # one loop an epoch; the rate read after it is the next epoch's
    rates.append(current_learning_rate(exp.optimizer))
    exp.trainer.train(exp.steps_per_epoch)
  np.testing.assert_allclose(rates, [0.05, 0.1, 0.1, 0.05], rtol=1e-6)
  assert exp.trainer.trace_count == 1


def test_weight_decay_modes_and_momentum_reach_the_keras_optimizer():
  decoupled = _optimizer(name="sgd", weight_decay=2e-4, weight_decay_mode="decoupled",
                         kwargs={"momentum": 0.9, "nesterov": True})
  assert decoupled.weight_decay == pytest.approx(2e-4)
  assert decoupled.momentum == 0.9 and decoupled.nesterov
  for mode in ("l2", "l2_all"):
    assert not _optimizer(name="sgd", weight_decay=2e-4, weight_decay_mode=mode).weight_decay
  with pytest.raises(ConfigError, match="both set"):
    _optimizer(name="adamw", weight_decay=1e-4, kwargs={"weight_decay": 1e-3})


@pytest.mark.parametrize("field, value, words", [
    ("warmup_epochs", -1, "optimizer.warmup_epochs=-1 must be an integer >= 0"),
    ("decay_factors", (0.01,), "optimizer.decay_factors=(0.01,) must give one multiplier for "
                               "each of the 2 optimizer.decay_epochs=(160, 180)"),
    ("decay_factors", (0.1, -0.01), "optimizer.decay_factors=(0.1, -0.01) must be a list of "
                                    "multipliers > 0"),
    ("weight_decay_mode", "l1", "optimizer.weight_decay_mode='l1' must be one of l2, l2_all, "
                                "decoupled"),
    ("weight_decay", -1e-4, "optimizer.weight_decay=-0.0001 must be a number >= 0"),
    ("decay_epochs", (180, 160), "optimizer.decay_epochs=(180, 160) must be a list of epochs "
                                 ">= 0 in increasing order"),
])
def test_bad_recipe_values_are_one_line_config_errors(field, value, words):
  config = synthetic_config(optimizer__schedule="step", optimizer__decay_epochs=(160, 180))
  config.optimizer[field] = value
  with pytest.raises(ConfigError) as error:
    experiment_lib.build(config)
  assert words in str(error.value) and "\n" not in str(error.value), str(error.value)


def test_schedule_rejects_mismatched_factors_directly():
  with pytest.raises(ValueError, match="decay_factors"):
    EpochSchedule(0.1, 3, "step", decay_epochs=(1, 2), decay_factors=(0.5,))
  assert math.isclose(float(EpochSchedule(0.1, 3)(tf.constant(7))), 0.1, rel_tol=1e-6)
