"""The virtual step shared by the meta rules, and its exact per-example hypergradient.

A virtual SGD step on the weighted training loss of the global batch (B examples),

    theta'(w) = theta - lr * grad_theta (1/B) sum_i w_i l_i(theta),

is linear in w (the weights are constants of the step: a rule's weights are computed
from stop-gradient losses). So the chain rule through it is exact, with no Hessian:

    dL_val(theta'(w)) / dw_i = -(lr / B) * grad l_i(theta) . grad L_val(theta').

Two backward passes and a backward pass through the first compute it for every example
at once. The backward pass of the weighted loss gives the virtual step's gradient
g(w) = grad_theta (1/B) sum_i w_i l_i (at w = 0, learning to reweight, theta' = theta and
g's values are not needed); the backward pass of the mean validation loss at theta' gives
v = grad L_val(theta'); and since g is linear in w, d(g(w) . v)/dw_i = grad l_i . v / B
for every i is one more reverse pass, through the first one. The forward activations do
not depend on w, so it only follows the backward pass's linear dependence on its upstream
gradient: no second derivative of the loss or the model is taken. It is cheaper than
forward mode, which TensorFlow's `ForwardAccumulator` runs as a double backward pass.

The batch's forward pass is the trainer's own (`MetaContext.loss` and `backward`), which
the real step then back-propagates too: a meta step adds to a plain step the virtual
step's backward pass (whose values learning to reweight does not need), the reverse pass
through it, and a forward and a backward pass of the validation batch.

Under a distribution strategy each replica holds part of the batch: the virtual step's
gradient and v are summed over replicas (losses divided by the GLOBAL batch sizes), so
one device and several replicas compute the same theta', v and dL/dw_i.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import tensorflow as tf

from framework.weights.tables import MetaContext

_SUM = tf.distribute.ReduceOp.SUM
_ZERO = tf.UnconnectedGradients.ZERO


class Hypergradient(NamedTuple):
  """The result of a virtual step for this replica's examples."""
  dweight: tf.Tensor   # [b] dL_val(theta'(w)) / dw_i
  loss: tf.Tensor      # [b] training losses l_i(theta) (no gradient)
  weight: tf.Tensor    # [b] the weights w_i of the virtual step (zeros when eps = 0)
  val_loss: tf.Tensor  # scalar mean validation loss at theta' (over the global val batch)


def replica_sum(value):
  """Sums a structure of tensors over the replicas (identity outside a strategy)."""
  ctx = tf.distribute.get_replica_context()
  if ctx is None or ctx.num_replicas_in_sync == 1:
    return value
  return ctx.all_reduce(_SUM, value)


def normalized(value: tf.Tensor, global_batch: int) -> tf.Tensor:
  """value * B / (its sum over the global batch), or value when that sum is 0."""
  total = replica_sum(tf.reduce_sum(value))
  return value * (global_batch / (total + tf.cast(tf.equal(total, 0.0), total.dtype)))


def _training_pass(ctx: MetaContext, labels: tf.Tensor):
  """This replica's per-example training losses at theta and the backward pass through
  them (cotangent [b] -> gradients like ctx.params): the trainer's forward pass when it
  shares it, else one of `ctx.per_example_loss`."""
  if ctx.loss is not None:
    return ctx.loss, ctx.backward
  params = list(ctx.params)
  with tf.GradientTape() as tape:
    tape.watch(params)
    loss = ctx.per_example_loss(params, ctx.features, labels)
  return loss, lambda cotangent: tape.gradient(loss, params, output_gradients=cotangent,
                                               unconnected_gradients=_ZERO)


def weight_hypergradient(ctx: MetaContext, labels: tf.Tensor, lr: float,
                         weight_fn: Callable[[tf.Tensor], tf.Tensor] | None = None
                         ) -> Hypergradient:
  """dL_val(theta'(w))/dw_i for this replica's examples, exactly (see the module docstring).

  Args:
    ctx: the trainer's meta context (this replica's training and validation examples).
    labels: int32 [b] observed labels of this replica's training examples.
    lr: the virtual SGD step size.
    weight_fn: maps the (stop-gradient) training losses [b] to the weights w [b] of the
      virtual step. None: w = 0, so theta' = theta (learning to reweight).
  """
  params = list(ctx.params)
  if ctx.val_features is None:
    raise ValueError("a meta rule needs a clean validation batch; set data.val_per_class > 0")
  loss, backward = _training_pass(ctx, labels)
  with tf.GradientTape() as outer:
    with tf.GradientTape() as upstream:  # d total / d loss: the weights' way into backward
      upstream.watch(loss)
      masked = (loss if ctx.valid is None  # padding: no loss, no weight, no hypergradient
                else loss * tf.cast(ctx.valid, loss.dtype))
      stopped = tf.stop_gradient(masked)
      weight = (tf.zeros_like(stopped) if weight_fn is None
                else tf.stop_gradient(tf.cast(weight_fn(stopped), loss.dtype)))
      outer.watch(weight)
      total = tf.reduce_sum(weight * masked) / ctx.global_batch
    local = backward(upstream.gradient(total, loss))  # this replica's g
    with outer.stop_recording():
      virtual = params
      if weight_fn is not None:
        virtual = [p - tf.cast(lr, p.dtype) * g for p, g in zip(params, replica_sum(local))]
      with tf.GradientTape() as tape:
        tape.watch(virtual)
        val_sum = tf.reduce_sum(ctx.per_example_loss(virtual, ctx.val_features, ctx.val_labels))
        val_mean = val_sum / ctx.val_global_batch
      direction = replica_sum(tape.gradient(val_mean, virtual, unconnected_gradients=_ZERO))
    along = tf.add_n([tf.reduce_sum(g * tf.cast(v, g.dtype)) for g, v in zip(local, direction)])
  dots = outer.gradient(along, weight, unconnected_gradients=_ZERO)  # grad l_i . v / B
  dweight = -tf.cast(lr, dots.dtype) * dots
  return Hypergradient(tf.stop_gradient(dweight), stopped, weight,
                       tf.stop_gradient(replica_sum(val_mean)))
