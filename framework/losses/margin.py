"""Losses that shift logits by class frequency: LDAM, logit adjustment, balanced softmax.

* LDAM (Cao et al. 2019): margins m_c = K / n_c^(1/4) with K set so max_c m_c =
  max_margin; loss = CE(s (z - m_y e_y)). It EXPECTS COSINE LOGITS in [-1, 1] from a
  normalised classifier head (normalised features and weight columns); margins of 0.5
  and scale 30 are meaningless on unbounded logits.
* Logit-adjusted loss (Menon et al. 2021): CE(z + tau log pi), pi = n / N.
* Balanced softmax (Ren et al. 2020): CE(z + log n) (= logit adjustment with tau = 1).
* `post_hoc_adjust(z) = z - tau log pi`: for evaluating a plainly trained model.
All take int labels and logits; every class count must be > 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from framework.losses import _common
from framework.losses.base import PerExampleLoss, register_loss
from framework.losses.class_weights import check_weights
from framework.losses.cross_entropy import sparse_ce_from_logits


def ldam_margins(class_counts: Any, max_margin: float = 0.5) -> np.ndarray:
  """m_c = K / n_c^(1/4), K chosen so that the rarest class gets `max_margin`."""
  _common.check_scalar("max_margin", max_margin, lo=0.0, lo_open=True)
  counts = _common.counts_array(class_counts)
  m = counts ** -0.25
  return m * (max_margin / m.max())


def log_prior(class_counts: Any) -> np.ndarray:
  """log pi_c = log(n_c / N)."""
  counts = _common.counts_array(class_counts)
  return np.log(counts / counts.sum())


def _shifted_ce(labels: Any, logits: Any, shift: np.ndarray, name: str,
                class_weights: Any) -> tf.Tensor:
  z = _common.as_compute(logits)
  _common.check_classes_match(name, shift.shape[0], z)
  labels = _common.sparse_labels(labels, z)
  if class_weights is not None:
    _common.check_vector("class_weights", class_weights, shift.shape[0])
  z = z + tf.constant(shift, z.dtype)
  loss = sparse_ce_from_logits(labels, z)
  return _common.apply_class_weights(loss, labels, class_weights, sparse=True)


def ldam(labels: Any, logits: Any, *, class_counts: Any, max_margin: float = 0.5,
         scale: float = 30.0, class_weights: Any = None) -> tf.Tensor:
  """LDAM per example: CE(scale * (z - m_y e_y)); `logits` must be cosines (see above).

  class_weights ([C] or None) multiply the loss by w[y], e.g. for deferred re-weighting.
  """
  _common.check_scalar("scale", scale, lo=0.0, lo_open=True)
  margins = ldam_margins(class_counts, max_margin)
  z = _common.as_compute(logits)
  _common.check_classes_match("class_counts", margins.shape[0], z)
  labels = _common.sparse_labels(labels, z)
  if class_weights is not None:
    _common.check_vector("class_weights", class_weights, margins.shape[0])
  m_y = tf.gather(tf.constant(margins, z.dtype), labels)
  z = z - tf.one_hot(labels, margins.shape[0], dtype=z.dtype) * m_y[..., None]
  loss = sparse_ce_from_logits(labels, _common.to_dtype(scale, z.dtype) * z)
  return _common.apply_class_weights(loss, labels, class_weights, sparse=True)


def _check_tau(tau: float) -> None:
  _common.check_scalar("tau", tau, lo=0.0)


def logit_adjusted(labels: Any, logits: Any, *, class_counts: Any, tau: float = 1.0,
                   class_weights: Any = None) -> tf.Tensor:
  """CE(z + tau log pi) per example."""
  _check_tau(tau)
  return _shifted_ce(labels, logits, tau * log_prior(class_counts), "class_counts",
                     class_weights)


def balanced_softmax(labels: Any, logits: Any, *, class_counts: Any,
                     class_weights: Any = None) -> tf.Tensor:
  """CE(z + log n) per example."""
  counts = _common.counts_array(class_counts)
  return _shifted_ce(labels, logits, np.log(counts), "class_counts", class_weights)


def post_hoc_adjust(logits: Any, class_counts: Any, tau: float = 1.0) -> tf.Tensor:
  """z - tau log pi: argmax of it is the balanced-error prediction (Menon et al.)."""
  _check_tau(tau)
  shift = tau * log_prior(class_counts)
  z = _common.as_compute(logits)
  _common.check_classes_match("class_counts", shift.shape[0], z)
  return z - tf.constant(shift, z.dtype)


class _PriorLoss(PerExampleLoss):
  """A loss of int labels and logits parameterised by the training class counts."""

  def __init__(self, class_counts: Any, class_weights: Any, axis: int, reduction: str | None,
               name: str | None, dtype: Any, **params: Any):
    counts = _common.counts_array(class_counts)
    if class_weights is not None:
      class_weights = check_weights(class_weights)
      if class_weights.shape != counts.shape:
        raise ValueError(f"class_weights has {class_weights.size} entries; class_counts "
                         f"has {counts.size}")
    super().__init__(class_counts=counts, class_weights=class_weights, axis=axis,
                     reduction=reduction, name=name, dtype=dtype, **params)


@register_loss("ldam")
class LDAMLoss(_PriorLoss):
  """LDAM on COSINE logits of a normalised classifier head (the `cosine` model head)."""
  fn = staticmethod(ldam)
  scale_param = "scale"

  def __init__(self, class_counts: Any, max_margin: float = 0.5, scale: float = 30.0,
               class_weights: Any = None, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    ldam_margins(class_counts, max_margin)
    _common.check_scalar("scale", scale, lo=0.0, lo_open=True)
    super().__init__(class_counts, class_weights, axis, reduction, name, dtype,
                     max_margin=max_margin, scale=scale)


@register_loss("logit_adjusted")
class LogitAdjustedLoss(_PriorLoss):
  """CE(z + tau log pi) of int labels and logits."""
  fn = staticmethod(logit_adjusted)

  def __init__(self, class_counts: Any, tau: float = 1.0, class_weights: Any = None,
               axis: int = -1, reduction: str | None = "sum_over_batch_size",
               name: str | None = None, dtype: Any = None):
    _check_tau(tau)
    super().__init__(class_counts, class_weights, axis, reduction, name, dtype, tau=tau)


@register_loss("balanced_softmax")
class BalancedSoftmaxLoss(_PriorLoss):
  """CE(z + log n) of int labels and logits."""
  fn = staticmethod(balanced_softmax)

  def __init__(self, class_counts: Any, class_weights: Any = None, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    super().__init__(class_counts, class_weights, axis, reduction, name, dtype)
