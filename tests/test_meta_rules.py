"""The meta rules' own pieces: kwargs validation, V's Adam step, alpha's exponentiated step."""

import numpy as np
import pytest
import tensorflow as tf

from framework.errors import ConfigError
from framework.weights.meta import adam_step, exponentiated_step, vnet
from framework.weights.meta.mwnet import init_vnet
from framework.weights.rule import RULES


@pytest.mark.parametrize("name,kwargs,message", [
    ("l2rw", {"inner_lr": 0.0}, "inner_lr=0.0"),
    ("l2rw", {"ema_decay": 1.0}, "ema_decay=1.0"),
    ("mwnet", {"meta_lr": -1e-3}, "meta_lr=-0.001"),
    ("mwnet", {"weight_decay": -1}, "weight_decay=-1"),
    ("mwnet", {"hidden": 0}, "hidden=0"),
    ("meta_alpha", {"meta_lr": 0}, "meta_lr=0"),
    ("meta_alpha", {"inner_lr": "x"}, "inner_lr='x'"),
])
def test_bad_kwargs_name_parameter_and_value(name, kwargs, message):
  with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
    RULES.build(name, kwargs, field="rule")


@pytest.mark.parametrize("name", ["l2rw", "mwnet", "meta_alpha"])
def test_meta_rules_need_validation(name):
  rule = RULES.build(name, {})
  assert rule.needs_validation and rule.meta is not None


def test_adam_step_matches_a_numpy_adam_with_l2():
  rng = np.random.default_rng(0)
  p, m, v = rng.normal(size=3), np.zeros(3), np.zeros(3)
  params, moments, step = {"a": tf.constant(p)}, {"adam_m_a": tf.zeros(3, tf.float64),
                                                   "adam_v_a": tf.zeros(3, tf.float64)}, 0.0
  for t in range(1, 4):
    g_np = rng.normal(size=3)
    g = g_np + 1e-2 * p
    m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
    p = p - 0.1 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    params, moments, step = adam_step(params, {"a": tf.constant(g_np)}, moments,
                                      tf.constant(step, tf.float64), 0.1, 1e-2)
  np.testing.assert_allclose(params["a"], p, rtol=1e-10)
  assert float(step) == 3.0


def test_vnet_is_a_sigmoid_mlp_of_the_loss():
  theta = {k: tf.constant(v) for k, v in init_vnet(100, seed=0).items()}
  loss = np.array([0.0, 0.5, 3.0], np.float32)
  hidden = np.maximum(loss[:, None] @ theta["vnet_w1"].numpy() + theta["vnet_b1"].numpy(), 0)
  expected = 1 / (1 + np.exp(-(hidden @ theta["vnet_w2"].numpy() + theta["vnet_b2"].numpy())))
  np.testing.assert_allclose(vnet(theta, tf.constant(loss)), expected[:, 0], rtol=1e-6)
  assert theta["vnet_w1"].shape == (1, 100) and theta["vnet_w2"].shape == (100, 1)


def test_exponentiated_step_keeps_alpha_positive_with_mean_one():
  alpha = tf.constant([1.0, 2.0, 0.5, 0.5])
  grad = tf.constant([3.0, -1.0, 0.0, 100.0])
  new = exponentiated_step(alpha, grad, 0.5).numpy()
  expected = alpha.numpy() * np.exp(-0.5 * grad.numpy())
  np.testing.assert_allclose(new, expected / expected.mean(), rtol=1e-6)
  assert (new > 0).all() and abs(new.mean() - 1) < 1e-6
