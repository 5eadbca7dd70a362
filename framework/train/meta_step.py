"""What the trainer hands a rule's meta step (`Rule.meta`), and the meta step run on the
model step's own forward pass."""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from framework.weights import Batch, MetaContext, Rule, Tables


def meta_context(model: keras.Model, loss_fn: Callable, features, base_weight, val_batch,
                 real, valid, val_batch_size: int, learning_rate) -> MetaContext:
  """The batch, the model as a pure function of its parameters (a stateless forward pass
  to the per-example loss), the clean validation batch and the model's rate."""
  def per_example_loss(params, x, y):
    non_trainable = [v.value for v in model.non_trainable_variables]
    logits, _ = model.stateless_call(params, non_trainable, x, training=True)
    return loss_fn(y, tf.cast(logits, tf.float32))
  return MetaContext(
      per_example_loss, [v.value for v in model.trainable_variables], features, base_weight,
      None if val_batch is None else val_batch["features"],
      None if val_batch is None else val_batch["label"], real, val_batch_size,
      tf.cast(learning_rate, tf.float32), valid)


def meta_step_on_tape(rule: Rule, model: keras.Model, tape: tf.GradientTape, view: Tables,
                      batch: Batch, meta: MetaContext, loss: tf.Tensor) -> Tables:
  """The rule's meta step on the step's forward pass, which `tape` records (to `loss`, the
  plain per-example loss): its virtual step back-propagates through it instead of running
  a forward pass of its own."""
  variables = model.trainable_variables
  backward = lambda cotangent: tape.gradient(loss, variables, output_gradients=cotangent,
                                             unconnected_gradients=tf.UnconnectedGradients.ZERO)
  with tape.stop_recording():
    return rule.meta(view, batch, meta._replace(loss=loss, backward=backward))
