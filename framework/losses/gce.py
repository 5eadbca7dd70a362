"""Generalised cross-entropy (Zhang & Sabuncu 2018), robust to noisy labels.

L_q = (1 - p_y^q) / q with q in (0, 1]: q -> 0 is the cross-entropy, q = 1 the mean
absolute error. Computed as -expm1(q log p_y) / q with log p_y from the true class's
log-odds, so small losses keep their precision and q near 0 meets the cross-entropy.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from framework.losses import _common
from framework.losses.base import PerExampleLoss, register_loss


def check_gce(q: Any) -> None:
  _common.check_scalar("q", q, 0.0, 1.0, lo_open=True)


def generalized_cross_entropy(labels: Any, logits: Any, *, q: float = 0.7,
                              from_logits: bool = True) -> tf.Tensor:
  """(1 - p_y^q) / q per example, for int class ids."""
  check_gce(q)
  z = _common.as_compute(logits)
  _common.require_softmax_classes(z)
  labels = _common.sparse_labels(labels, z)
  if from_logits:
    y = tf.one_hot(labels, tf.shape(z)[-1], dtype=z.dtype)
    log_p = -tf.math.softplus(-_common.target_log_odds(z, y))
  else:
    log_p = tf.math.log(tf.gather(_common.clipped_probs(z), labels,
                                  batch_dims=labels.shape.rank))
  q = _common.to_dtype(q, z.dtype)
  return -tf.math.expm1(q * log_p) / q


@register_loss("gce")
class GeneralizedCrossEntropyLoss(PerExampleLoss):
  """Generalised cross-entropy of class ids: (1 - p_y^q) / q."""
  fn = staticmethod(generalized_cross_entropy)

  def __init__(self, q: float = 0.7, from_logits: bool = False, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    check_gce(q)
    super().__init__(q=q, from_logits=from_logits, axis=axis, reduction=reduction, name=name,
                     dtype=dtype)
