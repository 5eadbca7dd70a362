"""What a run writes to TensorBoard (see `board` for where), as controller actions.

* `TrainingSummaries` (every `every_loops` loops): the loss, and of what moves (see
  `moving`): learning rate, skipped steps, the effective per-sample weight (class weight x
  importance x rule; quantiles, fraction at zero, histograms overall and per class, the
  tracked examples' trajectories and their labelled heatmap), per class the class weight in
  force, the mean effective weight, alpha and the rule's other per-class tables, and the
  rule's other tables. At the end, what never moved as one text table.
* `EvalSummaries` (at every evaluation): the metrics, per class recall and precision, and
  the labelled confusion matrix.
* `HParams` (at the end): every main choice and effective kwarg, with the final metrics, in
  the HParams session run.
* `write_header` (once per process): the config and the classes (training counts, class
  weights) as text, and a custom-scalars layout.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import metadata as custom_scalar_metadata

from framework.train.actions import Action, LoopEnd, scalars
from framework.summaries import tracking
from framework.summaries.board import Board
from framework.summaries.figures import confusion_figure, trajectory_figure
from framework.summaries.moving import OnlyMoving
from framework.weights import ALPHA, WEIGHT, WeightState
from framework.weights.effective import EFFECTIVE_CLASS_WEIGHT, EFFECTIVE_WEIGHT, EffectiveWeights
from framework.weights.tables import split_key

QUANTILES = (0, 10, 50, 90, 100)
ZERO = 1e-6  # |w| below this counts as a zero weight (a sample switched off)
# Hyperparameters shown as HParams columns besides every effective kwarg.
HPARAM_FIELDS = ("data.source", "data.noise.kind", "data.noise.rate", "data.long_tail.profile",
                 "data.long_tail.imbalance_ratio", "model.name", "loss.name", "rule.name",
                 "class_weights.scheme", "class_weights.start_epoch", "optimizer.name",
                 "optimizer.learning_rate", "optimizer.schedule", "train.batch_size",
                 "train.epochs", "seed")
# Families by where they are written: main-run scalars, per-class vectors, histograms.
# A family is named "<kind>:<tag>"; the trajectories are one family, "trajectory".
SCALAR, PER_CLASS, HISTOGRAM, CLASS_HISTOGRAM = "scalar", "class", "histogram", "class_histogram"
TRAJECTORY = "trajectory"


def _family(kind: str, tag: str) -> str:
  return f"{kind}:{tag}"


def _tags(kind: str, families: Mapping[str, Any]) -> dict[str, Any]:
  """{tag: value} of the families of `kind`."""
  return {name.split(":", 1)[1]: value for name, value in families.items()
          if name.startswith(f"{kind}:")}


def metric_scalars(metrics: Mapping[str, Any]) -> dict[str, float]:
  """The scalar metrics worth a chart (not the id of the positive class)."""
  return {k: v for k, v in scalars(metrics).items() if k != "positive_class"}


def training_families(tables: Mapping[str, np.ndarray], labels: np.ndarray,
                      tracked: tracking.TrackedSet) -> dict[str, np.ndarray]:
  """Every family a training summary may chart, from the flat tables with effective ones."""
  w = np.asarray(tables[EFFECTIVE_WEIGHT], np.float64)
  families = {_family(SCALAR, f"weights/quantile/p{q}"): v
              for q, v in zip(QUANTILES, np.percentile(w, QUANTILES))}
  families[_family(SCALAR, "weights/fraction_zero")] = np.mean(np.abs(w) < ZERO)
  num_classes = tables[f"per_class/{ALPHA}"].shape[0]
  counts = np.bincount(labels, minlength=num_classes)
  sums = np.bincount(labels, weights=w, minlength=num_classes)
  families[_family(PER_CLASS, "class_weight")] = tables[EFFECTIVE_CLASS_WEIGHT]
  families[_family(PER_CLASS, "weights/mean")] = np.divide(
      sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
  families[_family(HISTOGRAM, "weights/all")] = w
  families[_family(CLASS_HISTOGRAM, "weights")] = w
  families[TRAJECTORY] = w[tracked.indices]
  for key, value in tables.items():
    group, path = split_key(key)
    name = "/".join(path)  # the tag below the family
    if group == "per_sample" and name != WEIGHT:
      families[_family(HISTOGRAM, f"tables/{name}")] = value
    elif group == "per_class" and value.ndim == 1:
      families[_family(PER_CLASS, "alpha" if name == ALPHA else f"class_tables/{name}")] = value
    elif group == "shared" and value.size == 1:
      families[_family(SCALAR, f"tables/{name}")] = value.reshape(())
  return families


class TrainingSummaries(Action):
  """The training views, every `every_loops` loops (0: never); at the end, what never moved."""

  def __init__(self, board: Board, state: WeightState, effective: EffectiveWeights,
               learning_rate: Callable[[], float], skipped: Callable[[], int],
               tracked: tracking.TrackedSet, class_names: Sequence[str],
               row_labels: Sequence[str], every_loops: int, heatmap_max_columns: int,
               moving: OnlyMoving | None = None,
               on_live: Callable[[list[str]], None] = lambda live: None):
    self.board, self.state, self.effective = board, state, effective
    self.learning_rate, self.skipped, self.every_loops = learning_rate, skipped, every_loops
    self.tracked, self.class_names, self.row_labels = tracked, list(class_names), list(row_labels)
    self.recorder = tracking.TrajectoryRecorder(tracked, heatmap_max_columns)
    self.moving, self.on_live = moving or OnlyMoving(), on_live

  def run(self, end: LoopEnd) -> None:
    tables = self.effective(self.state.numpy(), end.step)
    families = training_families(tables, self.effective.labels, self.tracked)
    families[_family(SCALAR, "train/learning_rate")] = np.float64(self.learning_rate())
    families[_family(SCALAR, "train/skipped_steps")] = np.float64(self.skipped())
    self.recorder.record(end.step, tables[EFFECTIVE_WEIGHT])
    self.board.main.write_scalars(end.step, {"train/loss": end.loss})
    live = len(self.moving.live)
    for step, values in self.moving(end.step, families):
      self._write(step, values)
    if TRAJECTORY in self.moving.live and self.tracked.indices.size:
      self.board.main.write_images(
          end.step, {"trajectory/heatmap": trajectory_figure(
              self.recorder.matrix(), self.row_labels, self.recorder.kept_steps(),
              tracking.row_breaks(self.tracked))},
          {"trajectory/heatmap": tracking.heatmap_description(self.tracked, self.row_labels)})
    if len(self.moving.live) != live:
      self.on_live(sorted(self.moving.live))

  def _write(self, step: int, families: Mapping[str, np.ndarray]) -> None:
    main = {tag: float(v) for tag, v in _tags(SCALAR, families).items()}
    if TRAJECTORY in families:
      main.update({t: float(v) for t, v in zip(self.tracked.tags, families[TRAJECTORY])})
    if main:
      self.board.main.write_scalars(step, main)
    histograms = _tags(HISTOGRAM, families)
    if histograms:
      self.board.main.write_histograms(step, histograms)
    self.board.write_per_class(step, _tags(PER_CLASS, families))
    labels, classes = self.effective.labels, range(len(self.board.classes))
    self.board.write_per_class_histograms(step, {
        tag: [w[labels == c] for c in classes]
        for tag, w in _tags(CLASS_HISTOGRAM, families).items()})

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
  """The evaluation views, at every evaluation."""
  on_evaluation = True

  def __init__(self, board: Board, class_names: Sequence[str]):
    self.board, self.class_names = board, list(class_names)

  def run(self, end: LoopEnd) -> None:
    metrics = end.metrics
    self.board.main.write_scalars(end.step, {f"eval/{k}": v
                                             for k, v in metric_scalars(metrics).items()})
    # always charted: evaluations are few, and each is news even when a value repeats
    self.board.write_per_class(end.step, {f"eval/{kind}": np.asarray(metrics[f"per_class_{kind}"])
                                          for kind in ("recall", "precision")})
    names = ", ".join(f"{c}: {name}" for c, name in enumerate(self.class_names))
    self.board.main.write_images(
        end.step, {"eval/confusion_matrix": confusion_figure(metrics["confusion_matrix"],
                                                             self.class_names)},
        {"eval/confusion_matrix": "Test confusion matrix, rows true class, columns "
                                  f"predicted, row-normalised. Classes: {names}."})


def custom_scalars_layout(tracked: tracking.TrackedSet, per_class_runs: bool
                          ) -> layout_pb2.Layout:
  """Per-class charts (one line per class run, coloured and named by TensorBoard) and one
  chart per class of the tracked examples' weight trajectories."""
  def chart(title: str, pattern: str) -> layout_pb2.Chart:
    return layout_pb2.Chart(title=title,
                            multiline=layout_pb2.MultilineChartContent(tag=[pattern]))
  categories = []
  if per_class_runs:
    categories.append(layout_pb2.Category(title="per class", chart=[
        chart("test recall per class", r"^eval/recall$"),
        chart("test precision per class", r"^eval/precision$"),
        chart("class weight in force per class", r"^class_weight$"),
        chart("mean effective weight per class", r"^weights/mean$"),
        chart("alpha per class", r"^alpha$")]))
  groups = dict.fromkeys(tag.rsplit("/", 1)[0] + "/" for tag in tracked.tags)
  if groups:
    categories.append(layout_pb2.Category(title="trajectories", chart=[
        chart(f"effective weight trajectories: {g.split('/')[1]}", f"^{re.escape(g)}")
        for g in groups]))
  return layout_pb2.Layout(category=categories)


def write_header(board: Board, step: int, config_json: str, tracked: tracking.TrackedSet,
                 classes_text: str) -> None:
  """The config and the classes as text and the custom-scalars layout (once per process)."""
  board.main.write_texts(step, {"config": f"```json\n{config_json}\n```",
                                "classes": classes_text})
  metadata = custom_scalar_metadata.create_summary_metadata().SerializeToString()
  layout = tf.constant(custom_scalars_layout(tracked, bool(board.classes)).SerializeToString())
  board.main.write_summaries(0, {custom_scalar_metadata.CONFIG_SUMMARY_TAG: layout},
                             {custom_scalar_metadata.CONFIG_SUMMARY_TAG: metadata})


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
