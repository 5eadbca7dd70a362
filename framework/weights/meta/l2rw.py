"""Learning to reweight (Ren et al., 2018): per-batch weights from one clean-data hypergradient.

At eps = 0 the virtual step leaves theta unchanged, so g_i = dL_val/deps_i =
-(lr / B) grad l_i(theta) . grad L_val(theta): examples whose gradient agrees with the
clean validation gradient get weight, the others none. The weights of the global batch
are w_i = max(-g_i, 0) / (sum_j max(-g_j, 0) + [sum == 0]) times B, so the trainer's
mean (compute_average_loss) equals the paper's sum_i w_i l_i. They multiply the factors
outside the rule (class weights, importance).

Tables: `weight` [N] holds each example's last fresh weight (what the step used) and
`running` [N] an EMA of it over the visits of that example (for trajectories and noise
ranking: noisy labels get low running weights).
"""

from __future__ import annotations

import tensorflow as tf

from framework.weights.meta import _validate
from framework.weights.meta.hypergradient import replica_sum, weight_hypergradient
from framework.weights.rule import WEIGHT, Rule, register_rule
from framework.weights.tables import Tables

RUNNING = "running"


def l2rw_weights(dweight: tf.Tensor, global_batch: int) -> tf.Tensor:
  """Normalised, clipped weights from this replica's dL/dw (the sum over all replicas)."""
  positive = tf.maximum(-dweight, 0.0)
  total = replica_sum(tf.reduce_sum(positive))
  total += tf.cast(tf.equal(total, 0.0), total.dtype)
  return positive / total * global_batch


@register_rule("l2rw")
def l2rw(inner_lr: float = 0.1, ema_decay: float = 0.9) -> Rule:
  """Learning to reweight.

  Args:
    inner_lr: step size of the virtual SGD step (only scales g; kept for the paper's form).
    ema_decay: decay of the `running` EMA of each example's weight, in [0, 1).
  """
  inner_lr = _validate.positive("inner_lr", inner_lr)
  ema_decay = _validate.fraction("ema_decay", ema_decay)

  def init(num_samples: int, num_classes: int) -> Tables:
    del num_classes
    return Tables(per_sample={RUNNING: tf.ones([num_samples])})

  def meta(view: Tables, batch, ctx) -> Tables:
    hyper = weight_hypergradient(ctx, batch.label, inner_lr)
    fresh = tf.cast(l2rw_weights(hyper.dweight, ctx.global_batch), tf.float32)
    running = ema_decay * view.per_sample[RUNNING] + (1.0 - ema_decay) * fresh
    return view.replace(per_sample={WEIGHT: fresh, RUNNING: running})

  return Rule(init=init, meta=meta, needs_validation=True)
