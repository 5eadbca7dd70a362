"""What the report's figures draw, per group, from the files its runs wrote (NumPy only).

Values over seeds are averaged per class, per evaluation epoch or per weight snapshot; an
epoch or snapshot is kept when every run of the group has it, so a curve never mixes
different numbers of seeds. The reliability bins of a group's runs are pooled (the
examples of every seed in one set of bins), which is what its diagram shows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.evaluation.calibration import Reliability
from framework.report.groups import Group
from framework.runs.reader import FinishedRun


class Curve(NamedTuple):
  """y (mean over the group's runs) and its sample std (NaN for one run) at each x."""

  x: np.ndarray
  mean: np.ndarray
  std: np.ndarray


def _over_runs(x_by_run: list[np.ndarray], y_by_run: list[np.ndarray]) -> Curve:
  """The mean and std over runs at the x values every run has."""
  common = sorted(set.intersection(*(set(x.tolist()) for x in x_by_run)))
  ys = np.array([[y[np.flatnonzero(x == c)[0]] for c in common]
                 for x, y in zip(x_by_run, y_by_run)], np.float64).reshape(len(y_by_run), -1)
  std = ys.std(axis=0, ddof=1) if len(ys) > 1 else np.full(ys.shape[1], np.nan)
  return Curve(np.asarray(common, np.float64), ys.mean(axis=0), std)


class ClassRecall(NamedTuple):
  """Per class: name, training count and final test recall, averaged over the runs."""

  names: list[str]
  counts: np.ndarray
  recall: Curve  # x: the class ids


def class_recall(group: Group) -> ClassRecall | None:
  """The group's per-class recall against training count (None: not recorded)."""
  runs = [r.results for r in group.runs]
  if not all("per_class_recall" in r.get("final", {}) and "class_counts" in r for r in runs):
    return None
  recalls = [np.asarray(r["final"]["per_class_recall"], np.float64) for r in runs]
  classes = [np.arange(len(recall)) for recall in recalls]
  counts = np.mean([np.asarray(r["class_counts"], np.float64) for r in runs], axis=0)
  names = group.runs[0].class_names or [str(c) for c in range(len(counts))]
  return ClassRecall(list(names), counts, _over_runs(classes, recalls))


def metric_history(group: Group, key: str) -> Curve | None:
  """`key` at each evaluation epoch (None: some run never recorded it)."""
  histories = [[r for r in run.history if r.get(key) is not None] for run in group.runs]
  if not all(histories):
    return None
  return _over_runs([np.array([r["epoch"] for r in h], np.float64) for h in histories],
                    [np.array([r[key] for r in h], np.float64) for h in histories])


def _snapshot_means(run: FinishedRun, table: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(epochs, mean weight of the clean examples, of the noisy ones) at each snapshot."""
  mask = run.noise_mask
  epochs_per_step = run.results["epochs"] / run.results["step"]
  epochs, clean, noisy = [], [], []
  for step, path in run.snapshots():
    weight = run.rundir.read_arrays(path, (table,))[table].astype(np.float64)
    epochs.append(step * epochs_per_step)
    clean.append(weight[~mask].mean())
    noisy.append(weight[mask].mean())
  return np.array(epochs), np.array(clean), np.array(noisy)


def noise_weights(group: Group, table: str) -> tuple[Curve, Curve] | None:
  """The mean of per-sample `table` over the clean and over the noisy training examples at
  each snapshot (None unless every run injected noise and saved snapshots)."""
  runs = group.runs
  if not all(r.noise_mask is not None and r.noise_mask.any() and r.rundir.snapshots()
             for r in runs):
    return None
  means = [_snapshot_means(run, table) for run in runs]
  return (_over_runs([m[0] for m in means], [m[1] for m in means]),
          _over_runs([m[0] for m in means], [m[2] for m in means]))


def pooled_reliability(group: Group) -> Reliability | None:
  """The reliability bins of the group's runs pooled (None: a run recorded none)."""
  finals = [run.results.get("final", {}) for run in group.runs]
  if not all("reliability_count" in final for final in finals):
    return None
  bins = [Reliability.from_metrics(final) for final in finals]
  count = np.sum([b.count for b in bins], axis=0)
  hits = np.sum([np.nan_to_num(b.accuracy) * b.count for b in bins], axis=0)
  confidence = np.sum([np.nan_to_num(b.confidence) * b.count for b in bins], axis=0)
  with np.errstate(invalid="ignore", divide="ignore"):
    return Reliability(hits / count, confidence / count, count)
