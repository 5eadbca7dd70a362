"""The compiled trainer: traced once, one device == two replicas, no replica's rows dropped."""

import numpy as np
import pytest
import tensorflow as tf

import framework
from tests.helpers import parameters, synthetic_config, tables, train_steps

pytestmark = pytest.mark.slow  # every test trains or starts a process


@framework.register_rule("test_count_visits")
def count_visits() -> framework.Rule:
  """Adds 1 to the weight of every example a step sees (a probe of the scatter)."""
  def update(view, batch, result):
    return view.replace(per_sample={"weight": view.per_sample["weight"] + 1.0})
  return framework.Rule(update=update)


def test_traced_once_whatever_the_number_of_loops():
  exp = train_steps(synthetic_config(), num_steps=3, loops=2)
  exp.trainer.step.assign(0)  # as a checkpoint restore would: the streams are repositioned
  for n in (1, 5, 2):
    exp.trainer.train(n)
  assert exp.trainer.trace_count == 1
  assert int(exp.trainer.step.numpy()) == 8


# Adam, the default optimizer, is the 'fixed' rule's run in tests/test_rule_conformance.py.
@pytest.mark.parametrize("optimizer", ["sgd"])
def test_two_replicas_match_one_device(optimizer):
  one = train_steps(synthetic_config("one_device", optimizer__name=optimizer), 6)
  two = train_steps(synthetic_config("mirrored", optimizer__name=optimizer), 6)
  assert two.strategy.num_replicas_in_sync == 2
  for a, b in zip(parameters(one), parameters(two)):
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
  assert not np.allclose(parameters(one)[0], train_steps(synthetic_config(), 0).model
                         .trainable_variables[0].numpy()), "training changed nothing"


def test_rows_seen_by_every_replica_reach_the_table():
  config = synthetic_config("mirrored", rule__name="test_count_visits")
  exp = train_steps(config, num_steps=1)
  # The first global batch: replica 0 holds its first half, replica 1 its second half.
  first_batch = next(iter(tf.data.Dataset.from_tensor_slices(
      tf.random.experimental.stateless_shuffle(
          tf.range(len(exp.data.train.labels), dtype=tf.int64),
          seed=tf.constant([0, 0], tf.int64))).batch(32))).numpy()
  weight = tables(exp)["per_sample/weight"]
  replica_1_rows = first_batch[16:]
  np.testing.assert_array_equal(weight[replica_1_rows], 2.0)
  np.testing.assert_array_equal(weight[first_batch[:16]], 2.0)
  assert (weight == 1.0).sum() == len(weight) - 32
  for copy in exp.state.per_sample["weight"].values:  # every replica's copy agrees
    np.testing.assert_array_equal(copy.numpy(), weight)


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_float32_logits(precision):
  exp = train_steps(synthetic_config(precision=precision), num_steps=8)
  assert exp.model.layers[0].compute_dtype == precision.split("_")[1]
  assert all(np.isfinite(p).all() for p in parameters(exp))
  start = train_steps(synthetic_config(), num_steps=0)
  assert not np.allclose(parameters(exp)[0], parameters(start)[0])
