"""Keras's own test cases for its focal losses, run on the project's focal classes.

Each test below makes exactly the constructor and `__call__` calls of Keras 3's
`BinaryFocalCrossentropyTest` / `CategoricalFocalCrossentropyTest`
(keras/src/losses/losses_test.py) and asserts Keras's expected values, with the class
swapped for the project's: the classes must behave like Keras's where Keras has the loss
(defaults included: from_logits=False, alpha=0.25, label_smoothing, reduction, dtype).
"""

import types

import numpy as np
from keras.src import testing

from framework import losses as framework_losses

# The name the Keras tests use -> the project's class.
losses = types.SimpleNamespace(BinaryFocalCrossentropy=framework_losses.BinaryFocalLoss,
                               CategoricalFocalCrossentropy=framework_losses.CategoricalFocalLoss)


class BinaryFocalCrossentropyTest(testing.TestCase):
  def test_config(self):
    self.run_class_serialization_test(losses.BinaryFocalCrossentropy(name="bfce"))

  def test_all_correct_unweighted(self):
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype="float32")
    obj = losses.BinaryFocalCrossentropy(gamma=1.5)
    loss = obj(y_true, y_true)
    self.assertAlmostEqual(loss, 0.0, 3)
    logits = np.array([[100.0, -100.0, -100.0], [-100.0, 100.0, -100.0],
                       [-100.0, -100.0, 100.0]])
    obj = losses.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
    loss = obj(y_true, logits)
    self.assertAlmostEqual(loss, 0.0, 3)

  def test_unweighted(self):
    y_true = np.asarray([1, 0, 1, 0]).reshape([2, 2])
    y_pred = np.asarray([0.9, 0.8, 0.7, 0.2], dtype=np.float32).reshape([2, 2])
    obj = losses.BinaryFocalCrossentropy(gamma=2.0)
    loss = obj(y_true, y_pred)
    self.assertAlmostEqual(loss, 0.268, 3)
    y_true = np.array([[1, 1, 0], [0, 1, 0]], dtype="float32")
    logits = np.array([[1.5, -2.7, 2.9], [-3.8, 1.2, -4.5]])
    obj = losses.BinaryFocalCrossentropy(gamma=3.0, from_logits=True)
    loss = obj(y_true, logits)
    self.assertAlmostEqual(loss, 0.799, 3)

  def test_scalar_weighted(self):
    y_true = np.asarray([1, 0, 1, 0]).reshape([2, 2])
    y_pred = np.asarray([0.9, 0.8, 0.7, 0.2], dtype=np.float32).reshape([2, 2])
    obj = losses.BinaryFocalCrossentropy(gamma=2.0)
    loss = obj(y_true, y_pred, sample_weight=1.23)
    self.assertAlmostEqual(loss, 0.3296, 3)
    y_true = np.array([[1, 1, 0], [0, 1, 0]], dtype="float32")
    logits = np.array([[1.5, -2.7, 2.9], [-3.8, 1.2, -4.5]])
    obj = losses.BinaryFocalCrossentropy(gamma=3.0, from_logits=True)
    loss = obj(y_true, logits, sample_weight=3.21)
    self.assertAlmostEqual(loss, 2.565, 3)

  def test_sample_weighted(self):
    y_true = np.asarray([1, 0, 1, 0]).reshape([2, 2])
    y_pred = np.asarray([0.9, 0.8, 0.7, 0.2], dtype=np.float32).reshape([2, 2])
    sample_weight = np.array([1.2, 3.4]).reshape((2, 1))
    obj = losses.BinaryFocalCrossentropy(gamma=2.0)
    loss = obj(y_true, y_pred, sample_weight=sample_weight)
    self.assertAlmostEqual(loss, 0.34415, 3)
    y_true = np.array([[1, 1, 0], [0, 1, 0]], dtype="float32")
    logits = np.array([[1.5, -2.7, 2.9], [-3.8, 1.2, -4.5]])
    obj = losses.BinaryFocalCrossentropy(gamma=3.0, from_logits=True)
    loss = obj(y_true, logits, sample_weight=sample_weight)
    self.assertAlmostEqual(loss, 0.95977, 3)

  def test_no_reduction(self):
    y_true = np.asarray([1, 0, 1, 0]).reshape([2, 2])
    y_pred = np.asarray([0.9, 0.8, 0.7, 0.2], dtype=np.float32).reshape([2, 2])
    obj = losses.BinaryFocalCrossentropy(gamma=2.0, reduction=None)
    loss = obj(y_true, y_pred)
    self.assertAllClose(loss, (0.515547, 0.020513))

  def test_dtype_arg(self):
    y_true = np.asarray([1, 0, 1, 0]).reshape([2, 2])
    y_pred = np.asarray([0.9, 0.8, 0.7, 0.2], dtype=np.float32).reshape([2, 2])
    obj = losses.BinaryFocalCrossentropy(dtype="bfloat16")
    loss = obj(y_true, y_pred)
    self.assertDType(loss, "bfloat16")


class CategoricalFocalCrossentropyTest(testing.TestCase):
  def test_config(self):
    self.run_class_serialization_test(losses.CategoricalFocalCrossentropy(name="cfce"))

  def test_all_correct_unweighted(self):
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype="int64")
    y_pred = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype="float32")
    cce_obj = losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0)
    loss = cce_obj(y_true, y_pred)
    self.assertAlmostEqual(loss, 0.0, 3)
    logits = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    cce_obj = losses.CategoricalFocalCrossentropy(from_logits=True)
    loss = cce_obj(y_true, logits)
    self.assertAlmostEqual(loss, 0.0, 3)

  def test_unweighted(self):
    cce_obj = losses.CategoricalFocalCrossentropy()
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    y_pred = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]],
                      dtype="float32")
    loss = cce_obj(y_true, y_pred)
    self.assertAlmostEqual(loss, 0.02059, 3)
    logits = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
    cce_obj = losses.CategoricalFocalCrossentropy(from_logits=True)
    loss = cce_obj(y_true, logits)
    self.assertAlmostEqual(loss, 0.000345, 3)

  def test_scalar_weighted(self):
    cce_obj = losses.CategoricalFocalCrossentropy()
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    y_pred = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]],
                      dtype="float32")
    loss = cce_obj(y_true, y_pred, sample_weight=2.3)
    self.assertAlmostEqual(loss, 0.047368, 3)
    logits = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
    cce_obj = losses.CategoricalFocalCrossentropy(from_logits=True)
    loss = cce_obj(y_true, logits, sample_weight=2.3)
    self.assertAlmostEqual(loss, 0.000794, 4)

  def test_sample_weighted(self):
    cce_obj = losses.CategoricalFocalCrossentropy()
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    y_pred = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]],
                      dtype="float32")
    sample_weight = np.array([[1.2], [3.4], [5.6]]).reshape((3, 1))
    loss = cce_obj(y_true, y_pred, sample_weight=sample_weight)
    self.assertAlmostEqual(loss, 0.06987, 3)
    logits = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
    cce_obj = losses.CategoricalFocalCrossentropy(from_logits=True)
    loss = cce_obj(y_true, logits, sample_weight=sample_weight)
    self.assertAlmostEqual(loss, 0.001933, 3)

  def test_no_reduction(self):
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    logits = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
    cce_obj = losses.CategoricalFocalCrossentropy(from_logits=True, reduction=None)
    loss = cce_obj(y_true, logits)
    self.assertAllClose(loss, (1.5096224e-09, 2.4136547e-11, 1.0360638e-03))

  def test_label_smoothing(self):
    logits = np.array([[4.9, -0.5, 2.05]])
    y_true = np.array([[1, 0, 0]])
    label_smoothing = 0.1
    cce_obj = losses.CategoricalFocalCrossentropy(from_logits=True,
                                                  label_smoothing=label_smoothing)
    loss = cce_obj(y_true, logits)
    expected_value = 0.06685
    self.assertAlmostEqual(loss, expected_value, 3)

  def test_dtype_arg(self):
    logits = np.array([[4.9, -0.5, 2.05]])
    y_true = np.array([[1, 0, 0]])
    cce_obj = losses.CategoricalFocalCrossentropy(from_logits=True, dtype="bfloat16")
    loss = cce_obj(y_true, logits)
    self.assertDType(loss, "bfloat16")
