"""Class-weight schemes (REFERENCE.md CIFAR-10-LT vectors, independent formulas) and
deferred re-weighting (`ClassWeighting`, `build_class_weighting`)."""

from __future__ import annotations

import ml_collections
import numpy as np
import pytest
import tensorflow as tf
from sklearn.utils.class_weight import compute_class_weight

from framework import losses as L
from framework.errors import ConfigError

CIFAR10_LT = np.array([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50])


def _digits(actual, expected, decimals):
  """Met to the digits given: within one unit of the last given digit."""
  np.testing.assert_array_less(np.abs(np.asarray(actual) - np.asarray(expected)),
                               10.0 ** -decimals)


def test_cifar10_lt_inverse_frequency():
  _digits(L.inverse_frequency(CIFAR10_LT),
          [0.2481, 0.4139, 0.6908, 1.1519, 1.9234, 3.2057, 5.3474, 8.9252, 14.9470, 24.812],
          4)


@pytest.mark.parametrize("beta,expected,decimals", [
    (0.9999, [0.05061, 0.07690, 0.12113, 0.19504, 0.31881, 0.52459, 0.86835, 1.44263,
              2.40922, 3.99272], 5),
    (0.999, [0.1812, 0.1894, 0.2157, 0.2729, 0.3785, 0.5606, 0.8688, 1.3862, 2.2585,
             3.6883], 4)])
def test_cifar10_lt_effective_number(beta, expected, decimals):
  _digits(L.effective_number(CIFAR10_LT, beta=beta), expected, decimals)


def test_cifar10_lt_ldam_margins_and_log_prior():
  _digits(L.ldam_margins(CIFAR10_LT), [0.1581, 0.1797, 0.2042, 0.2321, 0.2638, 0.2998,
                                       0.3407, 0.3872, 0.4405, 0.5], 4)
  _digits(L.log_prior(CIFAR10_LT), [-0.9087, -1.4206, -1.9326, -2.4440, -2.9567, -3.4675,
                                    -3.9792, -4.4915, -5.0071, -5.5139], 4)


def test_inverse_frequency_matches_sklearn_balanced():
  y = np.repeat(np.arange(10), CIFAR10_LT)
  ref = compute_class_weight("balanced", classes=np.arange(10), y=y)
  np.testing.assert_allclose(L.inverse_frequency(CIFAR10_LT), ref, rtol=1e-12)
  assert np.isclose(L.inverse_frequency(CIFAR10_LT)[y].mean(), 1.0)
  normalised = L.inverse_frequency(CIFAR10_LT, normalize=True)
  np.testing.assert_allclose(normalised.sum(), 10.0)
  np.testing.assert_allclose(normalised / normalised[0], ref / ref[0])


@pytest.mark.parametrize("scheme,power", [(L.inverse_sqrt, 0.5), (L.inverse_square, 2.0)])
def test_power_schemes(scheme, power):
  counts = np.array([400, 100, 25, 4])
  w = scheme(counts)
  np.testing.assert_allclose(w.sum(), 4.0)
  raw = counts.astype(np.float64) ** -power
  np.testing.assert_allclose(w, raw * 4.0 / raw.sum(), rtol=1e-12)
  np.testing.assert_allclose(w[1] / w[0], 4.0 ** power)


def test_effective_number_limits_and_formula():
  counts = np.array([1000, 100, 10, 1])
  np.testing.assert_array_equal(L.effective_number(counts, beta=0.0), np.ones(4))
  naive = (1 - 0.99) / (1 - 0.99 ** counts.astype(np.float64))
  np.testing.assert_allclose(L.effective_number(counts, 0.99), naive * 4 / naive.sum(),
                             rtol=1e-12)
  np.testing.assert_allclose(L.effective_number(counts, beta=1 - 1e-9),
                             L.inverse_frequency(counts, normalize=True), rtol=1e-5)


def test_custom_and_none():
  np.testing.assert_array_equal(L.uniform(np.array([3, 0, 1])), np.ones(3))
  np.testing.assert_array_equal(L.custom([1.0, 2.0, 0.5], class_counts=[5, 5, 5]),
                                [1.0, 2.0, 0.5])
  np.testing.assert_array_equal(L.custom({1: 3.0, "2": 0.5}, num_classes=4),
                                [1.0, 3.0, 0.5, 1.0])


def test_registry_names_and_build():
  assert set(L.CLASS_WEIGHTS.names()) == {"none", "inverse_frequency", "inverse_sqrt",
                                          "inverse_square", "effective_number", "custom"}
  counts = np.array([50, 10, 2])
  for name in L.CLASS_WEIGHTS.names():
    kwargs = {"weights": [1.0, 2.0, 3.0]} if name == "custom" else {}
    w = L.CLASS_WEIGHTS.build(name, kwargs, context={"class_counts": counts})
    assert w.shape == (3,) and np.all(np.isfinite(w)) and np.all(w > 0)


def test_deferred_reweighting_switches_at_start_epoch():
  cfg = ml_collections.ConfigDict({"scheme": "effective_number",
                                   "kwargs": {"beta": 0.9999}, "start_epoch": 160})
  cw = L.build_class_weighting(cfg, CIFAR10_LT)
  assert isinstance(cw, L.ClassWeighting) and cw.start_epoch == 160
  np.testing.assert_allclose(cw.weights, L.effective_number(CIFAR10_LT, 0.9999))
  assert not cw.weights.flags.writeable
  step = tf.function(lambda e: cw(e))
  for epoch, expected in [(0, np.ones(10)), (159, np.ones(10)), (160, cw.weights),
                          (199, cw.weights)]:
    for e in (tf.constant(epoch), tf.constant(epoch, tf.int64), tf.constant(float(epoch))):
      got = step(e)
      assert got.dtype == tf.float32 and got.shape == (10,)
      np.testing.assert_allclose(got, expected, rtol=1e-6)
  epoch_var = tf.Variable(0, dtype=tf.int64)
  traced = tf.function(lambda: cw(epoch_var))
  np.testing.assert_array_equal(traced(), np.ones(10))
  epoch_var.assign(170)
  np.testing.assert_allclose(traced(), cw.weights, rtol=1e-6)


def test_build_class_weighting_defaults_and_dict_config():
  cw = L.build_class_weighting(None, np.array([4, 2]))
  np.testing.assert_array_equal(cw(0), [1.0, 1.0])
  cw = L.build_class_weighting({"scheme": "inverse_frequency"}, np.array([30, 10]))
  np.testing.assert_allclose(cw(tf.constant(0)), [40 / 60, 40 / 20], rtol=1e-6)


@pytest.mark.parametrize("call,pieces", [
    (lambda: L.effective_number(CIFAR10_LT, beta=1.0), ["beta=1.0", "[0, 1)"]),
    (lambda: L.effective_number(CIFAR10_LT, beta=-0.1), ["beta=-0.1", "[0, 1)"]),
    (lambda: L.inverse_frequency([10, 0, 5]), ["class_counts[1]=0", "> 0"]),
    (lambda: L.inverse_sqrt([10, -1, 5]), ["class_counts", "-1.0", ">= 0"]),
    (lambda: L.effective_number([10, 0], 0.9), ["class_counts[1]=0"]),
    (lambda: L.custom([1.0, -2.0, 1.0]), ["weights[1]=-2.0", ">= 0"]),
    (lambda: L.custom([1.0, float("inf")]), ["weights[1]=inf", "finite"]),
    (lambda: L.custom([1.0, 2.0], num_classes=3), ["length 2", "(3)"]),
    (lambda: L.custom({5: 2.0}, num_classes=3), ["key 5", "[0, 3)"]),
    (lambda: L.ClassWeighting(weights=np.array([1.0, np.nan])), ["weights[1]=nan"]),
    (lambda: L.ClassWeighting(weights=np.ones(2), start_epoch=-3), ["start_epoch=-3"]),
])
def test_bad_parameters_raise_value_error(call, pieces):
  with pytest.raises(ValueError) as info:
    call()
  for piece in pieces:
    assert piece in str(info.value), str(info.value)


@pytest.mark.parametrize("cfg,pieces", [
    ({"scheme": "effective_number", "kwargs": {"beta": 1.5}},
     ["class_weights (effective_number)", "beta=1.5"]),
    ({"scheme": "inverse_frequencyy"}, ["class_weights.scheme='inverse_frequencyy'",
                                        "inverse_frequency"]),
    ({"scheme": "none", "kwargs": {"bogus": 1}}, ["class_weights.kwargs.bogus"]),
    ({"scheme": "none", "start_epoch": -1}, ["class_weights.start_epoch=-1", ">= 0"]),
])
def test_bad_config_raises_config_error(cfg, pieces):
  with pytest.raises(ConfigError) as info:
    L.build_class_weighting(cfg, np.array([10, 5]))
  assert "\n" not in str(info.value)
  for piece in pieces:
    assert piece in str(info.value), str(info.value)
