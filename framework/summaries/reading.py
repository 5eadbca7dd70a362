"""What a training summary reads of the weight state: O(sample + C) memory, whatever N.

Histograms, the inner quantiles and the per-example statistics of [N, C] tables are taken
over a fixed sample: `SAMPLE_SIZE` example indices drawn once from the run's seed (every
index when N is no larger), the same at every summary and after a resume, so a histogram
moves only when the weights do. Per class, the effective weight's sum, minimum, maximum
and number of zeros are exact: one XLA-compiled pass over the table in chunks of `CHUNK`
rows (segment reductions), so a summary never holds an [N] temporary. The rows read are gathered,
never the whole table; reading draws no random number and writes no variable, so training
is the same with summaries on or off.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from framework.weights import ALPHA, WEIGHT, WeightState
from framework.weights.effective import EffectiveWeights
from framework.weights.tables import flat_key

SAMPLE_SIZE = 4096
CHUNK = 1 << 18      # rows per step of the exact per-class pass
ZERO = 1e-6          # |w| below this counts as a zero weight (a sample switched off)
_SAMPLE_STREAM = 0x5A3E  # keeps the sample's random stream apart from others of the seed
# Per-example statistics of a per-sample table with a row of C values (ELR's targets).
ROW_STATISTICS = ("entropy", "max", "label")


def summary_sample(num_samples: int, seed: int, size: int = SAMPLE_SIZE) -> np.ndarray:
  """int64 [min(N, size)], sorted: the examples a run's summaries look at, from its seed."""
  if num_samples <= size:
    return np.arange(num_samples, dtype=np.int64)
  rng = np.random.default_rng([seed, _SAMPLE_STREAM])
  return np.sort(rng.choice(num_samples, size, replace=False)).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class WeightReading:
  """The state at a summary step: the sample's and tracked examples' rows, the small tables
  whole, and the exact per-class statistics of the effective weight."""
  sample_labels: np.ndarray          # int32 [S]
  sample_weight: np.ndarray          # float32 [S] effective weight of the sample
  tracked_weight: np.ndarray         # float32 [T] effective weight of the tracked examples
  sample_tables: dict[str, np.ndarray]  # '<per-sample table>[/<statistic>]' -> [S, ...]
  tables: dict[str, np.ndarray]      # per-class and shared tables, whole, by flat key
  class_weight: np.ndarray           # float32 [C], the class weights in force
  class_count: np.ndarray            # int64 [C] training examples
  class_sum: np.ndarray              # float64 [C] sum of the effective weights
  class_min: np.ndarray              # float32 [C] (+inf for an empty class)
  class_max: np.ndarray              # float32 [C] (-inf for an empty class)
  class_zeros: np.ndarray            # int64 [C] effective weights with |w| < ZERO


def _flat(tree: Mapping[str, Any], prefix: str) -> dict[str, Any]:
  out = {}
  for key, value in tree.items():
    name = f"{prefix}/{key}"
    out.update(_flat(value, name) if hasattr(value, "items") else {name: value})
  return out


def _row_statistics(rows: tf.Tensor, labels: tf.Tensor) -> dict[str, tf.Tensor]:
  """Per row of [R, C] values: entropy of the row as a distribution, its largest entry and
  the entry of the example's label."""
  total = tf.reduce_sum(rows, axis=1, keepdims=True)
  p = tf.math.divide_no_nan(rows, total)
  entropy = -tf.reduce_sum(tf.math.multiply_no_nan(tf.math.log(p), p), axis=1)
  return dict(zip(ROW_STATISTICS, (entropy, tf.reduce_max(rows, axis=1),
                                   tf.gather(rows, labels, batch_dims=1))))


class WeightReader:
  """Reads a `WeightState` for the training summaries (see the module docstring), in one
  compiled call (XLA for the pass over the table, which it fuses; the rest compiles faster
  without)."""

  def __init__(self, state: WeightState, effective: EffectiveWeights, sample: np.ndarray,
               tracked: np.ndarray):
    self.state, self.effective = state, effective
    self.sample, self.tracked = np.asarray(sample, np.int64), np.asarray(tracked, np.int64)
    labels = np.asarray(effective.labels, np.int32)
    self.num_classes = state.num_classes
    self.class_count = np.bincount(labels, minlength=self.num_classes).astype(np.int64)
    self._rows = np.concatenate([self.sample, self.tracked])
    self._labels = tf.constant(labels)
    self._importance = (None if effective.importance is None
                        else tf.constant(effective.importance, tf.float32))
    self._per_sample = _flat(state.per_sample, "per_sample")
    self._small = {**_flat(state.per_class, "per_class"), **_flat(state.shared, "shared")}
    self._read = tf.function(self._read_state)
    self._statistics = tf.function(self._class_statistics, jit_compile=True)

  def _effective(self, weight: tf.Tensor, factor: tf.Tensor, index: tf.Tensor,
                 labels: tf.Tensor) -> tf.Tensor:
    """The effective weights of examples `index` (labels `labels`) whose rule weights are
    `weight`: the float32 products of `effective_weights`, in the same order."""
    w = weight * tf.gather(factor, labels)
    return w if self._importance is None else w * tf.gather(self._importance, index)

  def _read_state(self, class_weight: tf.Tensor) -> tuple:
    """(effective weights of the sample and tracked rows, their rows of the other per-sample
    tables, the small tables, the per-class statistics)."""
    factor = class_weight * self.state.per_class[ALPHA]
    rows = tf.constant(self._rows)
    labels = tf.gather(self._labels, rows)
    gathered = {}
    for key, variable in self._per_sample.items():
      values = tf.gather(variable, rows)  # the rows only: never a copy of the table
      if key == flat_key("per_sample", WEIGHT):
        weight = self._effective(values, factor, rows, labels)
      elif values.shape.rank == 2 and values.shape[1] == self.num_classes:
        gathered.update({f"{key}/{name}": v
                         for name, v in _row_statistics(values, labels).items()})
      else:
        gathered[key] = values
    small = {key: tf.convert_to_tensor(variable) for key, variable in self._small.items()}
    return weight, gathered, small, self._statistics(factor)

  def _class_statistics(self, factor: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """Exact per-class sum, min, max and zero count of the effective weight, in chunks of
    `CHUNK` rows: XLA fuses each chunk's products into its reductions, so the pass holds
    no [N] temporary."""
    weight, c = tf.convert_to_tensor(self.state.per_sample[WEIGHT]), self.num_classes
    n = self._labels.shape[0]

    def chunk(start, size: int) -> tuple[tf.Tensor, ...]:
      index = tf.range(size) + start
      y = tf.slice(self._labels, [start], [size])
      w = self._effective(tf.slice(weight, [start], [size]), factor, index, y)
      return (tf.math.unsorted_segment_sum(tf.cast(w, tf.float64), y, c),
              tf.math.unsorted_segment_min(w, y, c), tf.math.unsorted_segment_max(w, y, c),
              tf.math.unsorted_segment_sum(tf.cast(tf.abs(w) < ZERO, tf.int64), y, c))

    def combine(a, b):
      return a[0] + b[0], tf.minimum(a[1], b[1]), tf.maximum(a[2], b[2]), a[3] + b[3]

    full = n // CHUNK  # whole chunks in a loop (static sizes, as XLA needs), then the rest
    total = (tf.zeros([c], tf.float64), tf.fill([c], np.float32(np.inf)),
             tf.fill([c], np.float32(-np.inf)), tf.zeros([c], tf.int64))
    if full:
      _, total = tf.while_loop(lambda k, _: k < full,
                               lambda k, t: (k + 1, combine(t, chunk(k * CHUNK, CHUNK))),
                               (tf.constant(0), total))
    if n % CHUNK:
      total = combine(total, chunk(full * CHUNK, n % CHUNK))
    return total

  def __call__(self, step: int) -> WeightReading:
    """The reading at `step` (whose class weights are those `step - 1` trained with)."""
    class_weight = self.effective.class_weight(step)
    weight, gathered, small, statistics = self._read(tf.constant(class_weight, tf.float32))
    weight, s = weight.numpy(), self.sample.size
    sums, lows, highs, zeros = (v.numpy() for v in statistics)
    return WeightReading(
        self.effective.labels[self.sample].astype(np.int32), weight[:s], weight[s:],
        {key: value.numpy()[:s] for key, value in gathered.items()},
        {key: value.numpy() for key, value in small.items()},
        class_weight, self.class_count, sums, lows, highs, zeros)
