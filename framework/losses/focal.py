"""Focal losses (Lin et al. 2017): FL = -alpha_t (1 - p_t)^gamma log p_t.

The modulating factor uses the true class only and is computed in log space:
(1 - p_t)^gamma = exp(gamma * log(1 - p_t)), with log(1 - p_t) = -softplus(d) where d is
the true class's log-odds against the rest (for softmax, d = z_t - logsumexp_{c != t} z_c;
for a sigmoid, d = +-x). Hence
  * gamma = 0 gives exactly the cross-entropy, in value and gradient (exp(0 * finite) = 1);
  * the gradient w.r.t. logits stays finite as p_t -> 1 for every gamma >= 0 (the pow
    form has an infinite derivative at p_t = 1 for gamma < 1 and NaN at gamma = 0).
Half-precision inputs return float32 (see `_common`).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from framework.losses import _common
from framework.losses.cross_entropy import sigmoid_cross_entropy, softmax_ce_and_log_odds


def check_gamma(gamma: Any) -> None:
  _common.check_scalar("gamma", gamma, lo=0.0)


def _modulate(ce: tf.Tensor, log1m_pt: tf.Tensor, gamma: Any) -> tf.Tensor:
  gamma = _common.to_dtype(gamma, ce.dtype)
  return tf.exp(gamma * log1m_pt) * ce


def _log_mix(w: tf.Tensor, log_a: tf.Tensor, log_b: tf.Tensor) -> tf.Tensor:
  """log(w a + (1 - w) b) for w in [0, 1]; exactly log_a at w = 1 and log_b at w = 0."""
  terms = tf.stack([tf.math.log(w) + log_a, tf.math.log1p(-w) + log_b], axis=0)
  return tf.reduce_logsumexp(terms, axis=0)


def _alpha_t(alpha: Any, y: tf.Tensor, dtype: tf.DType) -> tf.Tensor | None:
  if alpha is None:
    return None
  a = _common.per_class(alpha, dtype)
  return a if a.shape.rank == 0 else tf.reduce_sum(y * a, axis=-1)


def binary_focal(targets: Any, logits: Any, *, gamma: Any = 2.0, alpha: float = 0.25,
                 apply_class_balancing: bool = False, label_smoothing: float = 0.0,
                 from_logits: bool = True) -> tf.Tensor:
  """Sigmoid focal loss with Keras 3 semantics; per example the mean over the last axis.

  alpha is used only when apply_class_balancing=True: alpha_t = alpha for target 1 and
  1 - alpha for target 0. Smoothing squeezes targets toward 0.5 as Keras does.
  """
  check_gamma(gamma)
  _common.check_scalar("alpha", alpha, 0.0, 1.0)
  _common.check_scalar("label_smoothing", label_smoothing, 0.0, 1.0)
  x = _common.as_compute(logits)
  y = _common.dense_targets(targets, x)
  if label_smoothing:
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
  if not from_logits:
    x = _common.logits_from_probs(x)
  ce = sigmoid_cross_entropy(y, x)
  # 1 - p_t = y (1 - p) + (1 - y) p, with log(1 - p) = -softplus(x), log p = -softplus(-x).
  log1m_pt = _log_mix(y, -tf.math.softplus(x), -tf.math.softplus(-x))
  loss = _modulate(ce, log1m_pt, gamma)
  if apply_class_balancing:
    a = _common.to_dtype(alpha, x.dtype)
    loss = (y * a + (1.0 - y) * (1.0 - a)) * loss
  return tf.reduce_mean(loss, axis=-1)


def categorical_focal(targets: Any, logits: Any, *, gamma: Any = 2.0, alpha: Any = 1.0,
                      from_logits: bool = True) -> tf.Tensor:
  """Softmax focal loss of one-hot targets, one value per example.

  alpha: scalar or per-class [C] (list, array, tf.Tensor or tf.Variable, so a learnable
  alpha can feed it); alpha_t = alpha[y]. Keras's CategoricalFocalCrossentropy defaults
  to alpha = 0.25; here the default 1.0 leaves the loss unscaled. With soft targets
  p_t is the target-weighted probability sum_c y_c p_c (Keras differs there).
  from_logits=False takes probabilities, renormalised and clipped like Keras.
  """
  check_gamma(gamma)
  z = _common.as_compute(logits)
  _common.require_softmax_classes(z)
  _common.check_vector("alpha", alpha, _common.num_classes_of(z))
  y = _common.dense_targets(targets, z)
  if from_logits:
    ce, d = softmax_ce_and_log_odds(z, y)
    log1m_pt = -tf.math.softplus(d)
  else:
    p = _common.clipped_probs(z)
    ce = -tf.reduce_sum(y * tf.math.log(p), axis=-1)
    log1m_pt = tf.math.log1p(-tf.reduce_sum(y * p, axis=-1))
  loss = _modulate(ce, log1m_pt, gamma)
  a = _alpha_t(alpha, y, z.dtype)
  return loss if a is None else a * loss


def sparse_focal(labels: Any, logits: Any, *, gamma: Any = 2.0, alpha: Any = 1.0,
                 from_logits: bool = True) -> tf.Tensor:
  """Softmax focal loss of int class ids (Keras has none); alpha as in categorical_focal.

  gamma = 0 and alpha = 1 give exactly `sparse_cross_entropy`.
  """
  check_gamma(gamma)
  z = _common.as_compute(logits)
  _common.require_softmax_classes(z)
  _common.check_vector("alpha", alpha, _common.num_classes_of(z))
  labels = _common.sparse_labels(labels, z)
  y = tf.one_hot(labels, tf.shape(z)[-1], dtype=z.dtype)
  if from_logits:
    d = _common.softmax_log_odds(z, y)
    ce, log1m_pt = tf.math.softplus(-d), -tf.math.softplus(d)
  else:
    p_t = tf.gather(_common.clipped_probs(z), labels, batch_dims=labels.shape.rank)
    ce = -tf.math.log(p_t)
    log1m_pt = tf.math.log1p(-p_t)
  loss = _modulate(ce, log1m_pt, gamma)
  if alpha is None:
    return loss
  a = _common.per_class(alpha, z.dtype)
  return (a if a.shape.rank == 0 else tf.gather(a, labels)) * loss
