"""Cross-entropy per example: softmax (sparse ids or one-hot / probability targets) and
sigmoid, with label smoothing and optional per-class weights.

All work from logits through log-softmax / softplus forms. `from_logits=False` accepts
probabilities, clipped to [eps, 1 - eps] like Keras (see `_common.log_probs_from_probs`).
Half-precision inputs return float32 (see `_common`).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from framework.losses import _common


def _check_smoothing(label_smoothing: float) -> None:
  _common.check_scalar("label_smoothing", label_smoothing, 0.0, 1.0)


def softmax_ce_and_log_odds(logits: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """(-sum_c y_c log p_c, d) with d the log-odds of p_t = sum_c y_c p_c.

  ce = softplus(-d) + [lse(z + log y) - sum_c y_c z_c + (sum_c y_c - 1) lse(z)]; the
  bracket (>= 0, the soft-target excess) is exactly 0 for one-hot y, so one-hot losses
  keep full relative precision for confident examples. Rows of y without mass give 0.
  """
  mass = tf.reduce_sum(y, axis=-1)
  has_mass = mass > 0
  y = tf.where(has_mass[..., None], y, tf.one_hot(0, tf.shape(y)[-1], dtype=y.dtype))
  mass = tf.where(has_mass, mass, tf.ones_like(mass))
  d = _common.softmax_log_odds(logits, y)
  excess = (tf.reduce_logsumexp(logits + tf.math.log(y), axis=-1)
            - tf.reduce_sum(y * logits, axis=-1)
            + (mass - 1.0) * tf.reduce_logsumexp(logits, axis=-1))
  ce = tf.math.softplus(-d) + excess
  zero = tf.zeros_like(ce)
  return tf.where(has_mass, ce, zero), tf.where(has_mass, d, zero)


def sparse_ce_from_logits(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
  """softplus(-(z_y - logsumexp_{c != y} z_c)) for checked int32 labels."""
  y = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
  return tf.math.softplus(-_common.softmax_log_odds(logits, y))


def sparse_cross_entropy(labels: Any, logits: Any, *, label_smoothing: float = 0.0,
                         class_weights: Any = None, from_logits: bool = True) -> tf.Tensor:
  """Softmax cross-entropy of int class ids, one value per example (shape of labels).

  From logits it is softplus(-(z_y - logsumexp_{c != y} z_c)): the same value as
  tf.nn.sparse_softmax_cross_entropy_with_logits, but accurate to relative precision
  for confident examples too (a tiny loss is not lost in lse - z_y cancellation).

  label_smoothing: targets become (1 - ls) e_y + ls / C, as in Keras's
    CategoricalCrossentropy. class_weights: optional [C] (or scalar) multiplying each
    example's loss by w[y]; these are per-class weights of the softmax problem.
  """
  _check_smoothing(label_smoothing)
  logits = _common.as_compute(logits)
  _common.require_softmax_classes(logits)
  labels = _common.sparse_labels(labels, logits)
  if class_weights is not None:
    _common.check_vector("class_weights", class_weights, _common.num_classes_of(logits))
  if from_logits:
    loss = sparse_ce_from_logits(labels, logits)
    if label_smoothing:
      uniform = tf.reduce_logsumexp(logits, -1) - tf.reduce_mean(logits, -1)
  else:
    log_p = _common.log_probs_from_probs(logits)
    loss = -tf.gather(log_p, labels, batch_dims=labels.shape.rank)
    if label_smoothing:
      uniform = -tf.reduce_mean(log_p, -1)
  if label_smoothing:
    loss = (1.0 - label_smoothing) * loss + label_smoothing * uniform
  return _common.apply_class_weights(loss, labels, class_weights, sparse=True)


def categorical_cross_entropy(targets: Any, logits: Any, *, label_smoothing: float = 0.0,
                              class_weights: Any = None,
                              from_logits: bool = True) -> tf.Tensor:
  """Softmax cross-entropy of one-hot or probability targets, one value per example.

  Smoothing as in Keras (y (1 - ls) + ls / C); class_weights weight an example by
  sum_c y_c w_c of its unsmoothed targets.
  """
  _check_smoothing(label_smoothing)
  logits = _common.as_compute(logits)
  _common.require_softmax_classes(logits)
  y = _common.dense_targets(targets, logits)
  if class_weights is not None:
    _common.check_vector("class_weights", class_weights, _common.num_classes_of(logits))
  y_smooth = y
  if label_smoothing:
    c = tf.cast(tf.shape(logits)[-1], logits.dtype)
    y_smooth = y * (1.0 - label_smoothing) + label_smoothing / c
  if from_logits:
    loss, _ = softmax_ce_and_log_odds(logits, y_smooth)
  else:
    loss = -tf.reduce_sum(y_smooth * _common.log_probs_from_probs(logits), axis=-1)
  return _common.apply_class_weights(loss, y, class_weights, sparse=False)


def sigmoid_cross_entropy(y: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
  """Elementwise y softplus(-x) + (1 - y) softplus(x): -y log p - (1-y) log(1-p)."""
  return y * tf.math.softplus(-logits) + (1.0 - y) * tf.math.softplus(logits)


def binary_cross_entropy(targets: Any, logits: Any, *, label_smoothing: float = 0.0,
                         from_logits: bool = True) -> tf.Tensor:
  """Independent sigmoid outputs; per example the mean over the last axis (like Keras).

  Smoothing squeezes targets toward 0.5: y (1 - ls) + ls / 2.
  """
  _check_smoothing(label_smoothing)
  logits = _common.as_compute(logits)
  y = _common.dense_targets(targets, logits)
  if label_smoothing:
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
  if not from_logits:
    logits = _common.logits_from_probs(logits)
  return tf.reduce_mean(sigmoid_cross_entropy(y, logits), axis=-1)
