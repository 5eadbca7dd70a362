"""Per-sample and per-class weight state: variables beside the model's, checkpointed with it."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from framework.weights.rule import ALPHA, WEIGHT, Rule
from framework.weights.tables import Tables

# Every replica applies the same all-gathered update, so the first replica's value is
# the value; this aggregation lets replica-context assignment keep it on all copies.
_AGGREGATION = tf.VariableAggregation.ONLY_FIRST_REPLICA


def _variable(initial, name: str) -> tf.Variable:
  return tf.Variable(initial, trainable=False, name=name, aggregation=_AGGREGATION,
                     synchronization=tf.VariableSynchronization.ON_WRITE)


class WeightState(tf.Module):
  """The variables of a rule's tables: `weight` [N], `alpha` [C] and the rule's own.

  Per-sample work is O(batch): `gather` reads the rows of a batch into a view, `scatter`
  writes new rows back. A sharded backend for tables beyond ~10^8 rows would override
  these two methods only.
  """

  def __init__(self, num_samples: int, num_classes: int, rule: Rule):
    super().__init__(name="weight_state")
    self.num_samples, self.num_classes = num_samples, num_classes
    initial = Tables(
        {WEIGHT: tf.ones([num_samples])}, {ALPHA: tf.ones([num_classes])}, {}
    ).replace(*rule.init(num_samples, num_classes))
    for key, value in initial.per_sample.items():
      if value.shape[:1] != [num_samples]:
        raise ValueError(f"per-sample table {key!r} has shape {value.shape}; "
                         f"its first dimension must be num_samples={num_samples}")
    for key, value in initial.per_class.items():
      if value.shape[:1] != [num_classes]:
        raise ValueError(f"per-class table {key!r} has shape {value.shape}; "
                         f"its first dimension must be num_classes={num_classes}")
    self.per_sample = {k: _variable(v, f"sample_{k}") for k, v in initial.per_sample.items()}
    self.per_class = {k: _variable(v, f"class_{k}") for k, v in initial.per_class.items()}
    self.shared = {k: _variable(v, f"shared_{k}") for k, v in initial.shared.items()}

  def gather(self, index: tf.Tensor) -> Tables:
    """The view of a batch: its rows of each per-sample table, all of the others."""
    return Tables({k: tf.gather(v, index) for k, v in self.per_sample.items()},
                  {k: tf.convert_to_tensor(v) for k, v in self.per_class.items()},
                  {k: tf.convert_to_tensor(v) for k, v in self.shared.items()})

  def scatter(self, index: tf.Tensor, view: Tables) -> None:
    """Writes a view back: rows of per-sample tables at `index`, the rest whole."""
    for key, rows in view.per_sample.items():
      self.per_sample[key].scatter_update(tf.IndexedSlices(rows, index))
    for key, value in view.per_class.items():
      self.per_class[key].assign(value)
    for key, value in view.shared.items():
      self.shared[key].assign(value)

  def numpy(self) -> dict[str, np.ndarray]:
    """A snapshot of every table, keyed `sample/<name>`, `class/<name>`, `shared/<name>`."""
    groups = {"sample": self.per_sample, "class": self.per_class, "shared": self.shared}
    return {f"{g}/{k}": v.numpy() for g, tables in groups.items() for k, v in tables.items()}
