"""What training summaries read of the weight state: a fixed seeded sample, exact per-class
statistics in chunks, per-example statistics of [N, C] tables, NumPy histogram buckets,
and the trajectory heatmap once an epoch."""

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.plugins.histogram.summary_v2 import histogram_pb

from framework.summaries import (Board, NullWriter, OnlyMoving, WeightReader, reading,
                                 summary_sample, tracking)
from framework.summaries.actions import TrainingSummaries, training_families
from framework.summaries.writer import histogram_buckets
from framework.train.actions import LoopEnd
from framework.weights import RULES, WeightState
from framework.weights.effective import EffectiveWeights

N, C = 20_000, 4  # N above the sample size, so the sample is a strict subset


def _state(rule="loss_ema", n=N, c=C) -> WeightState:
  return WeightState(n, c, RULES.build(rule, {}, context={"num_classes": c}))


def _reader(state, labels, seed=0, class_weight=None, importance=None, tracked=(1, 2)):
  c = state.num_classes
  weights = np.ones(c, np.float32) if class_weight is None else class_weight
  effective = EffectiveWeights(labels, lambda epoch: weights, 10, importance)
  return WeightReader(state, effective, summary_sample(state.num_samples, seed),
                      np.asarray(tracked))


def test_the_sample_is_fixed_by_the_seed():
  sample = summary_sample(10**6, 3)
  assert sample.size == reading.SAMPLE_SIZE == len(set(sample.tolist()))
  assert np.all(np.diff(sample) > 0) and 0 <= sample[0] and sample[-1] < 10**6
  np.testing.assert_array_equal(summary_sample(10**6, 3), sample)
  assert not np.array_equal(summary_sample(10**6, 4), sample)
  np.testing.assert_array_equal(summary_sample(100, 3), np.arange(100))  # small: all of them


def test_every_summary_reads_the_same_sample_also_after_a_resume():
  labels = np.arange(N) % C
  state = _state()
  weight = state.per_sample["weight"]
  weight.assign(np.arange(N, dtype=np.float32))  # each example's weight is its index
  reader = _reader(state, labels, seed=7)
  first = reader(10).sample_weight
  weight.assign(2 * np.arange(N, dtype=np.float32))
  second = reader(20).sample_weight
  assert first.size == reading.SAMPLE_SIZE
  np.testing.assert_array_equal(second, 2 * first)  # the same examples, moved
  resumed_state = _state()  # a resumed run rebuilds its state and reader from its seed
  resumed_state.per_sample["weight"].assign(np.arange(N, dtype=np.float32))
  np.testing.assert_array_equal(_reader(resumed_state, labels, seed=7)(30).sample_weight,
                                first)


def test_class_statistics_are_exact_over_chunks(monkeypatch):
  monkeypatch.setattr(reading, "CHUNK", 1000)  # 5 whole chunks and a rest of 500
  n, rng = 5500, np.random.default_rng(1)
  labels = rng.integers(0, C, n).astype(np.int32)
  labels[labels == 3] = 2  # class 3 has no example
  weight = rng.random(n).astype(np.float32) * (rng.random(n) > 0.2)  # some zeros
  class_weight = np.array([0.5, 2.0, 1.5, 3.0], np.float32)
  importance = rng.random(n).astype(np.float32)
  state = _state(n=n)
  state.per_sample["weight"].assign(weight)
  got = _reader(state, labels, class_weight=class_weight, importance=importance)(10)
  w = weight * class_weight[labels] * importance
  for c in range(3):
    in_c = w[labels == c]
    assert got.class_count[c] == in_c.size
    assert got.class_sum[c] == pytest.approx(in_c.astype(np.float64).sum(), rel=1e-9)
    assert (got.class_min[c], got.class_max[c]) == (in_c.min(), in_c.max())
    assert got.class_zeros[c] == np.sum(in_c == 0)
  assert got.class_count[3] == got.class_zeros[3] == 0
  families = training_families(got)
  assert families["scalar:weights/quantile/p0"] == 0.0
  assert families["scalar:weights/quantile/p100"] == w.max()
  assert families["scalar:weights/fraction_zero"] == pytest.approx(np.mean(w == 0))
  np.testing.assert_allclose(families["class:mean_weight"][:3],
                             [w[labels == c].mean() for c in range(3)], rtol=1e-6)
  assert np.isnan(families["class:mean_weight"][3])


def test_extremes_are_exact_even_outside_the_sample():
  labels = np.arange(N) % C
  state = _state()
  outside = np.setdiff1d(np.arange(N), summary_sample(N, 0))[0]
  state.per_sample["weight"].scatter_update(tf.IndexedSlices(tf.constant([100.0]),
                                                             tf.constant([outside])))
  got = _reader(state, labels)(10)
  families = training_families(got)
  assert families["scalar:weights/quantile/p100"] == 100.0
  assert families["histogram:weights/all"].max() == 1.0  # the histogram is the sample's


def test_rows_of_class_values_are_summarised_per_example():
  state = _state("elr", n=6, c=3)
  target = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]] * 2, np.float32)
  state.per_sample["target"].assign(target)
  labels = np.array([0, 0, 2, 1, 1, 0])
  got = _reader(state, labels)(10).sample_tables
  np.testing.assert_allclose(got["per_sample/target/entropy"][:3],
                             [np.log(2), 0.0, -np.sum([.2, .3, .5] * np.log([.2, .3, .5]))],
                             rtol=1e-6)
  np.testing.assert_allclose(got["per_sample/target/max"], [0.5, 1.0, 0.5] * 2)
  np.testing.assert_allclose(got["per_sample/target/label"], [0.5, 1.0, 0.5, 0.5, 0.0, 0.2])
  assert "per_sample/target" not in got and got["per_sample/agreement"].shape == (6,)


@pytest.mark.parametrize("values", [np.random.default_rng(0).gamma(2.0, size=999),
                                    np.full(7, 0.25), np.array([])])
def test_histogram_buckets_are_tensorboards(values):
  expected = tf.make_ndarray(histogram_pb("t", values, 30).value[0].tensor)
  np.testing.assert_allclose(histogram_buckets(values, 30), expected, rtol=1e-12)


class _Images(NullWriter):
  def __init__(self):
    self.steps = []

  def write_images(self, step, images, descriptions=None):
    self.steps.append(step)


def test_the_heatmap_is_redrawn_once_an_epoch_and_at_the_end():
  labels = np.arange(100) % 2
  state = _state(n=100, c=2)
  tracked = tracking.choose_tracked(labels, None, 2, 1, 0)
  images = _Images()
  summaries = TrainingSummaries(Board(images, NullWriter()), _reader(state, labels,
                                tracked=tracked.indices), lambda: 0.1, lambda: 0, tracked,
                                ["a", "b"], ["a #0", "b #1"], 1, 8, OnlyMoving())
  for step in range(5, 80, 5):  # 10 steps an epoch
    state.per_sample["weight"].assign(np.full(100, float(step), np.float32))
    summaries.run(LoopEnd(step, step // 5, step == 75, 1.0))
  assert images.steps == [10, 20, 30, 40, 50, 60, 70, 75]


@pytest.mark.slow
def test_summaries_leave_training_bit_identical(tmp_path):
  from framework import train
  from tests.tensorboard_run import noisy_config
  results, snapshots = {}, {}
  for every in (1, 0):
    workdir = tmp_path / f"every_{every}"
    results[every] = train.run(noisy_config(train__epochs=2, logging__summary_every_loops=every),
                               str(workdir), verbose=False)
    final = sorted((workdir / "weights").iterdir())[-1]
    with np.load(final) as f:
      snapshots[every] = {k: f[k] for k in f.files}
  assert results[1]["history"] == results[0]["history"]
  assert results[1]["final"]["accuracy"] == results[0]["final"]["accuracy"]
  assert snapshots[1].keys() == snapshots[0].keys()
  for key in snapshots[0]:
    np.testing.assert_array_equal(snapshots[1][key], snapshots[0][key], err_msg=key)
