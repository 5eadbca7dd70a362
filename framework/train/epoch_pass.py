"""The epoch pass: the model on the whole training set, for rules that divide it (DivideMix).

Like evaluation, it runs a compiled predict function over the training split in `index`
order, without augmentation and with the model at inference (batch-norm statistics, no
dropout), one batch at a time; with several peers each peer answers for itself. The
trainer calls it at the start of the epochs the rule's `EpochPass` asks for and hands the
result to the rule's `update` on the host.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from framework.data import Split
from framework.data.augment import InputTransform
from framework.data.stream import eval_batches
from framework.weights import PassResult


class TrainingSetPass:
  """Per-example loss [N, P] and probabilities [N, P, C] of each peer on `split`."""

  def __init__(self, model: keras.Model, loss_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
               split: Split, transform: InputTransform, batch_size: int):
    self.split, self.transform, self.batch_size = split, transform, batch_size
    networks = getattr(model, "networks", [model])  # a PeerModel's peers, or the model

    def predict(features, label):
      logits = [tf.cast(network(features, training=False), tf.float32) for network in networks]
      loss = tf.stack([loss_fn(label, z) for z in logits], axis=1)
      return loss, tf.stack([tf.nn.softmax(z) for z in logits], axis=1)

    self._predict = tf.function(predict, reduce_retracing=True)

  def __call__(self, epoch: int) -> PassResult:
    labels = tf.data.Dataset.from_tensor_slices(
        tf.constant(self.split.labels, tf.int32)).batch(self.batch_size)
    features = eval_batches(self.split, self.batch_size, self.transform)
    losses, probabilities = zip(*[
        (loss.numpy(), probs.numpy()) for loss, probs in
        (self._predict(x, y) for x, y in tf.data.Dataset.zip((features, labels)))])
    return PassResult(np.concatenate(losses), np.concatenate(probabilities),
                      np.asarray(self.split.labels), epoch)
