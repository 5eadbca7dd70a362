"""What the controller writes to TensorBoard between compiled loops, and the weight snapshots.

Every `logging.summary_every_loops` loops (0 = never): loss, learning rate, the per-sample
weight distribution (histograms overall and per class, quantiles, per-class means, fraction
at zero), a histogram of each other per-sample table, alpha and any other per-class table
per class, scalar shared tables, the tracked samples' trajectories and their heatmap. At
every evaluation: the test metrics, per-class recall and precision, and the confusion
matrix. Once: the config as text, a custom-scalars layout that
draws each per-class family (alpha, recall, precision, ...) as one multi-line chart, and at
the end the hparams with the final metrics. Snapshots of every weight table go to
`weights/step_<step>.npz` every `logging.snapshot_every_epochs` epochs and at the end.
"""

from __future__ import annotations

import os
import re

import numpy as np
import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import summary as custom_scalar_summary

from framework.errors import ConfigError
from framework.logging import tracking
from framework.logging.images import confusion_matrix_image
from framework.logging.writer import MetricWriter, MultiWriter, SummaryWriter
from framework.optimizers import current_learning_rate
from framework.weights import ALPHA, WEIGHT

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
  scalars = {f"weights/quantile/p{q}": v
             for q, v in zip(QUANTILES, np.percentile(weights, QUANTILES))}
  scalars["weights/fraction_zero"] = float(np.mean(np.abs(weights) < ZERO))
  histograms = {"weights/all": weights}
  for c, name in enumerate(class_names):
    rows = weights[labels == c]
    if rows.size:
      scalars[f"weights/mean/{tag_name(name)}"] = float(rows.mean())
      histograms[f"weights/class/{tag_name(name)}"] = rows
  return {k: float(v) for k, v in scalars.items()}, histograms


def custom_scalars_layout(class_names, tracked: tracking.TrackedSet) -> layout_pb2.Layout:
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


def _summary_writers(writer: MetricWriter) -> list[SummaryWriter]:
  if isinstance(writer, SummaryWriter):
    return [writer]
  if isinstance(writer, MultiWriter):
    return [w for inner in writer.writers for w in _summary_writers(inner)]
  return []


def write_layout(writer: MetricWriter, layout: layout_pb2.Layout) -> None:
  """Writes a custom-scalars layout into the TensorBoard writers behind `writer`."""
  raw = custom_scalar_summary.pb(layout).SerializeToString()
  for summary_writer in _summary_writers(writer):
    with summary_writer._writer.as_default():  # pylint: disable=protected-access
      tf.summary.experimental.write_raw_pb(raw, step=0)


class RunSummaries:
  """Writes the scalars, per-class views and weight statistics of a run."""

  def __init__(self, exp, workdir: str):
    self.exp = exp
    log = exp.config.logging
    train = exp.data.train
    self.class_names = list(exp.data.class_names)
    self.labels = np.asarray(train.labels)
    self.snapshot_dir = os.path.join(workdir, "weights")
    self.snapshot_every = log.snapshot_every_epochs * exp.steps_per_epoch
    self.every_loops = log.summary_every_loops
    noise = train.noise_mask if train.noise_mask.any() else None
    self.tracked = tracking.choose_tracked(
        self.labels, noise, [tag_name(n) for n in self.class_names], log.tracked_per_class,
        log.tracked_noisy, tuple(log.tracked_indices))
    self.recorder = tracking.TrajectoryRecorder(self.tracked, log.heatmap_max_columns)
    self.workdir = workdir
    self._started = False
    for field in ("summary_every_loops", "snapshot_every_epochs", "heatmap_max_columns"):
      value = log[field]
      least = 1 if field == "heatmap_max_columns" else 0
      if not (isinstance(value, int) and value >= least):
        raise ConfigError(f"logging.{field}={value!r} must be an integer >= {least}")

  def _start(self, writer: MetricWriter, step: int) -> None:
    """Once per process: labels and tracked set for `inspect`, config text, layout."""
    self._started = True
    np.save(os.path.join(self.workdir, "labels.npy"), self.labels)
    tracking.save_tracked(os.path.join(self.workdir, "tracked.json"), self.tracked,
                          self.class_names)
    config_json = self.exp.config.to_json_best_effort(indent=1)
    writer.write_texts(step, {"config": f"```json\n{config_json}\n```"})
    write_layout(writer, custom_scalars_layout(self.class_names, self.tracked))

  def write(self, writer: MetricWriter, step: int, loss: float, metrics: dict | None,
            loop: int) -> None:
    if not self._started:
      self._start(writer, step)
    scalars = {}
    if self.every_loops and loop % self.every_loops == 0:
      scalars = {"train/loss": loss,
                 "train/learning_rate": current_learning_rate(self.exp.optimizer)}
      tables = self.exp.state.numpy()
      weights = tables[f"sample/{WEIGHT}"]
      stats, histograms = weight_summaries(weights, self.labels, self.class_names)
      scalars.update(stats)
      histograms.update({f"tables/{key[7:]}": value for key, value in tables.items()
                         if key.startswith("sample/") and key != f"sample/{WEIGHT}"})
      scalars.update(self._table_scalars(tables))
      scalars.update(self.recorder.record(step, weights))
      writer.write_histograms(step, histograms)
      image = self.recorder.image()
      if image is not None:
        writer.write_images(step, {"trajectory/heatmap": image})
    if metrics is not None:
      scalars.update(self._metric_scalars(metrics))
      writer.write_images(step, {"eval/confusion_matrix":
                                 confusion_matrix_image(metrics["confusion_matrix"])})
    writer.write_scalars(step, scalars)
    if self.snapshot_every and step % self.snapshot_every == 0:
      self.snapshot(step)

  def _table_scalars(self, tables: dict) -> dict:
    """alpha/<class>; other per-class tables [C] as <table>/<class>; scalar shared tables."""
    scalars = {}
    for key, value in tables.items():
      group, name = key.split("/", 1)
      if group == "class" and value.ndim == 1:
        prefix = "alpha" if name == ALPHA else f"class_tables/{name}"
        scalars.update({f"{prefix}/{tag_name(c)}": float(v)
                        for c, v in zip(self.class_names, value)})
      elif group == "shared" and value.size == 1:
        scalars[f"tables/{name}"] = float(value.reshape(()))
    return scalars

  def _metric_scalars(self, metrics: dict) -> dict:
    scalars = {f"eval/{k}": v for k, v in metrics.items() if np.ndim(v) == 0}
    for key in ("per_class_recall", "per_class_precision"):
      scalars.update({f"eval/{key[10:]}/{tag_name(name)}": v
                      for name, v in zip(self.class_names, metrics[key])})
    return scalars

  def snapshot(self, step: int) -> str:
    """Saves every weight table as NumPy arrays in `weights/step_<step>.npz`."""
    os.makedirs(self.snapshot_dir, exist_ok=True)
    path = os.path.join(self.snapshot_dir, f"step_{step:08d}.npz")
    tmp = f"{path}.tmp.npz"
    np.savez(tmp, step=step, **{k.replace("/", "__"): v
                                for k, v in self.exp.state.numpy().items()})
    os.replace(tmp, path)  # a reader never sees a half-written snapshot
    return path

  def hparams(self) -> dict:
    """The main choices of the run, flattened, plus the rule's and the loss's kwargs."""
    config = self.exp.config
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

  def write_final(self, writer: MetricWriter, metrics: dict) -> None:
    """The hparams with the final metrics, and a final snapshot of the weight tables."""
    step = int(self.exp.trainer.step.numpy())
    if not os.path.exists(os.path.join(self.snapshot_dir, f"step_{step:08d}.npz")):
      self.snapshot(step)
    final = {f"final/{k}": v for k, v in metrics.items() if np.ndim(v) == 0}
    writer.write_hparams(self.hparams(), final)
    writer.flush()

