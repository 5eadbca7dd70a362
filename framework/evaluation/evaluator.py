"""Evaluation: logits of a split in a compiled predict function, metrics in NumPy."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from framework.evaluation import decoupled
from framework.data import Split
from framework.data.augment import InputTransform
from framework.evaluation.calibration import calibration_metrics
from framework.evaluation.metrics import classification_metrics, top_k_accuracy
from framework.evaluation.shots import protocol_thresholds, shot_accuracies, shot_classes
from framework.losses.base import output_scale
from framework.data.stream import eval_batches

TOP_K, TOP_K_MIN_CLASSES = 5, 10  # top-5 accuracy is reported from 10 classes on


def positive_class_for(class_counts: np.ndarray, requested: int = -1) -> int | None:
  """The class binary metrics are about: `requested`, or for -1 the minority by training
  counts (class 1 on a tie); None unless there are 2 classes."""
  counts = np.asarray(class_counts)
  if len(counts) != 2:
    return None
  if requested != -1:
    return int(requested)
  return 0 if counts[0] < counts[1] else 1


class Evaluator:
  """Computes the metrics of a model on a split, optionally with post-hoc logit adjustment
  (`posthoc/...`) and tau-normalised classifier weights (`taunorm/...`, see decoupled).
  Binary metrics are about `positive_class` (-1: the minority by `class_counts`).

  Besides `classification_metrics`, each set of metrics holds `ece` with the reliability
  bins (see calibration), `top5_accuracy` from 10 classes on, and, when the training counts
  `class_counts` fill all three groups under `shot_thresholds` ((many, few); None: the
  field's (100, 20), moved to the protocol's counts if a group would be empty, see shots),
  `many_shot_accuracy`, `medium_shot_accuracy`, `few_shot_accuracy` and, once,
  `shot_thresholds` [many, few] (also the attribute `shot_thresholds`, None when the
  groups are not reported).
  """

  def __init__(self, model: keras.Model, batch_size: int, class_counts: np.ndarray,
               posthoc_tau: float = 0.0, transform: InputTransform | None = None,
               tau_norm: float | str = "", validation: Split | None = None,
               positive_class: int = -1,
               shot_thresholds: tuple[float, float] | None = None, output_scale: float = 1.0):
    self.model, self.batch_size, self.transform = model, batch_size, transform
    self.output_scale = output_scale
    self.num_classes = len(class_counts)
    self.positive_class = positive_class_for(class_counts, positive_class)
    prior = np.asarray(class_counts, np.float64) / np.sum(class_counts)
    self.posthoc_tau, self.log_prior = posthoc_tau, np.log(np.maximum(prior, 1e-12))
    self._predict = tf.function(lambda x: tf.cast(model(x, training=False), tf.float32),
                                reduce_retracing=True)
    self.tau_norm, self.validation = tau_norm, validation
    if tau_norm != "":
      features = decoupled.features_model(model)
      self._features = tf.function(lambda x: tf.cast(features(x, training=False), tf.float32),
                                   reduce_retracing=True)
    self.class_counts = np.asarray(class_counts)
    thresholds = (protocol_thresholds(class_counts) if shot_thresholds is None
                  else tuple(shot_thresholds))
    groups = shot_classes(class_counts, *thresholds)
    self.shot_thresholds = thresholds if all(c.size for c in groups.values()) else None

  def _outputs(self, split: Split, fn) -> np.ndarray:
    return np.concatenate([fn(x).numpy()
                           for x in eval_batches(split, self.batch_size, self.transform)])

  def logits(self, split: Split) -> np.ndarray:
    """The logits the loss's softmax sees: the model's outputs times `output_scale`."""
    logits = self._outputs(split, self._predict)
    return logits if self.output_scale == 1.0 else logits * np.float32(self.output_scale)

  def evaluate(self, split: Split) -> dict:
    """Metrics of the split; with posthoc_tau > 0 also `posthoc/<metric>`, with tau_norm
    also `taunorm/<metric>` (and `taunorm/tau`)."""
    logits = self.logits(split)
    metrics = self._metrics(split.labels, logits)
    norms = decoupled.classifier_norms(self.model)
    if norms is not None:
      metrics["per_class_classifier_norm"] = norms
    if self.shot_thresholds is not None:
      metrics["shot_thresholds"] = list(self.shot_thresholds)
    if self.posthoc_tau > 0:
      adjusted = logits - self.posthoc_tau * self.log_prior
      posthoc = self._metrics(split.labels, adjusted)
      metrics.update({f"posthoc/{k}": v for k, v in posthoc.items()})
    if self.tau_norm != "":
      metrics.update(self._tau_normalized(split))
    return metrics

  def _metrics(self, labels: np.ndarray, logits: np.ndarray) -> dict:
    """classification_metrics, calibration, top-5 and many / medium / few-shot accuracy."""
    metrics = classification_metrics(labels, logits, self.num_classes, self.positive_class)
    if self.num_classes >= TOP_K_MIN_CLASSES:
      metrics[f"top{TOP_K}_accuracy"] = top_k_accuracy(labels, logits, TOP_K)
    metrics.update(calibration_metrics(labels, logits))
    if self.shot_thresholds is not None:
      metrics.update(shot_accuracies(metrics["per_class_recall"], metrics["support"],
                                     self.class_counts, *self.shot_thresholds))
    return metrics

  def _tau_normalized(self, split: Split) -> dict:
    kernel = np.asarray(decoupled.head_of(self.model).kernel.numpy(), np.float64)
    tau = self.tau_norm
    if tau == "auto":  # by balanced accuracy on the clean validation split
      features = self._outputs(self.validation, self._features)
      scores = [classification_metrics(
          self.validation.labels, decoupled.tau_normalized_logits(features, kernel, t),
          self.num_classes)["balanced_accuracy"] for t in decoupled.TAUS]
      tau = decoupled.TAUS[int(np.argmax(scores))]
    logits = decoupled.tau_normalized_logits(self._outputs(split, self._features), kernel, tau)
    metrics = self._metrics(split.labels, logits)
    return {"taunorm/tau": float(tau), **{f"taunorm/{k}": v for k, v in metrics.items()}}


def run_evaluator(model: keras.Model, config, data) -> Evaluator:
  """The Evaluator a run's config (its `eval` section and loss) and data ask for (training
  and re-evaluation); `eval.shot_thresholds` () chooses the many / few-shot thresholds
  automatically."""
  e = config.eval
  return Evaluator(model, e.batch_size, data.class_counts, e.posthoc_tau, data.transform,
                   decoupled.parse_tau(e.get("tau_norm", "")), data.val,
                   e.get("positive_class", -1), tuple(e.get("shot_thresholds", ())) or None,
                   output_scale(config.loss))
