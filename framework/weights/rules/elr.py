"""Early-learning regularisation (Liu et al., NeurIPS 2020): keep agreeing with what the model
predicted early on, before it memorised the noisy labels.

Each example keeps a target t_i [C] (a per-sample table of C columns), a running average
of its predictions: t_i <- beta t_i + (1 - beta) p_i, p the softmax clipped to
[1e-4, 1 - 1e-4] and renormalised, not back-propagated. The loss adds
lambda log(1 - <t_i, p_i>) per example (lambda 3, beta 0.7 for CIFAR-10; 7 and 0.9 for
CIFAR-100), with the target updated from this step's prediction first, as in the authors'
code. `agreement` [N] holds t_i[y_i], the target's mass on the observed label: low for
examples whose label the model never came to predict, often the mislabelled ones: the
rule's signal, as it ends (a running average already).
"""

from __future__ import annotations

import tensorflow as tf

from framework.weights.rule import Rule, Signal, product_modulation, register_rule
from framework.weights.tables import Tables, flat_key

TARGET, AGREEMENT = "target", "agreement"
_CLIP = 1e-4


def _prediction(logits: tf.Tensor) -> tf.Tensor:
  return tf.clip_by_value(tf.nn.softmax(logits), _CLIP, 1.0 - _CLIP)


def moving_target(target: tf.Tensor, logits: tf.Tensor, beta: float) -> tf.Tensor:
  """beta t + (1 - beta) p / sum(p), p the clipped prediction (no gradient)."""
  p = tf.stop_gradient(_prediction(logits))
  return beta * target + (1.0 - beta) * p / tf.reduce_sum(p, axis=-1, keepdims=True)


@register_rule("elr")
def elr(num_classes: int, lam: float = 3.0, beta: float = 0.7) -> Rule:
  """Early-learning regularisation; see the module docstring."""
  if not lam >= 0:
    raise ValueError(f"lam={lam} must be >= 0")
  if not 0 <= beta < 1:
    raise ValueError(f"beta={beta} must be in [0, 1)")

  def init(num_samples, num_classes_):
    return Tables({TARGET: tf.zeros([num_samples, num_classes]),
                   AGREEMENT: tf.zeros([num_samples])})

  def modulate(view, batch):
    old = view.per_sample[TARGET]
    def regularizer(logits):
      target = moving_target(old, logits, beta)
      return lam * tf.math.log(1.0 - tf.reduce_sum(target * _prediction(logits), axis=-1))
    return product_modulation(view, batch)._replace(regularizer=regularizer)

  def update(view, batch, result):
    target = moving_target(view.per_sample[TARGET], result.logits, beta)
    agreement = tf.gather(target, batch.label, batch_dims=1)
    return view.replace(per_sample={TARGET: target, AGREEMENT: agreement})

  return Rule(init=init, modulate=modulate, update=update,
              signal=Signal(flat_key("per_sample", AGREEMENT), averaged=False))
