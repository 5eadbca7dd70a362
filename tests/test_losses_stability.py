"""Numerical stability: finite losses and gradients at extreme inputs, every dtype;
gamma = 0 is exactly cross-entropy; gradients agree with finite differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from framework import losses as L

DTYPES = [tf.float16, tf.bfloat16, tf.float32, tf.float64]
GAMMAS = [0.0, 0.25, 0.5, 1.0, 2.0, 5.0]
COUNTS = np.array([1000, 100, 3])


def _grid():
  """Every combination of extreme logits for 3 classes, each row with every label."""
  values = [-100.0, -30.0, -1e-3, 0.0, 17.0, 100.0]
  rows = np.array(list(itertools.product(values, repeat=3)))
  z = np.repeat(rows, 3, axis=0)
  y = np.tile(np.arange(3), len(rows))
  return y, z


Y, Z = _grid()
ONEHOT = np.eye(3)[Y]


def _value_and_grad(fn, x, dtype):
  x = tf.constant(x, dtype)
  with tf.GradientTape() as tape:
    tape.watch(x)
    loss = fn(x)
  return loss, tape.gradient(loss, x)


def _assert_finite(loss, grad):
  assert np.all(np.isfinite(tf.cast(loss, tf.float64).numpy())), "non-finite loss"
  assert grad is not None
  assert np.all(np.isfinite(tf.cast(grad, tf.float64).numpy())), "non-finite gradient"


FOCALS = {
    "sparse_focal": lambda z, g: L.sparse_focal(Y, z, gamma=g, alpha=[0.2, 1.0, 3.0]),
    "categorical_focal": lambda z, g: L.categorical_focal(ONEHOT, z, gamma=g, alpha=0.5),
    "binary_focal": lambda z, g: L.binary_focal(ONEHOT, z, gamma=g,
                                                apply_class_balancing=True),
    "binary_focal_smoothed": lambda z, g: L.binary_focal(ONEHOT, z, gamma=g,
                                                         label_smoothing=0.1),
}

OTHERS = {
    "sparse_ce": lambda z: L.sparse_cross_entropy(Y, z, label_smoothing=0.1),
    "categorical_ce": lambda z: L.categorical_cross_entropy(ONEHOT, z, label_smoothing=0.1),
    "binary_ce": lambda z: L.binary_cross_entropy(ONEHOT, z),
    "weighted_ce": lambda z: L.weighted_cross_entropy(ONEHOT, z, pos_weight=[3.0, 0.5, 9.0]),
    "ldam": lambda z: L.ldam(Y, z, class_counts=COUNTS),
    "logit_adjusted": lambda z: L.logit_adjusted(Y, z, class_counts=COUNTS, tau=1.0),
    "balanced_softmax": lambda z: L.balanced_softmax(Y, z, class_counts=COUNTS),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("name", sorted(FOCALS))
def test_focal_finite_at_extreme_logits(name, gamma, dtype):
  loss, grad = _value_and_grad(lambda z: FOCALS[name](z, gamma), Z, dtype)
  _assert_finite(loss, grad)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("name", sorted(OTHERS))
def test_other_losses_finite_at_extreme_logits(name, dtype):
  loss, grad = _value_and_grad(OTHERS[name], Z, dtype)
  _assert_finite(loss, grad)


def _prob_rows():
  """Probability rows with exact 0 and 1 entries, each with every label."""
  rows = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0],
                   [0.0, 0.3, 0.7], [1 / 3, 1 / 3, 1 / 3]])
  return np.tile(np.arange(3), len(rows)), np.repeat(rows, 3, axis=0)


PY, PP = _prob_rows()
P_ONEHOT = np.eye(3)[PY]

PROB_LOSSES = {
    "sparse_focal": lambda p, g: L.sparse_focal(PY, p, gamma=g, from_logits=False),
    "categorical_focal": lambda p, g: L.categorical_focal(P_ONEHOT, p, gamma=g,
                                                          from_logits=False),
    "binary_focal": lambda p, g: L.binary_focal(P_ONEHOT, p, gamma=g, from_logits=False),
    "sparse_ce": lambda p, g: L.sparse_cross_entropy(PY, p, label_smoothing=0.1,
                                                     from_logits=False),
    "categorical_ce": lambda p, g: L.categorical_cross_entropy(P_ONEHOT, p,
                                                               from_logits=False),
    "weighted_ce": lambda p, g: L.weighted_cross_entropy(P_ONEHOT, p, pos_weight=2.0,
                                                         from_logits=False),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("name", sorted(PROB_LOSSES))
def test_probability_path_finite_at_0_and_1(name, gamma, dtype):
  loss, grad = _value_and_grad(lambda p: PROB_LOSSES[name](p, gamma), PP, dtype)
  _assert_finite(loss, grad)


PAIRS = {  # focal at gamma = 0 (alpha = 1) and the cross-entropy it must equal
    "sparse": (lambda y, z, **k: L.sparse_focal(y, z, gamma=0.0, alpha=1.0, **k),
               lambda y, z, **k: L.sparse_cross_entropy(y, z, **k)),
    "categorical": (lambda y, z, **k: L.categorical_focal(np.eye(3)[y], z, gamma=0.0, alpha=1.0,
                                                          **k),
                    lambda y, z, **k: L.categorical_cross_entropy(np.eye(3)[y], z, **k)),
    "binary": (lambda y, z, **k: L.binary_focal(np.eye(3)[y], z, gamma=0.0, **k),
               lambda y, z, **k: L.binary_cross_entropy(np.eye(3)[y], z, **k)),
}


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_gamma_zero_is_exactly_cross_entropy(kind, dtype, from_logits):
  focal_fn, ce_fn = PAIRS[kind]
  rng = np.random.default_rng(7)
  x = np.concatenate([Z, rng.normal(size=(50, 3)) * 4.0])
  y = np.concatenate([Y, rng.integers(0, 3, 50)])
  if not from_logits:
    x = (tf.sigmoid(x) if kind == "binary" else tf.nn.softmax(x)).numpy()
  f_loss, f_grad = _value_and_grad(lambda z: focal_fn(y, z, from_logits=from_logits),
                                   x, dtype)
  c_loss, c_grad = _value_and_grad(lambda z: ce_fn(y, z, from_logits=from_logits),
                                   x, dtype)
  _assert_finite(f_loss, f_grad)
  np.testing.assert_array_equal(f_loss.numpy(), c_loss.numpy())
  np.testing.assert_array_equal(tf.cast(f_grad, tf.float64).numpy(),
                                tf.cast(c_grad, tf.float64).numpy())


@pytest.mark.parametrize("dtype,out", [(tf.float16, tf.float32), (tf.bfloat16, tf.float32),
                                       (tf.float32, tf.float32), (tf.float64, tf.float64)],
                         ids=lambda d: d.name)
def test_dtype_policy(dtype, out):
  """Half inputs are computed in float32 and returned as float32; float64 stays."""
  loss, grad = _value_and_grad(lambda z: L.sparse_focal(Y, z, gamma=2.0), Z, dtype)
  assert loss.dtype == out and grad.dtype == dtype
  z_rounded = tf.cast(tf.constant(Z, dtype), tf.float64).numpy()
  ref = L.sparse_focal(Y, z_rounded, gamma=2.0).numpy()
  # float32 arithmetic on the rounded inputs; losses below float32's range flush to 0.
  np.testing.assert_allclose(loss.numpy(), ref, rtol=1e-5 if out == tf.float32 else 1e-12,
                             atol=1e-37)


@pytest.mark.parametrize("gamma", [0.25, 0.5, 2.0])
@pytest.mark.parametrize("kind", ["sparse_focal", "binary_focal", "ldam", "weighted_ce"])
def test_gradients_match_finite_differences(kind, gamma):
  rng = np.random.default_rng(3)
  y = rng.integers(0, 3, size=6)
  onehot = np.eye(3)[y]
  fns = {
      "sparse_focal": lambda z: L.sparse_focal(y, z, gamma=gamma, alpha=[0.3, 1.0, 2.0]),
      "binary_focal": lambda z: L.binary_focal(onehot, z, gamma=gamma,
                                               apply_class_balancing=True),
      "ldam": lambda z: L.ldam(y, z, class_counts=COUNTS, scale=5.0),
      "weighted_ce": lambda z: L.weighted_cross_entropy(onehot, z, pos_weight=gamma * 4),
  }
  z0 = tf.constant(rng.normal(size=(6, 3)) * (0.5 if kind == "ldam" else 3.0))
  theoretical, numerical = tf.test.compute_gradient(
      lambda z: tf.reduce_sum(fns[kind](z)), [z0], delta=1e-6)
  np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-6, atol=1e-8)
