"""What a run writes to TensorBoard, as controller actions and two one-off writes.

* `TrainingSummaries` (every `every_loops` loops): loss, learning rate, the per-sample
  weight distribution (histograms overall and per class, quantiles, per-class means,
  fraction at zero), a histogram of each other per-sample table, alpha and any other
  per-class table per class, scalar shared tables, the tracked samples' trajectories and
  their heatmap.
* `EvalSummaries` (at every evaluation): the metrics, per-class recall and precision, and
  the confusion matrix.
* `write_header` (once): the config as text and a custom-scalars layout drawing each
  per-class family as one multi-line chart; `write_hparams` (at the end): the run's main
  choices with its final metrics.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import metadata as custom_scalar_metadata

from framework.actions import scalars
from framework.controller import LoopEnd
from framework.logging import tracking
from framework.logging.images import confusion_matrix_image
from framework.logging.writer import MetricWriter
from framework.weights import ALPHA, WEIGHT, WeightState

QUANTILES = (0, 10, 50, 90, 100)
ZERO = 1e-6  # |w| below this counts as a zero weight (a sample switched off)
# Hyperparameters shown as HParams columns: the main choices of a run.
HPARAM_FIELDS = ("data.source", "data.noise.kind", "data.noise.rate", "data.long_tail.profile",
                 "data.long_tail.imbalance_ratio", "model.name", "loss.name", "rule.name",
                 "class_weights.scheme", "optimizer.name", "optimizer.learning_rate",
                 "optimizer.schedule", "train.batch_size", "train.epochs", "seed")


def tag_name(name: str) -> str:
  """A class name usable as one tag component ('T-shirt/top' -> 'T-shirt_top')."""
  return re.sub(r"[/\s]+", "_", str(name))


def weight_summaries(weights: np.ndarray, labels: np.ndarray, class_names) -> tuple[dict, dict]:
  """Scalars and histograms describing per-sample weights [N] given observed labels [N]."""
  weights = np.asarray(weights, np.float64)
  values = {f"weights/quantile/p{q}": v
            for q, v in zip(QUANTILES, np.percentile(weights, QUANTILES))}
  values["weights/fraction_zero"] = float(np.mean(np.abs(weights) < ZERO))
  histograms = {"weights/all": weights}
  for c, name in enumerate(class_names):
    rows = weights[labels == c]
    if rows.size:
      values[f"weights/mean/{tag_name(name)}"] = float(rows.mean())
      histograms[f"weights/class/{tag_name(name)}"] = rows
  return {k: float(v) for k, v in values.items()}, histograms


def table_summaries(tables: Mapping[str, np.ndarray], class_names) -> tuple[dict, dict]:
  """(scalars, histograms) of a rule's tables other than `weight` (flat paths).

  Per-class vectors as alpha/<class> or class_tables/<path>/<class>; scalar shared
  tables as tables/<path>; other per-sample tables as histograms tables/<path>.
  """
  values, histograms = {}, {}
  for key, value in tables.items():
    group, path = key.split("/", 1)
    if group == "per_sample" and path != WEIGHT:
      histograms[f"tables/{path}"] = value
    elif group == "per_class" and value.ndim == 1:
      prefix = "alpha" if path == ALPHA else f"class_tables/{path}"
      values.update({f"{prefix}/{tag_name(c)}": float(v) for c, v in zip(class_names, value)})
    elif group == "shared" and value.size == 1:
      values[f"tables/{path}"] = float(value.reshape(()))
  return values, histograms


class TrainingSummaries:
  """The training views, every `every_loops` loops (0: never)."""

  def __init__(self, writer: MetricWriter, state: WeightState,
               learning_rate: Callable[[], float], labels: np.ndarray,
               class_names: Sequence[str], tracked: tracking.TrackedSet, every_loops: int,
               heatmap_max_columns: int):
    self.writer, self.state, self.learning_rate = writer, state, learning_rate
    self.labels, self.class_names, self.every_loops = labels, list(class_names), every_loops
    self.recorder = tracking.TrajectoryRecorder(tracked, heatmap_max_columns)

  def __call__(self, end: LoopEnd) -> None:
    if not self.every_loops or end.loop % self.every_loops:
      return
    tables = self.state.numpy()
    weights = tables[f"per_sample/{WEIGHT}"]
    values, histograms = weight_summaries(weights, self.labels, self.class_names)
    more_values, more_histograms = table_summaries(tables, self.class_names)
    values.update(more_values)
    values.update(self.recorder.record(end.step, weights))
    values["train/loss"] = end.logs["train/loss"]
    values["train/learning_rate"] = self.learning_rate()
    self.writer.write_scalars(end.step, values)
    self.writer.write_histograms(end.step, {**histograms, **more_histograms})
    image = self.recorder.image()
    if image is not None:
      self.writer.write_images(end.step, {"trajectory/heatmap": image})


class EvalSummaries:
  """The evaluation views, whenever the loop's logs hold an evaluation."""

  def __init__(self, writer: MetricWriter, class_names: Sequence[str]):
    self.writer, self.class_names = writer, list(class_names)

  def __call__(self, end: LoopEnd) -> None:
    metrics = end.logs.get("eval")
    if metrics is None:
      return
    values = {f"eval/{k}": v for k, v in scalars(metrics).items()}
    for kind in ("recall", "precision"):
      values.update({f"eval/{kind}/{tag_name(name)}": v
                     for name, v in zip(self.class_names, metrics[f"per_class_{kind}"])})
    self.writer.write_scalars(end.step, values)
    self.writer.write_images(end.step, {
        "eval/confusion_matrix": confusion_matrix_image(metrics["confusion_matrix"])})


def custom_scalars_layout(tracked: tracking.TrackedSet) -> layout_pb2.Layout:
  """One multi-line chart per per-class family, one per class for the trajectories."""
  def chart(title: str, prefix: str) -> layout_pb2.Chart:
    return layout_pb2.Chart(title=title, multiline=layout_pb2.MultilineChartContent(
        tag=[rf"^{re.escape(prefix)}"]))
  per_class = [chart("alpha per class", "alpha/"),
               chart("test recall per class", "eval/recall/"),
               chart("test precision per class", "eval/precision/"),
               chart("mean weight per class", "weights/mean/"),
               chart("weight quantiles", "weights/quantile/")]
  groups = dict.fromkeys(tag.rsplit("/", 1)[0] + "/" for tag in tracked.tags)
  trajectories = [chart(f"weight trajectories: {g.split('/')[1]}", g) for g in groups]
  categories = [layout_pb2.Category(title="per class", chart=per_class)]
  if trajectories:
    categories.append(layout_pb2.Category(title="trajectories", chart=trajectories))
  return layout_pb2.Layout(category=categories)


def write_header(writer: MetricWriter, step: int, config_json: str,
                 tracked: tracking.TrackedSet) -> None:
  """The config as text and the custom-scalars layout (once per process)."""
  writer.write_texts(step, {"config": f"```json\n{config_json}\n```"})
  metadata = custom_scalar_metadata.create_summary_metadata().SerializeToString()
  layout = tf.constant(custom_scalars_layout(tracked).SerializeToString())
  writer.write_summaries(0, {custom_scalar_metadata.CONFIG_SUMMARY_TAG: layout},
                         {custom_scalar_metadata.CONFIG_SUMMARY_TAG: metadata})


def hparams(config: Any) -> dict:
  """The main choices of the run, flattened, plus the rule's and the loss's kwargs."""
  values = {}
  for dotted in HPARAM_FIELDS:
    node = config
    for key in dotted.split("."):
      node = node[key]
    values[dotted] = node
  for section in ("rule", "loss"):
    kwargs = config[section].kwargs
    kwargs = kwargs.to_dict() if hasattr(kwargs, "to_dict") else dict(kwargs)
    values.update({f"{section}.kwargs.{k}": v for k, v in kwargs.items()})
  return values


def write_hparams(writer: MetricWriter, config: Any, final_metrics: dict) -> None:
  """The hparams with the final metrics (as final/<metric> scalars)."""
  final = {f"final/{k}": v for k, v in scalars(final_metrics).items()}
  writer.write_hparams(hparams(config), final)
  writer.flush()
