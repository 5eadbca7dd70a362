"""The row optimisers rules compose: each against a float64 NumPy re-derivation of its step."""

import numpy as np
import pytest
import tensorflow as tf

from framework.weights import optim

RNG = np.random.default_rng(0)
P0 = RNG.normal(size=4)
GRADS = [RNG.normal(size=4) for _ in range(3)]


def _run(opt, params):
  """Three steps of `opt` on `params` (a tensor or a nested dict) with GRADS."""
  slots = opt.init(params)
  for g in GRADS:
    grads = tf.nest.map_structure(lambda _: tf.constant(g), params)
    params, slots = opt.update(grads, slots, params)
  return params, slots


def test_sgd_with_weight_decay():
  p = P0.copy()
  for g in GRADS:
    p = p - 0.1 * (g + 0.01 * p)
  got, _ = _run(optim.sgd(0.1, weight_decay=0.01), tf.constant(P0))
  np.testing.assert_allclose(got, p, rtol=1e-12)


def test_momentum_torch_form_on_a_nested_structure():
  p, v = P0.copy(), np.zeros(4)
  for g in GRADS:
    v = 0.9 * v + g + 0.1 * p
    p = p - 0.5 * v
  got, velocity = _run(optim.momentum(0.5, 0.9, weight_decay=0.1),
                       {"a": {"b": tf.constant(P0)}})
  np.testing.assert_allclose(got["a"]["b"], p, rtol=1e-12)
  np.testing.assert_allclose(velocity["a"]["b"], v, rtol=1e-12)


def test_nesterov_momentum_steps_along_the_look_ahead():
  """torch.optim.SGD(nesterov=True): b <- mu b + g'; p <- p - lr (g' + mu b)."""
  p, b = P0.copy(), np.zeros(4)
  for g in GRADS:
    decayed = g + 5e-4 * p
    b = 0.9 * b + decayed
    p = p - 1e-3 * (decayed + 0.9 * b)
  got, velocity = _run(optim.momentum(1e-3, 0.9, weight_decay=5e-4, nesterov=True),
                       tf.constant(P0))
  np.testing.assert_allclose(got, p, rtol=1e-12)
  np.testing.assert_allclose(velocity, b, rtol=1e-12)


def test_adam_bias_corrected_with_l2():
  p, m, v = P0.copy(), np.zeros(4), np.zeros(4)
  for t, g_np in enumerate(GRADS, start=1):
    g = g_np + 1e-2 * p
    m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
    p = p - 0.1 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
  got, slots = _run(optim.adam(0.1, weight_decay=1e-2), {"a": tf.constant(P0)})
  np.testing.assert_allclose(got["a"], p, rtol=1e-10)
  assert float(slots["count"]) == 3.0


def test_exponentiated_gradient_positive_mean_one_and_ascent():
  alpha = np.array([1.0, 2.0, 0.5, 0.5])
  grad = np.array([3.0, -1.0, 0.0, 100.0])
  opt = optim.exponentiated_gradient(0.5)
  new, _ = opt.update(tf.constant(grad), (), tf.constant(alpha))
  expected = alpha * np.exp(-0.5 * grad)
  np.testing.assert_allclose(new, expected / expected.mean(), rtol=1e-12)
  assert (new.numpy() > 0).all()
  up, _ = optim.exponentiated_gradient(-0.5).update(tf.constant(grad), (), tf.constant(alpha))
  assert np.argmax(up) == 3  # a negative rate ascends: the largest gradient gains most


@pytest.mark.parametrize("make, message", [
    (lambda: optim.sgd(0.0), "lr=0.0"),
    (lambda: optim.momentum(0.1, momentum=1.0), "momentum=1.0"),
    (lambda: optim.momentum(0.1, nesterov="yes"), "nesterov='yes'"),
    (lambda: optim.adam(0.1, weight_decay=-1.0), "weight_decay=-1.0"),
    (lambda: optim.exponentiated_gradient(0), "lr=0"),
])
def test_bad_arguments_name_the_parameter(make, message):
  with pytest.raises(ValueError, match=message):
    make()
