"""Learning to reweight (Ren et al., 2018): per-batch weights from one clean-data hypergradient.

At eps = 0 the virtual step leaves theta unchanged, so g_i = dL_val/deps_i =
-(lr / B) grad l_i(theta) . grad L_val(theta): examples whose gradient agrees with the
clean validation gradient get weight, the others none. The weights of the global batch
are w_i = max(-g_i, 0) / (sum_j max(-g_j, 0) + [sum == 0]) times B, so the trainer's
mean (compute_average_loss) equals the paper's sum_i w_i l_i. They multiply the factors
outside the rule (class weights, importance).

Tables: `weight` [N] holds each example's last fresh weight (what the step used),
`running` [N] an EMA of it over the visits of that example (for trajectories), and `kept`
[N] an EMA of [w_i > 0], how often the example's gradient agreed with the clean one. The
weight's size varies with the gradient's norm; its sign is the steadier signal, so `kept`
is the table that ranks noisy labels best (they are rarely kept): the rule's signal, as it
ends (an EMA already).
"""

from __future__ import annotations

import tensorflow as tf

from framework.weights.meta import _validate
from framework.weights.meta.hypergradient import normalized, weight_hypergradient
from framework.weights.rule import WEIGHT, Rule, Signal, register_rule
from framework.weights.tables import Tables, flat_key

RUNNING, KEPT = "running", "kept"


def l2rw_weights(dweight: tf.Tensor, global_batch: int) -> tf.Tensor:
  """Normalised, clipped weights from this replica's dL/dw (the sum over all replicas)."""
  return normalized(tf.maximum(-dweight, 0.0), global_batch)


@register_rule("l2rw")
def l2rw(inner_lr: float | str = 0.1, ema_decay: float = 0.9) -> Rule:
  """Learning to reweight.

  Args:
    inner_lr: step size of the virtual SGD step, or "model" for the model's current rate
      (only scales g; kept for the paper's form).
    ema_decay: decay of the `running` and `kept` EMAs over an example's visits, in [0, 1).
  """
  inner_lr = _validate.inner_lr(inner_lr)
  ema_decay = _validate.fraction("ema_decay", ema_decay)

  def init(num_samples: int, num_classes: int) -> Tables:
    del num_classes
    return Tables(per_sample={RUNNING: tf.ones([num_samples]), KEPT: tf.ones([num_samples])})

  def meta(view: Tables, batch, ctx) -> Tables:
    hyper = weight_hypergradient(ctx, batch.label, ctx.inner_lr(inner_lr))
    fresh = tf.cast(l2rw_weights(hyper.dweight, ctx.global_batch), tf.float32)
    ema = lambda name, value: ema_decay * view.per_sample[name] + (1.0 - ema_decay) * value
    kept = tf.cast(fresh > 0, tf.float32)
    return view.replace(per_sample={WEIGHT: fresh, RUNNING: ema(RUNNING, fresh),
                                    KEPT: ema(KEPT, kept)})

  return Rule(init=init, meta=meta, signal=Signal(flat_key("per_sample", KEPT), averaged=False))
