"""The feature columns of a csv: which are numeric and which categorical, how missing values
are filled, and the float encoding the model trains on.

Kinds are inferred from the cells (a column whose every non-missing cell is a number is
numeric, any other is categorical) or declared: `data.categorical_columns` (e.g. integer
codes), `data.feature_columns` (exactly these features), `data.drop_columns` (never
features, e.g. an id). A numeric cell that is blank or NA / N/A / NaN / null / ? is missing:
it is filled with the column's training median, and a 0/1 indicator column follows the
column when the training pool has missing values in it. A categorical column is one-hot
over its training values (a blank cell is the value '', its own "missing" category) plus a
first slot for values training never saw, as `keras.layers.StringLookup` numbers them, so
the exported model (`framework.models.table_inputs`) computes the same encoding from raw
cells. Statistics come from the training pool only (`fit`, called by `build`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Sequence

import ml_collections
import numpy as np

from framework.data.sources import is_number, listing
from framework.errors import ConfigError

MISSING_MARKERS = ("", "na", "n/a", "nan", "null", "?")
MAX_CATEGORIES = 1000


@dataclasses.dataclass(frozen=True)
class Column:
  """One feature column: its kind and, once fitted, the training statistics it is encoded
  with."""

  name: str
  categorical: bool
  median: float = 0.0  # numeric: what a missing value becomes
  indicator: bool = False  # numeric: a 0/1 "was missing" column follows
  vocabulary: tuple[str, ...] = ()  # categorical: the training values, sorted

  @property
  def width(self) -> int:
    """Its number of encoded columns."""
    if self.categorical:
      return 1 + len(self.vocabulary)
    return 2 if self.indicator else 1

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, fields: dict[str, Any]) -> "Column":
    return cls(**{**fields, "vocabulary": tuple(fields["vocabulary"])})


def input_name(name: str) -> str:
  """The exported model's input for a column: its name with characters other than letters,
  digits, '_', '.' and '-' as '_' (what Keras and SavedModel signatures accept)."""
  return re.sub(r"[^0-9A-Za-z_.-]", "_", name)


def numbers(cells: np.ndarray) -> np.ndarray:
  """float64 of number cells, NaN where a cell is missing; ValueError on any other text."""
  cells = np.char.strip(np.asarray(cells, dtype=str))
  missing = np.isin(np.char.lower(cells), MISSING_MARKERS)
  values = np.full(cells.shape, np.nan)
  values[~missing] = cells[~missing].astype(np.float64)
  return values


def _numeric_values(cells: np.ndarray) -> np.ndarray | None:
  """`numbers(cells)`, or None for a column that is not numeric (a cell is not a number, or
  every cell is missing)."""
  try:
    values = numbers(cells)
  except ValueError:
    return None
  return None if np.isnan(values).all() else values


def _feature_names(header: list[str], cfg: ml_collections.ConfigDict,
                   path: str) -> list[str]:
  """data.feature_columns (or every column but the label, importance and data.drop_columns)."""
  for field in ("feature_columns", "drop_columns", "categorical_columns"):
    unknown = [name for name in cfg[field] if name not in header]
    if unknown:
      raise ConfigError(f"data.{field}={list(cfg[field])!r} names {listing(unknown)}, not "
                        f"columns of {path}; columns found: {listing(header)}")
  reserved = {cfg.label_column, cfg.importance_column}
  if cfg.feature_columns:
    clash = [name for name in cfg.feature_columns if name in reserved or name in cfg.drop_columns]
    if clash:
      raise ConfigError(f"data.feature_columns={list(cfg.feature_columns)!r} lists "
                        f"{listing(clash)}, the label / importance column or a dropped one")
    return [name for name in header if name in cfg.feature_columns]
  return [name for name in header if name not in reserved and name not in cfg.drop_columns]


def infer_columns(header: list[str], cells: np.ndarray, cfg: ml_collections.ConfigDict,
                  field: str, path: str) -> tuple[list[Column], str]:
  """The feature columns of a training file (kinds only) and the one-line notice of what
  was inferred, e.g. "csv: 12 numeric, 1 categorical (city: 41 values), 2 with missing
  values, dropped: id" ('' for complete numeric columns and nothing dropped)."""
  names = _feature_names(header, cfg, path)
  if not names:
    raise ConfigError(f"{field}={path!r} has no feature columns besides the label")
  columns, counts, with_missing = [], {}, 0
  for name in names:
    column = cells[:, header.index(name)]
    numeric = None if name in cfg.categorical_columns else _numeric_values(column)
    if numeric is None:
      values = np.unique(np.char.strip(column))
      _check_categories(name, len(values), len(column), field, path)
      counts[name] = len(values)
      with_missing += "" in values
    else:
      values = numeric
      if np.isinf(values).any():
        raise ConfigError(f"{field}={path!r}: column {name!r} has infinite values")
      beyond = np.abs(np.nan_to_num(values)) > np.finfo(np.float32).max  # trained as float32
      if beyond.any():
        raise ConfigError(f"{field}={path!r}: column {name!r} holds "
                          f"{values[int(np.argmax(beyond))]:g} (data row "
                          f"{int(np.argmax(beyond)) + 1}), beyond the float32 range (+-3.4e38) "
                          "features train in; rescale the column")
      with_missing += np.isnan(values).any()
    columns.append(Column(name, name in counts))
  return columns, _notice(len(columns), counts, with_missing, cfg.drop_columns)


def _check_categories(name: str, count: int, rows: int, field: str, path: str) -> None:
  """A text column with a value per row (an id) or too many values is no category."""
  if count > MAX_CATEGORIES or (count == rows and rows > 20):
    raise ConfigError(f"{field}={path!r}: column {name!r} has {count} distinct values in "
                      f"{rows} rows, too many for categories (at most {MAX_CATEGORIES}, "
                      "fewer than the rows); name it in data.drop_columns")


def _notice(features: int, counts: dict[str, int], with_missing: int,
            dropped: Sequence[str]) -> str:
  """'' when every feature is numeric and complete and nothing is dropped (nothing to tell)."""
  if not (counts or with_missing or dropped):
    return ""
  notice = f"csv: {features - len(counts)} numeric, {len(counts)} categorical"
  if counts:
    notice += " (" + listing([f"{n}: {k} values" for n, k in counts.items()], limit=5) + ")"
  notice += f", {with_missing} with missing values"
  return notice + (f", dropped: {listing(dropped)}" if dropped else "")


def fit(columns: Sequence[Column], cells: np.ndarray) -> tuple[Column, ...]:
  """`columns` with the statistics of the training pool's `cells` [n, len(columns)]."""
  fitted = []
  for j, column in enumerate(columns):
    if column.categorical:
      vocabulary = tuple(np.unique(np.char.strip(cells[:, j])).tolist())
      fitted.append(dataclasses.replace(column, vocabulary=vocabulary))
      continue
    values = numbers(cells[:, j])
    present = values[~np.isnan(values)]
    if not len(present):
      raise ConfigError(f"csv column {column.name!r} has no values in the training pool")
    fitted.append(dataclasses.replace(column, median=float(np.median(present)),
                                      indicator=bool(len(present) < len(values))))
  return tuple(fitted)


def encode(columns: Sequence[Column], cells: np.ndarray) -> np.ndarray:
  """float64 [n, sum of widths]: the encoding of raw `cells` [n, len(columns)]."""
  blocks = []
  for j, column in enumerate(columns):
    if column.categorical:
      slots = {value: i + 1 for i, value in enumerate(column.vocabulary)}
      index = np.array([slots.get(v, 0) for v in np.char.strip(cells[:, j]).tolist()])
      blocks.append(np.eye(column.width)[index])
      continue
    values = _numbers_of(column.name, cells[:, j])
    missing = np.isnan(values)
    blocks.append(np.where(missing, column.median, values)[:, None])
    if column.indicator:
      blocks.append(missing[:, None].astype(np.float64))
  return np.concatenate(blocks, axis=1)


def model_inputs(columns: Sequence[Column], cells: np.ndarray) -> Any:
  """What the exported model takes for raw `cells` [n, len(columns)]: float32 [n, D] (NaN
  where missing) when every column is numeric, else a dict `input_name(column)` -> [n, 1]
  (float32, or the stripped str cells). A text cell in a numeric column is a ConfigError
  naming the column."""
  values = {c.name: _numbers_of(c.name, cells[:, [j]]).astype(np.float32)
            for j, c in enumerate(columns) if not c.categorical}
  if len(values) == len(columns):
    return np.concatenate(list(values.values()), axis=1)
  return {input_name(c.name): (np.char.strip(cells[:, [j]]) if c.categorical
                               else values[c.name]) for j, c in enumerate(columns)}


def _numbers_of(name: str, cells: np.ndarray) -> np.ndarray:
  """`numbers(cells)` of the numeric column `name`, or a ConfigError naming it."""
  try:
    return numbers(cells)
  except ValueError:
    text = next(c for c in np.char.strip(cells).ravel().tolist()
                if not is_number(c) and c.lower() not in MISSING_MARKERS)
    raise ConfigError(f"column {name!r} holds {text!r}, but it is numeric in the training "
                      f"file (numbers, or blank / {'/'.join(MISSING_MARKERS[1:])} when "
                      "missing)") from None
