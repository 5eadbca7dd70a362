"""Random inputs: our losses against independent references, within 1e-5 relative.

References: Keras 3 BinaryFocalCrossentropy / CategoricalFocalCrossentropy /
CategoricalCrossentropy (evaluated in float64, where Keras's own 1 - p cancellation is
harmless), tf.nn.weighted_cross_entropy_with_logits, tf.nn.sparse_softmax_cross_entropy_
with_logits, and NumPy float64 re-derivations. Ours run on float32 (and float64) inputs.
Checked per example and reduced (Keras "sum_over_batch_size"), with and without
sample weights.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from framework import losses as L

B, C = 64, 5
RTOL = 1e-5
COUNTS = np.array([500, 230, 90, 31, 7])


@pytest.fixture(scope="module")
def data():
  rng = np.random.default_rng(1234)
  z = rng.normal(size=(B, C)) * 3.0
  y = rng.integers(0, C, size=B)
  return dict(z=z, y=y, onehot=np.eye(C)[y],
              multi=(rng.random((B, C)) < 0.3).astype(np.float64),
              probs=rng.dirichlet(np.ones(C), size=B),
              sw=rng.uniform(0.1, 3.0, size=B),
              cos=rng.uniform(-1.0, 1.0, size=(B, C)))


def _check(ours_fn, ref_per_example, sw, keras_ours=None, keras_ref=None, args=()):
  """Per example (float32 and float64 inputs) and reduced (with/without weights)."""
  ref = np.asarray(ref_per_example, np.float64)
  np.testing.assert_allclose(ours_fn(np.float32), ref, rtol=RTOL)
  np.testing.assert_allclose(ours_fn(np.float64), ref, rtol=1e-9)
  if keras_ours is not None:
    y_true, y_pred = args
    for weights in (None, sw):
      expected = np.mean(ref * (1.0 if weights is None else weights))
      got = keras_ours(y_true, np.float32(y_pred), sample_weight=weights)
      np.testing.assert_allclose(got, expected, rtol=RTOL)
      if keras_ref is not None:  # the Keras class itself agrees on the reduction
        np.testing.assert_allclose(keras_ref(y_true, y_pred, sample_weight=weights),
                                   expected, rtol=1e-9)


# ---- Keras references ---------------------------------------------------------------

@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("balancing,alpha", [(False, 0.25), (True, 0.25), (True, 0.8)])
@pytest.mark.parametrize("from_logits", [True, False])
def test_binary_focal_vs_keras(data, gamma, balancing, alpha, from_logits):
  pred = data["z"] if from_logits else tf.sigmoid(data["z"]).numpy()
  kw = dict(gamma=gamma, alpha=alpha, apply_class_balancing=balancing,
            from_logits=from_logits)
  ref_cls = keras.losses.BinaryFocalCrossentropy(dtype="float64", **kw)
  ref = keras.losses.BinaryFocalCrossentropy(reduction=None, dtype="float64", **kw)(
      data["multi"], pred)
  _check(lambda dt: L.binary_focal(data["multi"], pred.astype(dt), **kw), ref,
         data["sw"], L.BinaryFocalLoss(**kw), ref_cls, (data["multi"], pred))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
# Per-class alphas exact in float32: Keras converts a Python list to float32.
@pytest.mark.parametrize("alpha", [0.25, [0.125, 0.25, 0.375, 0.875, 1.5]])
def test_categorical_focal_vs_keras(data, gamma, alpha):
  kw = dict(gamma=gamma, alpha=alpha)
  ref_cls = keras.losses.CategoricalFocalCrossentropy(from_logits=True, dtype="float64", **kw)
  ref = keras.losses.CategoricalFocalCrossentropy(
      from_logits=True, reduction=None, dtype="float64", **kw)(data["onehot"], data["z"])
  _check(lambda dt: L.categorical_focal(data["onehot"], data["z"].astype(dt), **kw), ref,
         data["sw"], L.CategoricalFocalLoss(from_logits=True, **kw), ref_cls, (data["onehot"], data["z"]))
  # The sparse focal loss is the same loss for int labels.
  np.testing.assert_allclose(
      L.sparse_focal(data["y"], np.float32(data["z"]), **kw), ref, rtol=RTOL)


def test_categorical_focal_probabilities_vs_keras(data):
  ref = keras.losses.categorical_focal_crossentropy(data["onehot"], data["probs"])
  got = L.categorical_focal(data["onehot"], np.float32(data["probs"]), alpha=0.25,
                            from_logits=False)
  np.testing.assert_allclose(got, ref, rtol=RTOL)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
def test_categorical_cross_entropy_vs_keras(data, smoothing):
  ref_cls = keras.losses.CategoricalCrossentropy(
      from_logits=True, label_smoothing=smoothing, dtype="float64")
  ref = keras.losses.CategoricalCrossentropy(
      from_logits=True, label_smoothing=smoothing, reduction=None,
      dtype="float64")(data["onehot"], data["z"])
  _check(lambda dt: L.categorical_cross_entropy(
      data["onehot"], data["z"].astype(dt), label_smoothing=smoothing), ref, data["sw"],
         L.CategoricalCrossEntropyLoss(label_smoothing=smoothing, from_logits=True), ref_cls,
         (data["onehot"], data["z"]))
  _check(lambda dt: L.sparse_cross_entropy(
      data["y"], data["z"].astype(dt), label_smoothing=smoothing), ref, data["sw"],
         L.SparseCrossEntropyLoss(label_smoothing=smoothing, from_logits=True), None, (data["y"], data["z"]))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probabilities_vs_keras(data, smoothing):
  ref = keras.losses.categorical_crossentropy(data["onehot"], data["probs"],
                                              label_smoothing=smoothing)
  for got in (L.categorical_cross_entropy(data["onehot"], np.float32(data["probs"]),
                                          label_smoothing=smoothing, from_logits=False),
              L.sparse_cross_entropy(data["y"], np.float32(data["probs"]),
                                     label_smoothing=smoothing, from_logits=False)):
    np.testing.assert_allclose(got, ref, rtol=RTOL)


# ---- TF references ----------------------------------------------------------------------

@pytest.mark.parametrize("pos_weight", [1.0, 3.0, 0.2, [0.5, 1.0, 2.0, 4.0, 8.0]])
def test_weighted_cross_entropy_vs_tf(data, pos_weight):
  ref = tf.reduce_mean(tf.nn.weighted_cross_entropy_with_logits(
      labels=data["multi"], logits=data["z"],
      pos_weight=tf.constant(pos_weight, tf.float64)), -1).numpy()
  _check(lambda dt: L.weighted_cross_entropy(data["multi"], data["z"].astype(dt),
                                             pos_weight=pos_weight), ref, data["sw"],
         L.WeightedCrossEntropyLoss(pos_weight=pos_weight, from_logits=True), None,
         (data["multi"], data["z"]))


def test_sparse_cross_entropy_vs_tf(data):
  ref = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=data["y"], logits=data["z"]).numpy()
  _check(lambda dt: L.sparse_cross_entropy(data["y"], data["z"].astype(dt)), ref,
         data["sw"], L.SparseCrossEntropyLoss(from_logits=True),
         keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64"),
         (data["y"], data["z"]))


# ---- NumPy float64 re-derivations ----------------------------------------------------

def _np_log_softmax(z):
  m = z.max(-1, keepdims=True)
  return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def _np_ce(y, z):
  return -_np_log_softmax(z)[np.arange(len(y)), y]


@pytest.mark.parametrize("gamma", [0.0, 0.25, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [1.0, 0.25, [2.0, 1.0, 0.5, 0.3, 0.1]])
def test_sparse_focal_vs_numpy(data, gamma, alpha):
  y, z = data["y"], data["z"]
  p_t = np.exp(-_np_ce(y, z))
  a = np.asarray(alpha)[y] if np.ndim(alpha) else alpha
  ref = a * (1.0 - p_t) ** gamma * _np_ce(y, z)
  _check(lambda dt: L.sparse_focal(y, z.astype(dt), gamma=gamma, alpha=alpha), ref,
         data["sw"], L.SparseFocalLoss(gamma=gamma, alpha=alpha, from_logits=True), None, (y, z))


@pytest.mark.parametrize("max_margin,scale", [(0.5, 30.0), (0.3, 10.0)])
def test_ldam_vs_numpy(data, max_margin, scale):
  y, z = data["y"], data["cos"]
  m = 1.0 / COUNTS ** 0.25
  m = m * max_margin / m.max()
  shifted = z - np.eye(C)[y] * m[y][:, None]
  ref = _np_ce(y, scale * shifted)
  _check(lambda dt: L.ldam(y, z.astype(dt), class_counts=COUNTS, max_margin=max_margin,
                           scale=scale), ref, data["sw"],
         L.LDAMLoss(COUNTS, max_margin=max_margin, scale=scale), None, (y, z))


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 2.0])
def test_logit_adjusted_vs_numpy(data, tau):
  y, z = data["y"], data["z"]
  ref = _np_ce(y, z + tau * np.log(COUNTS / COUNTS.sum()))
  _check(lambda dt: L.logit_adjusted(y, z.astype(dt), class_counts=COUNTS, tau=tau), ref,
         data["sw"], L.LogitAdjustedLoss(COUNTS, tau=tau), None, (y, z))


def test_balanced_softmax_vs_numpy(data):
  y, z = data["y"], data["z"]
  ref = _np_ce(y, z + np.log(COUNTS))
  _check(lambda dt: L.balanced_softmax(y, z.astype(dt), class_counts=COUNTS), ref,
         data["sw"], L.BalancedSoftmaxLoss(COUNTS), None, (y, z))


def test_post_hoc_adjust_vs_numpy(data):
  ref = data["z"] - 1.5 * np.log(COUNTS / COUNTS.sum())
  np.testing.assert_allclose(L.post_hoc_adjust(data["z"], COUNTS, tau=1.5), ref,
                             rtol=1e-12)


def test_class_weights_in_loss_vs_numpy(data):
  y, z = data["y"], data["z"]
  w = np.array([0.2, 0.5, 1.0, 3.0, 9.0])
  ref = w[y] * _np_ce(y, z)
  _check(lambda dt: L.sparse_cross_entropy(y, z.astype(dt), class_weights=w), ref,
         data["sw"], L.SparseCrossEntropyLoss(class_weights=w, from_logits=True), None, (y, z))
  _check(lambda dt: L.categorical_cross_entropy(data["onehot"], z.astype(dt),
                                                class_weights=w), ref, data["sw"])
