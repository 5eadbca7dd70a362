"""The training examples a run leaves out (data.leave_out): indices read from a file.

The file is a csv with an `index` column (a label-issues csv written by
`framework.tools.label_issues`, most suspect first, or the study's flagged sets) or a text
file with one index per line. The indices are those of the training split as the protocol
builds it before the leave-out (the `index` of a label-issues csv and of the weight
tables), so a run reading the file of another run with the same data settings removes
exactly the examples that run listed.
"""

from __future__ import annotations

import csv

import numpy as np

from framework.errors import ConfigError

FIELD, COUNT = "data.leave_out.file", "data.leave_out.count"
_ALLOWED = "allowed: a csv with an `index` column or a text file with one index per line"


def leave_out_path(template: str, seed: int) -> str:
  """The file of data.leave_out.file for data.seed = `seed` ({seed} replaced)."""
  return template.replace("{seed}", str(seed))


def _numbered_cells(path: str) -> list[tuple[int, str]]:
  """(line number, cell) of every index the file lists."""
  with open(path, newline="") as f:
    lines = f.read().splitlines()
  header = next(csv.reader(lines[:1]), [])
  if "index" not in [cell.strip() for cell in header]:
    return [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
  column = [cell.strip() for cell in header].index("index")
  return [(n, row[column].strip() if column < len(row) else "")
          for n, row in enumerate(csv.reader(lines[1:]), 2) if row]


def leave_out_rows(template: str, count: int, seed: int, size: int) -> tuple[str, np.ndarray]:
  """(the file read, the training rows it leaves out: its first `count` indices, all for 0)
  of a training split of `size` examples; one-line ConfigError for a file that is missing
  or lists a non-integer, an index outside 0..size-1 or one twice, or fewer than `count`."""
  path = leave_out_path(template, seed)
  shown = f"{FIELD}={template!r}" + (f" (file {path!r})" if path != template else "")
  try:
    cells = _numbered_cells(path)
  except (OSError, UnicodeDecodeError, csv.Error) as e:
    reason = getattr(e, "strerror", None) or type(e).__name__
    raise ConfigError(f"{shown} cannot be read ({reason}); {_ALLOWED}") from None
  rows, seen = [], {}
  for line, cell in cells:
    try:
      index = int(cell)
    except ValueError:
      raise ConfigError(f"{shown}: line {line} holds {cell!r}, not an integer index; "
                        f"{_ALLOWED}") from None
    if not 0 <= index < size:
      raise ConfigError(f"{shown}: index {index} (line {line}) is outside the training "
                        f"split's 0..{size - 1}")
    if index in seen:
      raise ConfigError(f"{shown}: index {index} is listed twice (lines {seen[index]} and "
                        f"{line}); list each example once")
    seen[index] = line
    rows.append(index)
  if count > len(rows):
    raise ConfigError(f"{COUNT}={count} exceeds the {len(rows)} indices of {shown}; "
                      f"allowed: 0 (every row) to {len(rows)}")
  return path, np.asarray(rows[:count or None], np.int64)
