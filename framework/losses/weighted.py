"""Weighted sigmoid cross-entropy: `pos_weight` up-weights the POSITIVE targets.

The semantics are those of `tf.nn.weighted_cross_entropy_with_logits`: every output is
an independent sigmoid (binary or multi-label), and for logit x, target z, pos_weight q

    loss = q z softplus(-x) + (1 - z) softplus(x)
         = (1 - z) x + (1 + (q - 1) z) (log(1 + exp(-|x|)) + max(-x, 0)).

`pos_weight` is NOT a per-class weight of a softmax problem: it trades recall against
precision of each sigmoid output (q > 1 penalises missed positives). To weight the
classes of a softmax classifier use `class_weights` of the cross-entropy losses, a
class-weighting scheme (`framework.losses.class_weights`), or Keras's `class_weight`.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from framework.losses import _common
from framework.losses.base import PerExampleLoss, as_vector, register_loss


def weighted_cross_entropy(targets: Any, logits: Any, *, pos_weight: Any = 1.0,
                           from_logits: bool = True) -> tf.Tensor:
  """Per example: mean over the last axis of the weighted sigmoid cross-entropy.

  targets: same shape as logits, in [0, 1] (multi-hot, or one-hot over C outputs).
  pos_weight: scalar, or one value per output (length C, broadcast on the last axis),
    each >= 0. from_logits=False takes probabilities, clipped to [eps, 1 - eps].
  """
  logits = _common.as_compute(logits)
  _common.check_vector("pos_weight", as_vector(pos_weight), _common.num_classes_of(logits))
  y = _common.dense_targets(targets, logits)
  if not from_logits:
    logits = _common.logits_from_probs(logits)
  q = _common.per_class(pos_weight, logits.dtype)
  loss = q * y * tf.math.softplus(-logits) + (1.0 - y) * tf.math.softplus(logits)
  return tf.reduce_mean(loss, axis=-1)


@register_loss("weighted_cross_entropy")
class WeightedCrossEntropyLoss(PerExampleLoss):
  """tf.nn.weighted_cross_entropy_with_logits as a Keras loss over one-hot / multi-hot
  targets: pos_weight weights the positives of each sigmoid output, not a softmax class."""
  fn = staticmethod(weighted_cross_entropy)
  sparse_labels = False
  sigmoid_outputs = True

  def __init__(self, pos_weight: Any = 1.0, from_logits: bool = False, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    pos_weight = as_vector(pos_weight)
    _common.check_vector("pos_weight", pos_weight, None)
    super().__init__(pos_weight=pos_weight, from_logits=from_logits, axis=axis,
                     reduction=reduction, name=name, dtype=dtype)
