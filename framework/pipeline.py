"""Deterministic, step-addressable input streams for the trainer.

The stream is a pure function of (seed, step): epoch e visits the training set in the
permutation `stateless_shuffle(range(N), seed=(seed, e))`, and batches are consecutive
runs of that endless sequence. Resuming at step s skips s * global_batch indices, so the
data position needs no checkpoint of its own and a resumed run sees exactly the batches
an uninterrupted run would. Each example carries its stable `index`.
"""

from __future__ import annotations

import tensorflow as tf

from framework.data import Split


def _index_stream(num_examples: int, seed: int, start_element: int) -> tf.data.Dataset:
  first_epoch, offset = divmod(start_element, num_examples)
  def epoch(e):
    return tf.data.Dataset.from_tensor_slices(tf.random.experimental.stateless_shuffle(
        tf.range(num_examples, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), e])))
  return (tf.data.Dataset.range(first_epoch, tf.int64.max)
          .flat_map(epoch).skip(offset))


def _example_fn(split: Split):
  features = tf.constant(split.features)
  labels = tf.constant(split.labels, tf.int32)
  importance = None if split.importance is None else tf.constant(split.importance, tf.float32)
  def lookup(index):
    example = {"features": tf.gather(features, index), "label": tf.gather(labels, index),
               "index": index}
    if importance is not None:
      example["importance"] = tf.gather(importance, index)
    return example
  return lookup


def distributed_stream(strategy: tf.distribute.Strategy, split: Split, global_batch: int,
                       seed: int, start_step: int = 0):
  """An endless distributed stream of batches, starting at step `start_step`.

  At every step replica r holds rows [r * b, (r + 1) * b) of the global batch (b =
  global_batch / replicas), on any number of replicas and hosts, so one device and
  several replicas train on the same global batches.
  """
  replicas = strategy.num_replicas_in_sync
  lookup = _example_fn(split)
  num_examples = len(split.labels)

  def dataset_fn(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
    local = replicas // ctx.num_input_pipelines
    first = ctx.input_pipeline_id * local
    batches = _index_stream(num_examples, seed, start_step * global_batch).batch(
        global_batch, drop_remainder=True)
    per_replica = batches.map(
        lambda idx: tf.reshape(idx, [replicas, global_batch // replicas])[first:first + local])
    return (per_replica.unbatch().map(lookup, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))

  options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
  return strategy.distribute_datasets_from_function(dataset_fn, options)


def eval_batches(split: Split, batch_size: int) -> tf.data.Dataset:
  """The split in order, in batches (the last one may be smaller)."""
  return (tf.data.Dataset.from_tensor_slices(split.features).batch(batch_size)
          .prefetch(tf.data.AUTOTUNE))
