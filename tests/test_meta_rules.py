"""The meta rules' own pieces: kwargs validation and V (their optimisers: test_optim.py)."""

import numpy as np
import pytest
import tensorflow as tf

from framework.errors import ConfigError
from framework.weights.meta import vnet
from framework.weights.meta.mwnet import init_vnet
from framework.weights.rule import RULES


@pytest.mark.parametrize("name,kwargs,message", [
    ("l2rw", {"inner_lr": 0.0}, "inner_lr=0.0"),
    ("l2rw", {"ema_decay": 1.0}, "ema_decay=1.0"),
    ("mwnet", {"meta_lr": -1e-3}, "meta_lr=-0.001"),
    ("mwnet", {"weight_decay": -1}, "weight_decay=-1"),
    ("mwnet", {"hidden": 0}, "hidden=0"),
    ("mwnet", {"meta_optimizer": "rmsprop"}, "meta_optimizer='rmsprop'"),
    ("mwnet", {"meta_nesterov": True}, "meta_nesterov=True"),  # Adam has no Nesterov
    ("mwnet", {"meta_optimizer": "sgd", "meta_momentum": 1.0}, "meta_momentum=1.0"),
    ("mwnet", {"meta_optimizer": "sgd", "meta_momentum": 0, "meta_nesterov": True},
     "meta_nesterov=True"),
    ("mwnet", {"meta_optimizer": "sgd", "meta_nesterov": "yes"}, "meta_nesterov='yes'"),
    ("meta_alpha", {"meta_lr": 0}, "meta_lr=0"),
    ("meta_alpha", {"inner_lr": "x"}, "inner_lr='x'"),
])
def test_bad_kwargs_name_parameter_and_value(name, kwargs, message):
  with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
    RULES.build(name, kwargs, field="rule")


@pytest.mark.parametrize("name", ["l2rw", "mwnet", "meta_alpha"])
def test_meta_rules_need_validation(name):
  rule = RULES.build(name, {})
  assert rule.needs_validation and rule.meta is not None


def test_vnet_is_a_sigmoid_mlp_of_the_loss():
  theta = {k: tf.constant(v) for k, v in init_vnet(100, seed=0).items()}
  loss = np.array([0.0, 0.5, 3.0], np.float32)
  hidden = np.maximum(loss[:, None] @ theta["w1"].numpy() + theta["b1"].numpy(), 0)
  expected = 1 / (1 + np.exp(-(hidden @ theta["w2"].numpy() + theta["b2"].numpy())))
  np.testing.assert_allclose(vnet(theta, tf.constant(loss)), expected[:, 0], rtol=1e-6)
  assert theta["w1"].shape == (1, 100) and theta["w2"].shape == (100, 1)
