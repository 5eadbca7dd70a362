"""Co-teaching (Han et al., NeurIPS 2018): two networks teach each other with small-loss examples.

The model has two peers (`Rule.peers = 2`: the experiment builds two independently
initialised copies of the configured model, one Keras model; see `models.peers`). Each
step ranks the GLOBAL batch (all replicas) by each peer's loss and trains each peer only on
the fraction R(T) of examples with the smallest loss under the OTHER peer:
R(T) = 1 - min(T / T_k * tau, tau), T the epoch, tau = `forget_rate` (the noise rate, or
an estimate of it), T_k = `num_gradual` epochs. A peer's selected examples are weighted
B / k (k = floor(R B) of them), so its loss is their mean, as in the authors' code. The
`weight` table holds the share of peers that selected each example at its last visit.
"""

from __future__ import annotations

import tensorflow as tf

from framework.weights.rule import WEIGHT, Rule, register_rule
from framework.weights.rules.combine import gathered
from framework.weights.tables import Modulation, Tables

STEP = "step"


def keep_rate(step: tf.Tensor, steps_per_epoch: int, forget_rate: float,
              num_gradual: int) -> tf.Tensor:
  """R(T) at the epoch of `step`."""
  epoch = tf.cast(step // steps_per_epoch, tf.float32)
  return 1.0 - tf.minimum(epoch / num_gradual * forget_rate, forget_rate)


def peer_selection(loss: tf.Tensor, keep: tf.Tensor, valid: tf.Tensor | None = None
                   ) -> tf.Tensor:
  """Weights [b, 2] of this replica's examples: peer p keeps the k smallest losses of the
  other peer over the global batch, each weighted B / k (over its B valid rows when the
  batch is padded: the padding ranks last and is never kept)."""
  ctx = tf.distribute.get_replica_context()
  everyone = gathered(loss)     # [B, 2]
  size = tf.shape(everyone)[0]
  if valid is not None:
    real = gathered(valid)
    everyone = tf.where(real[:, None], everyone, tf.constant(float("inf"), everyone.dtype))
    size = tf.reduce_sum(tf.cast(real, tf.int32))
  k = tf.maximum(tf.cast(tf.floor(keep * tf.cast(size, tf.float32)), tf.int32), 1)
  first = ctx.replica_id_in_sync_group * tf.shape(loss)[0]
  weights = []
  for peer in (0, 1):
    rank = tf.argsort(tf.argsort(everyone[:, 1 - peer], stable=True), stable=True)
    mine = rank[first:first + tf.shape(loss)[0]]
    weights.append(tf.cast(mine < k, tf.float32) * tf.cast(size, tf.float32) /
                   tf.cast(k, tf.float32))
  return tf.stack(weights, axis=1)


@register_rule("co_teaching")
def co_teaching(steps_per_epoch: int, forget_rate: float = 0.2, num_gradual: int = 10) -> Rule:
  """Co-teaching of two peers; see the module docstring."""
  if not 0 <= forget_rate < 1:
    raise ValueError(f"forget_rate={forget_rate} must be in [0, 1)")
  if not (isinstance(num_gradual, int) and num_gradual > 0):
    raise ValueError(f"num_gradual={num_gradual!r} must be a positive integer of epochs")

  def init(num_samples, num_classes):
    return Tables(shared={STEP: tf.zeros([], tf.int64)})

  def modulate(view, batch):
    keep = keep_rate(view.shared[STEP], steps_per_epoch, forget_rate, num_gradual)
    return Modulation(weight=lambda loss: peer_selection(loss, keep, batch.valid))

  def update(view, batch, result):
    selected = tf.reduce_mean(tf.cast(result.weight > 0, tf.float32), axis=1)
    # the trainer's step, not a count of updates: skipped non-finite steps do not delay R(T)
    return view.replace(per_sample={WEIGHT: selected}, shared={STEP: result.step + 1})

  return Rule(init=init, modulate=modulate, update=update, peers=2)
