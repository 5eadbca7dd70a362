"""What the study scripts share: flags, loading an experiment's variants, resumable runs, the
finished runs of a sweep, cells."""

from __future__ import annotations

import os
import sys
import types

from absl import flags
import numpy as np

from framework.config import choose_variants, load_experiment, set_fields
from framework.errors import ConfigError
from framework.runs import files
from framework.runs.reader import FinishedRun
from framework.runs.rundir import RunDir
from framework.sweeps import load_sweep, plan
from framework.sweeps.declaration import sweep_file


def define_seeds_flag(default: list[str]) -> flags.FlagHolder:
  """--seeds: comma-separated non-negative integers (config.seed and data.seed of each run)."""
  holder = flags.DEFINE_list("seeds", default, "Seeds (config.seed and data.seed).")
  flags.register_validator("seeds", lambda seeds: all(s.strip().isdigit() for s in seeds),
                           "must be non-negative integers separated by commas, e.g. 0,1,2")
  return holder


def experiment_variants(name: str, requested) -> tuple[types.ModuleType, list[str]]:
  """The shipped experiment `name` and the requested variants (all when none); a bad
  variant name ends the script with one line."""
  module = load_experiment(name)
  try:
    return module, choose_variants(module, requested or ())
  except ConfigError as e:
    sys.exit(f"error: {e}")


def train_variant(module: types.ModuleType, variant: str, seed: int, workdir: str,
                  epochs: int | None = None, **fields) -> tuple[dict, bool]:
  """(results, reused) of one run of `variant` with config.seed = data.seed = seed.

  A run whose results.json exists is read, not retrained; an interrupted one resumes.
  `fields` set dotted config fields ('data.data_dir' as data__data_dir).
  """
  if RunDir(workdir).exists(files.RESULTS):
    return FinishedRun(workdir).results, True
  from framework import train  # pylint: disable=g-import-not-at-top (TensorFlow loads slowly)
  config = module.get_config(variant)
  config.seed = config.data.seed = seed
  if epochs is not None:
    config.train.epochs = epochs
    config.train.eval_every_epochs = min(config.train.eval_every_epochs, epochs)
  set_fields(config, fields)
  return train.run(config, workdir, verbose=False), False


def finished_by_variant(sweep: str, root: str) -> dict[str, list[FinishedRun]]:
  """The finished runs of a sweep (a declaration's path or shipped name) in `root`, by
  variant in the sweep's order; a bad sweep ends the script with one line."""
  try:
    path = sweep_file(sweep)
    runs = plan(load_sweep(path), path, root)
  except ConfigError as e:
    sys.exit(f"error: {e}")
  by_variant: dict[str, list[FinishedRun]] = {}
  for run in runs:
    if RunDir(run.workdir).exists(files.RESULTS):
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
