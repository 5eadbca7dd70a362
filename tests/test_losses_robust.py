"""Robust losses for noisy labels against float64 NumPy re-derivations of their formulas:
value, gradient (finite differences of the NumPy formula), stability at logits of +-100."""

import numpy as np
import pytest
import tensorflow as tf

from framework import losses as L

RNG = np.random.default_rng(21)
Z = RNG.normal(size=(12, 5)) * 3.0
Y = RNG.integers(0, 5, size=12)


def _np_log_softmax(z):
  m = z.max(-1, keepdims=True)
  return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def np_gce(y, z, q):
  p = np.exp(_np_log_softmax(z))[np.arange(len(y)), y]
  return (1.0 - p ** q) / q


def _numeric_grad(f, z, eps=1e-6):
  grad = np.zeros_like(z)
  for idx in np.ndindex(z.shape):
    up, down = z.copy(), z.copy()
    up[idx] += eps
    down[idx] -= eps
    grad[idx] = (f(up).sum() - f(down).sum()) / (2 * eps)
  return grad


CASES = {  # name -> (framework per-example fn of (y, z), NumPy reference of (y, z))
    "gce q=0.7": (lambda y, z: L.generalized_cross_entropy(y, z, q=0.7),
                  lambda y, z: np_gce(y, z, 0.7)),
    "gce q=1 (MAE)": (lambda y, z: L.generalized_cross_entropy(y, z, q=1.0),
                      lambda y, z: np_gce(y, z, 1.0)),
    "gce q=0.2": (lambda y, z: L.generalized_cross_entropy(y, z, q=0.2),
                  lambda y, z: np_gce(y, z, 0.2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_gradient_match_numpy(name):
  ours, ref = CASES[name]
  z = tf.constant(Z)
  with tf.GradientTape() as tape:
    tape.watch(z)
    value = ours(Y, z)
  np.testing.assert_allclose(value, ref(Y, Z), rtol=1e-10)
  np.testing.assert_allclose(tape.gradient(value, z), _numeric_grad(lambda v: ref(Y, v), Z),
                             rtol=1e-6, atol=1e-8)
  np.testing.assert_allclose(ours(Y, np.float32(Z)), ref(Y, Z), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("scale", [100.0, -100.0])
def test_finite_at_extreme_logits(name, scale):
  ours, _ = CASES[name]
  z = tf.constant(np.sign(RNG.normal(size=(12, 5))) * scale, tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(z)
    value = ours(Y, z)
  assert np.isfinite(value.numpy()).all() and np.isfinite(tape.gradient(value, z)).all()


def test_gce_tends_to_cross_entropy_as_q_goes_to_zero():
  ce = L.sparse_cross_entropy(Y, Z).numpy()
  np.testing.assert_allclose(L.generalized_cross_entropy(Y, Z, q=1e-9), ce, rtol=1e-7)
  gaps = [np.abs(L.generalized_cross_entropy(Y, Z, q=q).numpy() - ce).max()
          for q in (0.1, 0.01, 0.001)]
  assert gaps[0] > gaps[1] > gaps[2]


def test_gce_keras_class_and_trainer_path():
  loss = L.GeneralizedCrossEntropyLoss(q=0.5, from_logits=True)
  np.testing.assert_allclose(loss(Y, np.float32(Z)), np_gce(Y, Z, 0.5).mean(), rtol=1e-5)
  per_example = L.per_example(L.build_loss("gce", {"q": 0.5}, {"num_classes": 5}))
  np.testing.assert_allclose(per_example(Y, np.float32(Z)), np_gce(Y, Z, 0.5), rtol=1e-5)
  with pytest.raises(ValueError, match=r"q=0.0 must be finite and in \(0.0, 1.0\]"):
    L.GeneralizedCrossEntropyLoss(q=0.0)
