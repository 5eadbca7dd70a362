"""Class ids and class names from the labels as a csv file writes them.

- data.class_names given: a label's position in that list (every label must be listed; a
  listed name nobody uses is a class without examples). The list is the class names.
- names ("neg" / "pos"): their position among the sorted names, which are the class names.
- integers 0..C-1, each present, or any integers with data.num_classes set (a declaration:
  classes may lack examples): the class ids as written; `build` names them '0'..'C-1'.
- other integers (1, 2, 3, 5, 6, 7; -1 / 1): their position among the sorted values, which
  are the class names, announced in one line ("data: labels 1, 2, 3, 5, 6, 7 in column
  'Type' mapped to class ids 0-5"). With data.remap_labels=False an error names the class
  ids without examples (negative labels are left to `build`, which names them).

Texts are compared exactly (cells are stripped). The files of a run share one coding, so a
test file's labels mean what the training file's do. An empty label, a number that is not
an integer, a column mixing numbers with names and a single class are errors naming the
line.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from framework.data.sources import is_number, listing
from framework.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class LabelCells:
  """The stripped label cells of one csv file, with their line numbers (for errors)."""

  field: str  # the file's config field and path, e.g. "data.path='glass.csv'"
  texts: np.ndarray  # str [n]
  lines: np.ndarray  # int [n]


def class_ids(files: Sequence[LabelCells], column: str, class_names: Sequence[str],
              remap: bool, num_classes: int
              ) -> tuple[list[np.ndarray], tuple[str, ...] | None, str]:
  """(int64 class ids of each file's labels, the class names or None for the integer
  labels as written, the one-line notice of a remap or ''), by the rules above."""
  texts = np.concatenate([f.texts for f in files])
  ids, names, notice = _coding(texts, _locator(files), column, tuple(class_names), remap,
                               num_classes)
  return np.split(ids, np.cumsum([len(f.texts) for f in files])[:-1]), names, notice


def _locator(files: Sequence[LabelCells]) -> Callable[[int], str]:
  """'line 12 of data.path=...' for a position in the files' concatenated labels."""
  def where(position: int) -> str:
    for f in files:
      if position < len(f.texts):
        return f"line {f.lines[position]} of {f.field}"
      position -= len(f.texts)
    raise IndexError(position)
  return where


def _coding(texts: np.ndarray, where: Callable[[int], str], column: str,
            class_names: tuple[str, ...], remap: bool,
            num_classes: int) -> tuple[np.ndarray, tuple[str, ...] | None, str]:
  field = f"data.label_column={column!r}"
  empty = texts == ""
  if empty.any():
    raise ConfigError(f"{field}: {where(int(np.argmax(empty)))} has no label; every row "
                      "needs one")
  if class_names:
    return _named(texts, where, column, class_names), class_names, ""
  numeric = _numeric(texts)
  if not numeric.all():
    if numeric.any():
      odd = numeric if numeric.sum() <= (~numeric).sum() else ~numeric
      first = int(np.argmax(odd))
      raise ConfigError(f"{field} mixes numbers and names ({str(texts[first])!r} on "
                        f"{where(first)}); allowed: all class ids or all names, or list "
                        "every label in data.class_names")
    names, ids = np.unique(texts, return_inverse=True)
    return ids.astype(np.int64), _at_least_two(names.tolist(), field), ""
  return _integers(texts, where, column, remap, num_classes)


def _integers(texts: np.ndarray, where: Callable[[int], str], column: str, remap: bool,
              num_classes: int) -> tuple[np.ndarray, tuple[str, ...] | None, str]:
  """Integer labels: as written when they are the class ids, else remapped (or an error)."""
  field = f"data.label_column={column!r}"
  numbers = texts.astype(np.float64)
  fractional = ~np.isfinite(numbers) | (numbers != np.round(numbers))
  if fractional.any():
    first = int(np.argmax(fractional))
    raise ConfigError(f"{field}: label {str(texts[first])!r} on {where(first)} is not an "
                      "integer; numeric labels must be integer class ids, or list every "
                      "label in data.class_names")
  labels = numbers.astype(np.int64)
  values = np.unique(labels)
  if num_classes or (values[0] == 0 and values[-1] == len(values) - 1):
    return labels, None, ""  # the class ids, as declared or all present
  if not remap and values[0] < 0:
    return labels, None, ""  # `build` names the negative label
  shown = listing([str(v) for v in values])
  if not remap:
    raise ConfigError(f"data.remap_labels=False but the labels {shown} in column {column!r} "
                      f"leave class ids {_missing(values)} without examples; allowed: "
                      f"labels 0..C-1 each present, data.remap_labels=True (class ids "
                      f"0-{len(values) - 1}) or data.num_classes={values[-1] + 1} (classes "
                      "without examples)")
  names = _at_least_two([str(v) for v in values], field)
  notice = (f"data: labels {shown} in column {column!r} mapped to class ids "
            f"0-{len(values) - 1}")
  return np.searchsorted(values, labels).astype(np.int64), names, notice


def _missing(values: np.ndarray, shown: int = 10) -> str:
  """The first ids of 0..max(values) that `values` (sorted, >= 0) lack, and their number."""
  count = int(values[-1]) + 1 - len(values)
  first = np.setdiff1d(np.arange(min(values[-1] + 1, len(values) + shown)), values)[:shown]
  more = f", ... ({count} in all)" if count > shown else ""
  return ", ".join(str(v) for v in first) + more


def _named(texts: np.ndarray, where: Callable[[int], str], column: str,
           class_names: tuple[str, ...]) -> np.ndarray:
  """Each text's position in data.class_names."""
  if len(set(class_names)) != len(class_names) or len(class_names) < 2:
    raise ConfigError(f"data.class_names={list(class_names)!r} must list at least 2 distinct "
                      "names, the label texts in class-id order")
  unknown = ~np.isin(texts, class_names)
  if unknown.any():
    found = listing([repr(t) for t in np.unique(texts[unknown]).tolist()])
    raise ConfigError(f"data.label_column={column!r} has labels {found} that data.class_names "
                      f"does not list (first on {where(int(np.argmax(unknown)))}); allowed: "
                      f"{listing([repr(name) for name in class_names])}")
  index = {name: i for i, name in enumerate(class_names)}
  return np.array([index[t] for t in texts.tolist()], dtype=np.int64)


def _numeric(texts: np.ndarray) -> np.ndarray:
  """bool [n]: which texts read as numbers."""
  try:
    texts.astype(np.float64)
    return np.ones(len(texts), bool)
  except ValueError:
    return np.array([is_number(t) for t in texts.tolist()], bool)


def _at_least_two(names: list[str], field: str) -> tuple[str, ...]:
  if len(names) < 2:
    raise ConfigError(f"{field} holds one label ({names[0]!r}); at least 2 classes are needed")
  return tuple(names)
