"""Cui et al.'s class-balanced focal loss, in the reference form: sigmoid focal summed over classes.

Cui et al. (CVPR 2019) use a SIGMOID focal loss: every class output is an independent
binary problem, the per-class terms (1 - p_t)^gamma BCE are summed over the C outputs (not
averaged), and the example is weighted by the class-balanced weight of its class. That is
`sigmoid_focal` here, with `class_weights.scheme="effective_number"`: the `cb_sigmoid_focal`
variant of the long-tailed experiments. The `cb_softmax_focal` variant is another loss, the
softmax focal loss (`focal`) with the same weights, named for what it is.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from framework.losses import _common
from framework.losses.base import PerExampleLoss, register_loss
from framework.losses.focal import binary_focal_terms, check_focal


def sigmoid_focal(targets: Any, logits: Any, *, gamma: Any = 2.0,
                  from_logits: bool = True) -> tf.Tensor:
  """Per example, the sum over the C outputs of (1 - p_t)^gamma BCE (Cui et al.'s form)."""
  check_focal(gamma, None)
  y, x = _common.sigmoid_inputs(targets, logits, 0.0, from_logits)
  return tf.reduce_sum(binary_focal_terms(y, x, gamma), axis=-1)


@register_loss("sigmoid_focal")
class SigmoidFocalLoss(PerExampleLoss):
  """Sigmoid focal loss summed over the classes, of one-hot targets (Cui et al.'s form)."""
  fn = staticmethod(sigmoid_focal)
  sparse_labels = False
  sigmoid_outputs = True

  def __init__(self, gamma: float = 2.0, from_logits: bool = False, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    check_focal(gamma, None)
    super().__init__(gamma=gamma, from_logits=from_logits, axis=axis, reduction=reduction,
                     name=name, dtype=dtype)
