"""Class-aware samplers: an epoch's class frequencies are n_j^q / sum n_i^q, the order is a
pure function of (seed, epoch), and a run resumed mid-way ends bit-identical."""

import signal

import numpy as np
import pytest
import tensorflow as tf

from framework.data.stream import index_batches
from framework.data.samplers import ClassSampler, class_probabilities
from tests.test_launch import FAST, _checkpoint_values, launch, launch_here
from tests.test_reliability import _wait_for, with_loop_marker

COUNTS = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]  # CIFAR-10-LT, IR 100
LABELS = np.repeat(np.arange(10), COUNTS)
LENGTH = len(LABELS) // 128 * 128


def _frequencies(sampler, epoch, seed=0):
  order = sampler.epoch_order(tf.constant(seed, tf.int64), tf.constant(epoch, tf.int64),
                              LENGTH).numpy()
  return np.bincount(LABELS[order], minlength=10) / LENGTH, order


@pytest.mark.parametrize("kind, q", [("instance", 1.0), ("class_balanced", 0.0), ("sqrt", 0.5)])
def test_epoch_frequencies_match_n_to_the_q(kind, q):
  counts = np.asarray(COUNTS, np.float64)
  expected = counts ** q / (counts ** q).sum()
  for epoch in (0, 3):
    frequencies, order = _frequencies(ClassSampler(LABELS, kind), epoch)
    np.testing.assert_allclose(frequencies, expected, atol=0.01 * expected.max())
    assert np.abs(frequencies - expected).max() <= 1.0 / LENGTH + 1e-12  # up to one draw


def test_progressive_moves_from_instance_to_class_balanced():
  sampler = ClassSampler(LABELS, "progressive", total_epochs=10)
  for epoch, t in ((0, 0.0), (5, 0.5), (10, 1.0)):
    expected = (1 - t) * class_probabilities(COUNTS, 1.0) + t * class_probabilities(COUNTS, 0.0)
    frequencies, _ = _frequencies(sampler, epoch)
    assert np.abs(frequencies - expected).max() <= 1.0 / LENGTH + 1e-12


def test_orders_are_pure_functions_of_seed_and_epoch():
  sampler = ClassSampler(LABELS, "class_balanced")
  _, a = _frequencies(sampler, 2)
  _, b = _frequencies(ClassSampler(LABELS, "class_balanced"), 2)
  _, c = _frequencies(sampler, 3)
  _, d = _frequencies(sampler, 2, seed=1)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c) and not np.array_equal(a, d)
  whole = list(index_batches(len(LABELS), 128, 0, 0, sampler).take(250).as_numpy_iterator())
  resumed = list(index_batches(len(LABELS), 128, 0, 177, sampler).take(73).as_numpy_iterator())
  np.testing.assert_array_equal(np.stack(resumed), np.stack(whole[177:]))
  rare = [len(set(batch)) == len(batch) for batch in whole]
  assert all(rare), "no example twice in a batch while each class has more examples than draws"


@pytest.mark.slow
def test_a_resumed_run_with_a_sampler_ends_identical(tmp_path):
  args = FAST + ["--config.deterministic=True", "--config.data.sampler=class_balanced",
                 "--config.train.epochs=1000", "--config.model.name=mlp",
                 "--config.model.kwargs.hidden=(64,)", "--config.train.steps_per_loop=100000",
                 "--config.train.eval_every_epochs=1000",
                 "--config.logging.snapshot_every_epochs=0"]
  whole = with_loop_marker(args, tmp_path, tmp_path / "whole_steps.txt")
  assert launch_here(*whole, workdir=tmp_path / "whole").returncode == 0
  args = with_loop_marker(args, tmp_path, tmp_path / "steps.txt")
  process = launch(*args, workdir=tmp_path / "stopped", wait=False)
  _wait_for(tmp_path / "steps.txt")  # inside the (single, whole-run) compiled loop
  process.send_signal(signal.SIGTERM)
  process.communicate(timeout=120)
  assert process.returncode == 75
  assert launch_here(*args, workdir=tmp_path / "stopped").returncode == 0
  a, b = _checkpoint_values(tmp_path / "whole"), _checkpoint_values(tmp_path / "stopped")
  for key in a:
    np.testing.assert_array_equal(a[key], b[key], err_msg=key)
