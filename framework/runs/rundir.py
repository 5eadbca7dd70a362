"""The run directory: how a run's files (named in `framework.runs.files`) are written and read.

Writes are atomic (a temporary file, then a rename), so a crash never leaves half a file;
history.jsonl is appended a line at a time and read tolerantly (a torn last line is
skipped). The controller writes through `RunDir`; tools and studies read a finished run
through `framework.runs.reader.FinishedRun`, which reads through it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
from typing import Any, Iterator, Mapping

import numpy as np

from framework.errors import ConfigError
from framework.runs import files

_LOCK = ".lock"  # held by the live run (see RunDir.lock)
_SNAPSHOT = re.compile(r"^step_(\d+)\.npz$")
# A write that a killed process left unfinished: `_atomic`'s "<name>.tmp", TensorFlow's
# "<name>.tmp<32 hex digits>" (checkpoint state, saved_model.pb).
_TEMPORARY = re.compile(r"\.tmp([0-9a-f]{32})?$")


def _jsonable(value: Any) -> Any:
  return np.asarray(value).tolist()


def _naming(error: OSError, path: str) -> OSError:
  """`error`, naming `path` when it names no file (a write to an open file does not)."""
  return error if error.filename else OSError(error.errno, error.strerror, path)


class RunDir:
  """Paths and atomic reads / writes of one run's directory."""

  def __init__(self, path: str):
    self.path = os.fspath(path)

  def file(self, name: str) -> str:
    return os.path.join(self.path, name)

  @property
  def checkpoints(self) -> str:
    return self.file(files.CHECKPOINTS)

  @property
  def snapshots_dir(self) -> str:
    return self.file(files.SNAPSHOTS)

  def exists(self, name: str) -> bool:
    return os.path.exists(self.file(name))

  def create(self) -> None:
    """Creates the directory (the first write of a run)."""
    if os.path.exists(self.path) and not os.path.isdir(self.path):
      raise ConfigError(f"--workdir={self.path!r} is a file, not a directory")
    try:
      os.makedirs(self.path, exist_ok=True)
    except OSError as e:
      raise ConfigError(f"--workdir={self.path!r} cannot be created ({e.strerror})") from None

  @contextlib.contextmanager
  def lock(self) -> Iterator[None]:
    """One run per workdir: an exclusive lock on WORKDIR/.lock, held while the run lives.

    The operating system releases it when the process ends however it ends (SIGKILL
    included), so a stale lock never blocks a relaunch; a live one is a one-line error.
    """
    self.create()
    with open(self.file(_LOCK), "a+") as handle:
      try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
      except OSError:
        raise self._in_use(handle) from None
      handle.seek(0)
      handle.truncate()
      handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
      handle.flush()
      try:
        yield
      finally:
        fcntl.flock(handle, fcntl.LOCK_UN)

  def check_not_in_use(self) -> None:
    """The one-line error of `lock` if a live run holds the workdir, without taking the
    lock or creating anything: the launcher asks before it loads TensorFlow (tens of
    seconds), and the run then takes the lock itself."""
    try:
      handle = open(self.file(_LOCK))
    except (FileNotFoundError, NotADirectoryError):
      return
    with handle:  # its own open file, so the probe never shares or keeps the run's lock
      try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
      except OSError:
        raise self._in_use(handle) from None
      fcntl.flock(handle, fcntl.LOCK_UN)

  def _in_use(self, handle) -> ConfigError:
    handle.seek(0)
    owner = handle.read().strip() or "another process"
    return ConfigError(f"--workdir={self.path!r} is in use by a running run ({owner}); "
                       "wait for it to end or choose another workdir")

  def remove_temporaries(self) -> list[str]:
    """Removes the temporary files of writes a killed process left unfinished (their
    finished files were never replaced) from the folders a run writes, when the workdir
    holds a run (a folder of the user's is left alone); returns their paths. Call under
    `lock`."""
    if not self.exists(files.CONFIG):
      return []
    folders = [self.path] + [folder for sub in (files.CHECKPOINTS, files.SNAPSHOTS,
                                                files.SAVED_MODEL)
                             for folder, _, _ in os.walk(self.file(sub))]
    removed = []
    for folder in folders:
      for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if _TEMPORARY.search(name) and os.path.isfile(path):
          os.remove(path)
          removed.append(path)
    return removed

  # Writing.
  @staticmethod
  def replace(source: str, target: str) -> None:
    """Moves a finished temporary file (or folder) into place."""
    os.replace(source, target)

  def _atomic(self, name: str, write) -> str:
    path = self.file(name)
    tmp = f"{path}.tmp"
    try:
      write(tmp)
      os.replace(tmp, path)
    except OSError as e:  # a full disk: the error names no file unless told
      with contextlib.suppress(OSError):
        os.remove(tmp)
      raise _naming(e, path) from None
    return path

  def write_json(self, name: str, payload: Any) -> str:
    def write(tmp):
      with open(tmp, "w") as f:
        json.dump(payload, f, indent=1, default=_jsonable)
    return self._atomic(name, write)

  def write_text(self, name: str, text: str) -> str:
    def write(tmp):
      with open(tmp, "w") as f:
        f.write(text)
    return self._atomic(name, write)

  def write_arrays(self, name: str, **arrays: np.ndarray) -> str:
    """An .npz of named arrays (names may contain '/')."""
    def write(tmp):
      with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return self._atomic(name, write)

  def write_array(self, name: str, array: np.ndarray) -> str:
    def write(tmp):
      with open(tmp, "wb") as f:
        np.save(f, array)
    return self._atomic(name, write)

  def append_record(self, name: str, record: Mapping[str, Any]) -> None:
    """Appends one JSON line (after a torn last line, on a fresh line)."""
    path = self.file(name)
    prefix = ""
    if os.path.exists(path) and os.path.getsize(path):
      with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        prefix = "" if f.read(1) == b"\n" else "\n"
    try:
      with open(path, "a") as f:
        f.write(prefix + json.dumps(record, default=_jsonable) + "\n")
    except OSError as e:
      raise _naming(e, path) from None

  def write_snapshot(self, step: int, tables: Mapping[str, np.ndarray]) -> str:
    """The weight tables (flat, 'per_sample/weight' -> array) at `step`."""
    os.makedirs(self.snapshots_dir, exist_ok=True)
    return self.write_arrays(os.path.join(files.SNAPSHOTS, f"step_{step:08d}.npz"), step=step,
                             **tables)

  # Reading.
  def read_json(self, name: str) -> Any:
    with open(self.file(name)) as f:
      return json.load(f)

  def read_records(self, name: str) -> list[dict]:
    """The JSON lines of `name` ([] if absent); an unparsable (torn) line is skipped."""
    if not self.exists(name):
      return []
    records = []
    with open(self.file(name)) as f:
      for line in f:
        try:
          records.append(json.loads(line))
        except json.JSONDecodeError:
          continue
    return records

  def read_history(self) -> list[dict]:
    """Evaluation records by step; a step evaluated again after a resume keeps its last."""
    by_step = {r["step"]: r for r in self.read_records(files.HISTORY) if "step" in r}
    return [by_step[s] for s in sorted(by_step)]

  def snapshots(self) -> list[tuple[int, str]]:
    """(step, path) of every weight snapshot, by step."""
    if not os.path.isdir(self.snapshots_dir):
      return []
    return sorted((int(m.group(1)), os.path.join(self.snapshots_dir, name))
                  for name in os.listdir(self.snapshots_dir) if (m := _SNAPSHOT.match(name)))

  @staticmethod
  def read_arrays(path: str, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an .npz (a snapshot's tables, 'per_sample/weight' -> array, without
    its 'step'), or only `names`."""
    with np.load(path) as arrays:
      keys = [k for k in arrays.files if k != "step"] if names is None else names
      return {k: arrays[k] for k in keys}
