"""The small structures a weight-update rule reads and returns."""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import tensorflow as tf


GROUPS = ("per_sample", "per_class", "shared")


def flat_key(group: str, *path: str) -> str:
  """The flat name of a table, as snapshots store it: flat_key("per_sample", "weight") is
  'per_sample/weight'."""
  return "/".join((group,) + path)


def split_key(key: str) -> tuple[str, tuple[str, ...]]:
  """The inverse of `flat_key`: 'shared/adam/m' -> ("shared", ("adam", "m"))."""
  group, *path = key.split("/")
  return group, tuple(path)


class Tables(NamedTuple):
  """A rule's state: named tensors, or nested structures of them, grouped by indexing.

  In the trainer's state every `per_sample` leaf has first dimension N (one row per
  training example, keyed by its index); in the view a rule sees, they are the rows of
  the current batch, first dimension B. `per_class` leaves have first dimension C,
  `shared` leaves any shape (counters, EMAs, a small network's parameters and its
  optimiser state). An entry may be a nested dict, e.g. {"vnet": {"w1": ...}, "adam":
  {"m": {...}, "v": {...}, "count": ...}}.
  """
  per_sample: Mapping[str, Any] = {}
  per_class: Mapping[str, Any] = {}
  shared: Mapping[str, Any] = {}

  def replace(self, per_sample=None, per_class=None, shared=None) -> "Tables":
    """Returns a copy whose top-level entries given here override this one's."""
    return Tables(dict(self.per_sample, **(per_sample or {})),
                  dict(self.per_class, **(per_class or {})),
                  dict(self.shared, **(shared or {})))

  def map(self, fn: Callable[[tf.Tensor], tf.Tensor]) -> "Tables":
    """Applies `fn` to every leaf."""
    return Tables(*(tf.nest.map_structure(fn, dict(group)) for group in self))

  def flat(self) -> dict[str, Any]:
    """Every leaf keyed by its path, e.g. 'per_sample/weight', 'shared/adam/m/w1'."""
    return {flat_key(group, *map(str, path)): leaf
            for group, tree in zip(GROUPS, self)
            for path, leaf in _paths(tree)}

  @classmethod
  def from_flat(cls, flat: Mapping[str, Any]) -> "Tables":
    """The inverse of `flat`."""
    groups = {group: {} for group in GROUPS}
    for key, leaf in flat.items():
      group, path = split_key(key)
      node = groups[group]
      for name in path[:-1]:
        node = node.setdefault(name, {})
      node[path[-1]] = leaf
    return cls(**groups)


def check_update(given: Tables, returned: Tables) -> None:
  """A ValueError when the view a rule's `update` returned has a table of another shape or
  dtype than the view it was given (a per-sample table with 2B rows for B examples would
  otherwise be cut to B rows). Read from static shapes while the step is traced: no cost per
  step; a dimension unknown at trace time (under a distribution strategy) passes."""
  before = given.flat()
  for key, leaf in returned.flat().items():
    if key not in before or not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
      continue
    was, now = before[key], leaf
    same_dtype = tf.as_dtype(now.dtype) == tf.as_dtype(was.dtype)
    if not same_dtype or not tf.TensorShape(now.shape).is_compatible_with(was.shape):
      error = ValueError(
          f"the rule's update returned {key} of shape {tf.TensorShape(now.shape)} "
          f"{tf.as_dtype(now.dtype).name}; the view it was given holds "
          f"{tf.TensorShape(was.shape)} {tf.as_dtype(was.dtype).name}; allowed: every table "
          "with its shape (one row per example of the batch for per-sample tables) and dtype")
      error.ag_pass_through = True  # AutoGraph raises it as is, not in a wall of frames
      raise error


def _paths(tree: Mapping[str, Any], prefix: tuple = ()) -> list[tuple[tuple, Any]]:
  out = []
  for key, value in tree.items():
    if isinstance(value, Mapping):
      out += _paths(value, prefix + (key,))
    else:
      out.append((prefix + (key,), value))
  return out


class Batch(NamedTuple):
  """What a rule knows of the examples of a step (the whole global batch in `update`).

  `valid` is None when every row is a real example. Without `data.drop_remainder` an
  epoch's last batch is padded with repeats of its real rows; `valid` is then False on
  the padding, which the trainer weights 0 and never writes to the tables, and a rule
  computes any statistic over the batch on the valid rows only (`real_rows`).
  """
  index: tf.Tensor  # int [B], stable ids of the examples in the training set
  label: tf.Tensor  # int32 [B], observed labels
  valid: tf.Tensor | None = None  # bool [B], False on padding; None: all rows real

  def real_rows(self, dtype=tf.float32) -> tf.Tensor:
    """[B] 1 on real rows, 0 on padding."""
    return (tf.ones_like(self.label, dtype) if self.valid is None
            else tf.cast(self.valid, dtype))


class Modulation(NamedTuple):
  """How a rule changes this step's loss:
  mean_i [weight_i * loss_i(logits_i * scale_i) + regularizer(logits)_i] + penalty.

  With a model of several peers (co-teaching's two networks) the per-example loss is
  [B, P] and `weight` may be [B, P] too; the peers' terms are summed.
  """
  weight: tf.Tensor | Callable            # [B] per-example weight factor, or loss [B] -> [B]
  logit_scale: tf.Tensor | None = None   # [B] multiplies the logits (e.g. 1 / temperature)
  penalty: tf.Tensor | None = None       # scalar added to the mean loss
  regularizer: Callable | None = None    # logits [B, C] -> [B], differentiable (ELR)

  def resolve(self, per_example_loss: tf.Tensor) -> "Modulation":
    """Evaluates a loss-dependent `weight` or `penalty` (a callable of the [B] loss).

    Rules such as SuperLoss weight an example by a function of its own current loss,
    which `modulate` cannot know before the forward pass; they return callables.
    """
    weight = self.weight(per_example_loss) if callable(self.weight) else self.weight
    penalty = self.penalty(per_example_loss) if callable(self.penalty) else self.penalty
    return Modulation(weight, self.logit_scale, penalty, self.regularizer)


class Objective(NamedTuple):
  """A rule's own loss for a step (`Rule.objective`), on this replica's rows: the step's
  loss is sum(terms) / global batch + penalty (plus the model's regularisation)."""
  terms: tf.Tensor    # [b] per-example contributions, differentiable
  penalty: tf.Tensor  # scalar added once to the mean loss (the same on every replica)
  loss: tf.Tensor     # [b, P] per-example loss of each peer, handed to `update`
  logits: tf.Tensor   # [b, C] the first peer's logits, handed to `update`


class StepResult(NamedTuple):
  """What the model step saw, handed to `Rule.update` for the global batch.

  `grads` has the structure of the view: the gradient of the step's mean loss (over the
  global batch) with respect to each entry the rule's `modulate` read; zeros elsewhere.
  """
  loss: tf.Tensor      # [B] per-example loss (before weighting)
  logits: tf.Tensor    # [B, C] float32 logits (after the rule's logit scale)
  weight: tf.Tensor    # [B] the full effective weight used in the step
  grads: Tables
  step: tf.Tensor      # int64 scalar, the global step before this update


class MetaContext(NamedTuple):
  """What a meta rule may use in its virtual step (this replica's part of the batch).

  `per_example_loss(params, features, labels)` evaluates the model with the given
  trainable parameter values (a list matching `model.trainable_variables`) statelessly,
  so a rule can differentiate the validation loss through a virtual SGD step.

  `loss` and `backward` hand the rule the trainer's own forward pass of the batch, so the
  virtual step and the real step share it: `backward(cotangent)` is the gradient of
  sum_i cotangent_i * loss_i with respect to `params`. None: the rule evaluates
  `per_example_loss` on the batch itself.
  """
  per_example_loss: Callable  # (params, features, labels) -> [b] float32
  params: list                # current trainable parameter values
  features: tf.Tensor         # [b, ...] this replica's training examples
  base_weight: tf.Tensor      # [b] class weight * importance (the factors outside the rule)
  val_features: tf.Tensor | None
  val_labels: tf.Tensor | None
  global_batch: int | tf.Tensor  # real training examples per step over all replicas
  val_global_batch: int       # validation examples per step over all replicas
  learning_rate: tf.Tensor | float = 0.1  # the model optimizer's rate at this step
  valid: tf.Tensor | None = None  # [b] False on padding rows (see Batch); None: all real
  loss: tf.Tensor | None = None   # [b] per-example training losses at params
  backward: Callable | None = None  # cotangent [b] -> gradients [like params] (see above)

  def inner_lr(self, inner_lr: float | str) -> tf.Tensor | float:
    """A meta rule's virtual step size: a number, or "model" for the model's current rate
    (as the reference implementations do)."""
    return self.learning_rate if inner_lr == "model" else inner_lr
