"""A run's TensorBoard: the runs its event files form, laid out so many runs compare well.

    WORKDIR/                   the run itself (named after the workdir in TensorBoard):
                               loss, metrics, per-class values, weight statistics, images,
                               config text
    WORKDIR/hparams/           the HParams session: hyperparameters and final/* metrics
                               only, so the HParams table's metric columns are those
    WORKDIR/classes/<class>/   opt-in (`max_class_runs`): one run per class holding the
                               per-class values under the family's tag, so a single run's
                               chart draws one coloured, named line per class

Per-class values are tags of the run itself, `<family>/<class>` (`recall/3_Dress`), so
TensorBoard draws one chart per class with one line per run, in the run's colour, however
many runs sit side by side; the class id leads the tag so the charts follow the class ids.
Beyond `MAX_CLASS_TAGS` classes a family is a histogram across classes instead.
"""

from __future__ import annotations

import os
import re
from typing import Mapping, Sequence

import numpy as np

from framework.summaries.writer import MetricWriter, MultiWriter, NullWriter, SummaryWriter

CLASSES_DIR, HPARAMS_DIR = "classes", "hparams"
MAX_CLASS_TAGS = 100  # more classes: a histogram across classes per family, not C charts


def tag_name(name: str) -> str:
  """A class name usable as one tag or directory component ('T-shirt/top' -> 'T-shirt_top')."""
  return re.sub(r"[/\\\s]+", "_", str(name))


def class_tags(class_names: Sequence[str]) -> list[str]:
  """'<id>_<name>' per class ('3_Dress'), just '<id>' when the name is the id: TensorBoard
  sorts the numbers in tags as numbers, so a family's charts follow the class ids."""
  return [str(c) if tag_name(name) == str(c) else f"{c}_{tag_name(name)}"
          for c, name in enumerate(class_names)]


class Board:
  """The run's writer, its HParams session writer and, opt-in, one writer per class."""

  def __init__(self, main: MetricWriter, session: MetricWriter,
               class_tags: Sequence[str] = (), classes: Sequence[MetricWriter] = ()):
    self.main, self.session = main, session
    self.class_tags, self.classes = list(class_tags), list(classes)

  @classmethod
  def open(cls, logdir: str, class_names: Sequence[str], max_class_runs: int) -> Board:
    """The run's writers in `logdir`; class runs when there are at most `max_class_runs`
    classes (0: never)."""
    classes = ([SummaryWriter(os.path.join(logdir, CLASSES_DIR, tag_name(name)))
                for name in class_names] if len(class_names) <= max_class_runs else [])
    tags = class_tags(class_names) if len(class_names) <= MAX_CLASS_TAGS else []
    return cls(SummaryWriter(logdir), SummaryWriter(os.path.join(logdir, HPARAMS_DIR)),
               tags, classes)

  @classmethod
  def null(cls) -> Board:
    return cls(NullWriter(), NullWriter())

  @property
  def per_class(self) -> bool:
    """Whether per-class values are charted per class (tags or class runs)."""
    return bool(self.class_tags or self.classes)

  def write_per_class(self, step: int, vectors: Mapping[str, np.ndarray]) -> None:
    """{family: values [C]}: the tags `<family>/<class>` (or a histogram across classes) in
    the run, and the tag `<family>` in each class run."""
    if not vectors:
      return
    vectors = {family: np.asarray(v) for family, v in vectors.items()}
    if self.class_tags:
      self.main.write_scalars(step, {f"{family}/{tag}": float(v[c])
                                     for family, v in vectors.items()
                                     for c, tag in enumerate(self.class_tags)})
    else:
      self.main.write_histograms(step, {f"{family} (across classes)": v
                                        for family, v in vectors.items()})
    for c, writer in enumerate(self.classes):
      writer.write_scalars(step, {family: float(v[c]) for family, v in vectors.items()})

  def write_per_class_histograms(self, step: int, arrays: Mapping[str, np.ndarray],
                                 labels: np.ndarray) -> None:
    """{tag: values [S]} of examples of `labels` [S]: in each class run, the histogram of
    the values of its class (split once by sorting, not a pass per class)."""
    if not arrays or not self.classes:
      return
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(1, len(self.classes)))
    per_class = {tag: np.split(np.asarray(values)[order], bounds)
                 for tag, values in arrays.items()}
    for c, writer in enumerate(self.classes):
      writer.write_histograms(step, {tag: values[c] for tag, values in per_class.items()
                                     if len(values[c])})

  def writers(self) -> list[MetricWriter]:
    return [self.main, self.session, *self.classes]

  def flush(self) -> None:
    MultiWriter(self.writers()).flush()

  def close(self) -> None:
    """Closes every writer even if one fails, then re-raises the first failure."""
    MultiWriter(self.writers()).close()

  def __enter__(self) -> Board:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
