"""The compiled trainer: model, optimizer, loss, class weighting and weight state as one module.

Shaped like Orbit's `StandardTrainer`: it owns its input streams, and `train(num_steps)`
runs `num_steps` steps inside one `tf.function` over `tf.range`, with `strategy.run` per
replica, so it is traced once per run whatever the number of loops. Eager work
(evaluation, summaries, checkpoints) happens between calls, in the controller.
"""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from framework.pipeline import InputStreams
from framework.weights import Batch, MetaContext, Rule, StepResult, Tables, WeightState

_SUM = tf.distribute.ReduceOp.SUM


def _zeros_where_none(grads, like):
  return tf.nest.map_structure(lambda g, v: tf.zeros_like(v) if g is None else g, grads, like)


class Trainer(tf.Module):
  """Trains `model` on per-example `loss_fn` weighted by class weighting, data and rule.

  The weight of example i in a step is class_weight(epoch)[y_i] * importance_i * m_i,
  where m_i is the rule's modulation (by default sample[i] * alpha[y_i]). The loss is
  reduced with `tf.nn.compute_average_loss` at the global batch size; Keras 3 optimizers
  sum gradients across replicas, so the step equals a one-device step on the global batch.
  """

  def __init__(self, model: keras.Model, optimizer: keras.optimizers.Optimizer,
               loss_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
               class_weighting: Callable[[tf.Tensor], tf.Tensor], state: WeightState,
               rule: Rule, inputs: InputStreams):
    super().__init__(name="trainer")
    self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
    self.class_weighting, self.state, self.rule = class_weighting, state, rule
    self.inputs, self.strategy = inputs, inputs.strategy
    self.steps_per_epoch = inputs.steps_per_epoch
    with self.strategy.scope():
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
      if not optimizer.built:
        optimizer.build(model.trainable_variables)
    self._train = tf.function(self._train_loop)
    self._iterators, self._position = None, -1

  @property
  def trace_count(self) -> int:
    return self._train.experimental_get_tracing_count()

  @property
  def current_step(self) -> int:
    return int(self.step.numpy())

  def checkpoint(self) -> tf.train.Checkpoint:
    """Everything a resumed run needs; the data position is the step (see pipeline)."""
    return tf.train.Checkpoint(model=self.model, optimizer=self.optimizer,
                               weights=self.state, step=self.step)

  def train(self, num_steps: int) -> tf.Tensor:
    """Runs `num_steps` steps from the current step; returns their mean training loss.

    The input streams are (re)positioned at the current step when it moved under them
    (a checkpoint restore), so a resumed run continues exactly where the saved one was.
    """
    step = self.current_step
    if self._position != step:
      self._iterators = self.inputs.iterators(step)
    loss = self._train(self._iterators[0], tf.constant(num_steps, tf.int32),
                       self._iterators[1])
    self._position = step + num_steps
    return loss

  def _train_loop(self, iterator, num_steps, val_iterator):
    total = tf.constant(0.0)
    for _ in tf.range(num_steps):
      args = (next(iterator),) + ((next(val_iterator),) if val_iterator is not None else ())
      total += self.strategy.reduce(_SUM, self.strategy.run(self._replica_step, args), None)
      self.step.assign_add(1)
    return total / tf.cast(num_steps, tf.float32)

  def _replica_step(self, batch, val_batch=None):
    ctx = tf.distribute.get_replica_context()
    features, label, index = batch["features"], batch["label"], batch["index"]
    rule_batch = Batch(index, label)
    epoch = self.step // self.steps_per_epoch
    base_weight = tf.gather(self.class_weighting(epoch), label)
    if "importance" in batch:
      base_weight *= batch["importance"]
    view = self.state.gather(index)
    if self.rule.meta is not None:
      view = self.rule.meta(view, rule_batch, self._meta_context(features, base_weight, val_batch))

    variables = self.model.trainable_variables
    with tf.GradientTape() as tape:
      tape.watch(tf.nest.flatten(view))
      modulation = self.rule.modulate(view, rule_batch)
      logits = tf.cast(self.model(features, training=True), tf.float32)
      if modulation.logit_scale is not None:
        logits *= modulation.logit_scale[:, None]
      per_example = self.loss_fn(label, logits)
      modulation = modulation.resolve(per_example)
      weight = base_weight * modulation.weight
      loss = tf.nn.compute_average_loss(weight * per_example,
                                        global_batch_size=self.inputs.batch_size)
      if modulation.penalty is not None:
        loss += modulation.penalty / ctx.num_replicas_in_sync
      if self.model.losses:
        loss += tf.nn.scale_regularization_loss(tf.add_n(self.model.losses))
      scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
    model_grads, view_grads = tape.gradient(scaled, (variables, view))
    self.optimizer.apply_gradients(zip(model_grads, variables))

    if self.rule.update is not None or self.rule.meta is not None:
      view_grads = _zeros_where_none(view_grads, view)
      if scaled is not loss:
        view_grads = view_grads.map(lambda g: g * (loss / scaled))
      self._update_state(ctx, view, view_grads, rule_batch,
                         StepResult(per_example, logits, weight, view_grads, self.step))
    return loss

  def _update_state(self, ctx, view: Tables, grads: Tables, batch: Batch, result: StepResult):
    """Gathers the batch of every replica, applies the rule once on it, scatters the rows.

    Every replica computes the same update from the same global batch, so rows seen by
    any replica reach the table on all of them (never only replica 0's).
    """
    gathered_view, gathered_batch, per_sample_grads, step_view = ctx.all_gather(
        (view.per_sample, batch, grads.per_sample,
         (result.loss, result.logits, result.weight)), axis=0)
    shared_grads = ctx.all_reduce(_SUM, (grads.per_class, grads.shared))
    global_view = Tables(gathered_view, view.per_class, view.shared)
    global_grads = Tables(per_sample_grads, *shared_grads)
    new_view = global_view
    if self.rule.update is not None:
      new_view = self.rule.update(global_view, gathered_batch,
                                  StepResult(*step_view, global_grads, result.step))
    self.state.scatter(gathered_batch.index, new_view)

  def _meta_context(self, features, base_weight, val_batch) -> MetaContext:
    def per_example_loss(params, x, y):
      non_trainable = [v.value for v in self.model.non_trainable_variables]
      logits, _ = self.model.stateless_call(params, non_trainable, x, training=True)
      return self.loss_fn(y, tf.cast(logits, tf.float32))
    return MetaContext(
        per_example_loss, [v.value for v in self.model.trainable_variables], features,
        base_weight, None if val_batch is None else val_batch["features"],
        None if val_batch is None else val_batch["label"], self.inputs.batch_size,
        self.inputs.val_batch_size)
