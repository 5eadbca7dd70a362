"""Per-sample and per-class weight state: variables beside the model's, checkpointed with it."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from framework.weights.rule import ALPHA, WEIGHT, Rule
from framework.weights.tables import Tables

# Every replica applies the same all-gathered update, so the first replica's value is
# the value; this aggregation lets replica-context assignment keep it on all copies.
_AGGREGATION = tf.VariableAggregation.ONLY_FIRST_REPLICA


def _variables(tree, prefix: str):
  """A nested dict of variables with the structure of `tree` (named by their paths)."""
  return {k: (_variables(v, f"{prefix}_{k}") if isinstance(v, dict) else
              tf.Variable(v, trainable=False, name=f"{prefix}_{k}", aggregation=_AGGREGATION,
                          synchronization=tf.VariableSynchronization.ON_WRITE))
          for k, v in tree.items()}


def _last_occurrence(index: tf.Tensor) -> tf.Tensor:
  """For each position j of `index` [B], the position of the last occurrence of index[j].

  Static shapes (a stable sort and segment ops, O(B log B)), so it compiles with XLA.
  """
  size = tf.shape(index)[0]
  order = tf.argsort(index, stable=True)
  ordered = tf.gather(index, order)
  starts = tf.concat([[True], ordered[1:] != ordered[:-1]], axis=0)
  group = tf.cumsum(tf.cast(starts, tf.int32)) - 1
  last = tf.gather(tf.math.unsorted_segment_max(order, group, size), group)
  return tf.scatter_nd(order[:, None], last, [size])


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
    for group, size, name in (("per_sample", num_samples, "num_samples"),
                              ("per_class", num_classes, "num_classes")):
      for key, value in Tables(**{group: getattr(initial, group)}).flat().items():
        if tf.convert_to_tensor(value).shape[:1] != [size]:
          raise ValueError(f"table {key!r} has shape {value.shape}; its first dimension "
                           f"must be {name}={size}")
    self.per_sample = _variables(dict(initial.per_sample), "sample")
    self.per_class = _variables(dict(initial.per_class), "class")
    self.shared = _variables(dict(initial.shared), "shared")

  def gather(self, index: tf.Tensor) -> Tables:
    """The view of a batch: its rows of each per-sample table, all of the others."""
    return Tables(tf.nest.map_structure(lambda v: tf.gather(v, index), self.per_sample),
                  tf.nest.map_structure(tf.convert_to_tensor, self.per_class),
                  tf.nest.map_structure(tf.convert_to_tensor, self.shared))

  def scatter(self, index: tf.Tensor, view: Tables, valid: tf.Tensor | None = None) -> None:
    """Writes a view back: rows of per-sample tables at `index`, the rest whole.

    An index present several times in `index` (a re-sampled batch) gets the row computed
    for its last occurrence, deterministically. Rows where `valid` is False (padding)
    are not written.
    """
    if valid is not None:
      kept = tf.where(valid)[:, 0]
      index = tf.gather(index, kept)
      view = view._replace(per_sample=tf.nest.map_structure(
          lambda rows: tf.gather(rows, kept), dict(view.per_sample)))
    last = _last_occurrence(index)
    tf.nest.map_structure(
        lambda variable, rows: variable.scatter_update(
            tf.IndexedSlices(tf.gather(rows, last), index)),
        self.per_sample, dict(view.per_sample))
    for group, values in ((self.per_class, view.per_class), (self.shared, view.shared)):
      tf.nest.map_structure(lambda variable, value: variable.assign(value), group, dict(values))

  def assign(self, tables: Tables) -> None:
    """Replaces the tables given (whole: N rows per per-sample table), e.g. an epoch pass's."""
    for group, values in zip((self.per_sample, self.per_class, self.shared), tables):
      for key, value in dict(values).items():
        tf.nest.map_structure(lambda variable, v: variable.assign(v), group[key], value)

  def tables(self) -> Tables:
    """The whole state as NumPy arrays, with the rule's structure (plain dicts)."""
    def plain(tree):
      return {k: plain(v) if hasattr(v, "items") else v.numpy() for k, v in tree.items()}
    return Tables(plain(self.per_sample), plain(self.per_class), plain(self.shared))

  def numpy(self) -> dict[str, np.ndarray]:
    """Every table as a NumPy array, keyed by its path ('per_sample/weight', ...)."""
    return self.tables().flat()
