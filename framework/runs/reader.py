"""A finished run, read back: the one way tools, studies and cRT open a workdir.

    run = FinishedRun(workdir)
    run.results["final"], run.config.rule.name, run.labels, run.noise_mask
    run.table(run.signal.table, run.signal.averaged)   # the rule's noise signal [N]
    run.data.test, run.trained_model()                 # TensorFlow from here on

Each file (named in `framework.runs.files`) is read when first asked for, so reading
results, history or snapshots loads neither TensorFlow nor the data. A file a finished run
always has (config, results, data description) is a one-line ConfigError naming the
workdir when it is missing or unreadable; one that only some runs have (noise, tracked
set) is None when absent. The data rebuilt from the config must be the data the run
recorded (its fingerprint; for a run from before fingerprints, its labels): a change is a
one-line ConfigError saying what changed, or, with `allow_changed_data`, a warning.
"""

from __future__ import annotations

import functools
import os
import sys
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from framework.errors import ConfigError, one_line
from framework.runs import files
from framework.runs.rundir import RunDir

if TYPE_CHECKING:
  import keras
  import ml_collections
  from framework.data import DataBundle
  from framework.weights import Signal

_ALLOWED = "allowed: the workdir of a finished run"


class FinishedRun:
  """Read-only access to the workdir of a run of `framework.train` (see the module doc);
  with `allow_changed_data`, data rebuilt unlike the run's is a warning, not an error."""

  def __init__(self, workdir: str, allow_changed_data: bool = False):
    self.rundir = RunDir(workdir)
    self.path = self.rundir.path
    self.allow_changed_data = allow_changed_data
    if not os.path.isdir(self.path):
      what = "is not a directory" if os.path.exists(self.path) else "does not exist"
      raise ConfigError(f"workdir {self.path!r} {what}; {_ALLOWED}")

  def has(self, name: str) -> bool:
    """Whether the run wrote `name` (one of `framework.runs.files`)."""
    return self.rundir.exists(name)

  def _json(self, name: str) -> Any:
    if not self.has(name):
      raise ConfigError(f"workdir {self.path!r} has no {name}; {_ALLOWED}")
    try:
      return self.rundir.read_json(name)
    except (OSError, ValueError) as e:
      raise ConfigError(f"workdir {self.path!r}: {name} is unreadable ({one_line(e, 120)}); "
                        f"{_ALLOWED}") from None

  # What the run wrote.
  @functools.cached_property
  def config(self) -> ml_collections.ConfigDict:
    """The run's config (an ml_collections.ConfigDict)."""
    import ml_collections  # pylint: disable=g-import-not-at-top
    config = self._json(files.CONFIG)
    if not isinstance(config, dict):
      raise ConfigError(f"workdir {self.path!r}: {files.CONFIG} holds no config; {_ALLOWED}")
    return ml_collections.ConfigDict(config)

  @functools.cached_property
  def results(self) -> dict:
    """Final metrics, history, class names and counts, config (what `train.run` returned)."""
    return self._json(files.RESULTS)

  @property
  def history(self) -> list[dict]:
    """One record per evaluation, by step."""
    return self.rundir.read_history()

  @functools.cached_property
  def data_info(self) -> dict:
    """Class names, input shape, input transform and feature names of the run's data."""
    return self._json(files.DATA)

  @functools.cached_property
  def class_names(self) -> list[str] | None:
    """The class names, from whichever of the run's files has them (None: none does)."""
    for name in (files.DATA, files.TRACKED, files.RESULTS):
      if self.has(name):
        names = self._json(name).get("class_names")
        if names is not None:
          return list(names)
    return None

  @functools.cached_property
  def noise(self) -> dict[str, np.ndarray] | None:
    """noise_mask, labels (observed), clean_labels; None when no noise was injected."""
    if not self.has(files.NOISE):
      return None
    return self.rundir.read_arrays(self.rundir.file(files.NOISE))

  @property
  def noise_mask(self) -> np.ndarray | None:
    """bool [N]: which training labels the protocol flipped (None: no noise injected)."""
    return None if self.noise is None else self.noise["noise_mask"].astype(bool)

  @functools.cached_property
  def labels(self) -> np.ndarray | None:
    """The observed training labels [N] (None for a run that saved none)."""
    if self.has(files.LABELS):
      return np.load(self.rundir.file(files.LABELS))
    return None if self.noise is None else self.noise["labels"]

  @functools.cached_property
  def tracked(self) -> dict | None:
    """The samples whose trajectories were logged (class names, tracked set)."""
    return self._json(files.TRACKED) if self.has(files.TRACKED) else None

  # Weight snapshots.
  def snapshots(self) -> list[tuple[int, str]]:
    """(step, path) of every weight snapshot, by step (at least one)."""
    found = self.rundir.snapshots()
    if not found:
      raise ConfigError(f"no weight snapshots ({files.SNAPSHOTS}/step_*.npz) in {self.path!r}; "
                        "allowed: the workdir of a run of framework.train")
    return found

  def tables(self, path: str | None = None) -> dict[str, np.ndarray]:
    """Every table of the snapshot at `path` (default: the latest), 'per_sample/weight' ->
    array."""
    return self.rundir.read_arrays(path or self.snapshots()[-1][1])

  def table(self, name: str, averaged: bool = False) -> np.ndarray:
    """Table `name` ('per_sample/kept') of the latest snapshot, or its mean over them all."""
    paths = [path for _, path in self.snapshots()]
    try:
      values = [self.rundir.read_arrays(path, (name,))[name]
                for path in (paths if averaged else paths[-1:])]
    except KeyError:
      from framework.weights.tables import split_key  # pylint: disable=g-import-not-at-top
      per_sample = [k for k in self.tables() if split_key(k)[0] == "per_sample"]
      raise ConfigError(f"table {name!r} is not in the snapshots of {self.path!r}; "
                        f"per-sample tables: {', '.join(per_sample)}") from None
    return np.mean(values, axis=0) if averaged else values[0]

  # What needs the run's code: the rule, the data, the model (TensorFlow).
  def _import_extra_modules(self) -> None:
    from framework.config.extra_modules import import_extra_modules  # pylint: disable=g-import-not-at-top
    import_extra_modules(self.config.extra_modules)

  @functools.cached_property
  def signal(self) -> Signal:
    """The `framework.weights.Signal` the run's rule declares: which table ranks its labels
    by how likely they are clean. The rule is found by name, after the run's extra_modules;
    a run without a config, or whose rule this process does not know (registered in a
    notebook, or passed to `framework.fit` as an object), has the default signal."""
    from framework.weights import RULES, Signal  # pylint: disable=g-import-not-at-top
    if not self.has(files.CONFIG):
      return Signal()
    from framework.data.bundle import factory_context  # pylint: disable=g-import-not-at-top
    self._import_extra_modules()
    if self.config.rule.name not in RULES:
      return Signal()
    if self.labels is None:
      raise ConfigError(f"workdir {self.path!r} has no {files.LABELS}; {_ALLOWED}")
    counts = np.bincount(self.labels, minlength=len(self.class_names or ())).astype(np.int64)
    rule = self.config.rule
    return RULES.build(rule.name, rule.kwargs, field="rule",
                       context=factory_context(counts, self.config.train.batch_size)).signal

  @functools.cached_property
  def data(self) -> DataBundle:
    """The run's DataBundle, rebuilt from its config (same source, protocol and seed) and
    checked against the data the run recorded (see the module doc)."""
    if self.config.data.source == "python":
      raise ConfigError(f"workdir {self.path!r} was trained on arrays passed from Python, "
                        f"which its {files.CONFIG} cannot rebuild; use framework.tools.predict "
                        "or Result.predict")
    from framework import data as data_lib  # pylint: disable=g-import-not-at-top
    self._import_extra_modules()
    data = data_lib.build(self.config.data)
    self._check_data(data)
    return data

  def _check_data(self, data: DataBundle) -> None:
    """Refuses (or, with `allow_changed_data`, warns of) data unlike the run's."""
    from framework.data.fingerprint import data_fingerprint, fingerprint_changes  # pylint: disable=g-import-not-at-top
    if self.has(files.DATA_FINGERPRINT):
      changes = fingerprint_changes(self._json(files.DATA_FINGERPRINT), data_fingerprint(data))
    elif self.labels is not None and not np.array_equal(self.labels, data.train.labels):
      changes = f"the training labels differ from its {files.LABELS}"
    else:
      return
    if not changes:
      return
    message = (f"the data of workdir {self.path!r}, rebuilt from its {files.CONFIG}, changed "
               f"since the run: {changes}")
    if not self.allow_changed_data:
      raise ConfigError(f"{message}; restore the data it was trained on, or pass "
                        "--allow_changed_data to use the data as it is now")
    print(f"warning: {message}; using the data as it is now", file=sys.stderr)

  def model(self, name: str = files.MODEL) -> keras.Model:
    """The exported serving model (`name`: model.keras or best.keras): raw inputs -> logits."""
    if not self.has(name):
      raise ConfigError(f"workdir {self.path!r} has no {name}; {_ALLOWED}")
    import keras  # pylint: disable=g-import-not-at-top
    # new files hold only Keras layers; this registers the layers of earlier exports
    from framework.runs import legacy_layers  # pylint: disable=g-import-not-at-top,unused-import
    path = self.rundir.file(name)
    if not zipfile.is_zipfile(path):  # Keras would call it "File not found"
      raise ConfigError(f"workdir {self.path!r}: {name} is damaged or truncated (not a complete "
                        f".keras archive); allowed: the {name} the run exported")
    try:
      return keras.saving.load_model(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
      raise ConfigError(f"workdir {self.path!r}: {name} is damaged and does not load "
                        f"({one_line(e, 120)}); allowed: the {name} the run exported") from None

  def trained_model(self, name: str = files.MODEL) -> keras.Model:
    """The trained model inside the serving one (the input normalisation and the output
    scale stripped): it takes the inputs the run's input transform produces, and holds the
    training model's weights in their order (so `model.init_from` can copy them)."""
    from framework.runs.export import OUTPUT_SCALE  # pylint: disable=g-import-not-at-top
    layers = self.model(name).layers
    return layers[-2] if layers[-1].name == OUTPUT_SCALE else layers[-1]

