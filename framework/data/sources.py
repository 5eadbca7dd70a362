"""Dataset sources: what a loader returns, the DATASETS registry and shared checks.

A source is a function `load(cfg) -> Source` registered under a name, e.g.

  @DATASETS.register("my_data")
  def load_my_data(cfg: ml_collections.ConfigDict) -> Source:
    return Source(pool=Arrays(x, y), test=None)

`build` then applies the protocol (test split, validation split, train size, long tail,
label noise) identically for every source.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framework.data.examples import Examples, as_examples
from framework.errors import ConfigError, one_line
from framework.config.registry import Registry

if TYPE_CHECKING:
  from framework.data.columns import Column

DATASETS: Registry["Source"] = Registry("dataset")


@dataclasses.dataclass(frozen=True)
class Arrays:
  """Raw examples (an array of uint8 / float images [n, H, W, C] or tabular features
  [n, D], or any `Examples`: image files, a random-access reader), integer labels [n],
  optional importance scores [n] and optional source rows [n] (a csv's line numbers)."""

  x: Any
  y: np.ndarray
  importance: np.ndarray | None = None
  source_rows: np.ndarray | None = None

  def __len__(self) -> int:
    return int(len(self.y))

  @property
  def examples(self) -> Examples:
    return as_examples(self.x)

  def take(self, rows: np.ndarray) -> "Arrays":
    imp = None if self.importance is None else self.importance[rows]
    source_rows = None if self.source_rows is None else self.source_rows[rows]
    return Arrays(self.examples.take(rows), self.y[rows], imp, source_rows)


@dataclasses.dataclass(frozen=True)
class Source:
  """What a loader returns.

  pool: the training pool (validation, training and long-tail subsets are drawn from it).
  test: the test split, or None to let `build` make a seeded stratified split of the pool
    (data.test_fraction).
  class_names: fixed class names (their number fixes C; label i is class_names[i]), or
    None for '0'..'C-1'.
  tabular: standardise features with the statistics of the pool.
  label_field: the config field to name in label errors.
  location: where the data was read from (for logs and DataBundle.info).
  mean, std: the per-channel normalisation of images when data.mean / data.std are unset
    (e.g. CIFAR's), in units of pixel / pixel_max.
  feature_names: the feature columns of a csv, so predictions can read a new file by name.
  columns: a csv's feature columns (`framework.data.columns.Column`, kinds only) when `pool.x`
    / `test.x` hold their raw str cells: `build` encodes them with training-pool statistics.
  changes: what the source changed in the user's data at load, as records of
    `framework.data.protocol_record` (image files that do not decode, left out).
  """

  pool: Arrays
  test: Arrays | None
  class_names: tuple[str, ...] | None = None
  tabular: bool = False
  label_field: str = "data.source"
  location: str = ""
  mean: tuple[float, ...] = ()
  std: tuple[float, ...] = ()
  feature_names: tuple[str, ...] = ()  # csv: the feature columns, in order
  columns: tuple[Column, ...] = ()
  changes: tuple[dict[str, Any], ...] = ()


def listing(names: Sequence[str], limit: int = 40) -> str:
  names = [str(n) for n in names]
  more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
  return ", ".join(names[:limit]) + more


def readable_file(field: str, path: str, what: str) -> str:
  """Returns the expanded path or raises a ConfigError naming `field`."""
  if not path:
    raise ConfigError(f"{field}='' is empty; the {what} source needs a file path")
  full = os.path.expanduser(path)
  if not os.path.isfile(full) or not os.access(full, os.R_OK):
    raise ConfigError(f"{field}={path!r} is not a readable file")
  return full


def not_utf8(field: str, path: str, error: UnicodeDecodeError) -> ConfigError:
  """The one-line error of a text file (csv, list file) that is not UTF-8, naming the line
  of the first byte that does not decode."""
  line = error.object[:error.start].count(b"\n") + 1
  return ConfigError(f"{field}={path!r} is not UTF-8 text (line {line} has the byte "
                     f"{error.object[error.start:error.start + 1]!r}); save the file as UTF-8")


def as_int_labels(values: Any, field: str) -> np.ndarray:
  """Converts labels (ints, integral floats or numeric strings) to int64, else ConfigError."""
  array = np.asarray(values)
  if array.ndim != 1:
    raise ConfigError(f"{field}: labels must be 1-D, got shape {array.shape}")
  if array.dtype.kind in "iub":
    return array.astype(np.int64, copy=False)
  if array.dtype.kind not in "fUSO":
    raise ConfigError(f"{field}: labels have dtype {array.dtype}; labels must be integer class ids")
  try:
    numeric = array.astype(np.float64)
  except (TypeError, ValueError):
    bad = next(v for v in array.tolist() if not is_number(v))
    raise ConfigError(f"{field}: non-numeric label {bad!r}; labels must be integer class ids "
                      "in [0, C)") from None
  bad = ~np.isfinite(numeric) | (numeric != np.round(numeric))
  if bad.any():
    raise ConfigError(f"{field}: label {array[np.argmax(bad)]!r} is not an integer; labels "
                      "must be integer class ids in [0, C)")
  return numeric.astype(np.int64)


def is_number(value: Any) -> bool:
  """Whether float() reads `value`."""
  try:
    float(value)
    return True
  except (TypeError, ValueError):
    return False


def as_importance(values: Any, field: str) -> np.ndarray:
  """Importance scores: finite, >= 0, float32."""
  try:
    array = np.asarray(values).astype(np.float64)
  except (TypeError, ValueError):
    raise ConfigError(f"{field}: importance scores must be numbers") from None
  if array.ndim != 1:
    raise ConfigError(f"{field}: importance scores must be 1-D, got shape {array.shape}")
  if not np.all(np.isfinite(array)) or (array < 0).any():
    bad = array[~np.isfinite(array) | (array < 0)][0]
    raise ConfigError(f"{field}: importance score {bad} found; scores must be finite and >= 0")
  return array.astype(np.float32)
