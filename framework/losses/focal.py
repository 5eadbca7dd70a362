"""Focal losses (Lin et al. 2017): FL = -alpha_t (1 - p_t)^gamma log p_t.

Each class's term is modulated by its own probability and only target classes carry
weight: FL = sum_c alpha_c y_c (1 - p_c)^gamma (-log p_c), which for a one-hot target is
the true class's term alone (Keras's definition; label smoothing spreads y). The factor is
computed in log space, (1 - p_c)^gamma = exp(-gamma softplus(d_c)) with d_c the log-odds of
class c, so
  * gamma = 0 gives exactly the cross-entropy, in value and gradient;
  * the gradient stays finite as p -> 1 for every gamma >= 0 (the pow form has an
    infinite derivative at p = 1 for gamma < 1 and NaN at gamma = 0).
Half-precision inputs return float32 (see `_common`).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from framework.losses import _common
from framework.losses.base import PerExampleLoss, as_vector, register_loss
from framework.losses.cross_entropy import sigmoid_cross_entropy


def check_focal(gamma: Any = 2.0, alpha: Any = 0.25, label_smoothing: Any = 0.0,
                num_classes: int | None = None, binary: bool = False) -> None:
  _common.check_scalar("gamma", gamma, lo=0.0)
  _common.check_label_smoothing(label_smoothing)
  if binary:
    _common.check_scalar("alpha", alpha, 0.0, 1.0)
  elif alpha is not None:
    _common.check_vector("alpha", alpha, num_classes)


def _focal_terms(neg_log_p: tf.Tensor, log1m_p: tf.Tensor, gamma: Any) -> tf.Tensor:
  """(1 - p)^gamma (-log p) elementwise, from -log p and log(1 - p)."""
  return tf.exp(_common.to_dtype(gamma, log1m_p.dtype) * log1m_p) * neg_log_p


def _alpha_weighted(loss: tf.Tensor, alpha: Any) -> tf.Tensor:
  """alpha * loss with alpha a scalar or per class on the last axis (None: no alpha)."""
  return loss if alpha is None else _common.per_class(alpha, loss.dtype) * loss


def binary_focal_terms(y: tf.Tensor, x: tf.Tensor, gamma: Any) -> tf.Tensor:
  """(1 - p_t)^gamma BCE(y, x) elementwise, for sigmoid logits x and targets y in [0, 1].

  1 - p_t = y (1 - p) + (1 - y) p, with log(1 - p) = -softplus(x), log p = -softplus(-x).
  """
  terms = tf.stack([tf.math.log(y) - tf.math.softplus(x),
                    tf.math.log1p(-y) - tf.math.softplus(-x)], axis=0)
  modulator = tf.exp(_common.to_dtype(gamma, x.dtype) * tf.reduce_logsumexp(terms, axis=0))
  return modulator * sigmoid_cross_entropy(y, x)


def binary_focal(targets: Any, logits: Any, *, gamma: Any = 2.0, alpha: float = 0.25,
                 apply_class_balancing: bool = False, label_smoothing: float = 0.0,
                 from_logits: bool = True) -> tf.Tensor:
  """Sigmoid focal loss with Keras 3 semantics; per example the mean over the last axis.

  alpha is used only when apply_class_balancing=True: alpha_t = alpha for target 1 and
  1 - alpha for target 0. Smoothing squeezes targets toward 0.5 as Keras does.
  """
  check_focal(gamma, alpha, label_smoothing, binary=True)
  y, x = _common.sigmoid_inputs(targets, logits, label_smoothing, from_logits)
  loss = binary_focal_terms(y, x, gamma)
  if apply_class_balancing:
    a = _common.to_dtype(alpha, x.dtype)
    loss = (y * a + (1.0 - y) * (1.0 - a)) * loss
  return tf.reduce_mean(loss, axis=-1)


def categorical_focal(targets: Any, logits: Any, *, gamma: Any = 2.0, alpha: Any = 0.25,
                      label_smoothing: float = 0.0, from_logits: bool = True) -> tf.Tensor:
  """Softmax focal loss of one-hot or soft targets, one value per example.

  alpha: scalar or per-class [C] (list, array, tf.Tensor or tf.Variable, so a learnable
  alpha can feed it). from_logits=False takes probabilities, renormalised and clipped
  like Keras.
  """
  z = _common.as_compute(logits)
  check_focal(gamma, alpha, label_smoothing, _common.num_classes_of(z))
  _common.require_softmax_classes(z)
  y = _common.smooth_one_hot(_common.dense_targets(targets, z), label_smoothing)
  terms = _focal_terms(*_common.class_surprisal(z, from_logits), gamma)
  return tf.reduce_sum(_alpha_weighted(y * terms, alpha), axis=-1)


def sparse_focal(labels: Any, logits: Any, *, gamma: Any = 2.0, alpha: Any = 0.25,
                 label_smoothing: float = 0.0, from_logits: bool = True) -> tf.Tensor:
  """Softmax focal loss of int class ids (the sparse twin of `categorical_focal`).

  Without smoothing only the true class's term exists, computed from its log-odds alone,
  so gamma = 0 and alpha = 1 give exactly `sparse_cross_entropy`.
  """
  z = _common.as_compute(logits)
  check_focal(gamma, alpha, label_smoothing, _common.num_classes_of(z))
  _common.require_softmax_classes(z)
  labels = _common.sparse_labels(labels, z)
  y = tf.one_hot(labels, tf.shape(z)[-1], dtype=z.dtype)
  if label_smoothing:
    return categorical_focal(y, z, gamma=gamma, alpha=alpha,
                             label_smoothing=label_smoothing, from_logits=from_logits)
  if from_logits:
    d = _common.target_log_odds(z, y)
    loss = _focal_terms(tf.math.softplus(-d), -tf.math.softplus(d), gamma)
  else:
    p_t = tf.gather(_common.clipped_probs(z), labels, batch_dims=labels.shape.rank)
    loss = _focal_terms(-tf.math.log(p_t), tf.math.log1p(-p_t), gamma)
  if alpha is None:
    return loss
  a = _common.per_class(alpha, z.dtype)
  return (a if a.shape.rank == 0 else tf.gather(a, labels)) * loss


@register_loss("binary_focal")
class BinaryFocalLoss(PerExampleLoss):
  """Sigmoid focal loss over one-hot / multi-hot targets: Keras's BinaryFocalCrossentropy
  (alpha applies only with apply_class_balancing=True)."""
  fn = staticmethod(binary_focal)
  sparse_labels = False
  sigmoid_outputs = True

  def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
               gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
               axis: int = -1, reduction: str | None = "sum_over_batch_size",
               name: str | None = None, dtype: Any = None):
    check_focal(gamma, alpha, label_smoothing, binary=True)
    super().__init__(apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                     from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
                     reduction=reduction, name=name, dtype=dtype)


@register_loss("categorical_focal")
class CategoricalFocalLoss(PerExampleLoss):
  """Softmax focal loss of one-hot targets: Keras's CategoricalFocalCrossentropy, with
  alpha also per class [C] (a tf.Variable stays live: a learnable alpha)."""
  fn = staticmethod(categorical_focal)
  sparse_labels = False

  def __init__(self, alpha: Any = 0.25, gamma: float = 2.0, from_logits: bool = False,
               label_smoothing: float = 0.0, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    alpha = as_vector(alpha)
    check_focal(gamma, alpha, label_smoothing)
    super().__init__(alpha=alpha, gamma=gamma, from_logits=from_logits,
                     label_smoothing=label_smoothing, axis=axis, reduction=reduction,
                     name=name, dtype=dtype)


@register_loss("focal")
class SparseFocalLoss(CategoricalFocalLoss):
  """Softmax focal loss of class ids: CategoricalFocalLoss with sparse labels, the same
  arguments and defaults (alpha 0.25: set alpha=1.0 for the unscaled loss)."""
  fn = staticmethod(sparse_focal)
  sparse_labels = True
