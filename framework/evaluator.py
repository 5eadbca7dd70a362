"""Evaluation: logits of a split in a compiled predict function, metrics in NumPy."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from framework.data import Split
from framework.data.augment import InputTransform
from framework.metrics import classification_metrics
from framework.pipeline import eval_batches


class Evaluator:
  """Computes the metrics of a model on a split, optionally with post-hoc logit adjustment."""

  def __init__(self, model: keras.Model, batch_size: int, class_counts: np.ndarray,
               posthoc_tau: float = 0.0, transform: InputTransform | None = None):
    self.model, self.batch_size, self.transform = model, batch_size, transform
    self.num_classes = len(class_counts)
    prior = np.asarray(class_counts, np.float64) / np.sum(class_counts)
    self.posthoc_tau, self.log_prior = posthoc_tau, np.log(np.maximum(prior, 1e-12))
    self._predict = tf.function(lambda x: tf.cast(model(x, training=False), tf.float32),
                                reduce_retracing=True)

  def logits(self, split: Split) -> np.ndarray:
    return np.concatenate([self._predict(x).numpy()
                           for x in eval_batches(split, self.batch_size, self.transform)])

  def evaluate(self, split: Split) -> dict:
    """Metrics of the split; with posthoc_tau > 0 also `posthoc/<metric>`."""
    logits = self.logits(split)
    metrics = classification_metrics(split.labels, logits, self.num_classes)
    if self.posthoc_tau > 0:
      adjusted = logits - self.posthoc_tau * self.log_prior
      posthoc = classification_metrics(split.labels, adjusted, self.num_classes)
      metrics.update({f"posthoc/{k}": v for k, v in posthoc.items()})
    return metrics
