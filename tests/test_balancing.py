"""Weight balancing (MaxNorm, softmax binary cross-entropy) and MiSLAS (label-aware
smoothing, classifier fine-tuning with shifted batch norm): float64 NumPy re-derivations,
and the second stage trains what it should."""

import numpy as np
import pytest
import tensorflow as tf

from framework import losses, train
from framework.errors import ConfigError
from framework.evaluation import decoupled
from framework.models import MODELS
from framework.train.experiment import build
from tests.helpers import synthetic_config


def test_max_norm_projects_each_class_into_the_ball():
  rng = np.random.default_rng(0)
  kernel = rng.normal(size=(6, 5)) * np.array([3.0, 1.0, 0.2, 2.0, 0.5])
  norms = np.sqrt((kernel ** 2).sum(axis=0))
  radius = decoupled.max_norm_radius(kernel, 0.1)
  assert radius == pytest.approx(norms.min() + 0.1 * (norms.max() - norms.min()))
  projected = decoupled.ClassMaxNorm(radius)(tf.constant(kernel)).numpy()
  for c in range(5):
    expected = kernel[:, c] * (radius / norms[c] if norms[c] > radius else 1.0)
    np.testing.assert_allclose(projected[:, c], expected, rtol=1e-12)
  assert (norms > radius).sum() >= 3  # the check exercises both branches


def test_classifier_norms_are_the_heads_column_norms():
  model = MODELS.build("mlp", {"hidden": (8,)}, field="model",
                       context={"input_shape": (5,), "num_classes": 3})
  kernel = model.get_layer("logits").kernel.numpy().astype(np.float64)
  np.testing.assert_allclose(decoupled.classifier_norms(model),
                             [np.sqrt(np.sum(kernel[:, c] ** 2)) for c in range(3)], rtol=1e-12)


def test_label_aware_epsilons_by_hand():
  counts = [100, 50, 10]
  r = np.array([1.0, 40 / 90, 0.0])
  cases = {"concave": 0.3 * np.sin(np.pi / 2 * r), "linear": 0.3 * r,
           "convex": 0.3 + 0.3 * np.sin(1.5 * np.pi + np.pi / 2 * r)}
  for shape, expected in cases.items():
    np.testing.assert_allclose(losses.label_aware_epsilons(counts, 0.3, 0.0, shape),
                               expected, atol=1e-12, err_msg=shape)
  np.testing.assert_allclose(losses.label_aware_epsilons(counts, 0.4, 0.1, "exp", 2.0),
                             0.1 + 0.3 * r ** 2, atol=1e-12)
  assert losses.label_aware_epsilons(counts, 0.3, 0.0)[1] == pytest.approx(0.19283628, 1e-7)


def _log_softmax(z):
  z = z - z.max(axis=1, keepdims=True)
  return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_label_aware_smoothing_is_the_smoothed_targets_cross_entropy():
  rng = np.random.default_rng(1)
  z, y = rng.normal(size=(7, 3)) * 3, np.array([0, 1, 2, 2, 1, 0, 2])
  counts = np.array([100.0, 50.0, 10.0])
  eps = losses.label_aware_epsilons(counts)
  target = (1 - eps[y])[:, None] * np.eye(3)[y] + eps[y][:, None] / 3
  expected = -(target * _log_softmax(z)).sum(axis=1)
  got = losses.label_aware_smoothing(tf.constant(y), tf.constant(z), class_counts=counts)
  np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_softmax_binary_cross_entropy_against_numpy():
  rng = np.random.default_rng(2)
  z = np.concatenate([rng.normal(size=(6, 4)) * 4, [[0.0, 60.0, -3.0, 1.0]]])
  y = np.array([0, 1, 2, 3, 0, 1, 0])  # the last: a confident wrong prediction
  log_p = _log_softmax(z)
  # log(1 - p_c) = log sum_{k != c} p_k, exact where 1 - p_c rounds to 0 in float64
  log_not_p = np.array([[np.log(np.exp(np.delete(row, c)).sum()) for c in range(4)]
                        for row in log_p])
  t = np.eye(4)[y]
  expected = -np.mean(t * np.maximum(log_p, -100) + (1 - t) * np.maximum(log_not_p, -100),
                      axis=1)
  got = losses.softmax_binary_cross_entropy(tf.constant(y), tf.constant(z))
  np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9)
  assert got.numpy()[-1] == pytest.approx((60 + 58.67) / 4, abs=0.01)  # not clamped


def test_softmax_binary_cross_entropy_gradient_is_finite_where_p_rounds_to_one():
  z = tf.Variable([[0.0, 60.0, -3.0, 1.0], [200.0, 0.0, 0.0, 0.0]], dtype=tf.float64)
  y = tf.constant([0, 0])
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(losses.softmax_binary_cross_entropy(y, z))
  grad = tape.gradient(loss, z).numpy()
  assert np.all(np.isfinite(grad))
  eps, numeric = 1e-6, np.zeros_like(grad)
  for i in range(2):
    for c in range(4):
      step = np.zeros((2, 4))
      step[i, c] = eps
      up = losses.softmax_binary_cross_entropy(y, z + step).numpy().sum()
      down = losses.softmax_binary_cross_entropy(y, z - step).numpy().sum()
      numeric[i, c] = (up - down) / (2 * eps)
  np.testing.assert_allclose(grad, numeric, atol=1e-5)


def test_second_stage_config_errors():
  with pytest.raises(ConfigError, match="model.retrain='tune_head'"):
    build(synthetic_config(model__retrain="tune_head"))
  with pytest.raises(ConfigError, match="model.max_norm"):
    build(synthetic_config(model__max_norm=1.5))


@pytest.fixture(scope="module")
def stage_one(tmp_path_factory):
  """A finished run of a batch-norm model (a ResNet-8 on digits, one epoch)."""
  workdir = str(tmp_path_factory.mktemp("balancing") / "stage1")
  config = synthetic_config(data__source="digits", model__name="resnet_cifar",
                            model__kwargs={"depth": 8}, train__epochs=1)
  train.run(config, workdir, verbose=False)
  return workdir


@pytest.mark.slow
def test_weight_balancing_stage_two_trains_the_head_within_its_max_norm(stage_one):
  config = synthetic_config(data__source="digits", model__name="resnet_cifar",
                            model__kwargs={"depth": 8}, model__init_from=stage_one,
                            model__retrain="tune_head", model__max_norm=0.1,
                            loss__name="softmax_bce", optimizer__learning_rate=0.05)
  exp = build(config)
  head = exp.model.get_layer("logits")
  start = head.kernel.numpy().copy()
  radius = head.kernel.constraint.radius
  norms = np.linalg.norm(start, axis=0)
  assert radius == pytest.approx(norms.min() + 0.1 * (norms.max() - norms.min()), rel=1e-6)
  frozen = {v.path: v.numpy().copy() for v in exp.model.weights if "logits" not in v.path}
  exp.trainer.train(20)
  after = np.linalg.norm(head.kernel.numpy(), axis=0)
  assert np.all(after <= radius * (1 + 1e-5)) and np.sum(np.isclose(after, radius)) >= 1
  assert not np.array_equal(start, head.kernel.numpy())
  for variable in exp.model.weights:
    if variable.path in frozen:  # batch norm in inference mode: its statistics too
      np.testing.assert_array_equal(variable.numpy(), frozen[variable.path],
                                    err_msg=variable.path)


@pytest.mark.slow
def test_mislas_stage_two_shifts_batch_norm_statistics_only(stage_one):
  config = synthetic_config(data__source="digits", model__name="resnet_cifar",
                            model__kwargs={"depth": 8}, model__init_from=stage_one,
                            model__retrain="tune_head_shift_bn",
                            loss__name="label_aware_smoothing", data__sampler="class_balanced")
  exp = build(config)
  head = exp.model.get_layer("logits")
  before = {v.path: v.numpy().copy() for v in exp.model.weights}
  assert {v.path for v in exp.model.trainable_variables} == {head.kernel.path, head.bias.path}
  exp.trainer.train(10)
  for variable in exp.model.weights:
    moved = not np.array_equal(variable.numpy(), before[variable.path])
    statistic = "moving_" in variable.path
    assert moved == (statistic or "logits" in variable.path), variable.path
