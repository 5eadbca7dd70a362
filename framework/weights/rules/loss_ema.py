"""Loss-EMA weights: a small stateful per-sample rule that down-weights persistently hard examples.

Each visit updates ema_i <- (1 - rate) ema_i + rate * loss_i (a per-sample slot started
at log C, the loss of a uniform guess). The step weights its batch by
B * softmax(-ema / temperature) over the global batch (mean batch weight exactly 1), so
examples whose loss stays high (often mislabelled ones) count less. The `weight` table
holds exp(-ema_i / T - m), m a running log-mean-exp, comparable across batches.
"""

from __future__ import annotations

import math

import tensorflow as tf

from framework.weights.rule import ALPHA, WEIGHT, Rule, register_rule
from framework.weights.rules.combine import batch_softmax_weights, log_mean_exp
from framework.weights.tables import Modulation, Tables

EMA, LOG_MEAN = "loss_ema", "log_mean"
_LOG_MEAN_RATE = 0.1


@register_rule("loss_ema")
def loss_ema(num_classes: int, rate: float = 0.3, temperature: float = 1.0) -> Rule:
  """Weights from a per-sample EMA of the loss; see the module docstring."""
  if not 0 < rate <= 1:
    raise ValueError(f"rate={rate} must be in (0, 1]")
  if not temperature > 0:
    raise ValueError(f"temperature={temperature} must be > 0")

  def init(num_samples, num_classes_):
    start = math.log(num_classes)
    return Tables({EMA: tf.fill([num_samples], start),
                   WEIGHT: tf.ones([num_samples])}, {},
                  {LOG_MEAN: tf.constant(-start / temperature)})

  def modulate(view, batch):
    alpha = tf.gather(view.per_class[ALPHA], batch.label)
    return Modulation(weight=batch_softmax_weights(-view.per_sample[EMA] / temperature,
                                                   batch.valid) * alpha)

  def update(view, batch, result):
    ema = (1.0 - rate) * view.per_sample[EMA] + rate * result.loss
    z = -ema / temperature
    m = (1.0 - _LOG_MEAN_RATE) * view.shared[LOG_MEAN] + _LOG_MEAN_RATE * log_mean_exp(z, batch.valid)
    return view.replace(per_sample={EMA: ema, WEIGHT: tf.exp(z - m)}, shared={LOG_MEAN: m})

  return Rule(init=init, modulate=modulate, update=update)
