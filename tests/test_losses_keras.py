"""The `keras.losses.Loss` subclasses: serialisation, model.compile / fit / save / load,
sample weights, and a learnable (Variable) alpha that receives gradients."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from framework import losses as L

C = 3
COUNTS = [50, 20, 5]

# class -> (constructor kwargs, sparse labels?); logits in, as the trainer passes them
LOGITS = {"from_logits": True}
CLASSES = {
    L.SparseCrossEntropyLoss: ({"label_smoothing": 0.1, "class_weights": [1.0, 2.0, 3.0],
                                **LOGITS}, True),
    L.CategoricalCrossEntropyLoss: ({"label_smoothing": 0.2, **LOGITS}, False),
    L.WeightedCrossEntropyLoss: ({"pos_weight": [1.0, 2.0, 5.0], **LOGITS}, False),
    L.BinaryFocalLoss: ({"gamma": 1.5, "alpha": 0.4, "apply_class_balancing": True, **LOGITS},
                        False),
    L.CategoricalFocalLoss: ({"gamma": 2.0, "alpha": [0.2, 0.3, 0.5], **LOGITS}, False),
    L.SparseFocalLoss: ({"gamma": 0.5, "alpha": 0.7, "label_smoothing": 0.1, **LOGITS}, True),
    L.LDAMLoss: ({"class_counts": COUNTS, "max_margin": 0.4, "scale": 10.0}, True),
    L.LogitAdjustedLoss: ({"class_counts": COUNTS, "tau": 1.5}, True),
    L.BalancedSoftmaxLoss: ({"class_counts": COUNTS}, True),
}
IDS = [cls.__name__ for cls in CLASSES]


@pytest.fixture(scope="module")
def data():
  rng = np.random.default_rng(11)
  y = rng.integers(0, C, size=24)
  return (rng.normal(size=(24, 5)).astype(np.float32), y,
          np.eye(C, dtype=np.float32)[y], rng.uniform(0.5, 2.0, 24).astype(np.float32))


@pytest.mark.parametrize("cls", list(CLASSES), ids=IDS)
def test_serialisation_round_trip(cls, data):
  kwargs, sparse = CLASSES[cls]
  loss = cls(**kwargs)
  assert keras.saving.get_registered_name(cls) == f"framework>{cls.__name__}"
  restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
  assert type(restored) is cls
  assert restored.get_config() == loss.get_config() == cls.from_config(
      loss.get_config()).get_config()
  _, y, onehot, sw = data
  z = np.random.default_rng(0).normal(size=(24, C)).astype(np.float32)
  target = y if sparse else onehot
  np.testing.assert_allclose(restored(target, z, sample_weight=sw),
                             loss(target, z, sample_weight=sw), rtol=1e-7)
  per_example = cls(reduction=None, **kwargs)(target, z)
  assert per_example.shape == (24,)
  np.testing.assert_allclose(loss(target, z, sample_weight=sw),
                             np.mean(per_example.numpy() * sw), rtol=1e-6)


@pytest.mark.parametrize("cls", list(CLASSES), ids=IDS)
@pytest.mark.slow
def test_compile_and_fit(cls, data):
  x, y, onehot, sw = data
  kwargs, sparse = CLASSES[cls]
  keras.utils.set_random_seed(1)
  model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(C)])
  model.compile(optimizer=keras.optimizers.SGD(0.05), loss=cls(**kwargs))
  history = model.fit(x, y if sparse else onehot, sample_weight=sw, epochs=3,
                      batch_size=8, verbose=0)
  losses = history.history["loss"]
  assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


@pytest.mark.slow
def test_saved_model_restores_the_loss(tmp_path, data):
  x, y, _, _ = data
  model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(C)])
  model.compile(optimizer="sgd", loss=L.SparseFocalLoss(gamma=2.0, alpha=[0.5, 1.0, 2.0],
                                                        from_logits=True))
  model.fit(x, y, epochs=1, verbose=0)
  path = tmp_path / "model.keras"
  model.save(path)
  restored = keras.models.load_model(path)
  assert isinstance(restored.loss, L.SparseFocalLoss)
  assert restored.loss.get_config()["alpha"] == [0.5, 1.0, 2.0]
  np.testing.assert_allclose(restored.evaluate(x, y, verbose=0),
                             model.evaluate(x, y, verbose=0), rtol=1e-6)


def test_learnable_alpha_receives_gradient(data):
  _, y, _, _ = data
  z = tf.constant(np.random.default_rng(2).normal(size=(24, C)), tf.float32)
  alpha = tf.Variable([1.0, 0.5, 2.0])
  loss = L.SparseFocalLoss(gamma=2.0, alpha=alpha, from_logits=True)
  with tf.GradientTape() as tape:
    value = loss(y, z)
  grad = tf.convert_to_tensor(tape.gradient(value, alpha))  # gather gives IndexedSlices
  unweighted = L.sparse_focal(y, z, gamma=2.0, alpha=None).numpy()
  expected = np.array([unweighted[y == c].sum() for c in range(C)]) / len(y)
  np.testing.assert_allclose(grad, expected, rtol=1e-5)
  alpha.assign([2.0, 2.0, 2.0])  # the loss reads the live value
  np.testing.assert_allclose(loss(y, z), 2.0 * unweighted.mean(), rtol=1e-6)
  assert loss.get_config()["alpha"] == [2.0, 2.0, 2.0]


def test_keras_defaults_and_the_class_axis():
  """Keras's defaults (probabilities in, alpha 0.25), and `axis` naming the class axis."""
  for cls in (L.SparseCrossEntropyLoss, L.BinaryFocalLoss, L.CategoricalFocalLoss,
              L.SparseFocalLoss, L.WeightedCrossEntropyLoss):
    assert cls().get_config()["from_logits"] is False, cls
  assert L.CategoricalFocalLoss().get_config()["alpha"] == 0.25
  z = np.random.default_rng(4).normal(size=(2, 3, 5)).astype(np.float32)  # classes on axis 1
  y = np.array([[0, 2, 1, 1, 0], [2, 2, 0, 1, 1]])
  moved = L.SparseFocalLoss(from_logits=True, axis=1, reduction=None)(y, z)
  last = L.SparseFocalLoss(from_logits=True, reduction=None)(y, np.moveaxis(z, 1, -1))
  np.testing.assert_allclose(moved, last, rtol=1e-6)
