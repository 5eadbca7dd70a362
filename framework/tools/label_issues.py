"""Which training labels are likely wrong: every example ranked, from a finished run.

Two signals, each low for a suspect label: the rule's per-sample table (the table that
ranks best for that rule: l2rw's `kept`, ELR's `agreement`, otherwise `weight` averaged
over the epoch snapshots) and the model's probability of the given label (in sample, from
the exported model). The score is the mean of their rank percentiles (1 = the most
suspect), or the probability alone when the rule's table is constant (a plain run).
"""

from __future__ import annotations

import csv

import numpy as np
from scipy.stats import rankdata

from framework.errors import ConfigError
from framework.runs.rundir import RunDir
from framework.runs import files

# rule -> (table, "final" | "averaged"): the table that ranks noisy labels best.
BEST_TABLE = {"l2rw": ("per_sample/kept", "final"), "elr": ("per_sample/agreement", "final")}
DEFAULT_TABLE = ("per_sample/weight", "averaged")


def rule_table(rundir: RunDir, table: str | None = None) -> tuple[str, np.ndarray]:
  """(description, values [N]) of the per-sample signal: `table` (final snapshot), or the
  rule's best table."""
  snapshots = [path for _, path in rundir.snapshots()]
  if table:
    return f"{table} (final)", RunDir.read_arrays(snapshots[-1], (table,))[table]
  rule = rundir.read_json(files.CONFIG)["rule"]["name"] if rundir.exists(files.CONFIG) else ""
  name, how = BEST_TABLE.get(rule, DEFAULT_TABLE)
  if how == "final":
    return f"{name} (final)", RunDir.read_arrays(snapshots[-1], (name,))[name]
  values = np.mean([RunDir.read_arrays(p, (name,))[name] for p in snapshots], axis=0)
  return f"{name} (averaged over {len(snapshots)} snapshots)", values


def training_probabilities(workdir: str) -> tuple[np.ndarray, np.ndarray, list | None]:
  """(observed labels [N], softmax of the final model on the training split [N, C], the
  image paths or None), the training split rebuilt from config.json."""
  from framework.runs import export  # pylint: disable=g-import-not-at-top
  from framework.tools.evaluate import rebuild  # pylint: disable=g-import-not-at-top
  from framework.evaluation.evaluator import Evaluator  # pylint: disable=g-import-not-at-top
  rundir = RunDir(workdir)
  config, data = rebuild(workdir)
  if rundir.exists(files.LABELS) and not np.array_equal(np.load(rundir.file(files.LABELS)),
                                                        data.train.labels):
    raise ConfigError(f"the data of {workdir!r} rebuilt from config.json no longer matches "
                      "the run's labels.npy (have the source files changed?)")
  trained = export.load_trained(workdir)
  logits = Evaluator(trained, config.eval.batch_size, data.class_counts,
                     transform=data.transform).logits(data.train)
  probabilities = np.exp(logits - logits.max(1, keepdims=True))
  probabilities /= probabilities.sum(1, keepdims=True)
  paths = getattr(data.train.examples, "paths", None)
  return data.train.labels, probabilities, None if paths is None else list(paths)


def _percentile_rank(values: np.ndarray) -> np.ndarray:
  """Rank of each value in [0, 1] (ties share their mean rank)."""
  return (rankdata(values, method="average") - 1.0) / max(len(values) - 1, 1)


def suspicion(p_given: np.ndarray, signal: np.ndarray) -> np.ndarray:
  """The combined score: high for a low probability of the given label and a low signal."""
  by_probability = _percentile_rank(-p_given)
  if np.ptp(signal) == 0:
    return by_probability
  return 0.5 * (by_probability + _percentile_rank(-signal))


def write_label_issues(workdir: str, output: str, table: str | None = None) -> dict:
  """Writes every training example, most suspect first; returns a summary."""
  rundir = RunDir(workdir)
  labels, probabilities, paths = training_probabilities(workdir)
  described, signal = rule_table(rundir, table)
  names = rundir.read_json(files.DATA)["class_names"]
  p_given = probabilities[np.arange(len(labels)), labels]
  score = suspicion(p_given, signal)
  order = np.lexsort((np.arange(len(score)), -score))
  predicted = probabilities.argmax(1)
  with open(output, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["rank", "index", "given_label", "given_class", "predicted_label",
                     "predicted_class", "rule_signal", "p_given", "score"]
                    + (["path"] if paths else []))
    for rank, i in enumerate(order, start=1):
      writer.writerow([rank, i, labels[i], names[labels[i]], predicted[i], names[predicted[i]],
                       f"{signal[i]:.6g}", f"{p_given[i]:.6g}", f"{score[i]:.6f}"]
                      + ([paths[i]] if paths else []))
  summary = {"rows": len(order), "signal": described, "order": order, "score": score}
  if rundir.exists(files.NOISE):
    mask = RunDir.read_arrays(rundir.file(files.NOISE), ("noise_mask",))["noise_mask"]
    top = order[:max(1, len(order) // 20)]
    summary["noisy_in_top_5_percent"] = float(mask[top].mean())
  return summary
