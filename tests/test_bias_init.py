"""`model.bias_init`: the classifier's bias from the class prior, against float64 NumPy."""

import numpy as np
import pytest

from framework.errors import ConfigError
from framework.models import prior_bias
from framework.train.experiment import build
from helpers import synthetic_config


def _head_bias(model):
  return np.asarray(model.get_layer("logits").bias.numpy(), np.float64)


def test_prior_bias_softmax_and_sigmoid():
  counts = np.array([500, 158, 50, 16, 5])
  np.testing.assert_allclose(prior_bias(counts, sigmoid=False),
                             np.log(counts / 729.0), rtol=1e-15)
  # Cui et al.: pi = 1/C for each class, -log((1 - pi) / pi) = -log(C - 1)
  np.testing.assert_allclose(prior_bias(counts, sigmoid=True), np.full(5, -np.log(4.0)),
                             rtol=1e-15)
  with pytest.raises(ConfigError, match="class 2 has no training example"):
    prior_bias(np.array([3, 1, 0]), sigmoid=False)


@pytest.mark.parametrize("loss, sigmoid", [("cross_entropy", False), ("focal", False),
                                           ("sigmoid_focal", True), ("binary_focal", True)])
def test_built_model_starts_from_the_training_prior(loss, sigmoid):
  exp = build(synthetic_config(model__bias_init="prior", loss__name=loss))
  counts = np.bincount(exp.data.train.labels, minlength=exp.data.num_classes)
  expected = (np.full(len(counts), -np.log(len(counts) - 1.0)) if sigmoid else
              np.log(counts / counts.sum()))
  np.testing.assert_allclose(_head_bias(exp.model), expected, rtol=1e-6)
  if not sigmoid:  # softmax of the bias is the prior
    p = np.exp(_head_bias(exp.model))
    np.testing.assert_allclose(p / p.sum(), counts / counts.sum(), rtol=1e-6)


def test_zeros_is_the_default_and_peers_each_get_the_prior():
  assert not _head_bias(build(synthetic_config()).model).any()
  exp = build(synthetic_config(model__bias_init="prior", rule__name="co_teaching"))
  counts = np.bincount(exp.data.train.labels, minlength=exp.data.num_classes)
  for network in exp.model.networks:
    np.testing.assert_allclose(_head_bias(network), np.log(counts / counts.sum()), rtol=1e-6)


def test_bias_init_errors_are_one_line():
  with pytest.raises(ConfigError, match="model.bias_init='prior' needs a classifier bias"):
    build(synthetic_config(model__bias_init="prior", model__kwargs={"hidden": (8,),
                                                                     "head": "cosine"}))
  with pytest.raises(ConfigError, match="model.bias_init='mean'"):
    build(synthetic_config(model__bias_init="mean"))
  with pytest.raises(ConfigError, match="with model.init_from it needs model.retrain='head'"):
    build(synthetic_config(model__bias_init="prior", model__init_from="/tmp/run"))
