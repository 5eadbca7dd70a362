"""Label smoothing that depends on the class size (MiSLAS, Zhong et al. 2021), and the
binary cross-entropy of softmax probabilities (weight balancing's class-balanced loss).

Label-aware smoothing: class y's target keeps 1 - eps_y on y and spreads eps_y evenly
over all C classes, loss = (1 - eps_y) (-log p_y) + eps_y mean_c(-log p_c), with eps_y
between `smooth_head` (the largest class, n_1) and `smooth_tail` (the smallest, n_K) by
its count n_y, on the curve `shape`:
  concave  tail + (head - tail) sin(pi / 2 * r)          r = (n_y - n_K) / (n_1 - n_K)
  linear   tail + (head - tail) r
  convex   head + (head - tail) sin(3 pi / 2 + pi / 2 * r)
  exp      tail + (head - tail) r^power
(the four forms of dvlab-research/MiSLAS `methods.py`; their CIFAR stage-2 recipe uses
concave, head 0.3, tail 0).

Softmax binary cross-entropy: mean_c BCE(p_c, [c = y]) of the softmax probabilities p,
the "softmax" class-balanced loss of the weight-balancing code
(ShadeAlsha/LTR-weight-balancing `utils/class_balanced_loss.py`), whose class weights
come from `class_weights.scheme=effective_number` here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from framework.losses import _common
from framework.losses.base import PerExampleLoss, register_loss
from framework.losses.cross_entropy import sparse_ce_from_logits

SHAPES = ("concave", "linear", "convex", "exp")


def label_aware_epsilons(class_counts: Any, smooth_head: float = 0.3,
                         smooth_tail: float = 0.0, shape: str = "concave",
                         power: float = 1.0) -> np.ndarray:
  """eps_c for every class (float64), from the class counts (see the module docstring)."""
  counts = _common.counts_array(class_counts)
  for name, value in (("smooth_head", smooth_head), ("smooth_tail", smooth_tail)):
    _common.check_scalar(name, value, 0.0, 1.0)
  if shape not in SHAPES:
    raise ValueError(f"shape={shape!r} is not one of {', '.join(SHAPES)}")
  _common.check_scalar("power", power, lo=0.0, lo_open=True)
  spread = counts.max() - counts.min()
  r = (counts - counts.min()) / spread if spread > 0 else np.ones_like(counts)
  head, tail = float(smooth_head), float(smooth_tail)
  if shape == "concave":
    return tail + (head - tail) * np.sin(np.pi / 2 * r)
  if shape == "linear":
    return tail + (head - tail) * r
  if shape == "convex":
    return head + (head - tail) * np.sin(1.5 * np.pi + np.pi / 2 * r)
  return tail + (head - tail) * r ** float(power)


def label_aware_smoothing(labels: Any, logits: Any, *, class_counts: Any,
                          smooth_head: float = 0.3, smooth_tail: float = 0.0,
                          shape: str = "concave", power: float = 1.0) -> tf.Tensor:
  """(1 - eps_y) CE(z, y) + eps_y mean_c(-log softmax(z)_c) per example."""
  eps = label_aware_epsilons(class_counts, smooth_head, smooth_tail, shape, power)
  z = _common.as_compute(logits)
  _common.check_classes_match("class_counts", eps.shape[0], z)
  labels = _common.sparse_labels(labels, z)
  eps_y = tf.gather(tf.constant(eps, z.dtype), labels)
  uniform = -tf.reduce_mean(tf.nn.log_softmax(z, axis=-1), axis=-1)
  return (1.0 - eps_y) * sparse_ce_from_logits(labels, z) + eps_y * uniform


def _log_one_minus_softmax(z: tf.Tensor, log_p: tf.Tensor) -> tf.Tensor:
  """log(1 - softmax(z)_c) for every c (`log_p` = log_softmax(z)), exact where p_c rounds to
  1: for the largest logit it is the log-sum-exp of the others (minus the total); every
  other p_c is <= 1/2, where log1p(-p_c) is accurate."""
  top = tf.one_hot(tf.argmax(z, axis=-1), tf.shape(z)[-1], on_value=True, off_value=False)
  rest = (tf.reduce_logsumexp(tf.where(top, tf.constant(-np.inf, z.dtype), z), axis=-1) -
          tf.reduce_logsumexp(z, axis=-1))
  others = tf.where(top, tf.constant(-1.0, z.dtype), log_p)  # no inf (nor its gradient) at p = 1
  return tf.where(top, rest[..., None], tf.math.log1p(-tf.exp(others)))


def softmax_binary_cross_entropy(labels: Any, logits: Any) -> tf.Tensor:
  """mean_c BCE(softmax(z)_c, [c = y]) per example, from log-probabilities, each log
  clamped at -100 as PyTorch's binary cross-entropy does."""
  z = _common.as_compute(logits)
  _common.require_softmax_classes(z)
  labels = _common.sparse_labels(labels, z)
  target = tf.one_hot(labels, tf.shape(z)[-1], dtype=z.dtype)
  log_p = tf.nn.log_softmax(z, axis=-1)
  terms = (target * tf.maximum(log_p, -100.0) +
           (1.0 - target) * tf.maximum(_log_one_minus_softmax(z, log_p), -100.0))
  return -tf.reduce_mean(terms, axis=-1)


@register_loss("label_aware_smoothing")
class LabelAwareSmoothingLoss(PerExampleLoss):
  """MiSLAS's label-aware smoothing of class ids and logits."""
  fn = staticmethod(label_aware_smoothing)

  def __init__(self, class_counts: Any, smooth_head: float = 0.3, smooth_tail: float = 0.0,
               shape: str = "concave", power: float = 1.0, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    counts = _common.counts_array(class_counts)
    label_aware_epsilons(counts, smooth_head, smooth_tail, shape, power)
    super().__init__(class_counts=counts, smooth_head=smooth_head, smooth_tail=smooth_tail,
                     shape=shape, power=power, axis=axis, reduction=reduction, name=name,
                     dtype=dtype)


@register_loss("softmax_bce")
class SoftmaxBinaryCrossEntropyLoss(PerExampleLoss):
  """Binary cross-entropy of the softmax probabilities against the one-hot label."""
  fn = staticmethod(softmax_binary_cross_entropy)

  def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
               name: str | None = None, dtype: Any = None):
    super().__init__(axis=axis, reduction=reduction, name=name, dtype=dtype)
