"""Cross-entropy per example: softmax (class ids, or one-hot / probability targets) and
sigmoid, with label smoothing and optional per-class weights.

All work from logits through log-odds / softplus forms that keep relative precision for
confident examples. `from_logits=False` takes probabilities, clipped to [eps, 1 - eps]
like Keras (see `_common.clipped_probs`). Half-precision inputs return float32.
"""

from __future__ import annotations

from typing import Any, Sequence

import tensorflow as tf

from framework.losses import _common
from framework.losses.base import PerExampleLoss, as_vector, register_loss


def check_cross_entropy(label_smoothing: Any = 0.0, class_weights: Any = None,
                        num_classes: int | None = None) -> None:
  _common.check_label_smoothing(label_smoothing)
  if class_weights is not None:
    _common.check_vector("class_weights", class_weights, num_classes)


def sparse_ce_from_logits(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
  """softplus(-(z_y - logsumexp_{c != y} z_c)) for checked int32 labels."""
  y = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
  return tf.math.softplus(-_common.target_log_odds(logits, y))


def soft_cross_entropy(y: tf.Tensor, logits: tf.Tensor, from_logits: bool) -> tf.Tensor:
  """-sum_c y_c log p_c, each term accurate (see `_common.class_surprisal`)."""
  neg_log_p, _ = _common.class_surprisal(logits, from_logits)
  return tf.reduce_sum(y * neg_log_p, axis=-1)


def sparse_cross_entropy(labels: Any, logits: Any, *, label_smoothing: float = 0.0,
                         class_weights: Any = None, from_logits: bool = True) -> tf.Tensor:
  """Softmax cross-entropy of int class ids, one value per example (shape of labels).

  From logits it is softplus(-(z_y - logsumexp_{c != y} z_c)): the value of
  tf.nn.sparse_softmax_cross_entropy_with_logits, accurate to relative precision for
  confident examples too. label_smoothing: targets (1 - ls) e_y + ls / C, as Keras's
  CategoricalCrossentropy. class_weights: optional [C] (or scalar) multiplying each
  example's loss by w[y]; these are per-class weights of the softmax problem.
  """
  logits = _common.as_compute(logits)
  check_cross_entropy(label_smoothing, class_weights, _common.num_classes_of(logits))
  _common.require_softmax_classes(logits)
  labels = _common.sparse_labels(labels, logits)
  if label_smoothing:
    y = _common.smooth_one_hot(tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype),
                               label_smoothing)
    loss = soft_cross_entropy(y, logits, from_logits)
  elif from_logits:
    loss = sparse_ce_from_logits(labels, logits)
  else:
    log_p = tf.math.log(_common.clipped_probs(logits))
    loss = -tf.gather(log_p, labels, batch_dims=labels.shape.rank)
  return _common.apply_class_weights(loss, labels, class_weights, sparse=True)


def categorical_cross_entropy(targets: Any, logits: Any, *, label_smoothing: float = 0.0,
                              class_weights: Any = None,
                              from_logits: bool = True) -> tf.Tensor:
  """Softmax cross-entropy of one-hot or probability targets, one value per example.

  Smoothing as in Keras (y (1 - ls) + ls / C); class_weights weight an example by
  sum_c y_c w_c of its unsmoothed targets.
  """
  logits = _common.as_compute(logits)
  check_cross_entropy(label_smoothing, class_weights, _common.num_classes_of(logits))
  _common.require_softmax_classes(logits)
  y = _common.dense_targets(targets, logits)
  loss = soft_cross_entropy(_common.smooth_one_hot(y, label_smoothing), logits, from_logits)
  return _common.apply_class_weights(loss, y, class_weights, sparse=False)


def sigmoid_cross_entropy(y: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
  """Elementwise y softplus(-x) + (1 - y) softplus(x): -y log p - (1-y) log(1-p)."""
  return y * tf.math.softplus(-logits) + (1.0 - y) * tf.math.softplus(logits)


def binary_cross_entropy(targets: Any, logits: Any, *, label_smoothing: float = 0.0,
                         from_logits: bool = True) -> tf.Tensor:
  """Independent sigmoid outputs; per example the mean over the last axis (like Keras).

  Smoothing squeezes targets toward 0.5: y (1 - ls) + ls / 2.
  """
  _common.check_label_smoothing(label_smoothing)
  y, x = _common.sigmoid_inputs(targets, logits, label_smoothing, from_logits)
  return tf.reduce_mean(sigmoid_cross_entropy(y, x), axis=-1)


@register_loss("cross_entropy")
class SparseCrossEntropyLoss(PerExampleLoss):
  """Softmax cross-entropy of class ids (Keras's SparseCategoricalCrossentropy, plus
  label smoothing and per-class weights `class_weights` [C])."""
  fn = staticmethod(sparse_cross_entropy)

  def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
               class_weights: Sequence[float] | None = None, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    class_weights = as_vector(class_weights)
    check_cross_entropy(label_smoothing, class_weights)
    super().__init__(from_logits=from_logits, label_smoothing=label_smoothing,
                     class_weights=class_weights, axis=axis, reduction=reduction, name=name,
                     dtype=dtype)


@register_loss("categorical_cross_entropy")
class CategoricalCrossEntropyLoss(SparseCrossEntropyLoss):
  """Softmax cross-entropy of one-hot / probability targets (Keras's
  CategoricalCrossentropy, plus per-class weights); the same arguments."""
  fn = staticmethod(categorical_cross_entropy)
  sparse_labels = False
