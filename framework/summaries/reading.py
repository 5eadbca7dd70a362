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
from framework.weights.effective import EffectiveWeights, effective_weights
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
  return {"entropy": entropy, "max": tf.reduce_max(rows, axis=1),
          "label": tf.gather(rows, labels, batch_dims=1)}


class WeightReader:
  """Reads a `WeightState` for the training summaries (see the module docstring)."""

  def __init__(self, state: WeightState, effective: EffectiveWeights, sample: np.ndarray,
               tracked: np.ndarray):
    self.state, self.effective = state, effective
    self.sample, self.tracked = np.asarray(sample, np.int64), np.asarray(tracked, np.int64)
    labels = np.asarray(effective.labels, np.int32)
    self.num_classes = state.num_classes
    self.class_count = np.bincount(labels, minlength=self.num_classes).astype(np.int64)
    self._rows = np.concatenate([self.sample, self.tracked])
    self._row_labels = labels[self._rows]
    self._row_importance = (None if effective.importance is None
                            else np.asarray(effective.importance, np.float32)[self._rows])
    self._labels = tf.constant(labels)
    self._importance = (None if effective.importance is None
                        else tf.constant(effective.importance, tf.float32))
    self._per_sample = _flat(state.per_sample, "per_sample")
    self._read_rows = tf.function(self._gather)
    self._read_classes = tf.function(self._class_statistics, jit_compile=True)

  def _gather(self) -> dict[str, tf.Tensor]:
    """The sample's and tracked rows of every per-sample table (never a copy of a table);
    rows of C values as their `ROW_STATISTICS`."""
    rows, labels = tf.constant(self._rows), tf.constant(self._row_labels)
    gathered = {}
    for key, variable in self._per_sample.items():
      values = tf.gather(variable, rows)
      if values.shape.rank == 2 and values.shape[1] == self.num_classes:
        gathered.update({f"{key}/{name}": v
                         for name, v in _row_statistics(values, labels).items()})
      else:
        gathered[key] = values
    return gathered

  def _class_statistics(self, factor: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """Exact per-class sum, min, max and zero count of the effective weight (the float32
    products of `effective_weights`), in chunks of `CHUNK` rows: XLA fuses each chunk's
    products into its reductions, so the pass holds no [N] temporary."""
    weight, c = self.state.per_sample[WEIGHT].read_value(), self.num_classes
    n = self._labels.shape[0]

    def chunk(start, size: int) -> tuple[tf.Tensor, ...]:
      y = tf.slice(self._labels, [start], [size])
      w = tf.slice(weight, [start], [size]) * tf.gather(factor, y)
      if self._importance is not None:
        w = w * tf.slice(self._importance, [start], [size])
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
    small = {**_flat(self.state.per_class, "per_class"), **_flat(self.state.shared, "shared")}
    tables = {key: variable.numpy() for key, variable in small.items()}
    class_weight = self.effective.class_weight(step)
    alpha = tables[flat_key("per_class", ALPHA)]
    factor = np.asarray(class_weight, np.float32) * np.asarray(alpha, np.float32)
    statistics = self._read_classes(tf.constant(factor))
    gathered = {key: value.numpy() for key, value in self._read_rows().items()}
    weight = effective_weights({flat_key("per_sample", WEIGHT): gathered.pop(
        flat_key("per_sample", WEIGHT)), flat_key("per_class", ALPHA): alpha},
        self._row_labels, class_weight, self._row_importance)
    s = self.sample.size
    sums, lows, highs, zeros = (v.numpy() for v in statistics)
    return WeightReading(self._row_labels[:s], weight[:s], weight[s:],
                         {key: value[:s] for key, value in gathered.items()}, tables,
                         class_weight, self.class_count, sums, lows, highs, zeros)
