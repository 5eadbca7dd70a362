"""The runs a report covers: workdirs named by paths or globs, each read as a `FinishedRun`.

A name is a run's workdir (it holds config.json), a folder holding runs at any depth (a
study's or a sweep's root), or a glob matching either. A run without results.json has not
finished: it is left out with a note, since its metrics do not exist yet. Nothing matched,
a folder that neither is nor holds a run, or no finished run at all is a one-line
ConfigError naming what was given.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from typing import Iterable

from framework.errors import ConfigError
from framework.runs import files
from framework.runs.reader import FinishedRun

_ALLOWED = "allowed: run workdirs, folders holding runs, or globs matching them"


@dataclasses.dataclass
class Collected:
  """The finished runs (in path order) and one note per run left out."""

  runs: list[FinishedRun]
  notes: list[str]


def _is_run(path: str) -> bool:
  return os.path.isfile(os.path.join(path, files.CONFIG))


def _runs_under(root: str) -> list[str]:
  """The run workdirs at or below `root` (a run's own subfolders are not searched)."""
  found = []
  for folder, subfolders, _ in os.walk(root, followlinks=True):
    if _is_run(folder):
      found.append(folder)
      subfolders.clear()
    else:
      subfolders.sort()
  return found


def _expand(name: str) -> list[str]:
  """The run workdirs `name` (a path or a glob) stands for; a ConfigError when none."""
  is_glob = any(c in name for c in "*?[")
  matches = sorted(glob.glob(name)) if is_glob else [name]
  folders = [m for m in matches if os.path.isdir(m)]
  if not folders:
    what = "matches no folder" if is_glob else (
        "is not a folder" if os.path.exists(name) else "does not exist")
    raise ConfigError(f"--runs: {name!r} {what}; {_ALLOWED}")
  workdirs = [w for folder in folders for w in _runs_under(folder)]
  if not workdirs:
    raise ConfigError(f"--runs: {name!r} is not a run workdir and holds none (no "
                      f"{files.CONFIG} found); {_ALLOWED}")
  return workdirs


def collect_runs(names: Iterable[str]) -> Collected:
  """The finished runs that `names` (paths or globs) stand for, each once."""
  names = [n for n in names if n]
  if not names:
    raise ConfigError(f"--runs is empty; {_ALLOWED}")
  workdirs = dict.fromkeys(os.path.realpath(w) for name in names for w in _expand(name))
  runs, notes = [], []
  for workdir in workdirs:
    run = FinishedRun(workdir)
    if run.has(files.RESULTS):
      runs.append(run)
    else:
      notes.append(f"left out {workdir}: no {files.RESULTS} (the run has not finished)")
  if not runs:
    raise ConfigError(f"--runs: none of the {len(workdirs)} runs matched has finished (no "
                      f"{files.RESULTS}): {', '.join(workdirs)}")
  return Collected(runs, notes)
