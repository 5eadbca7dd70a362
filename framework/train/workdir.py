"""What a run writes in its workdir before training: data fingerprint, config, noise mask,
labels, data, tracked."""

from __future__ import annotations

import dataclasses

import numpy as np

from framework.data.fingerprint import data_fingerprint
from framework.runs import files
from framework.runs.rundir import RunDir
from framework.train.experiment import Experiment


def data_description(data) -> dict:
  """What predicting on new inputs needs to know of the data (data.json)."""
  return {"class_names": list(data.class_names), "input_shape": list(data.input_shape),
          "transform": dataclasses.asdict(data.transform),
          "feature_names": list(data.info.get("feature_names") or ()),
          "columns": list(data.info.get("columns") or ()),
          "protocol": list(data.info.get("protocol") or ())}


def write_start(exp: Experiment, rundir: RunDir, tracked: list[dict]) -> None:
  """The run's writes before training, in its created directory: data fingerprint and
  config (once: a workdir without config.json holds no run yet), noise mask (once), labels,
  data description, and the tracked examples (`TrackedSet.to_json()`)."""
  if not rundir.exists(files.CONFIG):
    rundir.write_json(files.DATA_FINGERPRINT, data_fingerprint(exp.data))
    rundir.write_text(files.CONFIG, exp.config.to_json_best_effort(indent=1))
  train = exp.data.train
  if train.noise_mask.any() and not rundir.exists(files.NOISE):
    rundir.write_arrays(files.NOISE, noise_mask=train.noise_mask, labels=train.labels,
                        clean_labels=train.clean_labels)
  rundir.write_array(files.LABELS, np.asarray(train.labels))
  rundir.write_json(files.DATA, data_description(exp.data))
  rundir.write_json(files.TRACKED, {"class_names": list(exp.data.class_names),
                                     "tracked": tracked})
