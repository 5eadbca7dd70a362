"""Distributionally robust exponentiated-gradient weights (per sample and/or per class).

Per sample: log-weights s_i <- (1 - decay) s_i + eta * loss_i on each visit (ascent on
the loss, so hard examples gain weight); this step weights its batch by
B * softmax(s) over the global batch (mean batch weight exactly 1). The `weight` table
holds exp(s_i - m), m a running log-mean-exp of the batches' s, so it is comparable
across batches.

Per class (Group DRO, Sagawa et al. 2020, groups = classes): q_c <- q_c exp(class_eta
L_c), q normalised, L_c the mean loss of class c in the global batch (0 if absent);
alpha = C * q, so mean alpha is 1.
"""

from __future__ import annotations

import tensorflow as tf

from framework.weights import optim
from framework.weights.rule import ALPHA, WEIGHT, Rule, register_rule
from framework.weights.rules.combine import batch_softmax_weights, log_mean_exp
from framework.weights.tables import Modulation, Tables

LOG_WEIGHT, LOG_MEAN = "log_weight", "log_mean"
_LOG_MEAN_RATE = 0.1   # EMA rate of the batches' log-mean-exp behind the `weight` table
_MAX_LOG_RATIO = 30.0  # bounds exp(s - m) in the table (float32-safe)


def class_mean_loss(loss: tf.Tensor, label: tf.Tensor, num_classes: int,
                    real: tf.Tensor | None = None) -> tf.Tensor:
  """Mean loss of each class in the batch (its `real` rows, 1 / 0), 0 for classes absent
  from it: [C]."""
  real = tf.ones_like(loss) if real is None else real
  total = tf.math.unsorted_segment_sum(loss * real, label, num_classes)
  count = tf.math.unsorted_segment_sum(real, label, num_classes)
  return tf.math.divide_no_nan(total, count)


@register_rule("exp_gradient")
def exp_gradient(eta: float = 0.1, class_eta: float = 0.01, decay: float = 0.0,
                 per_sample: bool = True, per_class: bool = False) -> Rule:
  """Exponentiated-gradient (DRO) weights; see the module docstring."""
  if not eta > 0:
    raise ValueError(f"eta={eta} must be > 0")
  if not class_eta > 0:
    raise ValueError(f"class_eta={class_eta} must be > 0")
  if not 0 <= decay < 1:
    raise ValueError(f"decay={decay} must be in [0, 1)")
  if not (per_sample or per_class):
    raise ValueError("per_sample=False and per_class=False: enable at least one")
  group_ascent = optim.exponentiated_gradient(lr=-class_eta)  # ascent on the class losses

  def init(num_samples, num_classes):
    if not per_sample:
      return Tables()
    return Tables({LOG_WEIGHT: tf.zeros([num_samples])}, {}, {LOG_MEAN: tf.zeros([])})

  def modulate(view, batch):
    alpha = tf.gather(view.per_class[ALPHA], batch.label)
    if not per_sample:
      return Modulation(weight=view.per_sample[WEIGHT] * alpha)
    return Modulation(weight=batch_softmax_weights(view.per_sample[LOG_WEIGHT],
                                                   batch.valid) * alpha)

  def update(view, batch, result):
    if per_sample:
      s = (1.0 - decay) * view.per_sample[LOG_WEIGHT] + eta * result.loss
      m = ((1.0 - _LOG_MEAN_RATE) * view.shared[LOG_MEAN] + _LOG_MEAN_RATE * log_mean_exp(s, batch.valid))
      ratio = tf.clip_by_value(s - m, -_MAX_LOG_RATIO, _MAX_LOG_RATIO)
      view = view.replace(per_sample={LOG_WEIGHT: s, WEIGHT: tf.exp(ratio)},
                          shared={LOG_MEAN: m})
    if per_class:
      alpha = view.per_class[ALPHA]
      class_loss = class_mean_loss(result.loss, batch.label, alpha.shape[0],
                                   None if batch.valid is None else batch.real_rows())
      alpha, _ = group_ascent.update(class_loss, (), alpha)
      view = view.replace(per_class={ALPHA: alpha})
    return view

  return Rule(init=init, modulate=modulate, update=update)
