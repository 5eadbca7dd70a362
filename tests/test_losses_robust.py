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


def np_sce(y, z, alpha=0.1, beta=1.0, log_zero=np.log(1e-4)):
  """The authors' code by default: the one-hot label clipped at 1e-4 (log 0 -> -9.21)."""
  p = np.exp(_np_log_softmax(z))[np.arange(len(y)), y]
  return alpha * -np.log(p) + beta * -log_zero * (1 - p)


def np_bootstrap(y, z, mode, beta, q_from=None):
  """The bootstrap loss with its target q from `q_from` logits (fixed: not back-propagated),
  or from `z` itself (the gradient flows through q)."""
  log_p = _np_log_softmax(z)
  p0 = np.exp(_np_log_softmax(z if q_from is None else q_from))
  q = p0 if mode == "soft" else np.eye(z.shape[1])[p0.argmax(1)]
  target = beta * np.eye(z.shape[1])[y] + (1 - beta) * q
  return -(target * log_p).sum(1)


CASES = {  # name -> (framework per-example fn of (y, z), NumPy reference of (y, z))
    "gce q=0.7": (lambda y, z: L.generalized_cross_entropy(y, z, q=0.7),
                  lambda y, z: np_gce(y, z, 0.7)),
    "gce q=1 (MAE)": (lambda y, z: L.generalized_cross_entropy(y, z, q=1.0),
                      lambda y, z: np_gce(y, z, 1.0)),
    "gce q=0.2": (lambda y, z: L.generalized_cross_entropy(y, z, q=0.2),
                  lambda y, z: np_gce(y, z, 0.2)),
    "sce cifar10": (lambda y, z: L.symmetric_cross_entropy(y, z), np_sce),
    "sce cifar100": (lambda y, z: L.symmetric_cross_entropy(y, z, alpha=6.0, beta=0.1),
                     lambda y, z: np_sce(y, z, 6.0, 0.1)),
    "sce paper A=-4": (lambda y, z: L.symmetric_cross_entropy(y, z, log_zero=-4.0),
                       lambda y, z: np_sce(y, z, log_zero=-4.0)),
    "bootstrap soft": (lambda y, z: L.bootstrap(y, z, mode="soft"),
                       lambda y, z: np_bootstrap(y, z, "soft", 0.95)),
    "bootstrap soft detached": (
        lambda y, z: L.bootstrap(y, z, mode="soft", detach_prediction=True),
        lambda y, z: np_bootstrap(y, z, "soft", 0.95, Z)),
    "bootstrap hard": (lambda y, z: L.bootstrap(y, z, mode="hard"),
                       lambda y, z: np_bootstrap(y, z, "hard", 0.8, Z)),
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
                             rtol=1e-6, atol=1e-7)  # central differences of O(10) sums
  np.testing.assert_allclose(ours(Y, np.float32(Z)), ref(Y, Z), rtol=1e-5, atol=1e-7)


def test_sce_default_is_the_authors_code_clip():
  p = np.exp(_np_log_softmax(Z))
  one_hot = np.clip(np.eye(5)[Y], 1e-4, 1.0)  # the code's label clip
  rce = -(p * np.log(one_hot)).sum(1)
  np.testing.assert_allclose(L.symmetric_cross_entropy(Y, Z, alpha=0.0),
                             rce, rtol=1e-10)
  np.testing.assert_allclose(L.SymmetricCrossEntropyLoss().get_config()["log_zero"],
                             -9.210340371976182, rtol=1e-15)


def test_soft_bootstrap_gradient_is_the_minimum_entropy_regulariser():
  """d/dz [beta CE + (1 - beta) H(p)] = beta (p - y) - (1 - beta) p (log p + H)."""
  beta, log_p = 0.95, _np_log_softmax(Z)
  p = np.exp(log_p)
  entropy = -(p * log_p).sum(1, keepdims=True)
  analytic = beta * (p - np.eye(5)[Y]) - (1 - beta) * p * (log_p + entropy)
  z = tf.constant(Z)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(z)
    through = L.bootstrap(Y, z, mode="soft")
    held = L.bootstrap(Y, z, mode="soft", detach_prediction=True)
  np.testing.assert_allclose(tape.gradient(through, z), analytic, rtol=1e-10, atol=1e-14)
  np.testing.assert_allclose(tape.gradient(held, z),
                             p - (beta * np.eye(5)[Y] + (1 - beta) * p), rtol=1e-10,
                             atol=1e-14)
  np.testing.assert_allclose(through, held, rtol=0)  # the same value


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


def test_sce_and_bootstrap_keras_classes_and_trainer_path():
  for name, kwargs, cls, ref in (
      ("sce", {"alpha": 6.0, "beta": 0.1}, L.SymmetricCrossEntropyLoss,
       lambda: np_sce(Y, Z, 6.0, 0.1)),
      ("bootstrap", {"mode": "hard"}, L.BootstrapLoss,
       lambda: np_bootstrap(Y, Z, "hard", 0.8))):
    per_example = L.per_example(L.build_loss(name, kwargs, {"num_classes": 5}))
    np.testing.assert_allclose(per_example(Y, np.float32(Z)), ref(), rtol=1e-5)
    np.testing.assert_allclose(cls(from_logits=True, **kwargs)(Y, np.float32(Z)),
                               ref().mean(), rtol=1e-5)
  with pytest.raises(ValueError, match="mode='medium'"):
    L.BootstrapLoss(mode="medium")
  with pytest.raises(ValueError, match="log_zero=1.0"):
    L.SymmetricCrossEntropyLoss(log_zero=1.0)
