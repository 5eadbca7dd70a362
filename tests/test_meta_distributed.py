"""Meta rules in the compiled trainer: one device == two replicas, traced once, checkpointed."""

import numpy as np
import pytest

from tests.helpers import parameters, synthetic_config, tables, train_steps

pytestmark = pytest.mark.slow  # every test trains or starts a process


def _config(strategy, rule, **kwargs):
  return synthetic_config(strategy, rule__name=rule, rule__kwargs=kwargs, data__val_per_class=8)


# Default kwargs: the conformance suite (tests/test_rule_conformance.py) checks every rule on
# one device against two replicas, its single trace and its checkpoint round trip.
@pytest.mark.parametrize("rule, kwargs", [("mwnet", {"normalize": True}),
                                          ("l2rw", {"inner_lr": "model"})])
def test_two_replicas_match_one_device(rule, kwargs):
  one = train_steps(_config("one_device", rule, **kwargs), num_steps=3, loops=2)
  two = train_steps(_config("mirrored", rule, **kwargs), num_steps=3, loops=2)
  assert two.strategy.num_replicas_in_sync == 2 and two.trainer.trace_count == 1
  for a, b in zip(parameters(one), parameters(two)):
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
  a, b = tables(one), tables(two)
  assert a.keys() == b.keys()
  for key in a:
    assert np.isfinite(a[key]).all(), key
    np.testing.assert_allclose(a[key], b[key], atol=1e-5, rtol=1e-5, err_msg=key)
  changed = {"l2rw": "per_sample/running", "mwnet": "shared/vnet/w1", "meta_alpha": "per_class/alpha"}
  fresh = tables(train_steps(_config("one_device", rule), num_steps=0))
  assert not np.allclose(a[changed[rule]], fresh[changed[rule]]), "the rule learned nothing"


def test_meta_alpha_with_focal_loss_learns_finite_alpha():
  exp = train_steps(synthetic_config("one_device", rule__name="meta_alpha", data__val_per_class=8,
                                     loss__name="focal", loss__kwargs={"gamma": 2.0}), 6)
  alpha = tables(exp)["per_class/alpha"]
  assert np.isfinite(alpha).all() and (alpha > 0).all() and not np.allclose(alpha, 1.0)
  np.testing.assert_allclose(alpha.mean(), 1.0, rtol=1e-5)
