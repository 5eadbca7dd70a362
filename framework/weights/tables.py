"""The small structures a weight-update rule reads and returns."""

from __future__ import annotations

from typing import Callable, Mapping, NamedTuple

import tensorflow as tf


class Tables(NamedTuple):
  """Named tensors of a rule's state, grouped by how they are indexed.

  In the trainer's state `per_sample` entries have first dimension N (one row per
  training example, keyed by its index); in the view a rule sees, they are the rows of
  the current batch, first dimension B. `per_class` entries have first dimension C,
  `shared` entries any shape (counters, EMAs, a small network's parameters).
  """
  per_sample: Mapping[str, tf.Tensor] = {}
  per_class: Mapping[str, tf.Tensor] = {}
  shared: Mapping[str, tf.Tensor] = {}

  def replace(self, per_sample=None, per_class=None, shared=None) -> "Tables":
    """Returns a copy with the given entries overriding this one's."""
    return Tables(dict(self.per_sample, **(per_sample or {})),
                  dict(self.per_class, **(per_class or {})),
                  dict(self.shared, **(shared or {})))

  def map(self, fn: Callable[[tf.Tensor], tf.Tensor]) -> "Tables":
    return Tables(*({k: fn(v) for k, v in group.items()} for group in self))


class Batch(NamedTuple):
  """What a rule knows of the examples of a step (the whole global batch in `update`)."""
  index: tf.Tensor  # int [B], stable ids of the examples in the training set
  label: tf.Tensor  # int32 [B], observed labels


class Modulation(NamedTuple):
  """How a rule changes this step's loss: sum_i weight_i * loss_i(logits_i * scale_i) + penalty."""
  weight: tf.Tensor | Callable            # [B] per-example weight factor, or loss [B] -> [B]
  logit_scale: tf.Tensor | None = None   # [B] multiplies the logits (e.g. 1 / temperature)
  penalty: tf.Tensor | None = None       # scalar added to the mean loss

  def resolve(self, per_example_loss: tf.Tensor) -> "Modulation":
    """Evaluates a loss-dependent `weight` or `penalty` (a callable of the [B] loss).

    Rules such as SuperLoss weight an example by a function of its own current loss,
    which `modulate` cannot know before the forward pass; they return callables.
    """
    weight = self.weight(per_example_loss) if callable(self.weight) else self.weight
    penalty = self.penalty(per_example_loss) if callable(self.penalty) else self.penalty
    return Modulation(weight, self.logit_scale, penalty)


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
  """
  per_example_loss: Callable  # (params, features, labels) -> [b] float32
  params: list                # current trainable parameter values
  features: tf.Tensor         # [b, ...] this replica's training examples
  base_weight: tf.Tensor      # [b] class weight * importance (the factors outside the rule)
  val_features: tf.Tensor | None
  val_labels: tf.Tensor | None
  global_batch: int           # training examples per step over all replicas
  val_global_batch: int       # validation examples per step over all replicas
