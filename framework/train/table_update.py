"""The rule's update of the weight tables inside a distributed step.

Every replica gathers the global batch (its rows, their view and gradients, the step's
per-example loss, logits and weight), applies the rule once on it and scatters the rows,
so the rows any replica saw reach the table on all of them (never only replica 0's), and
two replicas update the tables as one device does.
"""

from __future__ import annotations

import tensorflow as tf

from framework.weights import Batch, Rule, StepResult, Tables, WeightState, check_update

_SUM = tf.distribute.ReduceOp.SUM


def sum_over_replicas(ctx, tree):
  """The float leaves of `tree` summed over replicas (integer tables have no gradient)."""
  leaves = tf.nest.flatten(tree)
  floats = [i for i, leaf in enumerate(leaves) if leaf.dtype.is_floating]
  summed = ctx.all_reduce(_SUM, [leaves[i] for i in floats]) if floats else []
  for i, value in zip(floats, summed):
    leaves[i] = value
  return tf.nest.pack_sequence_as(tree, leaves)


def update_tables(ctx, rule: Rule, state: WeightState, view: Tables, grads: Tables,
                  batch: Batch, result: StepResult) -> None:
  """Writes the rule's update of this replica's `view` (the rows of `batch`) into `state`,
  from the global batch; without `rule.update` the (meta-updated) view as it is."""
  gathered_view, gathered_rows, per_sample_grads, step_view = ctx.all_gather(
      (view.per_sample, (batch.index, batch.label), grads.per_sample,
       (result.loss, result.logits, result.weight)), axis=0)
  valid = (None if batch.valid is None else  # collectives take no bool
           ctx.all_gather(tf.cast(batch.valid, tf.int32), axis=0) > 0)
  gathered_batch = Batch(*gathered_rows, valid)
  shared_grads = sum_over_replicas(ctx, (grads.per_class, grads.shared))
  global_view = Tables(gathered_view, view.per_class, view.shared)
  global_grads = Tables(per_sample_grads, *shared_grads)
  new_view = global_view
  if rule.update is not None:
    new_view = rule.update(global_view, gathered_batch,
                           StepResult(*step_view, global_grads, result.step))
    check_update(global_view, new_view)
  state.scatter(gathered_batch.index, new_view, gathered_batch.valid)
