"""Every registered rule: compiled once, finite, same state on one device and two replicas, checkpointed."""

import os

import numpy as np
import pytest
import tensorflow as tf

import framework
from framework import experiment as experiment_lib
from tests import example_rule  # noqa: F401  (registers example_focal_weights)
from tests.helpers import parameters, synthetic_config, tables, train_steps

RULE_NAMES = framework.RULES.names()
STEPS = 4


def _needs_validation(name) -> bool:
  rule = framework.RULES.build(name, {}, context={"num_classes": 4, "num_samples": 512,
                                                  "class_counts": np.full(4, 128)})
  return rule.needs_validation


def config_for(name, strategy="one_device"):
  overrides = {"rule__name": name}
  if _needs_validation(name):
    overrides["data__val_per_class"] = 8
  return synthetic_config(strategy, **overrides)


def test_every_builtin_rule_is_covered():
  for name in ("fixed", "sgd", "exp_gradient", "data_parameters", "superloss", "loss_ema",
               "example_focal_weights"):
    assert name in RULE_NAMES


@pytest.mark.parametrize("name", RULE_NAMES)
def test_rule_conforms(name):
  one = train_steps(config_for(name), STEPS, loops=2)
  two = train_steps(config_for(name, "mirrored"), STEPS, loops=2)
  assert two.strategy.num_replicas_in_sync == 2
  assert one.trainer.trace_count == 1 and two.trainer.trace_count == 1
  n, c = len(one.data.train.labels), one.data.num_classes
  t1, t2 = tables(one), tables(two)
  assert t1.keys() == t2.keys()
  for key, value in t1.items():
    group = key.split("/")[0]
    if group == "per_sample":
      assert value.shape[0] == n, key
    elif group == "per_class":
      assert value.shape[0] == c, key
    assert np.all(np.isfinite(value)), key
    np.testing.assert_allclose(value, t2[key], atol=1e-5, rtol=1e-5, err_msg=key)
  for a, b in zip(parameters(one), parameters(two)):
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", RULE_NAMES)
def test_checkpoint_round_trip(name, tmp_path):
  exp = train_steps(config_for(name), STEPS)
  path = exp.trainer.checkpoint().save(os.path.join(tmp_path, "ckpt"))
  saved = tables(exp)
  fresh = experiment_lib.build(config_for(name))
  fresh.trainer.checkpoint().restore(path).assert_existing_objects_matched()
  restored = tables(fresh)
  assert restored.keys() == saved.keys()
  for key, value in saved.items():
    np.testing.assert_array_equal(restored[key], value, err_msg=key)
  assert int(fresh.trainer.step.numpy()) == STEPS
