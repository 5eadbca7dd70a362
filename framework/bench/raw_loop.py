"""The reference the benchmarks measure the trainer against: a raw compiled GradientTape loop."""

from __future__ import annotations

from typing import Iterator

import keras
import tensorflow as tf


def raw_loop(model: keras.Model, optimizer: keras.optimizers.Optimizer,
             batches: Iterator) -> tf.types.experimental.PolymorphicFunction:
  """`loop(num_steps)`: num_steps of forward, plain mean cross-entropy, backward and the
  optimizer's update on the (features, labels) `batches`, compiled; returns the mean loss."""
  optimizer.build(model.trainable_variables)

  @tf.function
  def loop(num_steps):
    total = tf.constant(0.0)
    for _ in tf.range(num_steps):
      features, labels = next(batches)
      with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels, model(features, training=True)))
      grads = tape.gradient(loss, model.trainable_variables)
      optimizer.apply_gradients(zip(grads, model.trainable_variables))
      total += loss
    return total / tf.cast(num_steps, tf.float32)

  return loop
