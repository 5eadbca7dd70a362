"""`LOSSES`: every registered loss builds from config + context (`build_loss`) and, through
`per_example`, keeps the trainer contract `loss(labels int32 [B], logits [B, C]) -> float32 [B]`."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from framework import losses as L

B, C = 16, 4
COUNTS = np.array([400, 120, 30, 8])
CONTEXT = {"class_counts": COUNTS, "num_classes": C}

# name -> (kwargs, reference per-example function of (labels, logits))
CASES = {
    "cross_entropy": ({"label_smoothing": 0.1},
                      lambda y, z: L.sparse_cross_entropy(y, z, label_smoothing=0.1)),
    "weighted_cross_entropy": (
        {"pos_weight": [1.0, 2.0, 3.0, 4.0]},
        lambda y, z: tf.reduce_mean(tf.nn.weighted_cross_entropy_with_logits(
            tf.one_hot(y, C), z, pos_weight=tf.constant([1.0, 2.0, 3.0, 4.0])), -1)),
    "binary_focal": ({"gamma": 1.0, "alpha": 0.3, "apply_class_balancing": True},
                     lambda y, z: L.binary_focal(tf.one_hot(y, C), z, gamma=1.0, alpha=0.3,
                                                 apply_class_balancing=True)),
    "focal": ({"gamma": 2.0, "alpha": [0.1, 0.2, 0.3, 0.4]},
              lambda y, z: L.sparse_focal(y, z, gamma=2.0, alpha=[0.1, 0.2, 0.3, 0.4])),
    "categorical_focal": ({"gamma": 1.0, "label_smoothing": 0.1},
                          lambda y, z: L.categorical_focal(tf.one_hot(y, C), z, gamma=1.0,
                                                           label_smoothing=0.1)),
    "categorical_cross_entropy": ({"label_smoothing": 0.2},
                                  lambda y, z: L.categorical_cross_entropy(
                                      tf.one_hot(y, C), z, label_smoothing=0.2)),
    "ldam": ({"max_margin": 0.4, "scale": 20.0},
             lambda y, z: L.ldam(y, z, class_counts=COUNTS, max_margin=0.4, scale=20.0)),
    "logit_adjusted": ({"tau": 0.5},
                       lambda y, z: L.logit_adjusted(y, z, class_counts=COUNTS, tau=0.5)),
    "balanced_softmax": ({}, lambda y, z: L.balanced_softmax(y, z, class_counts=COUNTS)),
    "gce": ({"q": 0.7}, lambda y, z: L.generalized_cross_entropy(y, z, q=0.7)),
    "sce": ({"alpha": 0.5}, lambda y, z: L.symmetric_cross_entropy(y, z, alpha=0.5)),
    "bootstrap": ({"mode": "hard"}, lambda y, z: L.bootstrap(y, z, mode="hard")),
    "sigmoid_focal": ({"gamma": 1.0}, lambda y, z: L.sigmoid_focal(tf.one_hot(y, C), z,
                                                                   gamma=1.0)),
    "label_aware_smoothing": ({"smooth_head": 0.4, "smooth_tail": 0.1},
                              lambda y, z: L.label_aware_smoothing(
                                  y, z, class_counts=COUNTS, smooth_head=0.4, smooth_tail=0.1)),
    "softmax_bce": ({}, L.softmax_binary_cross_entropy),
}


def test_registered_names():
  assert set(L.LOSSES.names()) == set(CASES)


@pytest.fixture(scope="module")
def batch():
  rng = np.random.default_rng(5)
  return (tf.constant(rng.integers(0, C, B), tf.int32),
          tf.constant(rng.normal(size=(B, C)), tf.float32))


@pytest.mark.parametrize("name", sorted(CASES))
def test_contract_shape_dtype_values(name, batch):
  labels, logits = batch
  kwargs, reference = CASES[name]
  built = L.build_loss(name, kwargs, CONTEXT)
  assert isinstance(built, L.PerExampleLoss) and built.reduction is None
  assert built.get_config().get("from_logits", True) is True
  loss = L.per_example(built)
  out = loss(labels, logits)
  assert out.shape == (B,) and out.dtype == tf.float32
  assert np.all(np.isfinite(out.numpy()))
  np.testing.assert_allclose(out, reference(labels, logits), rtol=1e-5)
  for dtype in (tf.float16, tf.bfloat16, tf.float64):
    other = loss(labels, tf.cast(logits, dtype))
    assert other.shape == (B,) and other.dtype == tf.float32


@pytest.mark.parametrize("name", sorted(CASES))
def test_traceable_with_finite_gradients(name, batch):
  labels, logits = batch
  loss = L.per_example(L.build_loss(name, CASES[name][0], CONTEXT))

  @tf.function(reduce_retracing=True)
  def step(y, z):
    with tf.GradientTape() as tape:
      tape.watch(z)
      per_example = loss(y, z)
      total = tf.nn.compute_average_loss(per_example, global_batch_size=B)
    return per_example, tape.gradient(total, z)

  per_example, grad = step(labels, logits)
  np.testing.assert_allclose(per_example, loss(labels, logits), rtol=1e-6)
  assert grad.shape == (B, C) and np.all(np.isfinite(grad.numpy()))
  assert np.any(grad.numpy() != 0)


def test_defaults_build_from_context_alone():
  for name in L.LOSSES.names():
    loss = L.per_example(L.build_loss(name, None, CONTEXT))
    assert loss(tf.constant([0, 3]), tf.zeros([2, C])).shape == (2,)


def test_per_example_reads_any_keras_loss():
  labels, logits = tf.constant([0, 3, 1]), tf.constant(np.eye(3, C) * 2.0, tf.float32)
  sparse = L.per_example(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  dense = L.per_example(keras.losses.CategoricalCrossentropy(from_logits=True))
  expected = L.sparse_cross_entropy(labels, logits)
  np.testing.assert_allclose(sparse(labels, logits), expected, rtol=1e-5)
  np.testing.assert_allclose(dense(labels, logits), expected, rtol=1e-5)
  with pytest.raises(ValueError, match="from_logits=False"):
    L.per_example(keras.losses.SparseCategoricalCrossentropy())
