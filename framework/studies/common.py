"""What the study scripts share: the finished runs of a sweep, tables and their cells."""

from __future__ import annotations

import os
import sys

import numpy as np

from framework.errors import ConfigError
from framework.runs import files
from framework.runs.reader import FinishedRun
from framework.runs.rundir import RunDir
from framework.sweeps import load_sweep, plan
from framework.sweeps.plan import PlannedRun
from framework.sweeps.declaration import sweep_file


def _finished(sweep: str, root: str) -> list[PlannedRun]:
  """The planned runs of a sweep (a declaration's path or shipped name) in `root` whose
  results are written, in the sweep's order; ConfigError for a bad sweep."""
  path = sweep_file(sweep)
  return [run for run in plan(load_sweep(path), path, root)
          if RunDir(run.workdir).exists(files.RESULTS)]


def finished_runs(sweep: str, root: str) -> list[FinishedRun]:
  """The finished runs of a sweep in `root`, in the sweep's order; ConfigError for a bad
  sweep."""
  return [FinishedRun(run.workdir) for run in _finished(sweep, root)]


def finished_by_variant(sweep: str, root: str) -> dict[str, list[FinishedRun]]:
  """The finished runs of a sweep in `root`, by variant in the sweep's order; a bad sweep
  ends the script with one line."""
  try:
    runs = _finished(sweep, root)
  except ConfigError as e:
    sys.exit(f"error: {e}")
  by_variant: dict[str, list[FinishedRun]] = {}
  for run in runs:
    by_variant.setdefault(run.config.variant, []).append(FinishedRun(run.workdir))
  return by_variant


def write_table(root: str, name: str, table: str) -> None:
  """Prints the table and writes it to ROOT/name."""
  print(table, flush=True)
  os.makedirs(root, exist_ok=True)
  with open(os.path.join(root, name), "w") as f:
    f.write(table + "\n")


def cell(values, fmt: str = "{:.1f}") -> str:
  """'mean ± sample std' of the values (just the mean for one; '-' if all NaN)."""
  values = np.asarray(values, np.float64)
  if np.isnan(values).all():
    return "-"
  mean = fmt.format(np.nanmean(values))
  return mean if len(values) == 1 else f"{mean} ± {fmt.format(np.nanstd(values, ddof=1))}"
