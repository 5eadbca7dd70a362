"""Deterministic, step-addressable input streams for the trainer.

The stream is a pure function of (seed, step). Epoch e visits the training set in the
permutation `stateless_shuffle(range(N), seed=(seed, e))`, cut into batches of the global
batch size B. With `drop_remainder` (the default) an epoch is N // B batches and the last
N mod B examples of the permutation are dropped, so no batch holds an example twice.
Without it, as PyTorch's DataLoader with drop_last=False, an epoch is ceil(N / B) batches
and every example is seen once: the last batch's r real examples are padded to B (fixed
shapes, one trace) by repeating them, and each example carries `valid` (False on the
padding), which the trainer masks out of the loss, the metrics and the weight tables.
Either way epoch e is exactly steps [e * S, (e + 1) * S), S the steps per epoch, for the
trainer, the schedules and the snapshots alike. Resuming at step s starts at batch s mod S
of epoch s // S, so the data position needs no checkpoint of its own and a resumed run
sees exactly the batches an uninterrupted run would. Each example carries its stable
`index`.

With a class-aware sampler (`data.sampler`), whose draws are not a permutation of the
data, an epoch is S * B draws with `drop_remainder` and N draws (the last batch padded)
without, as PyTorch's DataLoader over a sampler of N draws.
"""

from __future__ import annotations

import tensorflow as tf

from framework.data import Split, augment
from framework.data.augment import InputTransform
from framework.data.mixing import Mixer
from framework.data.samplers import ClassSampler


def steps_per_epoch(num_examples: int, global_batch: int, drop_remainder: bool = True) -> int:
  """Batches in an epoch: the full ones, or also the last partial one."""
  return (num_examples // global_batch if drop_remainder
          else -(-num_examples // global_batch))


def padded_positions(used: int, per_epoch: int, global_batch: int) -> tuple[tf.Tensor, tf.Tensor]:
  """(source position [S * B] in an epoch's order of `used` entries, valid [S * B]): the
  first `used` positions as they are, then the last batch's real entries repeated."""
  last = (per_epoch - 1) * global_batch
  position = tf.range(per_epoch * global_batch, dtype=tf.int64)
  valid = position < used
  return tf.where(valid, position, last + (position - last) % (used - last)), valid


def index_batches(num_examples: int, global_batch: int, seed: int, start_step: int = 0,
                  sampler: ClassSampler | None = None,
                  drop_remainder: bool = True) -> tf.data.Dataset:
  """Batches [global_batch] of example indices from step `start_step` on, endlessly; each
  epoch a permutation, or the class-aware order of `sampler`. Without `drop_remainder`
  the elements are (indices, valid) and the last batch of an epoch is padded."""
  per_epoch = steps_per_epoch(num_examples, global_batch, drop_remainder)
  if per_epoch < 1:
    raise ValueError(f"batch of {global_batch} exceeds the {num_examples} examples")
  first_epoch, offset = divmod(start_step, per_epoch)
  used = per_epoch * global_batch if drop_remainder else num_examples
  shape = [per_epoch, global_batch]

  def epoch(e):
    key = tf.constant(seed, tf.int64)
    if sampler is None:
      order = tf.random.experimental.stateless_shuffle(
          tf.range(num_examples, dtype=tf.int64), seed=tf.stack([key, e]))[:used]
    else:
      order = sampler.epoch_order(key, e, used)
    if drop_remainder:
      return tf.data.Dataset.from_tensor_slices(tf.reshape(order, shape))
    position, valid = padded_positions(used, per_epoch, global_batch)
    return tf.data.Dataset.from_tensor_slices(
        (tf.reshape(tf.gather(order, position), shape), tf.reshape(valid, shape)))

  return tf.data.Dataset.range(first_epoch, tf.int64.max).flat_map(epoch).skip(offset)


def _labels_fn(split: Split):
  labels = tf.constant(split.labels, tf.int32)
  importance = None if split.importance is None else tf.constant(split.importance, tf.float32)
  def lookup(index):
    example = {"label": tf.gather(labels, index), "index": index}
    if importance is not None:
      example["importance"] = tf.gather(importance, index)
    return example
  return lookup


def batches(split: Split, transform: InputTransform, per_replica: tf.data.Dataset,
            batch_size: int, train: bool) -> tf.data.Dataset:
  """Example batches {features, label, index[, importance][, valid]} from a dataset of
  (indices [b], randoms [b, NUM_RANDOMS][, valid [b]]): looked up, augmented (train) or
  not, normalised.

  In-memory rows are gathered a batch at a time; files are read, decoded and brought to the
  transform's size one example at a time in parallel, then batched, and the rest of the
  transform (crop, flip, normalisation) runs on the batch.
  """
  examples, labels = split.examples, _labels_fn(split)
  lookup = examples.lookup_fn()
  marks = lambda valid: {"valid": valid[0]} if valid else {}

  def finish(index, randoms, images, *valid):
    return {"features": transform.finish(images, randoms if train else None), **labels(index),
            **marks(valid)}

  if examples.batched:
    def batch_of(index, randoms, *valid):
      return finish(index, randoms, transform.to_size(lookup(index), randoms if train else None),
                    *valid)
    return per_replica.map(batch_of, num_parallel_calls=tf.data.AUTOTUNE)

  def sized(index, randoms, *valid):
    image = transform.to_size(lookup(index)[None], randoms[None] if train else None)[0]
    return (index, randoms, image) + valid

  return (per_replica.unbatch().map(sized, num_parallel_calls=tf.data.AUTOTUNE)
          .batch(batch_size).map(finish, num_parallel_calls=tf.data.AUTOTUNE))


def mixed_batches(split: Split, transform: InputTransform, per_replica: tf.data.Dataset,
                  batch_size: int, mixer: Mixer) -> tf.data.Dataset:
  """Training batches mixed with their partners, from a dataset of (indices, randoms,
  partner indices, partner randoms, lam, box centres[, valid]): each side read and
  augmented as `batches` does, then mixed (framework.data.mixing)."""
  own = batches(split, transform, per_replica.map(lambda *parts: parts[:2] + parts[6:]),
                batch_size, True)
  partner = batches(split, transform, per_replica.map(lambda *parts: parts[2:4]),
                    batch_size, True)
  plans = per_replica.map(lambda *parts: parts[4:6])

  def mix(example, other, plan):
    features, share = mixer.mix(example["features"], other["features"], *plan)
    mixed = {**example, "features": features,
             "mix": mixer.label_weight(share, example["label"], other["label"]),
             "partner_label": other["label"], "partner_index": other["index"]}
    if "importance" in other:
      mixed["partner_importance"] = other["importance"]
    return mixed

  return tf.data.Dataset.zip((own, partner, plans)).map(mix, num_parallel_calls=tf.data.AUTOTUNE)


def distributed_stream(strategy: tf.distribute.Strategy, split: Split, global_batch: int,
                       seed: int, start_step: int = 0,
                       transform: InputTransform | None = None, train: bool = True,
                       sampler: ClassSampler | None = None, mixer: Mixer | None = None,
                       drop_remainder: bool = True):
  """An endless distributed stream of batches, starting at step `start_step`.

  At every step replica r holds rows [r * b, (r + 1) * b) of the global batch (b =
  global_batch / replicas), with their augmentation uniforms (and mixing partners) drawn
  over the global batch, on any number of replicas and hosts, so one device and several
  replicas train on the same global batches. The uniforms are drawn only when the
  transform reads them (a step's draw depends on its step alone, so the others are the
  same either way).
  """
  replicas = strategy.num_replicas_in_sync
  transform = transform or InputTransform(tuple(split.examples.shape))
  local_batch = global_batch // replicas

  def dataset_fn(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
    local = replicas // ctx.num_input_pipelines
    first = ctx.input_pipeline_id * local
    steps = tf.data.Dataset.range(start_step, tf.int64.max)
    indices = index_batches(len(split), global_batch, seed, start_step, sampler,
                            drop_remainder)
    rows = lambda x: tf.reshape(x, [replicas, local_batch, -1])[first:first + local]

    def mine(step, index):
      randoms = (augment.randoms_for_step(seed, step, global_batch) if train and transform.random
                 else tf.zeros([global_batch, augment.NUM_RANDOMS]))  # nothing reads them
      parts = (index, randoms) if drop_remainder else (index[0], randoms)
      if mixer is not None:
        plan = mixer.plan(seed, step, global_batch)
        parts += (tf.gather(parts[0], plan.partner), tf.gather(randoms, plan.partner),
                  plan.lam, plan.centre)
      if not drop_remainder:
        parts += (index[1],)
      return tuple(rows(part) if part.shape.rank > 1 else rows(part)[..., 0] for part in parts)

    per_replica = tf.data.Dataset.zip((steps, indices)).map(mine).unbatch()
    if mixer is not None:
      return mixed_batches(split, transform, per_replica, local_batch,
                           mixer).prefetch(tf.data.AUTOTUNE)
    return batches(split, transform, per_replica, local_batch, train).prefetch(tf.data.AUTOTUNE)

  options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
  return strategy.distribute_datasets_from_function(dataset_fn, options)


class InputStreams:
  """The trainer's inputs: the augmented training stream and, for meta rules, the clean
  validation stream (its own epochs over the validation split, seeded seed + 1, not
  augmented, always of full batches: it samples clean batches, it is no epoch of
  training), both positioned at a step."""

  def __init__(self, strategy: tf.distribute.Strategy, train: Split, batch_size: int,
               seed: int, val: Split | None = None, val_batch_size: int = 0,
               transform: InputTransform | None = None, sampler: ClassSampler | None = None,
               mixer: Mixer | None = None, drop_remainder: bool = True):
    self.strategy, self.train_split, self.val_split = strategy, train, val
    self.sampler, self.mixer, self.drop_remainder = sampler, mixer, drop_remainder
    self.batch_size, self.val_batch_size, self.seed = batch_size, val_batch_size, seed
    self.transform = transform or InputTransform(tuple(train.examples.shape))
    self.steps_per_epoch = steps_per_epoch(len(train), batch_size, drop_remainder)

  def iterators(self, step: int) -> tuple:
    """(train iterator, validation iterator or None), positioned at `step`."""
    train = iter(distributed_stream(self.strategy, self.train_split, self.batch_size,
                                    self.seed, step, self.transform, True, self.sampler,
                                    self.mixer, self.drop_remainder))
    if self.val_split is None:
      return train, None
    return train, iter(distributed_stream(self.strategy, self.val_split, self.val_batch_size,
                                          self.seed + 1, step, self.transform, train=False))


def eval_batches(split: Split, batch_size: int,
                 transform: InputTransform | None = None) -> tf.data.Dataset:
  """The split's model inputs in order, in batches (the last one may be smaller)."""
  transform = transform or InputTransform(tuple(split.examples.shape))
  order = tf.data.Dataset.range(len(split)).batch(batch_size)
  per_batch = order.map(lambda index: (index, tf.zeros([tf.shape(index)[0], augment.NUM_RANDOMS])))
  return batches(split, transform, per_batch, batch_size, train=False).map(
      lambda batch: batch["features"]).prefetch(tf.data.AUTOTUNE)
