"""The input stream: epoch-aligned batches (no index twice in a batch or an epoch), one
meaning of "epoch" for stream and trainer, the same global batches on one and two replicas."""

import numpy as np
import pytest
import tensorflow as tf

import framework
from framework.data.stream import distributed_stream, index_batches
from framework.train.distribute import make_strategy
from tests.helpers import synthetic_config, tables, train_steps


@framework.register_rule("test_epoch_stamp")
def epoch_stamp(steps_per_epoch: int = 1) -> framework.Rule:
  """Writes 10 + the trainer's epoch (step // steps_per_epoch) into every row it sees."""
  def update(view, batch, result):
    epoch = tf.cast(result.step // steps_per_epoch, tf.float32)
    return view.replace(per_sample={"weight": tf.fill(tf.shape(batch.index), epoch + 10.0)})
  return framework.Rule(update=update)


def _epoch(num_examples, batch, seed, epoch):
  per_epoch = num_examples // batch
  stream = index_batches(num_examples, batch, seed, epoch * per_epoch).take(per_epoch)
  return np.stack(list(stream.as_numpy_iterator()))


@pytest.mark.parametrize("num_examples, batch", [(103, 10), (218, 32), (64, 16)])
def test_no_index_twice_in_a_batch_or_an_epoch(num_examples, batch):
  per_epoch = num_examples // batch
  stream = list(index_batches(num_examples, batch, seed=3).take(30 * per_epoch)
                .as_numpy_iterator())
  for step, rows in enumerate(stream):
    assert len(set(rows.tolist())) == batch, f"step {step} repeats an index"
  for epoch in range(30):
    seen = np.concatenate(stream[epoch * per_epoch:(epoch + 1) * per_epoch])
    assert len(set(seen.tolist())) == per_epoch * batch  # an epoch never repeats an index
    np.testing.assert_array_equal(seen.reshape(per_epoch, batch), _epoch(num_examples, batch, 3,
                                                                         epoch))


def test_resuming_at_any_step_continues_the_same_stream():
  whole = list(index_batches(50, 8, seed=1).take(40).as_numpy_iterator())
  for start in (0, 5, 6, 7, 23):
    resumed = list(index_batches(50, 8, seed=1, start_step=start).take(40 - start)
                   .as_numpy_iterator())
    np.testing.assert_array_equal(np.stack(resumed), np.stack(whole[start:]))


def test_two_replicas_hold_the_halves_of_the_same_global_batches():
  one = make_strategy(synthetic_config().strategy)
  two = make_strategy(synthetic_config("mirrored").strategy)
  split = train_steps(synthetic_config(), 0).data.train
  a = iter(distributed_stream(one, split, 32, seed=0))
  b = iter(distributed_stream(two, split, 32, seed=0))
  for _ in range(3 * (len(split) // 32)):
    whole = next(a)["index"].numpy()
    halves = two.experimental_local_results(next(b)["index"])
    np.testing.assert_array_equal(np.concatenate([h.numpy() for h in halves]), whole)
    assert len(set(whole.tolist())) == 32


@pytest.mark.parametrize("strategy", ["one_device", "mirrored"])
@pytest.mark.slow
def test_trainer_epoch_is_the_stream_epoch(strategy):
  config = synthetic_config(strategy)
  exp = train_steps(config, 0)
  per_epoch, n = exp.steps_per_epoch, len(exp.data.train)
  config.rule.name, config.rule.kwargs = "test_epoch_stamp", {"steps_per_epoch": per_epoch}
  exp = train_steps(config, 0)
  for epoch in range(3):  # loops that straddle nothing: 2 steps, then the rest of the epoch
    exp.trainer.train(2)
    exp.trainer.train(per_epoch - 2)
    stamped = np.flatnonzero(tables(exp)["per_sample/weight"] == epoch + 10)
    expected = _epoch(n, 32, config.seed, epoch).ravel()
    np.testing.assert_array_equal(stamped, np.sort(expected))
  assert exp.trainer.trace_count == 1
