"""What a run writes to TensorBoard (see `board` for where), as controller actions.

* `TrainingSummaries` (every `every_loops` loops): the loss, and of what moves (see
  `moving`): learning rate, skipped steps, the effective per-sample weight (class weight x
  importance x rule; quantiles, fraction at zero, a histogram, one per class in class
  runs, and the tracked examples' labelled heatmap, redrawn once an epoch), per class the
  class weight in force, the mean effective weight, alpha and the rule's other per-class
  tables, and the rule's other tables. At the end, what never moved as one text table.
  Whatever N, a summary costs O(sample + C) memory (see `reading`).
* `EvalSummaries` (at every evaluation): the metrics, per class recall and precision, and
  the labelled confusion matrix; at the end, the reliability diagram.
* `HParams` (at the end): every main choice and effective kwarg, with the final metrics, in
  the HParams session run.
* `write_header` (once per process): the config and the classes (training counts, class
  weights) as text, and the custom-scalars layout, rewritten as families start to move so
  it never holds an empty chart.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import metadata as custom_scalar_metadata

from framework.evaluation.calibration import Reliability
from framework.train.actions import Action, LoopEnd, scalars
from framework.summaries import tracking
from framework.summaries.board import Board
from framework.summaries.figures import confusion_figure, reliability_figure, trajectory_figure
from framework.summaries.moving import OnlyMoving
from framework.summaries.reading import WeightReader, WeightReading
from framework.weights import ALPHA
from framework.weights.tables import split_key

QUANTILES = (0, 10, 50, 90, 100)
# Hyperparameters shown as HParams columns besides every effective kwarg; `variant` names
# the experiment's variant, so runs side by side read as the report's table does.
HPARAM_FIELDS = ("variant", "data.source", "data.noise.kind", "data.noise.rate",
                 "data.long_tail.profile", "data.long_tail.imbalance_ratio", "model.name",
                 "loss.name", "rule.name", "class_weights.scheme", "class_weights.start_epoch",
                 "optimizer.name", "optimizer.learning_rate", "optimizer.schedule",
                 "train.batch_size", "train.epochs", "seed")
# Families by where they are written: main-run scalars, per-class vectors, histograms.
# A family is named "<kind>:<tag>"; the trajectories are one family, "trajectory".
SCALAR, PER_CLASS, HISTOGRAM, CLASS_HISTOGRAM = "scalar", "class", "histogram", "class_histogram"
TRAJECTORY = "trajectory"
# per-class views charted at every evaluation: test metrics, and the classifier's weight norms
EVAL_PER_CLASS = ("recall", "precision", "classifier_norm")
TITLES = {"recall": "test recall", "precision": "test precision",
          "classifier_norm": "classifier weight norm ||w_c||",
          "class_weight": "class weight in force", "mean_weight": "mean effective weight"}


def _family(kind: str, tag: str) -> str:
  return f"{kind}:{tag}"


def _tags(kind: str, families: Mapping[str, Any]) -> dict[str, Any]:
  """{tag: value} of the families of `kind`."""
  return {name.split(":", 1)[1]: value for name, value in families.items()
          if name.startswith(f"{kind}:")}


def metric_scalars(metrics: Mapping[str, Any]) -> dict[str, float]:
  """The scalar metrics worth a chart (not the id of the positive class)."""
  return {k: v for k, v in scalars(metrics).items() if k != "positive_class"}


def training_families(reading: WeightReading) -> dict[str, np.ndarray]:
  """Every family a training summary may chart, from a reading of the weight state:
  quantiles p0 and p100, the fraction at zero and the per-class means exact; p10 to p90 and
  the histograms over the summary sample (see `reading`)."""
  present = reading.class_count > 0
  quantiles = np.percentile(reading.sample_weight.astype(np.float64), QUANTILES)
  quantiles[0], quantiles[-1] = reading.class_min[present].min(), reading.class_max[present].max()
  families = {_family(SCALAR, f"weights/quantile/p{q}"): v for q, v in zip(QUANTILES, quantiles)}
  families[_family(SCALAR, "weights/fraction_zero")] = (reading.class_zeros.sum()
                                                        / reading.class_count.sum())
  families[_family(PER_CLASS, "class_weight")] = reading.class_weight
  families[_family(PER_CLASS, "mean_weight")] = np.divide(
      reading.class_sum, reading.class_count, out=np.full(reading.class_sum.shape, np.nan),
      where=present)
  families[_family(HISTOGRAM, "weights/all")] = reading.sample_weight
  families[_family(CLASS_HISTOGRAM, "weights")] = reading.sample_weight
  families[TRAJECTORY] = reading.tracked_weight
  for key, value in reading.sample_tables.items():
    families[_family(HISTOGRAM, "tables/" + "/".join(split_key(key)[1]))] = value
  for key, value in reading.tables.items():
    group, path = split_key(key)
    name = "/".join(path)  # the tag below the family
    if group == "per_class" and value.ndim == 1:
      families[_family(PER_CLASS, "alpha" if name == ALPHA else f"class_tables/{name}")] = value
    elif group == "shared" and value.size == 1:
      families[_family(SCALAR, f"tables/{name}")] = value.reshape(())
  return families


class TrainingSummaries(Action):
  """The training views, every `every_loops` loops (0: never); the trajectory heatmap at the
  first summary of each epoch's end and at the last loop; at the end, what never moved."""

  def __init__(self, board: Board, reader: WeightReader, learning_rate: Callable[[], float],
               skipped: Callable[[], int], tracked: tracking.TrackedSet,
               class_names: Sequence[str], row_labels: Sequence[str], every_loops: int,
               heatmap_max_columns: int, moving: OnlyMoving | None = None,
               on_live: Callable[[list[str]], None] = lambda live: None):
    self.board, self.reader = board, reader
    self.learning_rate, self.skipped, self.every_loops = learning_rate, skipped, every_loops
    self.tracked, self.class_names, self.row_labels = tracked, list(class_names), list(row_labels)
    self.recorder = tracking.TrajectoryRecorder(tracked, heatmap_max_columns)
    self.moving, self.on_live = moving or OnlyMoving(), on_live
    self._epoch: int | None = None  # the epoch of the previous summary

  def run(self, end: LoopEnd) -> None:
    reading = self.reader(end.step)
    families = training_families(reading)
    families[_family(SCALAR, "train/learning_rate")] = np.float64(self.learning_rate())
    families[_family(SCALAR, "train/skipped_steps")] = np.float64(self.skipped())
    self.recorder.record(end.step, reading.tracked_weight)
    self.board.main.write_scalars(end.step, {"train/loss": end.loss})
    live = len(self.moving.live)
    for step, values in self.moving(end.step, families):
      self._write(step, values, reading.sample_labels)
    if (self._epoch_ended(end) and TRAJECTORY in self.moving.live
        and self.tracked.indices.size):
      self.board.main.write_images(
          end.step, {"trajectory/heatmap": trajectory_figure(
              self.recorder.matrix(), self.row_labels, self.recorder.kept_steps(),
              tracking.row_breaks(self.tracked))},
          {"trajectory/heatmap": tracking.heatmap_description(self.tracked, self.row_labels)})
    if len(self.moving.live) != live:
      write_layout(self.board, end.step, self.moving.live)
      self.on_live(sorted(self.moving.live))

  def _epoch_ended(self, end: LoopEnd) -> bool:
    """Whether an epoch ended since the previous summary (at this step, for the first one),
    or training did: when the heatmap is redrawn."""
    steps_per_epoch = self.reader.effective.steps_per_epoch
    previous, self._epoch = self._epoch, end.step // steps_per_epoch
    if previous is None:
      return end.final or end.step % steps_per_epoch == 0
    return end.final or self._epoch > previous

  def _write(self, step: int, families: Mapping[str, np.ndarray], labels: np.ndarray) -> None:
    main = {tag: float(v) for tag, v in _tags(SCALAR, families).items()}
    if main:
      self.board.main.write_scalars(step, main)
    histograms = _tags(HISTOGRAM, families)
    if histograms:
      self.board.main.write_histograms(step, histograms)
    self.board.write_per_class(step, _tags(PER_CLASS, families))
    self.board.write_per_class_histograms(step, _tags(CLASS_HISTOGRAM, families), labels)

  def finish(self, step: int, metrics: dict | None) -> None:
    """Writes what never moved as a text table (the `constants` tag)."""
    self.board.main.write_texts(step, {"constants": constants_text(
        self.moving.constants(), self.class_names, self.tracked)})


def constants_text(constants: Mapping[str, np.ndarray], class_names: Sequence[str],
                   tracked: tracking.TrackedSet) -> str:
  """Markdown: the values that stayed the same all run (so they are not charted)."""
  per_class, single = _tags(PER_CLASS, constants), _tags(SCALAR, constants)
  lines = ["Constant over the whole run, so not charted:", ""]
  if per_class:
    names = [str(n) for n in class_names]
    lines += ["| per class | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    lines += [f"| {tag} | " + " | ".join(f"{float(v):.4g}" for v in value) + " |"
              for tag, value in sorted(per_class.items())]
    lines.append("")
  if single:
    lines += ["| value | |", "|---|---|"]
    lines += [f"| {tag} | {float(v):.4g} |" for tag, v in sorted(single.items())]
    lines.append("")
  if TRAJECTORY in constants and tracked.indices.size:
    lines.append(f"The {tracked.indices.size} tracked examples' effective weights did not "
                 "change (no trajectory heatmap).")
  return "\n".join(lines)


class EvalSummaries(Action):
  """The evaluation views, at every evaluation; at the end, the reliability diagram."""
  on_evaluation = True

  def __init__(self, board: Board, class_names: Sequence[str]):
    self.board, self.class_names = board, list(class_names)

  def run(self, end: LoopEnd) -> None:
    metrics = end.metrics
    self.board.main.write_scalars(end.step, {f"eval/{k}": v
                                             for k, v in metric_scalars(metrics).items()})
    # always charted: evaluations are few, and each is news even when a value repeats
    self.board.write_per_class(end.step, {kind: np.asarray(metrics[f"per_class_{kind}"])
                                          for kind in EVAL_PER_CLASS
                                          if f"per_class_{kind}" in metrics})
    names = ", ".join(f"{c}: {name}" for c, name in enumerate(self.class_names))
    self.board.main.write_images(
        end.step, {"eval/confusion_matrix": confusion_figure(metrics["confusion_matrix"],
                                                             self.class_names)},
        {"eval/confusion_matrix": "Test confusion matrix, rows true class, columns "
                                  f"predicted, row-normalised. Classes: {names}."})

  def finish(self, step: int, metrics: dict | None) -> None:
    """The reliability diagram of the final evaluation (`eval/reliability`)."""
    if metrics is None:
      return
    bins = Reliability.from_metrics(metrics)
    self.board.main.write_images(
        step, {"eval/reliability": reliability_figure(bins)},
        {"eval/reliability": "Reliability diagram of the final test evaluation: per bin of "
                             f"confidence (the largest softmax probability, {len(bins.count)} "
                             "equal-width bins) the accuracy (blue), its gap to the bin's "
                             "mean confidence (red) against the diagonal of perfect "
                             "calibration, and the examples per bin (grey). "
                             f"ECE {bins.ece:.4f}."})


def per_class_families(board: Board, live: Iterable[str]) -> list[str]:
  """The per-class families charted so far: the test recall and precision, then the
  training families in `live` (names of `OnlyMoving.live`); none without per-class charts."""
  if not board.per_class:
    return []
  return [*EVAL_PER_CLASS, *sorted(name.split(":", 1)[1] for name in live
                                   if name.startswith(f"{PER_CLASS}:"))]


def custom_scalars_layout(families: Sequence[str]) -> layout_pb2.Layout:
  """One chart per per-class family: every class of every run (the run's colour, a symbol
  per class, each line named in the tooltip) or, with class runs, a colour per class."""
  charts = [layout_pb2.Chart(title=f"{TITLES.get(family, family)} per class",
                             multiline=layout_pb2.MultilineChartContent(
                                 tag=[rf"^{re.escape(family)}(/[^/]+)?$"]))
            for family in families]
  return layout_pb2.Layout(category=[layout_pb2.Category(title="per class", chart=charts)]
                           if charts else [])


def write_layout(board: Board, step: int, live: Iterable[str]) -> None:
  """The custom-scalars layout of the families charted so far (TensorBoard shows the
  latest one written)."""
  metadata = custom_scalar_metadata.create_summary_metadata().SerializeToString()
  layout = custom_scalars_layout(per_class_families(board, live)).SerializeToString()
  board.main.write_summaries(step, {custom_scalar_metadata.CONFIG_SUMMARY_TAG: tf.constant(layout)},
                             {custom_scalar_metadata.CONFIG_SUMMARY_TAG: metadata})


def write_header(board: Board, step: int, config_json: str, classes_text: str,
                 live: Iterable[str]) -> None:
  """The config and the classes as text and the custom-scalars layout of the families
  charted before (`live`), once per process."""
  board.main.write_texts(step, {"config": f"```json\n{config_json}\n```",
                                "classes": classes_text})
  write_layout(board, step, live)


def classes_text(class_names: Sequence[str], train_counts: Sequence[int],
                 class_weight: np.ndarray, start_epoch: int) -> str:
  """Markdown: each class's training count and class weight (from `start_epoch`)."""
  when = "from the start" if not start_epoch else f"from epoch {start_epoch}"
  lines = [f"| class | training examples | class weight ({when}) |", "|---|---|---|"]
  lines += [f"| {name} | {int(n)} | {float(w):.4g} |"
            for name, n, w in zip(class_names, train_counts, class_weight)]
  return "\n".join(lines)


def hparams(config: Any, effective_kwargs: Mapping[str, Mapping[str, Any]]) -> dict:
  """The main choices of the run plus every effective kwarg (defaults included)."""
  values = {}
  for dotted in HPARAM_FIELDS:
    node = config
    for key in dotted.split("."):
      node = node[key]
    values[dotted] = node
  for section, kwargs in effective_kwargs.items():
    values.update({f"{section}.kwargs.{k}": v for k, v in kwargs.items()})
  return values


class HParams(Action):
  """At the end: the hparams and the final metrics (final/<metric>) in the HParams session
  run (see `hparams`)."""

  def __init__(self, board: Board, values: Mapping[str, Any]):
    self.board, self.values = board, dict(values)

  def finish(self, step: int, metrics: dict | None) -> None:
    self.board.session.write_hparams(self.values)
    self.board.session.write_scalars(step, {f"final/{k}": v
                                            for k, v in metric_scalars(metrics).items()})
    self.board.flush()
