"""A run's TensorBoard: the runs its event files form, named so dashboards read well.

    WORKDIR/                   the run itself (named after the workdir in TensorBoard):
                               loss, metrics, weight statistics, images, config text
    WORKDIR/classes/<class>/   one run per class, same tags: TensorBoard colours and names
                               each class in every chart (recall, precision, alpha, ...)
    WORKDIR/hparams/           the HParams session: hyperparameters and final/* metrics
                               only, so the HParams table's metric columns are those

Per-class runs exist for at most `max_class_runs` classes; beyond that, per-class values
are written as histograms across classes in the main run.
"""

from __future__ import annotations

import os
import re
from typing import Mapping, Sequence

import numpy as np

from framework.summaries.writer import MetricWriter, MultiWriter, NullWriter, SummaryWriter

CLASSES_DIR, HPARAMS_DIR = "classes", "hparams"


def tag_name(name: str) -> str:
  """A class name usable as one tag or directory component ('T-shirt/top' -> 'T-shirt_top')."""
  return re.sub(r"[/\\\s]+", "_", str(name))


class Board:
  """The main writer, one writer per class and the HParams session writer of a run."""

  def __init__(self, main: MetricWriter, classes: Sequence[MetricWriter],
               session: MetricWriter):
    self.main, self.classes, self.session = main, list(classes), session

  @classmethod
  def open(cls, logdir: str, class_names: Sequence[str], max_class_runs: int) -> Board:
    per_class = len(class_names) <= max_class_runs
    classes = [SummaryWriter(os.path.join(logdir, CLASSES_DIR, tag_name(name)))
               for name in class_names] if per_class else []
    return cls(SummaryWriter(logdir), classes, SummaryWriter(os.path.join(logdir, HPARAMS_DIR)))

  @classmethod
  def null(cls) -> Board:
    return cls(NullWriter(), [], NullWriter())

  def write_per_class(self, step: int, vectors: Mapping[str, np.ndarray]) -> None:
    """{tag: values [C]}: tag in each class's run, or a histogram across classes."""
    if not vectors:
      return
    if not self.classes:
      self.main.write_histograms(step, {f"{tag} (across classes)": np.asarray(v)
                                        for tag, v in vectors.items()})
      return
    for c, writer in enumerate(self.classes):
      writer.write_scalars(step, {tag: float(np.asarray(v)[c]) for tag, v in vectors.items()})

  def write_per_class_histograms(self, step: int, arrays: Mapping[str, Sequence]) -> None:
    """{tag: [values of class 0, values of class 1, ...]} in each class's run."""
    if not arrays:
      return
    for c, writer in enumerate(self.classes):
      writer.write_histograms(step, {tag: values[c] for tag, values in arrays.items()
                                     if len(values[c])})

  def writers(self) -> list[MetricWriter]:
    return [self.main, *self.classes, self.session]

  def flush(self) -> None:
    MultiWriter(self.writers()).flush()

  def close(self) -> None:
    """Closes every writer even if one fails, then re-raises the first failure."""
    MultiWriter(self.writers()).close()

  def __enter__(self) -> Board:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
