"""SuperLoss (Castells et al., NeurIPS 2020): a confidence-aware, curriculum-style weight.

L_i = (l_i - tau) sigma_i + lambda (log sigma_i)^2 with the closed-form minimiser
sigma_i = exp(-W0(0.5 max(-2/e, (l_i - tau) / lambda))), not back-propagated. The trainer
computes sum_i w_i l_i / B + penalty, so this rule returns weight = sigma (a function
of the example's current loss, evaluated after the forward pass) and
penalty = mean_i(lambda (log sigma_i)^2 - tau sigma_i), which makes the step's loss
exactly the mean SuperLoss; the penalty is constant for the model's gradient.
tau is log C (a constant) or an EMA of the batch mean loss (rate `ema_rate`, a shared
slot started at log C). The `weight` table holds each example's last sigma for watching.
"""

from __future__ import annotations

import math

import tensorflow as tf

from framework.weights.rule import WEIGHT, Rule, register_rule
from framework.weights.rules.combine import gathered, masked_mean
from framework.weights.tables import Modulation, Tables

TAU = "tau"


def lambert_w0(x: tf.Tensor, iterations: int = 8) -> tf.Tensor:
  """Principal branch W0 for x >= -1/e, by Halley iterations from a branch-point/log guess."""
  x = tf.convert_to_tensor(x, tf.float32)
  e = math.e
  p = tf.sqrt(tf.maximum(2.0 * (e * x + 1.0), 0.0))
  near_branch = -1.0 + p - p * p / 3.0 + 11.0 / 72.0 * p * p * p
  log1p = tf.math.log1p(tf.maximum(x, 0.0))
  large = log1p * (1.0 - tf.math.log1p(log1p) / (2.0 + log1p))
  w = tf.where(x < 0.25, near_branch, large)
  w = tf.where(tf.abs(x) < 1e-3, x - x * x, w)
  for _ in range(iterations):
    ew = tf.exp(w)
    f = w * ew - x
    wp1 = w + 1.0
    denom = ew * wp1 - (w + 2.0) * f / (2.0 * wp1)
    step = tf.math.divide_no_nan(f, denom)
    w = tf.where(wp1 > 1e-4, w - step, w)   # at the branch point w = -1 exactly
  return w


def superloss_sigma(loss: tf.Tensor, tau: tf.Tensor, lam: float) -> tf.Tensor:
  """sigma* = exp(-W0(0.5 max(-2/e, (l - tau) / lambda))), with no gradient."""
  beta = tf.maximum(-2.0 / math.e, (tf.stop_gradient(loss) - tau) / lam)
  return tf.stop_gradient(tf.exp(-lambert_w0(0.5 * beta)))


@register_rule("superloss")
def superloss(num_classes: int, lam: float = 1.0, tau: str = "log_c",
              ema_rate: float = 0.1) -> Rule:
  """SuperLoss weights; `tau` is "log_c", "ema" or a number (a fixed threshold)."""
  if not lam > 0:
    raise ValueError(f"lam={lam} must be > 0")
  if not 0 < ema_rate <= 1:
    raise ValueError(f"ema_rate={ema_rate} must be in (0, 1]")
  if tau in ("log_c", "ema"):
    tau0 = math.log(num_classes)
  else:
    try:
      tau0 = float(tau)
    except (TypeError, ValueError):
      raise ValueError(f"tau={tau!r} must be 'log_c', 'ema' or a number") from None
  use_ema = tau == "ema"

  def init(num_samples, num_classes):
    return Tables({}, {}, {TAU: tf.constant(tau0, tf.float32)})

  def modulate(view, batch):
    tau_now = view.shared[TAU]
    def penalty(loss):
      sigma = superloss_sigma(loss, tau_now, lam)
      term = lam * tf.square(tf.math.log(sigma)) - tau_now * sigma
      if batch.valid is None:
        return tf.reduce_mean(term)
      return masked_mean(gathered(term), gathered(batch.valid))  # over the global batch
    return Modulation(weight=lambda loss: superloss_sigma(loss, tau_now, lam),
                      penalty=penalty)

  def update(view, batch, result):
    tau_now = view.shared[TAU]
    sigma = superloss_sigma(result.loss, tau_now, lam)
    if use_ema:
      tau_now = (1.0 - ema_rate) * tau_now + ema_rate * masked_mean(result.loss, batch.valid)
    return view.replace(per_sample={WEIGHT: sigma}, shared={TAU: tau_now})

  return Rule(init=init, modulate=modulate, update=update)
