"""Class-aware re-sampling of the training stream (Kang et al. 2020), `data.sampler`.

Class j is drawn with probability p_j = n_j^q / sum_i n_i^q: q = 1 `instance` (plain
shuffling, the default), q = 0 `class_balanced`, q = 1/2 `sqrt`; `progressive` moves
from instance- to class-balanced over the run, p_j(t) = (1 - t/T) p_IB + (t/T) p_CB with t
the epoch and T = train.epochs. An epoch is still N // B steps of B examples. Each is
registered in `SAMPLERS` as (class counts, epoch, T) -> p_j.

Each epoch's order is a pure function of (seed, epoch), so resume stays exact: the N // B
* B draws are split among the classes by largest-remainder rounding of their expected
counts (so an epoch's class frequencies are the p_j up to one draw), shuffled, and the
draws of class j take its examples in a fresh seeded permutation, cycling through it when
j is drawn more often than it has examples. The work is O(N log N) per epoch in the input
pipeline; the trainer's per-step work stays O(batch).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from framework.config.registry import Registry

# name -> (class counts [C], epoch, total epochs) -> p_j at that epoch [C] (float64)
SAMPLERS: Registry[tf.Tensor] = Registry("sampler")


def class_probabilities(counts: np.ndarray, q: float) -> np.ndarray:
  """p_j = n_j^q / sum_i n_i^q over the classes that have examples."""
  counts = np.asarray(counts, np.float64)
  powered = np.where(counts > 0, counts ** q, 0.0)
  return powered / powered.sum()


def _power(q: float):
  def probabilities(counts: np.ndarray, epoch: tf.Tensor, total_epochs: int) -> tf.Tensor:
    del epoch, total_epochs  # the same every epoch
    return tf.constant(class_probabilities(counts, q), tf.float64)
  return probabilities


SAMPLERS.register("instance")(_power(1.0))
SAMPLERS.register("class_balanced")(_power(0.0))
SAMPLERS.register("sqrt")(_power(0.5))


@SAMPLERS.register("progressive")
def progressive(counts: np.ndarray, epoch: tf.Tensor, total_epochs: int) -> tf.Tensor:
  """From instance- to class-balanced: (1 - t/T) p_IB + (t/T) p_CB."""
  t = tf.minimum(tf.cast(epoch, tf.float64) / total_epochs, 1.0)
  return (1.0 - t) * class_probabilities(counts, 1.0) + t * class_probabilities(counts, 0.0)


class ClassSampler:
  """Epoch orders of example indices drawn class-wise (see the module docstring)."""

  def __init__(self, labels: np.ndarray, kind: str, total_epochs: int = 1):
    self.draw_probabilities = SAMPLERS.get(kind, "sampler")
    labels = np.asarray(labels, np.int64)
    self.kind, self.total_epochs = kind, max(int(total_epochs), 1)
    self.counts = np.bincount(labels)
    self.labels = tf.constant(labels)
    self.starts = tf.constant(np.concatenate([[0], np.cumsum(self.counts)[:-1]]), tf.int64)
    self.sizes = tf.constant(self.counts, tf.int64)

  def probabilities(self, epoch: tf.Tensor) -> tf.Tensor:
    """p_j at `epoch` [C] (float64)."""
    return self.draw_probabilities(self.counts, epoch, self.total_epochs)

  def epoch_order(self, seed: tf.Tensor, epoch: tf.Tensor, length: int) -> tf.Tensor:
    """int64 [length] example indices of epoch `epoch`."""
    expected = self.probabilities(epoch) * length
    counts = tf.cast(tf.floor(expected), tf.int64)
    remainder = length - tf.reduce_sum(counts)
    by_fraction = tf.argsort(expected - tf.floor(expected), direction="DESCENDING", stable=True)
    extra = tf.cast(tf.range(tf.size(counts)) < tf.cast(remainder, tf.int32), tf.int64)
    counts += tf.scatter_nd(by_fraction[:, None], extra, tf.shape(counts))
    classes = tf.repeat(tf.range(tf.size(counts, tf.int64), dtype=tf.int64), counts)
    key = lambda stream: tf.random.experimental.stateless_fold_in(tf.stack([seed, epoch]), stream)
    classes = tf.random.experimental.stateless_shuffle(classes, seed=key(1))
    # the k-th draw of class j takes the k-th (mod n_j) example of j's permutation
    order = tf.argsort(classes, stable=True)
    ranks = tf.scatter_nd(order[:, None], tf.range(length, dtype=tf.int64) - tf.gather(
        self._group_starts(tf.gather(classes, order)), tf.range(length)), [length])
    shuffled = tf.random.experimental.stateless_shuffle(
        tf.range(tf.size(self.labels, tf.int64), dtype=tf.int64), seed=key(2))
    members = tf.gather(shuffled, tf.argsort(tf.gather(self.labels, shuffled), stable=True))
    position = tf.gather(self.starts, classes) + ranks % tf.gather(self.sizes, classes)
    return tf.gather(members, position)

  @staticmethod
  def _group_starts(sorted_classes: tf.Tensor) -> tf.Tensor:
    """For each position of a sorted vector, the position where its run of equal values starts."""
    length = tf.size(sorted_classes)
    is_start = tf.concat([[True], sorted_classes[1:] != sorted_classes[:-1]], axis=0)
    group = tf.cumsum(tf.cast(is_start, tf.int32)) - 1
    first = tf.math.unsorted_segment_min(tf.range(length, dtype=tf.int64), group, length)
    return tf.gather(first, group)
