"""The three ways to apply inverse-frequency class weights give the same SGD step.

(a) Keras's loss with `fit(class_weight=...)`, (b) `fit(sample_weight=w[y])`, (c) our
weighted loss (`SparseCrossEntropyLoss(class_weights=w)`), and (d) the trainer's way
(registry loss, `ClassWeighting`, `tf.nn.compute_average_loss`): one full-batch SGD step
(lr 0.1, shuffle=False) from the same initial weights ends at the same parameters.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from framework import losses as L

pytestmark = pytest.mark.slow  # every test trains or starts a process

N, D, C = 30, 4, 3
LR = 0.1


@pytest.fixture(scope="module")
def setup():
  rng = np.random.default_rng(0)
  y = np.repeat(np.arange(C), [20, 7, 3]).astype(np.int32)
  x = (rng.normal(size=(N, D)) + y[:, None]).astype(np.float32)
  keras.utils.set_random_seed(0)
  model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(8, activation="tanh"),
                            keras.layers.Dense(C)])
  counts = np.bincount(y, minlength=C)
  weighting = L.build_class_weighting({"scheme": "inverse_frequency"}, counts)
  return x, y, model.get_weights(), model, weighting.weights


def _fresh(setup, loss):
  _, _, init, model, _ = setup
  clone = keras.models.clone_model(model)
  clone.set_weights(init)
  clone.compile(optimizer=keras.optimizers.SGD(LR), loss=loss, jit_compile=False)
  return clone


def _fit(setup, loss, **kwargs):
  x, y = setup[0], setup[1]
  model = _fresh(setup, loss)
  model.fit(x, y, batch_size=N, epochs=1, shuffle=False, verbose=0, **kwargs)
  return model.get_weights()


def _trainer_step(setup):
  """What the trainer does: w = class_weight[label]; compute_average_loss; SGD."""
  x, y, init, model, weights = setup
  clone = keras.models.clone_model(model)
  clone.set_weights(init)
  loss_fn = L.per_example(L.build_loss("cross_entropy", {}, {"class_counts": np.bincount(y)}))
  weighting = L.build_class_weighting(
      {"scheme": "inverse_frequency", "start_epoch": 0}, np.bincount(y))
  with tf.GradientTape() as tape:
    per_example = loss_fn(y, clone(x))
    w = tf.gather(weighting(tf.constant(0)), y)
    loss = tf.nn.compute_average_loss(w * per_example, global_batch_size=N)
  grads = tape.gradient(loss, clone.trainable_variables)
  for v, g in zip(clone.trainable_variables, grads):
    v.assign_sub(LR * g)
  return clone.get_weights()


def test_three_ways_give_identical_parameters(setup):
  _, y, init, _, w = setup
  np.testing.assert_allclose(w, N / (C * np.bincount(y)))
  keras_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  a = _fit(setup, keras_ce, class_weight={c: float(w[c]) for c in range(C)})
  b = _fit(setup, keras_ce, sample_weight=w[y].astype(np.float32))
  c = _fit(setup, L.SparseCrossEntropyLoss(class_weights=w, from_logits=True))
  d = _trainer_step(setup)
  unweighted = _fit(setup, keras_ce)
  for other in (b, c, d):
    for pa, po in zip(a, other):
      np.testing.assert_allclose(po, pa, rtol=0, atol=1e-6)
  # The step moved the parameters, and the weighting changed where it went.
  assert max(np.abs(pa - p0).max() for pa, p0 in zip(a, init)) > 1e-3
  assert max(np.abs(pa - pu).max() for pa, pu in zip(a, unweighted)) > 1e-4
