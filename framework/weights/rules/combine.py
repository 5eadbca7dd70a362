"""Small pure building blocks of rules: batch normalisation, simplex projection.

Tensor functions (`normalize_mean_one`, `project_to_simplex`, `batch_softmax_weights`,
`log_mean_exp`, `masked_mean`) are the maths; stateful steps are in `framework.weights.optim`. View
transforms (`clip`, `mean_one`) map an updated view to a post-processed one; `chain`
composes them and `with_transforms(rule, ...)` applies them after a rule's update, like
optax's `chain`:

    rule = with_transforms(RULES.get("sgd")(lr=1.0), clip(0.0, 10.0))
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import tensorflow as tf

from framework.weights.rule import WEIGHT, Rule
from framework.weights.tables import Tables

Transform = Callable[[Tables], Tables]


def normalize_mean_one(x: tf.Tensor) -> tf.Tensor:
  """x / mean(x) over the batch (axis 0), so the batch mean is exactly 1."""
  return x / tf.reduce_mean(x, axis=0)


def log_mean_exp(x: tf.Tensor, valid: tf.Tensor | None = None) -> tf.Tensor:
  """log(mean(exp(x))) over axis 0 (over the rows where `valid`), computed stably."""
  if valid is None:
    return tf.reduce_logsumexp(x, axis=0) - tf.math.log(tf.cast(tf.shape(x)[0], x.dtype))
  count = tf.reduce_sum(tf.cast(valid, x.dtype))
  return (tf.reduce_logsumexp(tf.where(valid, x, tf.constant(-float("inf"), x.dtype)), axis=0)
          - tf.math.log(count))


def masked_mean(x: tf.Tensor, valid: tf.Tensor | None = None) -> tf.Tensor:
  """The mean of x over axis 0, over the rows where `valid` (all rows when None)."""
  if valid is None:
    return tf.reduce_mean(x, axis=0)
  return tf.reduce_sum(tf.where(valid, x, tf.zeros_like(x)), axis=0) / tf.reduce_sum(
      tf.cast(valid, x.dtype))


def gathered(value: tf.Tensor) -> tf.Tensor:
  """`value` [b, ...] of every replica, concatenated: the global batch's rows (stopped)."""
  ctx = tf.distribute.get_replica_context()
  if value.dtype == tf.bool:  # collectives take numbers
    return ctx.all_gather(tf.cast(value, tf.int32), axis=0) > 0
  return ctx.all_gather(tf.stop_gradient(value), axis=0)


def batch_softmax_weights(logit: tf.Tensor, valid: tf.Tensor | None = None) -> tf.Tensor:
  """B * softmax(logit) over the GLOBAL batch: exp(logit_i) normalised to mean 1 (over
  the batch's valid rows when it is padded, see `Batch`).

  Called inside `modulate` (replica context), where each replica holds part of the
  batch: the normaliser is computed from the all-gathered (stopped) logits, so one device
  and several replicas weight every example identically. No gradient to the normaliser.
  """
  everyone = gathered(logit)
  normaliser = log_mean_exp(everyone, None if valid is None else gathered(valid))
  return tf.exp(logit - tf.stop_gradient(normaliser))


def project_to_simplex(v: tf.Tensor, radius: float = 1.0) -> tf.Tensor:
  """Euclidean projection of v [..., n] onto {w >= 0, sum w = radius} (sort-based, Duchi 2008)."""
  if radius <= 0:
    raise ValueError(f"radius={radius} must be > 0")
  n = tf.shape(v)[-1]
  u = tf.sort(v, axis=-1, direction="DESCENDING")
  css = tf.cumsum(u, axis=-1) - radius
  j = tf.cast(tf.range(1, n + 1), v.dtype)
  support = tf.cast(u - css / j > 0, tf.int32)
  rho = tf.reduce_sum(support, axis=-1, keepdims=True)        # size of the support (>= 1)
  theta = tf.gather(css, rho - 1, batch_dims=len(v.shape) - 1) / tf.cast(rho, v.dtype)
  return tf.maximum(v - theta, 0.0)


def clip(lo: float, hi: float, key: str = WEIGHT) -> Transform:
  """Clips the per-sample table `key` of the updated view to [lo, hi]."""
  if not lo <= hi:
    raise ValueError(f"clip bounds lo={lo} > hi={hi}")
  def apply(view: Tables) -> Tables:
    return view.replace(per_sample={key: tf.clip_by_value(view.per_sample[key], lo, hi)})
  return apply


def mean_one(key: str = WEIGHT) -> Transform:
  """Rescales the batch rows of per-sample table `key` to mean 1 (over all the rows: a
  transform sees no `Batch`, so on a padded batch the mean counts the padding too)."""
  def apply(view: Tables) -> Tables:
    return view.replace(per_sample={key: normalize_mean_one(view.per_sample[key])})
  return apply


def chain(*transforms: Transform) -> Transform:
  """Applies `transforms` left to right."""
  def apply(view: Tables) -> Tables:
    for t in transforms:
      view = t(view)
    return view
  return apply


def with_transforms(rule: Rule, *transforms: Transform) -> Rule:
  """The rule whose updated view is post-processed by `transforms` (in order)."""
  if rule.update is None:
    raise ValueError("with_transforms needs a rule with an update")
  post, update = chain(*transforms), rule.update
  return dataclasses.replace(rule, update=lambda view, batch, result: post(
      update(view, batch, result)))
