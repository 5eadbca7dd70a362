"""The data contract between `framework.data.build` and the trainer: Split and DataBundle."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from framework.data.augment import InputTransform
from framework.data.examples import ArrayExamples, Examples, as_examples


def _int_labels(name: str, values: Any) -> np.ndarray:
  array = np.asarray(values)
  if array.ndim != 1 or array.dtype.kind not in "iu":
    raise ValueError(f"Split.{name} must be a 1-D integer array, got {array.dtype} {array.shape}")
  return array.astype(np.int32, copy=False)


@dataclasses.dataclass(frozen=True)
class Split:
  """One split of examples; row i of the training split has the stable sample index i.

  `examples` turns rows into raw inputs (an in-memory array, image files, a random-access
  reader); `labels` are the observed (possibly noisy) labels, `clean_labels` those before
  noise injection, so `noise_mask` marks exactly the corrupted rows. `source_rows` say
  where each example sits in the file it was read from (a csv: the 1-based line number,
  header = line 1, as an editor or spreadsheet numbers rows), so a report on examples can
  name the user's rows.
  """

  examples: Examples  # raw inputs: uint8 / float images [n, H, W, C], float [n, D], files
  labels: np.ndarray  # int32 [n], observed labels
  clean_labels: np.ndarray | None = None  # int32 [n]; None -> a copy of labels
  importance: np.ndarray | None = None  # float32 [n] data-provided scores, or None
  source_rows: np.ndarray | None = None  # int64 [n] csv line numbers, or None

  def __post_init__(self):
    examples = as_examples(self.examples)
    if isinstance(examples, ArrayExamples) and (examples.array.dtype.kind not in "fu" or
                                                examples.array.ndim < 2):
      raise ValueError(f"Split.examples must be a float or uint8 array [n, ...], got "
                       f"{examples.array.dtype} {examples.array.shape}")
    labels = _int_labels("labels", self.labels)
    clean = labels if self.clean_labels is None else _int_labels("clean_labels", self.clean_labels)
    n = len(examples)
    arrays = {"examples": examples, "labels": labels, "clean_labels": clean}
    if self.importance is not None:
      importance = np.asarray(self.importance, dtype=np.float32)
      if importance.shape != (n,):
        raise ValueError(f"Split.importance must have shape ({n},), got {importance.shape}")
      arrays["importance"] = importance
    if self.source_rows is not None:
      source_rows = np.asarray(self.source_rows, dtype=np.int64)
      if source_rows.shape != (n,):
        raise ValueError(f"Split.source_rows must have shape ({n},), got {source_rows.shape}")
      arrays["source_rows"] = source_rows
    for name in ("labels", "clean_labels"):
      if arrays[name].shape != (n,):
        raise ValueError(f"Split.{name} must have shape ({n},), got {arrays[name].shape}")
    for name, value in arrays.items():
      object.__setattr__(self, name, value)

  def __len__(self) -> int:
    return int(self.labels.shape[0])

  @property
  def noise_mask(self) -> np.ndarray:
    """bool [n]: True where the observed label differs from the clean one."""
    return self.labels != self.clean_labels

  @property
  def features(self) -> np.ndarray:
    """The raw array of an in-memory split."""
    if not isinstance(self.examples, ArrayExamples):
      raise AttributeError(f"a split of {type(self.examples).__name__} has no array")
    return self.examples.array


@dataclasses.dataclass(frozen=True)
class DataBundle:
  """Train / clean validation / test splits plus class metadata.

  `transform` is what the input pipeline does to the raw examples (augmentation,
  evaluation resize, normalisation). `info` carries provenance for inspection and tests:
  `source`, `train_origin`, `val_origin` (row indices into the source's training pool),
  `location` (where files were read), `protocol` (image files left out at load, the
  long-tail cut and label noise applied, counts before and after:
  `framework.data.protocol_record`), and for tabular data
  `feature_mean` / `feature_std` (pool statistics, applied at load).
  """

  train: Split
  val: Split | None
  test: Split
  num_classes: int
  class_names: tuple[str, ...]
  transform: InputTransform | None = None
  info: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

  def __post_init__(self):
    if len(self.class_names) != self.num_classes:
      raise ValueError(f"DataBundle.class_names has {len(self.class_names)} names for "
                       f"num_classes={self.num_classes}")
    for name in ("train", "val", "test"):
      split = getattr(self, name)
      if split is None:
        continue
      for labels in (split.labels, split.clean_labels):
        if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
          raise ValueError(f"DataBundle.{name} labels must lie in [0, {self.num_classes})")
    object.__setattr__(self, "class_names", tuple(self.class_names))
    if self.transform is None:
      object.__setattr__(self, "transform", InputTransform(tuple(self.train.examples.shape)))

  @property
  def class_counts(self) -> np.ndarray:
    """int64 [C]: examples per class in the (observed) training labels."""
    return np.bincount(self.train.labels, minlength=self.num_classes).astype(np.int64)

  def label_texts(self, split: Split) -> np.ndarray:
    """str [n]: each example's label as its source gives it, the name of its clean label
    (a csv's label text, integers in plain digits; an image's class folder)."""
    return np.asarray(self.class_names)[split.clean_labels]

  @property
  def input_shape(self) -> tuple[int, ...]:
    """Shape of one example as the model sees it, e.g. (28, 28, 1) or (D,)."""
    return tuple(self.transform.output_shape)


def factory_context(class_counts: np.ndarray, batch_size: int,
                    drop_remainder: bool = True) -> dict:
  """What a rule or loss factory may ask of the training data (a registry passes each
  factory only the entries its signature names)."""
  from framework.data.stream import steps_per_epoch  # pylint: disable=g-import-not-at-top (TensorFlow)
  num_samples = int(class_counts.sum())
  per_epoch = steps_per_epoch(num_samples, batch_size, drop_remainder)
  return {"num_classes": len(class_counts), "class_counts": class_counts,
          "num_samples": num_samples, "steps_per_epoch": max(per_epoch, 1)}
