"""User data from csv or npz files (e.g. fraud detection: feature columns plus a label).

csv: a header row; `data.label_column` holds the labels, `data.importance_column` (optional)
importance scores, every other column not in `data.drop_columns` (or those of
`data.feature_columns`) is a numeric or categorical feature, blanks allowed
(`framework.data.columns`). Labels are names ("pos" / "neg") or integer class ids;
`framework.data.labels` turns them into class ids and class names (data.class_names,
data.remap_labels, data.num_classes). Each example keeps its line
in the file (`Split.source_rows`). npz: features under `x` (or `features` / `x_train`),
labels under `y` (or `labels` / `y_train`), importance under `data.importance_column`; a
training npz holding `x_test` / `y_test` also gives the test split. 2-D features are
standardised with pool statistics by `build`; 3-D / 4-D features are images (uint8 scaled
to [0, 1], floats must already lie in [0, 1]).
"""

from __future__ import annotations

import csv
import zipfile

import ml_collections
import numpy as np

from framework.data.columns import infer_columns
from framework.data.labels import LabelCells, class_ids
from framework.data.sources import (DATASETS, Arrays, Source, as_importance, as_int_labels,
                                    listing, not_utf8, readable_file)
from framework.errors import ConfigError, one_line

_X_KEYS = ("x", "features", "x_train")
_Y_KEYS = ("y", "labels", "y_train")
_X_TEST_KEYS = ("x", "features", "x_test")
_Y_TEST_KEYS = ("y", "labels", "y_test")


def read_csv(path: str, field: str) -> tuple[list[str], np.ndarray, np.ndarray]:
  """Header names, the cells as a str array [rows, columns] and each row's line number
  (header = line 1; blank lines are skipped but counted, a quoted cell may span lines)."""
  rows, lines = [], []
  try:
    with open(path, newline="", encoding="utf-8-sig") as f:
      reader = csv.reader(f)
      start = 1
      for row in reader:
        if row:
          rows.append(row)
          lines.append(start)
        start = reader.line_num + 1
  except UnicodeDecodeError as e:
    raise not_utf8(field, path, e) from None
  except (OSError, csv.Error) as e:
    raise ConfigError(f"{field}={path!r} cannot be read as csv ({one_line(e)})") from None
  if len(rows) < 2:
    raise ConfigError(f"{field}={path!r} needs a header row and at least one data row")
  header = [name.strip() for name in rows[0]]
  _check_header(header, field, path)
  for line, row in zip(lines[1:], rows[1:]):
    if len(row) != len(header):
      raise ConfigError(f"{field}={path!r}: line {line} has {len(row)} cells, the header "
                        f"has {len(header)}")
  return header, np.array(rows[1:], dtype=str), np.array(lines[1:], dtype=np.int64)


def _check_header(header: list[str], field: str, path: str) -> None:
  """Every column named, each name once: a blank or repeated name would make a column
  unreachable or let one name stand for two columns."""
  for j, name in enumerate(header):
    if not name:
      raise ConfigError(f"{field}={path!r}: column {j + 1} of the header has no name; name "
                        "every column (the label column included) once")
    if name in header[:j]:
      raise ConfigError(f"{field}={path!r}: the header names column {name!r} twice (columns "
                        f"{header.index(name) + 1} and {j + 1}); column names must be distinct")


class _CsvFile:
  """A csv file of the csv source, read whole: its header, cells and line numbers."""

  def __init__(self, field: str, path: str):
    self.field, self.path = field, readable_file(field, path, "csv")
    self.header, self.cells, self.lines = read_csv(self.path, field)
    self.columns = {name: j for j, name in enumerate(self.header)}

  def label_cells(self, column: str) -> LabelCells:
    if column not in self.columns:
      raise ConfigError(f"data.label_column={column!r} is not a column of {self.path}; "
                        f"columns found: {listing(self.header)}")
    return LabelCells(f"{self.field}={self.path!r}",
                      np.char.strip(self.cells[:, self.columns[column]]), self.lines)

  def arrays(self, cfg: ml_collections.ConfigDict, labels: np.ndarray,
             feature_names: list[str], training: bool) -> Arrays:
    """The file's examples: the raw cells of `feature_names` (stripped), encoded by `build`."""
    field, path, columns, header = self.field, self.path, self.columns, self.header
    importance = None
    if cfg.importance_column:
      if cfg.importance_column in columns:
        importance = as_importance(np.char.strip(self.cells[:, columns[cfg.importance_column]]),
                                   f"data.importance_column={cfg.importance_column!r}")
      elif training:  # required in the training file, optional in the test file
        raise ConfigError(f"data.importance_column={cfg.importance_column!r} is not a column "
                          f"of {path}; columns found: {listing(header)}")
    missing = [n for n in feature_names if n not in columns]
    if missing:
      raise ConfigError(f"{field}={path!r} lacks the training feature columns "
                        f"{listing(missing)}; columns found: {listing(header)}")
    cells = np.char.strip(self.cells[:, [columns[n] for n in feature_names]])
    return Arrays(cells, labels, importance, self.lines)


@DATASETS.register("csv")
def load_csv(cfg: ml_collections.ConfigDict) -> Source:
  """Tabular csv: the feature columns' kinds inferred (`framework.data.columns`) and
  announced in one line, their cells encoded and standardised with training-pool statistics
  by `build`; a remap of integer labels is announced in one line."""
  _check_extension(cfg, "csv", "npz")
  files = [_CsvFile("data.path", cfg.path)]
  if cfg.test_path:
    files.append(_CsvFile("data.test_path", cfg.test_path))
  labels, class_names, notice = class_ids([f.label_cells(cfg.label_column) for f in files],
                                          cfg.label_column, cfg.class_names,
                                          cfg.remap_labels, cfg.num_classes)
  if notice:
    print(notice)
  training = files[0]
  features, inferred = infer_columns(training.header, training.cells, cfg, training.field,
                                     training.path)
  if inferred:
    print(inferred)
  names = [c.name for c in features]
  pool = training.arrays(cfg, labels[0], names, True)
  test = files[1].arrays(cfg, labels[1], names, False) if cfg.test_path else None
  return Source(pool, test, class_names=class_names, tabular=True, location=training.path,
                feature_names=tuple(names), columns=tuple(features),
                label_field=f"data.label_column={cfg.label_column!r}")


def _check_extension(cfg: ml_collections.ConfigDict, source: str, other: str) -> None:
  """A .npz path read as csv, or a .csv path read as npz, is named with the fix."""
  for field in ("path", "test_path"):
    if cfg[field].lower().endswith("." + other):
      raise ConfigError(f"data.{field}={cfg[field]!r} is a .{other} file but data.source="
                        f"{source!r}; set --config.data.source={other}")


def _read_npz(path: str, field: str) -> dict[str, np.ndarray]:
  if not zipfile.is_zipfile(path):  # else NumPy reads it as a pickle, and says so
    raise ConfigError(f"{field}={path!r} is not an .npz archive (numpy.savez writes one)")
  try:
    with np.load(path, allow_pickle=False) as f:
      return {k: f[k] for k in f.files}
  except (OSError, ValueError, EOFError) as e:
    raise ConfigError(f"{field}={path!r} cannot be read as npz ({one_line(e)})") from None


def _pick(arrays: dict[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray | None:
  return next((arrays[k] for k in keys if k in arrays), None)


def _npz_features(x: np.ndarray, field: str, path: str) -> np.ndarray:
  if x.dtype.kind not in "iuf":
    raise ConfigError(f"{field}={path!r}: features have dtype {x.dtype}; they must be numeric")
  if x.ndim == 1:
    x = x[:, None]
  if x.ndim == 3:
    x = x[..., None]
  if 0 in x.shape[1:]:
    raise ConfigError(f"{field}={path!r}: features of shape {x.shape} have no values per "
                      "example; expected [n, D], [n, H, W] or [n, H, W, C] with D, H, W, C > 0")
  if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
    rows = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
    raise ConfigError(f"{field}={path!r}: features have non-finite values (NaN or infinity; "
                      f"first in row {rows[0]}, {len(rows)} rows in all)")
  if x.ndim == 4 and x.dtype != np.uint8 and (x.min() < 0 or x.max() > 1):
    raise ConfigError(f"{field}={path!r}: image features lie in [{x.min()}, {x.max()}]; "
                      "store uint8 or floats in [0, 1]")
  if x.ndim > 4:
    raise ConfigError(f"{field}={path!r}: features of shape {x.shape}; expected [n, D], "
                      "[n, H, W] or [n, H, W, C]")
  return x


def _npz_arrays(cfg: ml_collections.ConfigDict, arrays: dict[str, np.ndarray], path: str,
                field: str, x_keys: tuple[str, ...], y_keys: tuple[str, ...],
                importance_key: str, importance_required: bool) -> Arrays:
  x, y = _pick(arrays, x_keys), _pick(arrays, y_keys)
  if x is None or y is None:
    raise ConfigError(f"{field}={path!r} lacks the features/labels arrays (expected "
                      f"{' or '.join(x_keys)} and {' or '.join(y_keys)}); keys found: "
                      f"{listing(sorted(arrays)) or 'none'}")
  importance = None
  if importance_key and importance_key in arrays:
    importance = as_importance(arrays[importance_key],
                               f"data.importance_column={cfg.importance_column!r}")
  elif importance_key and importance_required:
    raise ConfigError(f"data.importance_column={cfg.importance_column!r} is not an array of "
                      f"{path}; keys found: {listing(sorted(arrays))}")
  labels = as_int_labels(y, f"{field}={path!r} labels")
  x = _npz_features(x, field, path)
  for name, values in (("labels", labels), ("importance", importance)):
    if values is not None and len(values) != len(x):
      raise ConfigError(f"{field}={path!r}: {len(x)} feature rows but {len(values)} {name}")
  return Arrays(x, labels, importance)


@DATASETS.register("npz")
def load_npz(cfg: ml_collections.ConfigDict) -> Source:
  """Arrays from an npz file; 2-D features are tabular, 3-D / 4-D are images."""
  _check_extension(cfg, "npz", "csv")
  path = readable_file("data.path", cfg.path, "npz")
  arrays = _read_npz(path, "data.path")
  pool = _npz_arrays(cfg, arrays, path, "data.path", _X_KEYS, _Y_KEYS,
                     cfg.importance_column, True)
  test = None
  if cfg.test_path:
    test_path = readable_file("data.test_path", cfg.test_path, "npz")
    test = _npz_arrays(cfg, _read_npz(test_path, "data.test_path"), test_path,
                       "data.test_path", _X_TEST_KEYS, _Y_TEST_KEYS, cfg.importance_column,
                       False)
  elif "x_test" in arrays and "y_test" in arrays:
    key = cfg.importance_column and cfg.importance_column + "_test"
    test = _npz_arrays(cfg, arrays, path, "data.path", ("x_test",), ("y_test",), key, False)
  if test is not None and test.x.shape[1:] != pool.x.shape[1:]:
    raise ConfigError(f"data.test_path={cfg.test_path or path!r}: test features have shape "
                      f"{test.x.shape[1:]}, training features {pool.x.shape[1:]}")
  return Source(pool, test, tabular=pool.x.ndim == 2, location=path,
                label_field=f"data.path={cfg.path!r}")

