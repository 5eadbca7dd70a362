"""Learning-rate schedules and training recipes: LDAM-DRW's reference rates, NumPy
re-derivations of step and cosine decay, one trace, serialisation, and config errors; schedule
fields as epochs or fractions of the run, resolved for the run's length (rounding, the
resolved schedule, its line, relaunches) and deferred re-weighting at a fraction in training."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from framework.train import experiment as experiment_lib
from framework.config import base_config, set_field, set_fields
from framework.errors import ConfigError
from framework.runs.rundir import RunDir
from framework.train.optimizers import EpochSchedule, build_optimizer, current_learning_rate
from framework.train.runner import relaunch_changes
from framework.train.schedule import epoch_of, resolve_schedule, schedule_line
from tests.helpers import synthetic_config

STEPS_PER_EPOCH = 3


def _optimizer(**fields):
  config = base_config()
  config.optimizer.update(fields)
  config.train.epochs = 200
  return build_optimizer(config.optimizer, resolve_schedule(config, STEPS_PER_EPOCH))


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


@pytest.mark.slow
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
    ("warmup_epochs", -1, "optimizer.warmup_epochs=-1 must be an epoch (an integer >= 0) or a "
                          "fraction of the run (a number in (0, 1))"),
    ("warmup_epochs", 2.5, "optimizer.warmup_epochs=2.5 must be an epoch (an integer >= 0) or "
                           "a fraction of the run (a number in (0, 1))"),
    ("decay_factors", (0.01,), "optimizer.decay_factors=(0.01,) must give one multiplier for "
                               "each of the 2 optimizer.decay_epochs=(160, 180)"),
    ("decay_factors", (0.1, -0.01), "optimizer.decay_factors=(0.1, -0.01) must be a list of "
                                    "multipliers > 0"),
    ("weight_decay_mode", "l1", "optimizer.weight_decay_mode='l1' must be one of l2, l2_all, "
                                "decoupled"),
    ("weight_decay", -1e-4, "optimizer.weight_decay=-0.0001 must be a number >= 0"),
    ("decay_epochs", (180, 160), "optimizer.decay_epochs=(180, 160) must be a list of epochs "
                                 "(integers >= 0) or of fractions of the run (numbers in (0, "
                                 "1)), not mixed, in increasing order"),
    ("decay_epochs", (0.8, 180), "optimizer.decay_epochs=(0.8, 180) must be a list of epochs"),
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


@pytest.mark.parametrize("value, epochs, epoch", [
    (0.8, 200, 160), (0.9, 200, 180), (0.025, 200, 5),  # LDAM-DRW: DRW and decays, warm-up
    (0.9, 40, 36), (0.95, 40, 38),                       # Shu et al.'s decays
    (0.8, 10, 8), (0.8, 20, 16), (0.8, 15, 12), (0.7, 10, 7),
    (0.5, 15, 8), (0.5, 13, 7), (0.58, 25, 15),         # halves round up, 14.5 in decimal
    (0.04, 10, 0), (0.96, 10, 10), (0.3, 7, 2),
    (16, 10, 16), (16.0, 10, 16), (1, 3, 1), (1.0, 3, 1), (0, 5, 0), (0.0, 5, 0)])
def test_a_fraction_is_the_nearest_epoch_and_an_epoch_stays(value, epochs, epoch):
  resolved = epoch_of(value, epochs)
  assert resolved == epoch and type(resolved) is int


def test_fractions_resolve_to_epochs_within_any_run():
  for epochs in range(1, 401):
    for value in (0.001, 0.1, 0.25, 0.5, 0.8, 0.9, 0.95, 0.999):
      resolved = epoch_of(value, epochs)
      assert type(resolved) is int and 0 <= resolved <= epochs
      assert abs(resolved - value * epochs) <= 0.5 + 1e-9, (value, epochs)


def _schedule_config(**fields):
  config = base_config()
  config.train.epochs = 20
  config.optimizer.schedule = "step"
  config.optimizer.decay_epochs = (0.8, 0.9)
  config.class_weights.start_epoch = 0.8
  set_fields(config, fields)
  return config


def test_the_resolved_schedule_of_a_config():
  schedule = resolve_schedule(_schedule_config(optimizer__warmup_epochs=5), 7)
  assert schedule.pop("decay_factors") == pytest.approx([0.1, 0.01], rel=1e-12)
  assert schedule == {"epochs": 20, "steps_per_epoch": 7, "total_steps": 140,
                      "warmup_epochs": 5, "lr_schedule": "step", "decay_epochs": [16, 18],
                      "drw_start_epoch": 16}
  longer = resolve_schedule(_schedule_config(train__epochs=200, optimizer__warmup_epochs=0.025,
                                             optimizer__decay_factors=(0.01, 1e-4)), 97)
  assert (longer["total_steps"], longer["warmup_epochs"], longer["decay_epochs"],
          longer["decay_factors"], longer["drw_start_epoch"]) == (19400, 5, [160, 180],
                                                                 [0.01, 1e-4], 160)
  integers = resolve_schedule(_schedule_config(optimizer__decay_epochs=(3, 5),
                                               class_weights__start_epoch=4), 1)
  assert (integers["decay_epochs"], integers["drw_start_epoch"]) == ([3, 5], 4)


def test_the_schedule_line():
  schedule = {"epochs": 20, "steps_per_epoch": 116, "total_steps": 2320, "warmup_epochs": 0,
              "lr_schedule": "step", "decay_epochs": [16, 18], "decay_factors": [0.1, 0.01],
              "drw_start_epoch": 16}
  assert schedule_line(schedule) == ("schedule: 20 epochs x 116 steps; warm-up 0; lr x0.1 "
                                     "from epoch 16, x0.01 from epoch 18; DRW from epoch 16")
  schedule.update(lr_schedule="cosine", warmup_epochs=2, drw_start_epoch=0)
  assert schedule_line(schedule) == "schedule: 20 epochs x 116 steps; warm-up 2; lr cosine"


def test_a_run_announces_its_schedule_only_when_it_has_one(capsys):
  exp = experiment_lib.build(synthetic_config(
      train__epochs=10, class_weights__scheme="inverse_frequency",
      class_weights__start_epoch=0.8))
  lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("schedule:")]
  assert lines == [f"schedule: 10 epochs x {exp.steps_per_epoch} steps; warm-up 0; "
                   "lr constant; DRW from epoch 8"]
  assert exp.trainer.class_weighting.start_epoch == 8 and exp.schedule["drw_start_epoch"] == 8
  assert exp.total_steps == 10 * exp.steps_per_epoch
  experiment_lib.build(synthetic_config())
  assert "schedule:" not in capsys.readouterr().out


def test_the_optimizer_follows_fractions_of_the_run():
  for epochs, last_at_full_rate, first_drop, second_drop in [(200, 159, 160, 180),
                                                             (100, 79, 80, 90)]:
    config = _schedule_config(train__epochs=epochs, optimizer__name="sgd",
                              optimizer__learning_rate=0.1)
    optimizer = build_optimizer(config.optimizer, resolve_schedule(config, STEPS_PER_EPOCH))
    steps = [e * STEPS_PER_EPOCH for e in (last_at_full_rate, first_drop, second_drop)]
    np.testing.assert_allclose(_rates(optimizer, steps), [0.1, 0.01, 0.001], rtol=1e-6)


@pytest.mark.parametrize("field, value", [("class_weights.start_epoch", 1.5),
                                          ("class_weights.start_epoch", -0.5),
                                          ("class_weights.start_epoch", "0.8"),
                                          ("optimizer.warmup_epochs", True)])
def test_a_value_neither_epoch_nor_fraction_is_a_one_line_error(field, value):
  config = synthetic_config()
  set_field(config, field, value)
  with pytest.raises(ConfigError) as error:
    experiment_lib.build(config)
  assert str(error.value) == (f"{field}={value!r} must be an epoch (an integer >= 0) or a "
                              "fraction of the run (a number in (0, 1))")


@pytest.mark.parametrize("field, value, refused", [
    ("class_weights.start_epoch", 0.5, True), ("optimizer.decay_epochs", (0.5,), True),
    ("class_weights.start_epoch", 1, False), ("optimizer.decay_epochs", (1,), False)])
def test_a_run_with_fractions_cannot_be_extended(tmp_path, field, value, refused):
  rundir = RunDir(str(tmp_path))
  first = synthetic_config(optimizer__schedule="step")
  set_field(first, field, value)
  rundir.write_text("config.json", first.to_json_best_effort())
  longer = synthetic_config(optimizer__schedule="step", train__epochs=first.train.epochs + 5)
  set_field(longer, field, value)
  if not refused:
    assert set(relaunch_changes(longer, rundir)) == {"train.epochs"}
    return
  with pytest.raises(ConfigError) as error:
    relaunch_changes(longer, rundir)
  assert str(error.value) == (
      f"train.epochs 2 -> 7: the run is laid out over its epochs ({field}={value!r}), so its "
      "length cannot change on a relaunch; start a new workdir")


@pytest.mark.slow
def test_class_weights_apply_from_half_of_a_two_epoch_run(tmp_path):
  from framework import train  # pylint: disable=g-import-not-at-top
  config = synthetic_config(train__epochs=2, class_weights__scheme="inverse_frequency",
                            class_weights__start_epoch=0.5)
  results = train.run(config, str(tmp_path / "run"), verbose=False)
  assert results["schedule"]["drw_start_epoch"] == 1
  counts = np.asarray(results["class_counts"], np.float64)
  inverse_frequency = counts.sum() / (len(counts) * counts)
  assert not np.allclose(inverse_frequency, 1.0)
  spe = results["schedule"]["steps_per_epoch"]
  snapshots = dict(RunDir(str(tmp_path / "run")).snapshots())
  in_force = {step: RunDir.read_arrays(path)["effective/class_weight"]
              for step, path in snapshots.items() if step}
  assert sorted(in_force) == [spe, 2 * spe]
  np.testing.assert_array_equal(in_force[spe], np.ones(len(counts)))  # epoch 0: none yet
  np.testing.assert_allclose(in_force[2 * spe], inverse_frequency, rtol=1e-6)  # epoch 1
