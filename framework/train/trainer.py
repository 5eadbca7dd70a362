"""The compiled trainer: model, optimizer, loss, class weighting and weight state as one module.

Shaped like Orbit's `StandardTrainer`: it owns its input streams, and `train(num_steps)`
runs `num_steps` steps inside one `tf.function` over `tf.range`, with `strategy.run` per
replica, so it is traced once per run whatever the number of loops. Eager work
(evaluation, summaries, checkpoints) happens between calls, in the controller.
A rule's epoch pass over the training set (`Rule.epoch_pass`, see `epoch_pass`) runs
eagerly at the start of the epochs it asks for, before that epoch's first compiled loop.

Every step checks the loss and the gradients (of every replica) for NaN and infinity
before anything is updated: a non-finite step touches neither the model, nor the
optimizer, nor the weight tables. `on_nonfinite="stop"` ends the loop there (the trainer
is `diverged`); `"skip"` skips the step and goes on, until `max_skipped` in a row.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras
import tensorflow as tf

from framework.data.stream import InputStreams
from framework.train.epoch_pass import TrainingSetPass
from framework.train.meta_step import meta_context, meta_step_on_tape
from framework.train.table_update import update_tables
from framework.weights import Batch, MetaContext, Modulation, Rule, StepResult, WeightState

_SUM = tf.distribute.ReduceOp.SUM
_FIRST = tf.VariableAggregation.ONLY_FIRST_REPLICA
NONFINITE = ("", "the loss", "a gradient")  # what went non-finite, by code


@dataclasses.dataclass(frozen=True)
class StepOptions:
  """How the compiled step forms the loss, compiles, and meets non-finite values."""
  weight_decay: float = 0.0         # L2: 0.5 * wd * sum of squared variables added to the loss
  decay_all: bool = False           # L2 on every trainable variable (torch's SGD), else kernels
  normalize_by_weights: bool = False  # mean by the batch's sum of class weights (torch's weight=)
  jit_compile: bool = False         # XLA for the forward and backward pass
  on_nonfinite: str = "stop"        # stop | skip | off (no check: to measure its cost)
  max_skipped: int = 10             # skip: stop after this many non-finite steps in a row


def _mixed(own: Modulation, mix: tf.Tensor, partner: Modulation) -> Modulation:
  """The modulation of mixed examples: weights mixed as the labels are; the rest (logit
  scale, penalty, regulariser) the primary example's."""
  weight = own.weight
  if weight.shape.rank == 2:
    mix = mix[:, None]
  return own._replace(weight=mix * weight + (1.0 - mix) * partner.weight)


def _zeros_where_none(grads, like):
  return tf.nest.map_structure(lambda g, v: tf.zeros_like(v) if g is None else g, grads, like)


class Trainer(tf.Module):
  """Trains `model` on per-example `loss_fn` weighted by class weighting, data and rule.

  The weight of example i in a step is class_weight(epoch)[y_i] * importance_i * m_i,
  where m_i is the rule's modulation (by default sample[i] * alpha[y_i]). The loss is
  reduced with `tf.nn.compute_average_loss` at the global batch size (on an epoch's padded
  last batch, `data.drop_remainder=False`, at its real examples, the padding weighted 0);
  Keras 3 optimizers sum gradients across replicas, so the step equals a one-device step
  on the global batch.
  """

  def __init__(self, model: keras.Model, optimizer: keras.optimizers.Optimizer,
               loss_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
               class_weighting: Callable[[tf.Tensor], tf.Tensor], state: WeightState,
               rule: Rule, inputs: InputStreams, options: StepOptions = StepOptions()):
    super().__init__(name="trainer")
    self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
    self.class_weighting, self.state, self.rule = class_weighting, state, rule
    self.inputs, self.strategy, self.options = inputs, inputs.strategy, options
    self.steps_per_epoch = inputs.steps_per_epoch
    with self.strategy.scope():
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
      self.skipped = tf.Variable(0, dtype=tf.int64, trainable=False, name="skipped")
      self._in_a_row = tf.Variable(0, dtype=tf.int64, trainable=False)
      self._diverged = tf.Variable(0, dtype=tf.int64, trainable=False)  # NONFINITE code
      self._stop = tf.Variable(False, trainable=False, aggregation=_FIRST,
                               synchronization=tf.VariableSynchronization.ON_WRITE)
      # the step of the rule's last epoch pass (see `_epoch_pass_if_due`)
      self.pass_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="pass_step")
      if not optimizer.built:
        optimizer.build(model.trainable_variables)
    decayed = [v for v in model.trainable_variables if options.decay_all or "kernel" in v.name]
    self._decayed = decayed if options.weight_decay else []
    compute = self._compute_gradients if rule.objective is None else self._objective_gradients
    self._gradients = tf.function(compute, jit_compile=True) if options.jit_compile else compute
    self._train = tf.function(self._train_loop)
    self._iterators, self._position = None, -1
    self._pass = (TrainingSetPass(model, loss_fn, inputs.train_split, inputs.transform,
                                  inputs.batch_size) if rule.epoch_pass is not None else None)

  @property
  def trace_count(self) -> int:
    return self._train.experimental_get_tracing_count()

  @property
  def current_step(self) -> int:
    return int(self.step.numpy())

  @property
  def diverged(self) -> str:
    """'' while training is sound; else what went non-finite at `current_step`."""
    return NONFINITE[int(self._diverged.numpy())]

  @property
  def stop_requested(self) -> bool:
    return bool(self._stop.numpy())

  def request_stop(self) -> None:
    """Asks the running loop to stop after its current step (safe from another thread)."""
    self._stop.assign(True)

  @property
  def pass_every_steps(self) -> int:
    """Steps between the points where an epoch pass may fall (0: the rule has none); a
    `train` call must not cross one."""
    return self.steps_per_epoch if self._pass is not None else 0

  def checkpoint(self) -> tf.train.Checkpoint:
    """Everything a resumed run needs; the data position is the step (see pipeline)."""
    epoch_pass = {"pass_step": self.pass_step} if self._pass is not None else {}
    return tf.train.Checkpoint(model=self.model, optimizer=self.optimizer,
                               weights=self.state, step=self.step, skipped=self.skipped,
                               **epoch_pass)

  def train(self, num_steps: int) -> tf.Tensor:
    """Runs up to `num_steps` steps from the current step; returns their mean training loss.

    The input streams are (re)positioned at the current step when it moved under them
    (a checkpoint restore), so a resumed run continues exactly where the saved one was.
    Fewer steps run when the loss or a gradient went non-finite (see `diverged`).
    """
    step = self.current_step
    if self._pass is not None:
      self._epoch_pass_if_due(step, num_steps)
    if self._position != step:
      self._iterators = self.inputs.iterators(step)
    loss = self._train(self._iterators[0], tf.constant(num_steps, tf.int32),
                       self._iterators[1])
    self._position = step + num_steps
    return loss

  def _epoch_pass_if_due(self, step: int, num_steps: int) -> None:
    """At the first step of an epoch the rule's pass is due at, the pass and the rule's
    update of its tables, unless already made at this step (a run resumed after it)."""
    epoch, into = divmod(step, self.steps_per_epoch)
    crossed = range(epoch + 1, (step + num_steps - 1) // self.steps_per_epoch + 1)
    if due := [e for e in crossed if self.rule.epoch_pass.due(e)]:
      raise ValueError(f"train({num_steps}) from step {step} crosses the start of epoch "
                       f"{due[0]}, where the rule makes an epoch pass; end loops there "
                       "(see pass_every_steps)")
    if into == 0 and self.rule.epoch_pass.due(epoch) and int(self.pass_step.numpy()) != step:
      self.state.assign(self.rule.epoch_pass.update(self.state.tables(), self._pass(epoch)))
      self.pass_step.assign(step)

  def _train_loop(self, iterator, num_steps, val_iterator):
    total, done = tf.constant(0.0), tf.constant(0.0)
    for _ in tf.range(num_steps):
      args = (next(iterator),) + ((next(val_iterator),) if val_iterator is not None else ())
      loss, flags = self.strategy.run(self._replica_step, args)
      loss = self.strategy.reduce(_SUM, loss, None)
      code, stop = (tf.cast(f, tf.int64) for f in
                    tf.unstack(self.strategy.experimental_local_results(flags)[0]))
      if code > 0:
        self.skipped.assign_add(1)
        self._in_a_row.assign_add(1)
        if self.options.on_nonfinite == "stop" or self._in_a_row >= self.options.max_skipped:
          self._diverged.assign(code)
          break
      else:
        self._in_a_row.assign(0)
        total += loss
        done += 1.0
      self.step.assign_add(1)
      if stop > 0:
        break
    return tf.math.divide_no_nan(total, done)

  def _base_weight(self, ctx, batch, real) -> tf.Tensor:
    """class_weight(epoch)[y] (over the batch's weight sum when normalize_by_weights) times
    the data's importance; 0 on padding rows. A mixed example's is mix times that of y_i
    plus (1 - mix) times that of its partner (each side normalised as unmixed)."""
    weight = tf.gather(self.class_weighting(self.step // self.steps_per_epoch), batch["label"])
    if "valid" in batch:
      weight *= tf.cast(batch["valid"], weight.dtype)
    if self.options.normalize_by_weights:
      total = ctx.all_reduce(_SUM, tf.reduce_sum(weight))
      weight *= real / total
    if "importance" in batch:
      weight *= batch["importance"]
    if "mix" in batch:
      partner = {"label": batch["partner_label"]}
      partner.update({k: batch[v] for k, v in (("valid", "valid"),
                                               ("importance", "partner_importance")) if v in batch})
      weight = batch["mix"] * weight + (1.0 - batch["mix"]) * self._base_weight(ctx, partner, real)
    return weight

  def _replica_step(self, batch, val_batch=None):
    ctx = tf.distribute.get_replica_context()
    features, label, index = batch["features"], batch["label"], batch["index"]
    rule_batch = Batch(index, label, batch.get("valid"))
    real = self._real_examples(ctx, rule_batch)
    base_weight = self._base_weight(ctx, batch, real)
    view = self.state.gather(index)
    meta = None
    if self.rule.meta is not None:
      meta = meta_context(self.model, self.loss_fn, features, base_weight, val_batch, real,
                          rule_batch.valid, self.inputs.val_batch_size,
                          self.optimizer.learning_rate)
      if self.options.jit_compile or self.rule.objective is not None:
        # a forward pass of its own: collectives stay out of XLA; an objective is no loss_fn
        view, meta = self.rule.meta(view, rule_batch, meta), None
    partner = () if "mix" not in batch else (
        batch["mix"], Batch(batch["partner_index"], batch["partner_label"], batch.get("valid")),
        self.state.gather(batch["partner_index"]))
    result = self._gradients(features, label, view, base_weight, rule_batch, real, partner, meta)
    view, outputs = result[0], result[1:]
    loss, model_grads = outputs[0], outputs[2]
    if self.options.on_nonfinite == "off":  # no check (to measure the guard's cost)
      stop = ctx.all_reduce(_SUM, tf.cast(self._stop, tf.float32))
      self._apply(view, rule_batch, *outputs)
      return loss, tf.stack([0, tf.cast(stop > 0, tf.int32)])
    finite_sum = tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in model_grads])
    flags = ctx.all_reduce(_SUM, tf.stack([  # one collective: every replica and worker agrees
        tf.cast(~tf.math.is_finite(loss), tf.float32),
        tf.cast(~tf.math.is_finite(finite_sum), tf.float32),
        tf.cast(self._stop, tf.float32)]))
    code = tf.where(flags[0] > 0, 1, tf.where(flags[1] > 0, 2, 0))
    ctx.merge_call(self._apply_if_finite, args=(code == 0, (view, rule_batch) + outputs))
    return loss, tf.stack([code, tf.cast(flags[2] > 0, tf.int32)])

  def _real_examples(self, ctx, batch: Batch):
    """The real examples of the global batch: the batch size, or, on a padded batch, the
    count of its valid rows (the mean's denominator, as PyTorch's over a last partial
    batch)."""
    if batch.valid is None:
      return self.inputs.batch_size
    return ctx.all_reduce(_SUM, tf.reduce_sum(batch.real_rows()))

  def _compute_gradients(self, features, label, view, base_weight, rule_batch, real,
                         partner=(), meta: MetaContext | None = None):
    """The view the step used; loss, scaled loss, model and view gradients, and what the
    rule's update needs.

    `partner` is () or, for mixed examples, (mix, the partners' Batch, their view): the
    loss is mixed over the two labels and the rule's weight over the two examples (the
    partners' rows of the tables get no gradient; each example is some position's primary
    once per step). `meta`: the context of the rule's meta step, which then runs on this
    step's forward pass (see `meta_step.meta_step_on_tape`) and gives the view.
    """
    with tf.GradientTape(persistent=meta is not None) as tape:
      peers = self.model(features, training=True)  # a list for a model of peers
      logits = [tf.cast(p, tf.float32) for p in (
          peers if isinstance(peers, (list, tuple)) else [peers])]
      if meta is not None:
        view = meta_step_on_tape(self.rule, self.model, tape, view, rule_batch, meta,
                                 self.loss_fn(label, logits[0]))
      tape.watch([t for t in tf.nest.flatten(view) if t.dtype.is_floating])
      modulation = self.rule.modulate(view, rule_batch)
      if modulation.logit_scale is not None:
        logits = [z * modulation.logit_scale[:, None] for z in logits]
      per_example = (self._example_loss(label, logits[0], partner) if len(logits) == 1 else
                     tf.stack([self._example_loss(label, z, partner) for z in logits], axis=1))
      modulation = modulation.resolve(per_example)
      if partner:
        modulation = _mixed(modulation, partner[0], self.rule.modulate(
            partner[2], partner[1]).resolve(per_example))
      if len(logits) == 1:
        weight = base_weight * modulation.weight
        weighted = weight * per_example
      else:
        weight = base_weight[:, None] * modulation.weight
        weighted = tf.reduce_sum(weight * per_example, axis=1)
      if modulation.regularizer is not None:
        regularizer = modulation.regularizer(logits[0])
        weighted += (regularizer if rule_batch.valid is None
                     else regularizer * rule_batch.real_rows(regularizer.dtype))
      loss = (tf.nn.compute_average_loss(weighted, global_batch_size=real)
              if rule_batch.valid is None else tf.reduce_sum(weighted) / real)
      if modulation.penalty is not None:
        loss += modulation.penalty / tf.distribute.get_replica_context().num_replicas_in_sync
      loss += self._regularization()
      scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
    model_grads, view_grads = tape.gradient(scaled, (self.model.trainable_variables, view))
    view_grads = _zeros_where_none(view_grads, view)
    if scaled is not loss:
      view_grads = view_grads.map(lambda g: g * (loss / scaled))
    return view, loss, scaled, model_grads, view_grads, per_example, logits[0], weight

  def _example_loss(self, label, logits, partner):
    """The per-example loss; for mixed examples mix * loss(y_i) + (1 - mix) * loss(y_j)."""
    loss = self.loss_fn(label, logits)
    if not partner:
      return loss
    mix, partner_batch = partner[0], partner[1]
    return mix * loss + (1.0 - mix) * self.loss_fn(partner_batch.label, logits)

  def _regularization(self) -> tf.Tensor:
    """The model's own losses and the L2 weight decay, scaled for this replica."""
    regularization = list(self.model.losses) + [
        0.5 * self.options.weight_decay * tf.add_n([tf.reduce_sum(tf.square(v))
                                                    for v in self._decayed])
    ] if self._decayed else list(self.model.losses)
    if not regularization:
      return tf.constant(0.0)
    return tf.nn.scale_regularization_loss(tf.add_n(regularization))

  def _objective_gradients(self, features, label, view, base_weight, rule_batch, real,
                           partner=(), meta=None):
    """`_compute_gradients` for a rule forming its own loss (`Rule.objective`; such a rule
    mixes its examples itself, so the stream's mixing is refused with it)."""
    del label, base_weight, real, partner, meta
    with tf.GradientTape() as tape:
      objective = self.rule.objective(view, rule_batch, self.model, features, self.step)
      replicas = tf.distribute.get_replica_context().num_replicas_in_sync
      loss = (tf.nn.compute_average_loss(objective.terms,
                                         global_batch_size=self.inputs.batch_size)
              + objective.penalty / replicas + self._regularization())
      scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
    model_grads = tape.gradient(scaled, self.model.trainable_variables)
    return (view, loss, scaled, model_grads, view.map(tf.zeros_like), objective.loss,
            objective.logits, tf.ones_like(objective.loss))

  def _apply_if_finite(self, distribution, finite, payload):
    """In cross-replica context (a branch that syncs replicas may not sit in a replica
    context's cond): applies every replica's update when the step is finite."""
    finite = distribution.experimental_local_results(finite)[0]
    tf.cond(finite, lambda: distribution.extended.call_for_each_replica(
        self._apply, args=payload) or tf.constant(True), lambda: tf.constant(False))

  def _apply(self, view, rule_batch, loss, scaled, model_grads, view_grads, per_example,
             logits, weight):
    del loss, scaled
    self.optimizer.apply_gradients(zip(model_grads, self.model.trainable_variables))
    if self.rule.update is not None or self.rule.meta is not None:
      ctx = tf.distribute.get_replica_context()
      update_tables(ctx, self.rule, self.state, view, view_grads, rule_batch,
                    StepResult(per_example, logits, weight, view_grads, self.step))
