"""Every registered rule passes the conformance checks `python -m framework.tools.check_rule` runs:
compiled once, finite, same state on one device and two replicas, checkpointed."""

from types import SimpleNamespace

import numpy as np
import pytest

import framework
from framework.train import conformance
from tests import example_rule  # noqa: F401  (registers example_focal_weights)

RULE_NAMES = framework.RULES.names()
CHECKS = ["trains on one device", "trains on two replicas", "single trace", "table shapes",
          "finite", "one device = two replicas", "checkpoint round trip"]


def test_every_builtin_rule_is_covered():
  for name in ("fixed", "sgd", "exp_gradient", "data_parameters", "superloss", "loss_ema",
               "elr", "co_teaching", "l2rw", "mwnet", "meta_alpha", "example_focal_weights"):
    assert name in RULE_NAMES


# The example rule is checked by `python -m framework.tools.check_rule` (tests/test_check_rule.py).
@pytest.mark.parametrize("name", [n for n in RULE_NAMES if n != "example_focal_weights"])
@pytest.mark.slow
def test_rule_conforms(name, tmp_path):
  checks = conformance.run_checks(name, directory=str(tmp_path))
  assert [c.name for c in checks] == CHECKS
  failed = [str(c) for c in checks if not c.passed]
  assert not failed, "\n".join(failed)


def _fake_run(weight, traces=1, diverged=""):
  """Just what the checks read of a trained experiment."""
  return SimpleNamespace(
      trainer=SimpleNamespace(trace_count=traces, diverged=diverged, current_step=3),
      state=SimpleNamespace(numpy=lambda: {"per_sample/weight": np.asarray(weight)}),
      model=SimpleNamespace(trainable_variables=[]),
      data=SimpleNamespace(train=[0] * len(weight), num_classes=2),
      strategy=SimpleNamespace(num_replicas_in_sync=2))


def test_checks_fail_on_what_they_check():
  good = _fake_run([1.0, 2.0])
  assert conformance.check_single_trace({"one device": good}).passed
  retraced = conformance.check_single_trace({"one device": good, "two": _fake_run([1.0], 3)})
  assert not retraced.passed and "3 on two" in retraced.reason
  assert not conformance.check_finite({"one device": _fake_run([1.0, np.nan])}).passed
  stopped = conformance.check_finite({"one device": _fake_run([1.0], diverged="the loss")})
  assert not stopped.passed and "the loss went non-finite" in stopped.reason
  assert not conformance.check_shapes(SimpleNamespace(
      state=good.state, data=SimpleNamespace(train=[0] * 3, num_classes=2))).passed
  mismatch = conformance.check_replicas(good, _fake_run([1.0, 2.5]))
  assert not mismatch.passed
  assert "per_sample/weight differs by up to 0.5 at row 1" in mismatch.reason
  assert "replica" in mismatch.reason
  assert conformance.check_replicas(good, _fake_run([1.0, 2.0 + 1e-7])).passed
